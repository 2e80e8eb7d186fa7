// The last lines of a container's output, bounded in bytes: a byte stream cut into lines (a line
// longer than max_line is cut into pieces), the oldest dropped once the lines pass the capacity.
// A chatty process, or one that never ends a line, costs at most about twice capacity + max_line
// bytes; a quiet one costs nothing: the lines are kept in one buffer, not one allocation each.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace nv {

class log_ring {
public:
  static constexpr std::size_t max_line = 4096;

  explicit log_ring(std::size_t capacity_bytes);

  // Appends raw output; a line without its '\n' waits for the rest in the next call.
  void append(std::string_view bytes);
  // The stream ended: an unterminated last line becomes a line of its own.
  void finish();
  // The last `n` complete lines, oldest first.
  std::vector<std::string> tail(std::size_t n) const;

  // Takes effect at once: older lines go until the rest fit.
  void set_capacity(std::size_t capacity_bytes);
  // Of the lines kept and the unterminated one, without line ends.
  std::size_t bytes() const { return text_.size() - begin_ - lines_ + partial_.size(); }

private:
  void push(std::string_view line);
  void trim();

  std::size_t capacity_;
  // The complete lines from begin_ on, each ended by '\n'; what is before begin_ has been
  // dropped, and goes when it is as long as what is kept (one move per capacity's worth of
  // output, not one per line).
  std::string text_;
  std::size_t begin_ = 0;
  std::size_t lines_ = 0;
  std::string partial_;
};

// The capacity of each of `count` rings under a budget of `total` bytes, at most `each`: in
// whole KiB, so that one ring more or fewer among a thousand leaves it as it was and the rings
// are not all trimmed at every start and exit.
std::size_t ring_share(std::size_t each, std::size_t total, std::size_t count);

} // namespace nv
