#include "trace/trace_ring.hpp"

#include <algorithm>

namespace nv {

trace_ring::trace_ring(std::size_t max_lines, std::size_t max_bytes)
    : max_lines_(std::max<std::size_t>(max_lines, 1)), max_bytes_(max_bytes) {}

void trace_ring::append(std::span<const line_view> lines) {
  if (lines.empty())
    return;
  {
    std::lock_guard lock(mu_);
    for (const line_view& l : lines) {
      // A line that would not fit evicts the oldest first, so the deque never grows past its
      // bound and its memory is reused once full.
      const std::size_t size = l.text.size() + l.actor.size();
      while (!lines_.empty() && (lines_.size() >= max_lines_ || bytes_ + size > max_bytes_)) {
        bytes_ -= lines_.front().text.size() + lines_.front().actor.size();
        lines_.pop_front();
      }
      lines_.push_back(line{l.seq, l.kind, std::string(l.actor), std::string(l.text)});
      bytes_ += size;
      last_seq_ = l.seq;
    }
  }
  grown_.notify_all();
}

uint64_t trace_ring::oldest_seq() const {
  std::lock_guard lock(mu_);
  return lines_.empty() ? last_seq_ + 1 : lines_.front().seq;
}

uint64_t trace_ring::last_seq() const {
  std::lock_guard lock(mu_);
  return last_seq_;
}

bool trace_ring::visit_after(uint64_t after, std::size_t max_visits,
                             const std::function<bool(const line&)>& visit) const {
  std::lock_guard lock(mu_);
  const uint64_t oldest = lines_.empty() ? last_seq_ + 1 : lines_.front().seq;
  if (after + 1 < oldest)
    return false;
  // Gapless, so a seq's place is its distance from the oldest.
  for (std::size_t i = static_cast<std::size_t>(after + 1 - oldest);
       i < lines_.size() && max_visits > 0; ++i, --max_visits)
    if (!visit(lines_[i]))
      break;
  return true;
}

bool trace_ring::wait_past(uint64_t after, std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(mu_);
  return grown_.wait_until(lock, deadline, [&] { return last_seq_ > after; });
}

} // namespace nv
