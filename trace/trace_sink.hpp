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
// regular file: a disk that stops answering can still hold a write(2) in the kernel, and then
// close() leaves the writer behind in it, a second past the deadline. A trace that lost events
// without a `dropped` record in the file, by a write error (ENOSPC, EIO, EPIPE) or at that
// deadline, has failed: the sink reports it once through `on_error`, drops (and counts) every event
// after, and close() returns false, for which `nodevisor run` exits 1 (and 2 when the file cannot
// be opened).
//
// Tracing is off when a caller's `trace_sink*` is null. Guard with `if (sink) sink->emit({...})`
// so that a disabled trace costs one branch and the event is never built.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "trace/trace_event.hpp"
#include "trace/trace_line.hpp"

namespace nv {

class trace_ring;

struct trace_sink_options {
  // Events that may wait for the writer; past it, emit() drops.
  std::size_t capacity = 262144;
  // How long close() waits for the file to take what is queued before dropping the rest.
  std::chrono::milliseconds flush_deadline{2000};
  // Called once, with a sentence naming the file and the cause, when the trace fails; from the
  // writer thread. The trace library logs nothing itself: the caller chooses how it is told.
  std::function<void(const std::string&)> on_error;
  // Where the writer also appends every line, after merging by seq (the daemon's live stream);
  // null: nowhere. The ring keeps getting lines after the file failed.
  std::shared_ptr<trace_ring> ring;
  // A file past this many bytes, at the end of a batch, is renamed FILE.1 (FILE.1 to FILE.2 and
  // so on up to FILE.<keep_files>; the oldest is deleted) and a new FILE started. 0: never. Only
  // for a regular file, and with rotation on, a FILE left by an earlier run is rotated away at
  // the open instead of truncated, so that a restarted daemon keeps its previous trace.
  uint64_t rotate_bytes = 0;
  // Rotated files kept next to FILE; 0: the file is started anew when it passes the size.
  unsigned keep_files = 4;
};

class trace_sink {
public:
  // Creates (0640) or truncates `file`, opened non-blocking and not through a symbolic link. Throws
  // std::system_error when it cannot be opened; with ENXIO when it is a FIFO with no reader, which
  // would otherwise block the open.
  trace_sink(const std::filesystem::path& file, std::string_view node,
             trace_sink_options options = {});
  // Writes to `out`, which must outlive the sink, and the writer if close() leaves it behind.
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
  // closes the file. A writer still inside a write a second after the deadline is left behind,
  // with the file. Returns false when the trace failed (reported through `on_error`). Emit
  // nothing after it.
  bool close();

  // Every event not written: dropped on a full queue, and lost once the trace failed.
  uint64_t dropped_total() const;
  bool failed() const;

  // Message tracing (--trace-messages): when on, actors also emit a send/recv pair for every
  // message between them. Set it before the first actor starts; actors read it without a lock.
  void set_messages(bool on) { messages_ = on; }
  bool messages() const { return messages_; }

private:
  class impl;
  // Shared with the writer thread, so that close() can leave it behind in a write that never
  // returns (a disk that stopped answering) and the thread still has its state.
  std::shared_ptr<impl> impl_;
  bool messages_ = false;
  std::thread writer_;
};

} // namespace nv
