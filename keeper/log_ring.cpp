#include "keeper/log_ring.hpp"

#include <algorithm>
#include <utility>

namespace nv {

std::size_t ring_share(std::size_t each, std::size_t total, std::size_t count) {
  constexpr std::size_t unit = 1024;
  auto share = total / std::max<std::size_t>(count, 1);
  return std::min(each, share < unit ? share : share / unit * unit);
}

log_ring::log_ring(std::size_t capacity_bytes) : capacity_(capacity_bytes) {}

void log_ring::append(std::string_view bytes) {
  while (!bytes.empty()) {
    auto nl = bytes.find('\n');
    auto chunk = bytes.substr(0, nl);
    auto room = max_line - partial_.size();
    if (chunk.size() > room) {
      partial_.append(chunk.substr(0, room));
      push(std::exchange(partial_, {}));
      bytes.remove_prefix(room);
      continue;
    }
    partial_.append(chunk);
    if (nl == std::string_view::npos)
      return;
    push(std::exchange(partial_, {}));
    bytes.remove_prefix(nl + 1);
  }
}

void log_ring::finish() {
  if (!partial_.empty())
    push(std::exchange(partial_, {}));
}

std::vector<std::string> log_ring::tail(std::size_t n) const {
  n = std::min(n, lines_.size());
  return {lines_.end() - static_cast<std::ptrdiff_t>(n), lines_.end()};
}

void log_ring::set_capacity(std::size_t capacity_bytes) {
  capacity_ = capacity_bytes;
  trim();
}

void log_ring::push(std::string line) {
  bytes_ += line.size();
  lines_.push_back(std::move(line));
  trim();
}

void log_ring::trim() {
  // The newest line stays, whatever its size (at most max_line).
  while (lines_.size() > 1 && bytes_ > capacity_) {
    bytes_ -= lines_.front().size();
    lines_.pop_front();
  }
  if (lines_.size() == 1 && capacity_ == 0) {
    bytes_ = 0;
    lines_.clear();
  }
}

} // namespace nv
