// The trace sink (design §7): actors emit events from any thread; one writer thread appends them
// to the trace file as JSON lines in seq order, flushing after each batch so the file can be
// followed live.
//
// Each emitting thread formats its event's line itself and queues it in its own stripe, taking
// the seq from one atomic counter inside the stripe's lock: emitters share no lock and no buffer,
// which on a busy tree cost the scheduler threads more than the events themselves. The writer
// takes the stripes' lines and merges them by seq (see run()).
//
// The trace never holds up the tree: emit() drops rather than wait, the file is written without
// blocking (a FIFO whose reader stopped reading stalls the writer alone, in poll), and close()
// gives what is still queued `flush_deadline` to be written. O_NONBLOCK means nothing to a
// regular file: a disk that stops answering can still hold a write(2) in the kernel, and close()
// with it. A trace that lost events without a `dropped` record in the file, by a write error
// (ENOSPC, EIO, EPIPE) or at that deadline, has failed: the sink reports it once through
// `on_error`, drops (and counts) every event after, and close() returns false, for which
// `nodevisor run` exits 1 (and 2 when the file cannot be opened).
//
// Tracing is off when a caller's `trace_sink*` is null. Guard with `if (sink) sink->emit({...})`
// so that a disabled trace costs one branch and the event is never built.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "trace/trace_event.hpp"
#include "trace/trace_line.hpp"

namespace nv {

struct trace_sink_options {
  // Events that may wait for the writer; past it, emit() drops.
  std::size_t capacity = 262144;
  // How long close() waits for the file to take what is queued before dropping the rest.
  std::chrono::milliseconds flush_deadline{2000};
  // Called once, with a sentence naming the file and the cause, when the trace fails; from the
  // writer thread. The trace library logs nothing itself: the caller chooses how it is told.
  std::function<void(const std::string&)> on_error;
};

class trace_sink {
public:
  // Creates or truncates `file`, opened non-blocking. Throws std::system_error when it cannot be
  // opened; with ENXIO when it is a FIFO with no reader, which would otherwise block the open.
  trace_sink(const std::filesystem::path& file, std::string_view node,
             trace_sink_options options = {});
  // Writes to `out`, which must outlive the sink. A stream write cannot be given a deadline:
  // close() waits for it.
  trace_sink(std::ostream& out, std::string_view node, trace_sink_options options = {});
  // close(), unless already done.
  ~trace_sink();

  trace_sink(const trace_sink&) = delete;
  trace_sink& operator=(const trace_sink&) = delete;

  // Stamps `ev` with the next seq and the wall clock and queues its line; returns its seq. When
  // `capacity` events already wait for the writer, drops `ev` and returns 0 instead, so a later
  // event's cause never names a seq that is missing from the file. Never waits for the writer to
  // write: at most for it to take the lines of this thread's stripe.
  uint64_t emit(const trace_event& ev);

  // Waits until every event emitted before the call, and the record of every drop so far, is
  // written and flushed, or dropped because the trace failed.
  void flush();

  // Writes what is queued, waiting for the file at most `flush_deadline`, stops the writer and
  // closes the file.
  // Returns false when the trace failed (reported through `on_error`). Emit nothing after it.
  bool close();

  // Every event not written: dropped on a full queue, and lost once the trace failed.
  uint64_t dropped_total() const;
  bool failed() const { return failed_.load(); }

  // Message tracing (--trace-messages): when on, actors also emit a send/recv pair for every
  // message between them. Set it before the first actor starts; actors read it without a lock.
  void set_messages(bool on) { messages_ = on; }
  bool messages() const { return messages_; }

private:
  // An emitting thread's queue: records of {seq, ts_us, length} followed by the line without
  // its head. A cache line of its own, so two threads' emits never touch the same one.
  struct alignas(64) stripe {
    std::mutex mu;
    std::string records;
  };
  static constexpr std::size_t stripe_count = 16;

  // Queues `body` as the line of the next seq and returns that seq; `force` ignores capacity.
  uint64_t enqueue(std::string_view body, bool force);
  void wake_writer();
  void run();
  struct write_result {
    uint64_t lost = 0;      // lines of the text that did not make it whole into the file
    bool timed_out = false; // at the stop's deadline, with the file taking nothing
  };
  write_result write_out(std::string_view text);
  // Until the fd takes more (true), or the stop's deadline passes (false).
  bool wait_writable();
  void fail(const std::string& why);

  std::ostream* const out_ = nullptr; // the stream, or null when the sink writes `fd_`
  int fd_ = -1;                       // closed by close(), so that a FIFO's reader sees the end
  const std::string file_;            // for messages
  const int wake_fd_; // an eventfd: close() wakes the writer out of its poll on `fd_`
  const node_field node_;
  // At least 1: with 0 every event would be dropped, and with nothing ever queued the dropped
  // record would never be written.
  const std::size_t capacity_;
  const std::chrono::milliseconds flush_deadline_;
  const std::function<void(const std::string&)> on_error_;
  bool messages_ = false;

  std::array<stripe, stripe_count> stripes_;
  alignas(64) std::atomic<uint64_t> next_seq_{1};
  alignas(64) std::atomic<uint64_t> taken_seq_{0}; // every seq up to it is with the writer
  std::atomic<uint64_t> written_seq_{0}; // every seq up to it is written and flushed, or lost
  std::atomic<uint64_t> dropped_total_{0};
  std::atomic<bool> writer_idle_{false}; // the writer waits on work_cv_ for anything to write
  std::atomic<bool> failed_{false};      // set by the writer alone, before it reports
  // steady_clock ticks; 0 until close(): the writer gives up on the file after it.
  std::atomic<int64_t> stop_deadline_{0};

  mutable std::mutex mu_;              // guards the members below and the writer's waits
  std::condition_variable work_cv_;    // something to write, or stopping_
  std::condition_variable written_cv_; // written_seq_ or dropped_written_ advanced
  uint64_t dropped_reported_ = 0;      // drops covered by a queued dropped record
  uint64_t dropped_written_ = 0;       // drops covered by dropped records already written
  bool stopping_ = false;

  // Declared last: the writer starts once everything above is initialized.
  std::thread writer_{&trace_sink::run, this};
};

} // namespace nv
