#include "trace/trace_sink.hpp"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <pthread.h>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "messages/failure.hpp"
#include "trace/trace_line.hpp"

namespace nv {

namespace {

// The sink's own path (design §1), the actor of the dropped records it writes.
constexpr std::string_view sink_path = "/_trace";

constexpr std::size_t batch_target = 1024;
constexpr auto batch_pause = std::chrono::milliseconds{2};

// What a stripe holds before each line's body: the head the writer formats.
struct record_head {
  uint64_t seq;
  int64_t ts_us;
  uint64_t length; // of the body that follows
};

// Threads take stripes in turn, so the first `count` emitting threads never share one.
std::size_t stripe_of_this_thread(std::size_t count) {
  static std::atomic<std::size_t> next{0};
  thread_local const std::size_t mine = next.fetch_add(1, std::memory_order_relaxed);
  return mine % count;
}

std::unique_ptr<std::ostream> open_trace_file(const std::filesystem::path& file) {
  auto out = std::make_unique<std::ofstream>(file, std::ios::out | std::ios::trunc);
  if (!*out)
    throw std::system_error(errno, std::generic_category(),
                            "cannot open trace file " + file.string());
  return out;
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

} // namespace

trace_sink::trace_sink(const std::filesystem::path& file, std::string_view node,
                       std::size_t capacity)
    : file_(open_trace_file(file)), out_(*file_), node_(node),
      capacity_(std::max<std::size_t>(capacity, 1)) {}

trace_sink::trace_sink(std::ostream& out, std::string_view node, std::size_t capacity)
    : out_(out), node_(node), capacity_(std::max<std::size_t>(capacity, 1)) {}

trace_sink::~trace_sink() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_one();
  writer_.join();
}

uint64_t trace_sink::emit(const trace_event& ev) {
  // Formatted before any lock, into a buffer that keeps its capacity from one event to the next.
  thread_local std::string body;
  body.clear();
  append_trace_body(body, ev);
  return enqueue(body, false);
}

uint64_t trace_sink::enqueue(std::string_view body, bool force) {
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
  uint64_t seq = 0;
  {
    std::lock_guard lock(s.mu);
    // Room first: once the seq is taken nothing may throw, or the file would miss that seq.
    s.records.reserve(s.records.size() + sizeof(record_head) + body.size());
    // Taken under the stripe's lock: once the writer has read next_seq_ and then taken every
    // stripe's lock in turn, every smaller seq is in a stripe it has taken.
    seq = next_seq_.fetch_add(1);
    const record_head head{seq, ts_us, body.size()};
    s.records.append(reinterpret_cast<const char*>(&head), sizeof head);
    s.records.append(body);
  }
  wake_writer();
  return seq;
}

void trace_sink::wake_writer() {
  // Seq_cst against the writer's store of writer_idle_ and its load of next_seq_: either it sees
  // this event before it sleeps or this sees it idle. Only the first event after an idle spell
  // takes the lock.
  if (writer_idle_.load()) {
    std::lock_guard lock(mu_);
    work_cv_.notify_one();
  }
}

void trace_sink::flush() {
  const uint64_t seq = next_seq_.load() - 1;
  const uint64_t dropped = dropped_total_.load();
  std::unique_lock lock(mu_);
  written_cv_.wait(lock, [&] { return written_seq_.load() >= seq && dropped_written_ >= dropped; });
}

uint64_t trace_sink::dropped_total() const {
  return dropped_total_.load();
}

void trace_sink::run() {
  // Named, so that top, perf and gdb tell the writer from the actors' threads.
  pthread_setname_np(pthread_self(), "nv.trace");
  std::array<stripe_cursor, stripe_count> taken;
  std::vector<stripe_cursor*> active;
  std::string text;
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
      if (stopping && !has_work())
        return;
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

    // Merge by seq: each stripe is in seq order, so the smallest next head is the next line.
    // Only the stripes of threads that emitted since the last round take part.
    active.clear();
    for (stripe_cursor& c : taken)
      if (!c.empty())
        active.push_back(&c);
    text.clear();
    uint64_t lines = 0;
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
      append_trace_head(text, head.seq, last_ts_us, node_);
      text.append(next->records, next->pos + sizeof head, head.length);
      next->pos += sizeof head + head.length;
      ++lines;
    }
    // Gapless: every seq up to the horizon was taken, none twice.
    assert(lines == horizon - 1 - written_seq_.load());
    out_.write(text.data(), static_cast<std::streamsize>(text.size()));
    out_.flush();

    uint64_t drops_to_report = 0;
    {
      std::lock_guard lock(mu_);
      written_seq_.store(horizon - 1);
      dropped_written_ += drops_in_flight;
      const uint64_t dropped = dropped_total_.load();
      drops_to_report = dropped - dropped_reported_;
      dropped_reported_ = dropped;
      written_cv_.notify_all();
    }
    drops_in_flight = drops_to_report;
    if (drops_to_report > 0) {
      // Queued like any event, past the capacity that caused the drops, and written next round.
      std::string body;
      append_trace_body(body,
                        trace_event{std::string(sink_path), 0, dropped_event{drops_to_report}});
      enqueue(body, true);
    }
  }
}

} // namespace nv
