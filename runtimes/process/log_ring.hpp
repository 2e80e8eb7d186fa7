// The last lines of a container's output: a byte stream cut into lines and kept in a ring of
// bounded size, so that a chatty process costs a fixed amount of memory.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace nv {

class log_ring {
public:
  // Longer lines are cut into pieces of this size, which bounds a full ring's memory.
  static constexpr std::size_t max_line = 4096;

  explicit log_ring(std::size_t capacity);

  // Appends raw output; a line without its '\n' waits for the rest in the next call.
  void append(std::string_view bytes);
  // The stream ended: an unterminated last line becomes a line of its own.
  void finish();
  // The last `n` complete lines, oldest first.
  std::vector<std::string> tail(std::size_t n) const;

private:
  void push(std::string line);

  std::size_t capacity_;
  std::vector<std::string> lines_; // grows to capacity_, then wraps at head_
  std::size_t head_ = 0;           // the oldest line once the ring is full
  std::string partial_;
};

} // namespace nv
