#include "trace/trace_sink.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <mutex>
#include <ostream>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <span>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

#include "messages/failure.hpp"
#include "trace/trace_line.hpp"
#include "trace/trace_ring.hpp"

namespace nv {

namespace {

// The sink's own path (design §1), the actor of the dropped records it writes.
constexpr std::string_view sink_path = "/_trace";

constexpr std::size_t batch_target = 1024;
constexpr auto batch_pause = std::chrono::milliseconds{2};
// Past the stop's deadline, how long close() still waits for a writer that is not in poll.
constexpr auto abandon_grace = std::chrono::milliseconds{1000};

// What a stripe holds before each line's body: the head the writer formats, and for the ring the
// event's kind and its actor, whose bytes come between the head and the body (none without a
// ring, so that a sink without one copies nothing more).
struct record_head {
  uint64_t seq;
  int64_t ts_us;
  uint32_t length;       // of the body
  uint32_t actor_length; // of the actor before it
  trace_kind kind;
};

// Threads take stripes in turn, so the first `count` emitting threads never share one.
std::size_t stripe_of_this_thread(std::size_t count) {
  static std::atomic<std::size_t> next{0};
  thread_local const std::size_t mine = next.fetch_add(1, std::memory_order_relaxed);
  return mine % count;
}

using steady = std::chrono::steady_clock;

// Non-blocking, so that neither the open nor a write waits for a FIFO's reader: the writer
// waits in poll instead, where close() can end the wait. A symbolic link is not followed (as
// root, a link planted under the name would truncate its target), and a regular file gets mode
// 0640 whatever the umask; a FIFO or a device keeps its own.
int open_trace_file(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(),
                        O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC, 0640);
  if (fd >= 0) {
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
      ::fchmod(fd, 0640);
    return fd;
  }
  const int err = errno;
  // The open would have blocked until a reader came, at start-up with the stop signals masked.
  if (err == ENXIO)
    throw std::system_error(err, std::generic_category(),
                            "trace file " + file.string() +
                                " is a FIFO with no reader: start its reader first");
  if (err == ELOOP)
    throw std::system_error(err, std::generic_category(),
                            "trace file " + file.string() +
                                " is a symbolic link, which is not followed: name its target");
  throw std::system_error(err, std::generic_category(), "cannot open trace file " + file.string());
}

std::filesystem::path rotated_name(const std::filesystem::path& file, unsigned n) {
  std::filesystem::path name = file;
  name += "." + std::to_string(n);
  return name;
}

// FILE.<keep-1> to FILE.<keep> (replacing the oldest), ..., FILE to FILE.1; with keep 0, FILE
// goes. Returns the failed call's errno, or 0.
int shift_rotated(const std::filesystem::path& file, unsigned keep) {
  if (keep == 0)
    return ::unlink(file.c_str()) == 0 || errno == ENOENT ? 0 : errno;
  for (unsigned n = keep; n >= 2; --n)
    if (::rename(rotated_name(file, n - 1).c_str(), rotated_name(file, n).c_str()) != 0 &&
        errno != ENOENT)
      return errno;
  return ::rename(file.c_str(), rotated_name(file, 1).c_str()) == 0 || errno == ENOENT ? 0 : errno;
}

// With rotation on, an earlier run's trace is kept as FILE.1 rather than truncated. Only a
// regular file with something in it: a FIFO or a device is opened as it is.
int open_rotating_trace_file(const std::filesystem::path& file, const trace_sink_options& options) {
  struct stat st {};
  if (options.rotate_bytes > 0 && ::lstat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
      st.st_size > 0) {
    if (const int err = shift_rotated(file, options.keep_files))
      throw std::system_error(err, std::generic_category(),
                              "cannot rotate the earlier trace file " + file.string());
  }
  return open_trace_file(file);
}

int make_eventfd() {
  const int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0)
    throw std::system_error(errno, std::generic_category(), "trace sink: eventfd");
  return fd;
}

uint64_t count_lines(std::string_view text) {
  return static_cast<uint64_t>(std::count(text.begin(), text.end(), '\n'));
}

std::string in_ms(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

// The writer's view of one stripe: records taken from it and not yet written.
struct stripe_cursor {
  std::string records;
  std::size_t pos = 0;

  bool empty() const { return pos == records.size(); }
  record_head head() const {
    record_head h;
    std::memcpy(&h, records.data() + pos, sizeof h);
    return h;
  }
};

// Where one merged line is in the text, for the ring.
struct merged_line {
  uint64_t seq;
  trace_kind kind;
  const char* actor; // in its stripe's records, which stay put until the next round
  uint32_t actor_length;
  std::size_t begin, end; // in the text
};

// Merges the lines taken below `horizon` into `text`, by seq: each stripe is in seq order, so
// the smallest next head is the next line. With `placed`, says where each line went.
void merge(std::span<stripe_cursor> taken, uint64_t horizon, const node_field& node,
           int64_t& last_ts_us, std::string& text, std::vector<merged_line>* placed) {
  // Only the stripes of threads that emitted since the last round take part.
  std::vector<stripe_cursor*> active;
  for (stripe_cursor& c : taken)
    if (!c.empty())
      active.push_back(&c);
  text.clear();
  if (placed)
    placed->clear();
  for (;;) {
    stripe_cursor* next = nullptr;
    uint64_t next_seq = horizon;
    for (stripe_cursor* c : active) {
      if (!c->empty() && c->head().seq < next_seq) {
        next_seq = c->head().seq;
        next = c;
      }
    }
    if (!next)
      break;
    const record_head head = next->head();
    // Clocks were read on different threads before their seqs were taken: keep ts_us from
    // going backwards along seq.
    last_ts_us = std::max(last_ts_us, head.ts_us);
    const std::size_t begin = text.size();
    append_trace_head(text, head.seq, last_ts_us, node);
    const std::size_t actor_at = next->pos + sizeof head;
    text.append(next->records, actor_at + head.actor_length, head.length);
    if (placed)
      placed->push_back({head.seq, head.kind, next->records.data() + actor_at, head.actor_length,
                         begin, text.size()});
    next->pos += sizeof head + head.actor_length + head.length;
  }
}

} // namespace

class trace_sink::impl {
public:
  impl(int fd, std::ostream* out, std::filesystem::path path, std::string file,
       std::string_view node, trace_sink_options options);
  ~impl();

  uint64_t emit(const trace_event& ev);
  void flush();
  uint64_t dropped_total() const { return dropped_total_.load(); }
  bool failed() const { return failed_.load(); }
  // Asks the writer to stop; true once it has, false when left behind in a write.
  bool stop();
  void run();

private:
  // An emitting thread's queue: records of {seq, ts_us, length} followed by the line without
  // its head. A cache line of its own, so two threads' emits never touch the same one.
  struct alignas(64) stripe {
    std::mutex mu;
    std::string records;
  };
  static constexpr std::size_t stripe_count = 16;

  // Queues `body` as the line of the next seq and returns that seq; `force` ignores capacity.
  uint64_t enqueue(std::string_view body, std::string_view actor, trace_kind kind, bool force);
  void wake_writer();
  struct write_result {
    uint64_t lost = 0;      // lines of the text that did not make it whole into the file
    bool timed_out = false; // at the stop's deadline, with the file taking nothing
  };
  write_result write_out(std::string_view text);
  // Until the fd takes more (true), or the stop's deadline passes (false).
  bool wait_writable();
  void fail(const std::string& why);
  // Past rotate_bytes_: FILE becomes FILE.1 and a new FILE is opened.
  void rotate_if_full();

  std::ostream* const out_ = nullptr; // the stream, or null when the sink writes `fd_`
  int fd_ = -1;                       // closed by stop(), or with the state when left behind
  const std::string file_;            // for messages
  const std::filesystem::path path_;  // of the file, for rotation; empty for a stream
  const int wake_fd_; // an eventfd: stop() wakes the writer out of its poll on `fd_`
  const node_field node_;
  // At least 1: with 0 every event would be dropped, and with nothing ever queued the dropped
  // record would never be written.
  const std::size_t capacity_;
  const std::chrono::milliseconds flush_deadline_;
  const std::function<void(const std::string&)> on_error_;
  const std::shared_ptr<trace_ring> ring_;
  const uint64_t rotate_bytes_; // 0 unless `fd_` is a regular file and rotation was asked for
  const unsigned keep_files_;
  uint64_t file_bytes_ = 0; // written to the current file; the writer's

  std::array<stripe, stripe_count> stripes_;
  alignas(64) std::atomic<uint64_t> next_seq_{1};
  alignas(64) std::atomic<uint64_t> taken_seq_{0}; // every seq up to it is with the writer
  std::atomic<uint64_t> written_seq_{0}; // every seq up to it is written and flushed, or lost
  std::atomic<uint64_t> dropped_total_{0};
  std::atomic<bool> writer_idle_{false}; // the writer waits on work_cv_ for anything to write
  std::atomic<bool> failed_{false};
  std::atomic<bool> reported_{false}; // on_error_ was called: never twice
  // steady_clock ticks; 0 until stop(): the writer gives up on the file after it.
  std::atomic<int64_t> stop_deadline_{0};

  std::mutex mu_;                      // guards the members below and the writer's waits
  std::condition_variable work_cv_;    // something to write, or stopping_
  std::condition_variable written_cv_; // written_seq_, dropped_written_ or writer_done_ moved
  uint64_t dropped_reported_ = 0;      // drops covered by a queued dropped record
  uint64_t dropped_written_ = 0;       // drops covered by dropped records already written
  bool stopping_ = false;
  bool writer_done_ = false;
};

trace_sink::trace_sink(const std::filesystem::path& file, std::string_view node,
                       trace_sink_options options)
    : impl_(std::make_shared<impl>(open_rotating_trace_file(file, options), nullptr, file,
                                   file.string(), node, std::move(options))),
      writer_([state = impl_] { state->run(); }) {}

trace_sink::trace_sink(std::ostream& out, std::string_view node, trace_sink_options options)
    : impl_(std::make_shared<impl>(-1, &out, std::filesystem::path{}, "stream", node,
                                   std::move(options))),
      writer_([state = impl_] { state->run(); }) {}

trace_sink::~trace_sink() {
  close();
}

uint64_t trace_sink::emit(const trace_event& ev) {
  return impl_->emit(ev);
}

void trace_sink::flush() {
  impl_->flush();
}

bool trace_sink::close() {
  if (writer_.joinable()) {
    if (impl_->stop())
      writer_.join();
    else
      writer_.detach(); // it holds the state; the process may end with it still in the write
  }
  return !impl_->failed();
}

uint64_t trace_sink::dropped_total() const {
  return impl_->dropped_total();
}

bool trace_sink::failed() const {
  return impl_->failed();
}

namespace {

bool is_regular(int fd) {
  struct stat st {};
  return fd >= 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

} // namespace

trace_sink::impl::impl(int fd, std::ostream* out, std::filesystem::path path, std::string file,
                       std::string_view node, trace_sink_options options)
    : out_(out), fd_(fd), file_(std::move(file)), path_(std::move(path)), wake_fd_(make_eventfd()),
      node_(node), capacity_(std::max<std::size_t>(options.capacity, 1)),
      flush_deadline_(options.flush_deadline), on_error_(std::move(options.on_error)),
      ring_(std::move(options.ring)), rotate_bytes_(is_regular(fd) ? options.rotate_bytes : 0),
      keep_files_(options.keep_files) {}

trace_sink::impl::~impl() {
  if (fd_ >= 0)
    ::close(fd_);
  ::close(wake_fd_);
}

bool trace_sink::impl::stop() {
  const auto deadline = steady::now() + flush_deadline_;
  std::unique_lock lock(mu_);
  stopping_ = true;
  stop_deadline_.store(deadline.time_since_epoch().count());
  work_cv_.notify_one();
  eventfd_write(wake_fd_, 1); // out of a poll on a file that takes nothing
  // The writer gives up on the file at the deadline by itself, unless a write(2) or a stream
  // holds it: then past the grace it is left behind.
  if (written_cv_.wait_until(lock, deadline + abandon_grace, [this] { return writer_done_; })) {
    if (fd_ >= 0)
      ::close(std::exchange(fd_, -1)); // so that a FIFO's reader sees the end
    return true;
  }
  const uint64_t unwritten = next_seq_.load() - 1 - written_seq_.load();
  lock.unlock();
  fail("trace " + file_ + ": a write has not returned " + in_ms(flush_deadline_ + abandon_grace) +
       " after the stop; " + std::to_string(unwritten) + " events not written");
  return false;
}

uint64_t trace_sink::impl::emit(const trace_event& ev) {
  // Formatted before any lock, into a buffer that keeps its capacity from one event to the next.
  thread_local std::string body;
  body.clear();
  append_trace_body(body, ev);
  return enqueue(body, ev.actor, kind(ev), false);
}

uint64_t trace_sink::impl::enqueue(std::string_view body, std::string_view actor, trace_kind kind,
                                   bool force) {
  // A racy count, so the queue can overshoot `capacity_` by an event per emitting thread. The
  // writer stores taken_seq_ after reading next_seq_, so reading them in the other order never
  // sees more taken than numbered.
  const uint64_t taken = taken_seq_.load(std::memory_order_acquire);
  const uint64_t queued = next_seq_.load(std::memory_order_relaxed) - 1 - taken;
  if (!force && queued >= capacity_) {
    dropped_total_.fetch_add(1);
    wake_writer();
    return 0;
  }
  stripe& s = stripes_[stripe_of_this_thread(stripe_count)];
  const int64_t ts_us = now_us(); // outside the lock: the writer keeps ts_us in seq order
  if (!ring_)
    actor = {};
  uint64_t seq = 0;
  {
    std::lock_guard lock(s.mu);
    // Room first: once the seq is taken nothing may throw, or the file would miss that seq.
    s.records.reserve(s.records.size() + sizeof(record_head) + actor.size() + body.size());
    // Taken under the stripe's lock: once the writer has read next_seq_ and then taken every
    // stripe's lock in turn, every smaller seq is in a stripe it has taken.
    seq = next_seq_.fetch_add(1);
    const record_head head{seq, ts_us, static_cast<uint32_t>(body.size()),
                           static_cast<uint32_t>(actor.size()), kind};
    s.records.append(reinterpret_cast<const char*>(&head), sizeof head);
    s.records.append(actor);
    s.records.append(body);
  }
  wake_writer();
  return seq;
}

void trace_sink::impl::wake_writer() {
  // Seq_cst against the writer's store of writer_idle_ and its load of next_seq_: either it sees
  // this event before it sleeps or this sees it idle. Only the first event after an idle spell
  // takes the lock.
  if (writer_idle_.load()) {
    std::lock_guard lock(mu_);
    work_cv_.notify_one();
  }
}

void trace_sink::impl::flush() {
  const uint64_t seq = next_seq_.load() - 1;
  const uint64_t dropped = dropped_total_.load();
  std::unique_lock lock(mu_);
  // Once the trace failed, no dropped record is ever written.
  written_cv_.wait(lock, [&] {
    return written_seq_.load() >= seq && (dropped_written_ >= dropped || failed_.load());
  });
}

void trace_sink::impl::fail(const std::string& why) {
  failed_.store(true);
  if (!reported_.exchange(true) && on_error_)
    on_error_(why);
}

void trace_sink::impl::rotate_if_full() {
  if (rotate_bytes_ == 0 || file_bytes_ < rotate_bytes_ || failed_.load())
    return;
  const auto rotate_failed = [this](const char* what, int err) {
    fail("trace " + file_ + ": " + what + ": " + std::strerror(err) +
         "; further events are dropped");
  };
  if (const int err = shift_rotated(path_, keep_files_)) {
    rotate_failed("cannot rotate", err);
    return;
  }
  // Opened before the old one is closed, so that `fd_` is never a closed descriptor that stop()
  // or another open could reuse.
  const int fd = ::open(path_.c_str(),
                        O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC, 0640);
  if (fd < 0) {
    rotate_failed("cannot start a new file after rotating", errno);
    return;
  }
  ::fchmod(fd, 0640);
  std::lock_guard lock(mu_); // stop() closes `fd_` under it
  ::close(std::exchange(fd_, fd));
  file_bytes_ = 0;
}

bool trace_sink::impl::wait_writable() {
  for (;;) {
    const int64_t deadline = stop_deadline_.load();
    int timeout_ms = -1; // until close() sets a deadline, a reader may come back at any time
    if (deadline != 0) {
      const auto left = steady::time_point{steady::duration{deadline}} - steady::now();
      if (left <= steady::duration::zero())
        return false;
      timeout_ms = static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(left).count());
    }
    pollfd fds[2] = {{fd_, POLLOUT, 0}, {wake_fd_, POLLIN, 0}};
    const int ready = poll(fds, 2, timeout_ms);
    if (ready < 0 && errno != EINTR)
      return true; // let write() say what is wrong
    if (ready <= 0)
      continue;
    if (fds[1].revents & POLLIN) {
      eventfd_t ignored;
      eventfd_read(wake_fd_, &ignored);
    }
    // POLLERR and POLLHUP too: the write that follows reports them.
    if (fds[0].revents != 0)
      return true;
  }
}

trace_sink::impl::write_result trace_sink::impl::write_out(std::string_view text) {
  if (out_) {
    out_->write(text.data(), static_cast<std::streamsize>(text.size()));
    out_->flush();
    if (*out_)
      return {};
    fail("trace " + file_ + ": write failed; further events are dropped");
    return {count_lines(text), false};
  }
  while (!text.empty()) {
    const ssize_t n = ::write(fd_, text.data(), text.size());
    if (n > 0) {
      text.remove_prefix(static_cast<std::size_t>(n));
      file_bytes_ += static_cast<uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno != EAGAIN) {
      fail("trace " + file_ + ": write failed: " + std::strerror(errno) +
           "; further events are dropped");
      return {count_lines(text), false};
    }
    if (!wait_writable())
      return {count_lines(text), true}; // a line cut short counts as lost
  }
  return {};
}

void trace_sink::impl::run() {
  // Named, so that top, perf and gdb tell the writer from the actors' threads.
  pthread_setname_np(pthread_self(), "nv.trace");
  // Every signal blocked: a FIFO's vanished reader costs the trace (EPIPE), not the process
  // (SIGPIPE), and the stop signals stay with the thread that waits for them. Blocked here
  // rather than ignored process-wide, where child processes would inherit it.
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  std::array<stripe_cursor, stripe_count> taken;
  std::string text;
  std::vector<merged_line> placed;
  std::vector<trace_ring::line_view> ring_lines;
  int64_t last_ts_us = 0;
  uint64_t drops_in_flight = 0; // covered by a dropped record queued after the last round
  const auto has_work = [this] {
    return next_seq_.load() - 1 > written_seq_.load() || dropped_total_.load() > dropped_reported_;
  };
  for (;;) {
    bool stopping = false;
    {
      std::unique_lock lock(mu_);
      writer_idle_.store(true);
      work_cv_.wait(lock, [&] { return stopping_ || has_work(); });
      writer_idle_.store(false);
      stopping = stopping_;
      if (stopping && !has_work()) {
        writer_done_ = true;
        written_cv_.notify_all();
        return;
      }
    }
    if (!stopping && next_seq_.load() - 1 - taken_seq_.load() < batch_target) {
      // Let a batch gather before writing: one wake-up and one write per pause instead of one
      // per event or two. A reader following the file sees each event at most this much later.
      std::this_thread::sleep_for(batch_pause);
    }

    // Every seq below the horizon is in a stripe by the time its lock is taken (see enqueue);
    // larger ones may be there too, and wait for the next round so that the file stays in order.
    const uint64_t horizon = next_seq_.load();
    for (std::size_t i = 0; i < stripe_count; ++i) {
      stripe_cursor& c = taken[i];
      c.records.erase(0, c.pos);
      c.pos = 0;
      std::lock_guard lock(stripes_[i].mu);
      if (c.records.empty())
        c.records.swap(stripes_[i].records); // both keep their capacity for the next round
      else
        c.records += stripes_[i].records;
      stripes_[i].records.clear();
    }
    taken_seq_.store(horizon - 1);

    // Gapless: every seq up to the horizon was taken, none twice.
    const uint64_t lines = horizon - 1 - written_seq_.load();
    uint64_t lost = 0;
    if (failed_.load() && !ring_) {
      for (stripe_cursor& c : taken)
        c.pos = c.records.size();
      lost = lines;
    } else {
      merge(taken, horizon, node_, last_ts_us, text, ring_ ? &placed : nullptr);
      assert(count_lines(text) == lines);
      if (failed_.load()) {
        lost = lines; // to the file; the ring still has them
      } else {
        const write_result result = write_out(text);
        lost = result.lost;
        if (result.timed_out) {
          fail("trace " + file_ + ": the file took no more writes within " +
               in_ms(flush_deadline_) + " of the stop; " +
               std::to_string(lost + (next_seq_.load() - horizon)) + " events not written");
        }
        rotate_if_full();
      }
      if (ring_) {
        // After the file, so that a reader that finds a seq gone from the ring finds it in the
        // file (trace/trace_follow.hpp).
        ring_lines.clear();
        for (const merged_line& m : placed)
          ring_lines.push_back({m.seq, m.kind, std::string_view(m.actor, m.actor_length),
                                std::string_view(text).substr(m.begin, m.end - m.begin)});
        ring_->append(ring_lines);
      }
    }

    uint64_t drops_to_report = 0;
    {
      std::lock_guard lock(mu_);
      written_seq_.store(horizon - 1);
      dropped_written_ += drops_in_flight;
      const uint64_t dropped = dropped_total_.fetch_add(lost) + lost;
      // A failed trace writes no more dropped records: the writer drops those too.
      drops_to_report = failed_.load() ? 0 : dropped - dropped_reported_;
      dropped_reported_ = dropped;
      written_cv_.notify_all();
    }
    drops_in_flight = drops_to_report;
    if (drops_to_report > 0) {
      // Queued like any event, past the capacity that caused the drops, and written next round.
      std::string body;
      append_trace_body(body,
                        trace_event{std::string(sink_path), 0, dropped_event{drops_to_report}});
      enqueue(body, sink_path, trace_kind::dropped, true);
    }
  }
}

} // namespace nv
