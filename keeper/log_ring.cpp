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
      push(partial_);
      partial_.clear();
      bytes.remove_prefix(room);
      continue;
    }
    if (nl == std::string_view::npos) {
      partial_.append(chunk);
      return;
    }
    if (partial_.empty()) {
      push(chunk);
    } else {
      partial_.append(chunk);
      push(partial_);
      partial_.clear();
    }
    bytes.remove_prefix(nl + 1);
  }
}

void log_ring::finish() {
  if (!partial_.empty()) {
    push(partial_);
    partial_.clear();
  }
}

std::vector<std::string> log_ring::tail(std::size_t n) const {
  n = std::min(n, lines_);
  // Back from the end over n line ends; the last one ends the newest line.
  auto from = text_.size();
  for (std::size_t k = 0; k < n; ++k) {
    auto prev = from > begin_ + 1 ? text_.rfind('\n', from - 2) : std::string::npos;
    from = prev == std::string::npos || prev < begin_ ? begin_ : prev + 1;
  }
  std::vector<std::string> out;
  out.reserve(n);
  while (from < text_.size()) {
    auto end = text_.find('\n', from);
    out.emplace_back(text_, from, end - from);
    from = end + 1;
  }
  return out;
}

void log_ring::set_capacity(std::size_t capacity_bytes) {
  capacity_ = capacity_bytes;
  trim();
  text_.erase(0, begin_);
  begin_ = 0;
  text_.shrink_to_fit(); // a smaller share gives its memory back
}

void log_ring::push(std::string_view line) {
  text_.append(line);
  text_.push_back('\n');
  ++lines_;
  trim();
}

void log_ring::trim() {
  // The newest line stays, whatever its size (at most max_line).
  while (lines_ > 1 && bytes() - partial_.size() > capacity_) {
    begin_ = text_.find('\n', begin_) + 1;
    --lines_;
  }
  if (lines_ == 1 && capacity_ == 0) {
    lines_ = 0;
    begin_ = text_.size();
  }
  if (begin_ == text_.size()) {
    text_.clear();
    begin_ = 0;
  } else if (begin_ >= text_.size() - begin_) {
    text_.erase(0, begin_);
    begin_ = 0;
  }
}

} // namespace nv
