// The trace sink (design §7): actors emit events from any thread; one writer thread appends them
// to the trace file as JSON lines in seq order, flushing after each batch so the file can be
// followed live.
//
// Each emitting thread formats its event's line itself and queues it in its own stripe, taking
// the seq from one atomic counter inside the stripe's lock: emitters share no lock and no buffer,
// which on a busy tree cost the scheduler threads more than the events themselves. The writer
// takes the stripes' lines and merges them by seq (see run()).
//
// Tracing is off when a caller's `trace_sink*` is null. Guard with `if (sink) sink->emit({...})`
// so that a disabled trace costs one branch and the event is never built.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "trace/trace_event.hpp"
#include "trace/trace_line.hpp"

namespace nv {

class trace_sink {
public:
  static constexpr std::size_t default_capacity = 262144;

  // Creates or truncates `file`; throws std::system_error when it cannot be opened.
  trace_sink(const std::filesystem::path& file, std::string_view node,
             std::size_t capacity = default_capacity);
  // Writes to `out`, which must outlive the sink.
  trace_sink(std::ostream& out, std::string_view node, std::size_t capacity = default_capacity);
  // Writes everything emitted so far, then stops the writer.
  ~trace_sink();

  trace_sink(const trace_sink&) = delete;
  trace_sink& operator=(const trace_sink&) = delete;

  // Stamps `ev` with the next seq and the wall clock and queues its line; returns its seq. When
  // `capacity` events already wait for the writer, drops `ev` and returns 0 instead, so a later
  // event's cause never names a seq that is missing from the file. Never waits for the writer to
  // write: at most for it to take the lines of this thread's stripe.
  uint64_t emit(const trace_event& ev);

  // Waits until every event emitted before the call, and the record of every drop so far, is
  // written and flushed.
  void flush();

  uint64_t dropped_total() const;

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

  std::unique_ptr<std::ostream> file_; // set when the sink opened the file itself
  std::ostream& out_;
  const node_field node_;
  // At least 1: with 0 every event would be dropped, and with nothing ever queued the dropped
  // record would never be written.
  const std::size_t capacity_;
  bool messages_ = false;

  std::array<stripe, stripe_count> stripes_;
  alignas(64) std::atomic<uint64_t> next_seq_{1};
  alignas(64) std::atomic<uint64_t> taken_seq_{0}; // every seq up to it is with the writer
  std::atomic<uint64_t> written_seq_{0};           // every seq up to it is written and flushed
  std::atomic<uint64_t> dropped_total_{0};
  std::atomic<bool> writer_idle_{false}; // the writer waits on work_cv_ for anything to write

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
