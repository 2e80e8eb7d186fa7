// Reading a trace file (design §7) back: line by line, each line parsed into the event structs
// the actors emitted. Readers never hold more than one line, so a trace of any length can be
// read in bounded memory; what the analyses keep is theirs to bound.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "trace/trace_event.hpp"

namespace nv {

// One event read back, with where it came from so that a reader can point at the line.
struct trace_record {
  uint64_t seq = 0;
  int64_t ts_us = 0;
  std::string node;
  trace_event ev;
  uint64_t line = 0;   // 1-based line number in the file
  uint64_t offset = 0; // byte offset of the line's first character
};

// Parses one line (without its newline) into `out`. On failure returns false with `error`
// saying what was expected, e.g. `"seq" must be an unsigned integer`.
bool parse_trace_line(std::string_view text, trace_record& out, std::string& error);

// The JSON words back to the enums; false for a word the writer never produces.
bool from_string(std::string_view word, trace_kind& out);
bool from_string(std::string_view word, exit_event::reason_kind& out);
bool from_string(std::string_view word, wait_event::outcome_kind& out);

// A line longer than this is skipped as malformed without being buffered: no event comes
// near it (reasons are capped by the runtimes), and it keeps a file with no newlines bounded.
inline constexpr std::size_t max_trace_line = std::size_t{1} << 20;

// Splits a file into lines as it is read, in chunks. At the end of the data the reader keeps a
// partial last line and continues it when called again after the file grew (tail -f).
class line_reader {
public:
  struct line {
    std::string_view text; // valid until the next call
    uint64_t number = 0;
    uint64_t offset = 0;
    bool too_long = false; // text is empty: the line was longer than max_trace_line
  };

  // Reads `fd` (not owned) from its current position, which is byte `offset` of the file and
  // the start of line `first_line`.
  explicit line_reader(int fd, uint64_t offset = 0, uint64_t first_line = 1);

  enum class status { line, end, error };
  // `end`: no complete line in the data so far; `error`: read(2) failed, errno is set.
  status next(line& out);

  // Bytes after the last newline: a line still being written, or cut off for good.
  bool has_partial() const { return !line_done_ && line_bytes_ > 0; }
  uint64_t partial_line_number() const { return number_; }
  uint64_t offset() const { return offset_; } // where the next line starts

private:
  int fd_;
  uint64_t offset_;
  uint64_t number_;
  std::vector<char> buf_;
  std::size_t pos_ = 0, len_ = 0;
  std::string carry_;       // start of a line whose newline is in a later chunk
  uint64_t line_bytes_ = 0; // of the current line so far
  bool discarding_ = false; // the current line passed max_trace_line; skip to its newline
  bool line_done_ = false;  // the last call returned a line; reset state on the next
};

// Lines that were skipped; the first few are kept for the report.
struct read_stats {
  static constexpr std::size_t max_reported = 10;
  struct bad_line {
    uint64_t number = 0;
    std::string reason;
  };
  uint64_t lines = 0;
  uint64_t records = 0;
  uint64_t malformed = 0;
  std::vector<bad_line> first_malformed;

  void add_malformed(uint64_t number, std::string reason);
};

using record_callback = std::function<void(const trace_record&)>;

struct read_options {
  uint64_t offset = 0; // start here (a line start) instead of at the beginning
  uint64_t first_line = 1;
};

// Reads `path` to its end, calling `fn` for each well-formed line in file order. A last line
// without its newline is a write that was cut off (the writer ends every line with one) and is
// counted as malformed, like any line that does not parse. Returns false with `error` (naming
// the file) when the file cannot be opened or read.
bool read_trace_file(const std::string& path, const record_callback& fn, read_stats& stats,
                     std::string& error, const read_options& opts = {});

// "FILE: 3 malformed lines skipped (lines 4, 9, 12: <first reason>...)" on `out`, nothing when
// every line parsed. One line per reported line number, then the count of the rest.
void report_malformed(std::FILE* out, const std::string& path, const read_stats& stats);

} // namespace nv
