// The latest lines of the trace, in memory (design §8, `/api/v1/trace`): the sink's writer thread
// appends every line it writes, in seq order without gaps, and the daemon's HTTP threads read
// them, waiting for new ones. Bounded in lines and in bytes; the oldest lines go first.
//
// The writer never waits for a reader: a reader holds the lock only to copy a bounded batch
// (trace/trace_follow.hpp), and one that falls behind loses its lines, not the writer's time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "trace/trace_event.hpp"

namespace nv {

class trace_ring {
public:
  // One line with what a filter needs, taken from the event when it was emitted, so that
  // filtering needs no JSON parse. `text` is the whole line, newline included.
  struct line {
    uint64_t seq = 0;
    trace_kind kind = trace_kind::spawn;
    std::string actor;
    std::string text;
  };
  // What the writer hands over: views into its batch, valid for the call.
  struct line_view {
    uint64_t seq = 0;
    trace_kind kind = trace_kind::spawn;
    std::string_view actor;
    std::string_view text;
  };

  static constexpr std::size_t default_max_lines = 65536;
  static constexpr std::size_t default_max_bytes = std::size_t{64} << 20;

  // At least one line is always kept, whatever its size.
  explicit trace_ring(std::size_t max_lines = default_max_lines,
                      std::size_t max_bytes = default_max_bytes);

  trace_ring(const trace_ring&) = delete;
  trace_ring& operator=(const trace_ring&) = delete;

  // The writer thread: lines in increasing seq, each one more than the last. Wakes the readers.
  void append(std::span<const line_view> lines);
  void append(const line_view& one) { append(std::span<const line_view>(&one, 1)); }

  // The seq of the oldest line kept; last_seq() + 1 while the ring is empty.
  uint64_t oldest_seq() const;
  // The seq of the newest line; 0 before the first.
  uint64_t last_seq() const;

  // Calls `visit` on the lines with seq > `after`, oldest first, under the lock, until it returns
  // false or `max_visits` lines were seen. Returns false when the line after `after` is no longer
  // kept (and visits nothing): the reader fell behind.
  bool visit_after(uint64_t after, std::size_t max_visits,
                   const std::function<bool(const line&)>& visit) const;

  // Until a line with seq > `after` is there (true) or `deadline` passes (false).
  bool wait_past(uint64_t after, std::chrono::steady_clock::time_point deadline) const;

private:
  const std::size_t max_lines_;
  const std::size_t max_bytes_;

  mutable std::mutex mu_;
  mutable std::condition_variable grown_;
  std::deque<line> lines_;
  std::size_t bytes_ = 0; // of the texts and actors kept
  uint64_t last_seq_ = 0;
};

} // namespace nv
