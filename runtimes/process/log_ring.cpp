#include "runtimes/process/log_ring.hpp"

#include <algorithm>
#include <utility>

namespace nv {

log_ring::log_ring(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

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
  std::vector<std::string> out;
  out.reserve(n);
  for (std::size_t i = lines_.size() - n; i < lines_.size(); ++i)
    out.push_back(lines_[(head_ + i) % lines_.size()]);
  return out;
}

void log_ring::push(std::string line) {
  if (lines_.size() < capacity_) {
    lines_.push_back(std::move(line));
    return;
  }
  lines_[head_] = std::move(line);
  head_ = (head_ + 1) % capacity_;
}

} // namespace nv
