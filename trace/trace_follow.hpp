// One reader of the daemon's trace (design §8, `/api/v1/trace?since=SEQ&follow=1`): the lines
// with seq > `since`, in seq order without a gap or a duplicate, first from the trace files
// (FILE.<n> ... FILE.1, FILE: trace_sink_options::rotate_bytes) while they are older than what the
// ring keeps, then from the ring, waiting there for new ones when following.
//
// The tree never waits for a reader: a follower whose next line was overwritten in the ring has
// fallen behind and is cut off (one last `cut_off` line says where to resume), rather than the
// writer slowing down for it. A reader that is not following goes back to the files instead,
// since what it asked for is bounded.
//
// For the daemon's HTTP threads, which may wait; never call next() on a CAF scheduler thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trace/trace_ring.hpp"

namespace nv {

// Which lines a reader wants; empty fields let everything through.
struct trace_filter {
  // An actor path: that actor and those below it (`/web-stack/api` takes `/web-stack/api/api-rep-1`
  // but not `/web-stack/api-gw`). "/" or empty: every actor.
  std::string actor_prefix;
  // Event words of design §7 (`failure`, `restart`, ...): any of them.
  std::vector<std::string> events;

  bool empty() const { return (actor_prefix.empty() || actor_prefix == "/") && events.empty(); }
  bool matches(std::string_view actor, std::string_view event) const;
};

class trace_reader_cursor {
public:
  enum class status {
    more,    // call again: more lines may be there (`out` may be empty: all filtered out)
    idle,    // following, and nothing new came within `wait`: call again
    end,     // not following, and every line up to the first call is delivered
    cut_off, // following, but too slow: `out` ends with the cut_off line; stop
  };

  // What one call returns at most, so that neither the ring's lock nor a reply's buffer is held
  // for long.
  static constexpr std::size_t max_batch_lines = 1024;
  static constexpr std::size_t max_batch_bytes = std::size_t{1} << 20;
  // Lines looked at per call when the filter lets few through.
  static constexpr std::size_t max_scan_lines = 16384;

  ~trace_reader_cursor();
  trace_reader_cursor(const trace_reader_cursor&) = delete;
  trace_reader_cursor& operator=(const trace_reader_cursor&) = delete;

  // `file`: the sink's file, whose rotated files sit next to it; empty: the ring alone. `since`
  // 0 reads from the oldest line kept; a `since` past the newest line (an earlier daemon's seqs)
  // reads from the newest on.
  trace_reader_cursor(std::shared_ptr<const trace_ring> ring, std::filesystem::path file,
                      uint64_t since, trace_filter filter);

  // Replaces `out` with the next lines that pass the filter, each ending in a newline, whatever
  // the status. `wait` bounds how long a follower waits for a new line.
  status next(std::vector<std::string>& out, std::chrono::milliseconds wait, bool follow);

  // The seq of the last line delivered or passed over by the filter: where to resume.
  uint64_t last_seq() const { return cursor_; }

  // `{"event":"cut_off","last_seq":S,"message":"reader too slow: resume with since=S"}` + newline.
  static std::string cut_off_line(uint64_t last_seq);

private:
  class file_lines; // one trace file open for reading, line by line

  // Reads the files while the cursor is older than the ring: true once it is not, false when the
  // batch is full or enough was looked at for one call.
  bool read_files(std::vector<std::string>& out, std::size_t& bytes, std::size_t& scanned);
  // The file that holds the line after the cursor, or the oldest newer one when that line is
  // gone; null when the files have nothing newer. `exhausted` was read to its end.
  std::unique_ptr<file_lines> open_containing(uint64_t next, const file_lines* exhausted) const;
  // Delivers `line` when it passes the filter; false when the batch is full.
  bool take(uint64_t seq, std::string_view line, std::string_view actor, std::string_view event,
            std::vector<std::string>& out, std::size_t& bytes);
  bool take_file_line(std::string_view line, std::vector<std::string>& out, std::size_t& bytes);

  const std::shared_ptr<const trace_ring> ring_;
  const std::filesystem::path file_;
  const trace_filter filter_;
  uint64_t cursor_ = 0;
  std::optional<uint64_t> end_seq_; // not following: the last seq there was at the first call
  bool in_ring_ = false;            // caught up with the ring once: a follower behind it is cut off
  std::unique_ptr<file_lines> reading_;
};

} // namespace nv
