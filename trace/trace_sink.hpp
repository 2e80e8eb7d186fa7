// The trace sink (design §7): actors emit events from any thread; one writer thread formats them
// as JSON lines and appends them to the trace file, flushing after each batch so the file can be
// followed live.
//
// Tracing is off when a caller's `trace_sink*` is null. Guard with `if (sink) sink->emit({...})`
// so that a disabled trace costs one branch and the event is never built.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "trace/trace_event.hpp"

namespace nv {

class trace_sink {
public:
  static constexpr std::size_t default_capacity = 262144;

  // Creates or truncates `file`; throws std::system_error when it cannot be opened.
  trace_sink(const std::filesystem::path& file, std::string node,
             std::size_t capacity = default_capacity);
  // Writes to `out`, which must outlive the sink.
  trace_sink(std::ostream& out, std::string node, std::size_t capacity = default_capacity);
  // Writes everything emitted so far, then stops the writer.
  ~trace_sink();

  trace_sink(const trace_sink&) = delete;
  trace_sink& operator=(const trace_sink&) = delete;

  // Stamps `ev` with the next seq and the wall clock and queues it; returns its seq. When
  // `capacity` events already wait for the writer, drops `ev` and returns 0 instead, so a later
  // event's cause never names a seq that is missing from the file. Never waits for the writer.
  uint64_t emit(trace_event ev);

  // Waits until every event emitted before the call, and the record of every drop so far, is
  // written and flushed.
  void flush();

  uint64_t dropped_total() const;

  // Message tracing (--trace-messages): when on, actors also emit a send/recv pair for every
  // message between them. Set it before the first actor starts; actors read it without a lock.
  void set_messages(bool on) { messages_ = on; }
  bool messages() const { return messages_; }

private:
  struct entry {
    uint64_t seq;
    int64_t ts_us;
    trace_event ev;
  };

  void run();

  std::unique_ptr<std::ostream> file_; // set when the sink opened the file itself
  std::ostream& out_;
  const std::string node_;
  // At least 1: with 0 every event would be dropped, and with nothing ever queued the dropped
  // record would never be written.
  const std::size_t capacity_;
  bool messages_ = false;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;    // the queue became non-empty, or stopping_
  std::condition_variable written_cv_; // written_seq_ advanced
  std::vector<entry> queue_;
  uint64_t next_seq_ = 1;
  uint64_t dropped_total_ = 0;
  uint64_t dropped_unreported_ = 0; // drops not yet covered by a queued dropped record
  uint64_t dropped_written_ = 0;    // drops covered by dropped records already written
  uint64_t written_seq_ = 0;        // last seq written and flushed
  bool stopping_ = false;

  // Declared last: the writer starts once everything above is initialized.
  std::thread writer_{&trace_sink::run, this};
};

} // namespace nv
