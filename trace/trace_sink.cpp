#include "trace/trace_sink.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <system_error>
#include <thread>
#include <utility>

#include "messages/failure.hpp"
#include "trace/trace_line.hpp"

namespace nv {

namespace {

// The sink's own path (design §1), the actor of the dropped records it writes.
constexpr std::string_view sink_path = "/_trace";

constexpr std::size_t batch_target = 1024;
constexpr auto batch_pause = std::chrono::milliseconds{2};

std::unique_ptr<std::ostream> open_trace_file(const std::filesystem::path& file) {
  auto out = std::make_unique<std::ofstream>(file, std::ios::out | std::ios::trunc);
  if (!*out)
    throw std::system_error(errno, std::generic_category(),
                            "cannot open trace file " + file.string());
  return out;
}

} // namespace

trace_sink::trace_sink(const std::filesystem::path& file, std::string node, std::size_t capacity)
    : file_(open_trace_file(file)), out_(*file_), node_(std::move(node)),
      capacity_(std::max<std::size_t>(capacity, 1)) {}

trace_sink::trace_sink(std::ostream& out, std::string node, std::size_t capacity)
    : out_(out), node_(std::move(node)), capacity_(std::max<std::size_t>(capacity, 1)) {}

trace_sink::~trace_sink() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_one();
  writer_.join();
}

uint64_t trace_sink::emit(trace_event ev) {
  uint64_t seq = 0;
  bool was_empty = false;
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= capacity_) {
      ++dropped_total_;
      ++dropped_unreported_;
      return 0;
    }
    seq = next_seq_++;
    was_empty = queue_.empty();
    // The clock is read under the lock too, so ts_us never goes backwards along seq.
    queue_.push_back({seq, now_us(), std::move(ev)});
  }
  // The writer only sleeps on an empty queue: one wake-up per batch, not per event.
  if (was_empty)
    work_cv_.notify_one();
  return seq;
}

void trace_sink::flush() {
  std::unique_lock lock(mu_);
  const uint64_t seq = next_seq_ - 1;
  const uint64_t dropped = dropped_total_;
  written_cv_.wait(lock, [&] { return written_seq_ >= seq && dropped_written_ >= dropped; });
}

uint64_t trace_sink::dropped_total() const {
  std::lock_guard lock(mu_);
  return dropped_total_;
}

void trace_sink::run() {
  std::vector<entry> batch;
  std::string text;
  std::unique_lock lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (!stopping_ && queue_.size() < batch_target) {
      // Let a batch gather before writing: emitters signal only an empty queue, so this is one
      // wake-up and one write per pause instead of one per event or two, which on a busy tree
      // cost the scheduler threads more than the events themselves. A reader following the
      // file sees each event at most this much later.
      lock.unlock();
      std::this_thread::sleep_for(batch_pause);
      lock.lock();
    }
    // Drops happen only while the queue is full, so an empty queue has no drop left to report.
    if (queue_.empty())
      return;
    batch.swap(queue_);
    const uint64_t dropped = dropped_unreported_;
    if (dropped > 0) {
      dropped_unreported_ = 0;
      batch.push_back(
          {next_seq_++, now_us(), trace_event{std::string(sink_path), 0, dropped_event{dropped}}});
    }
    lock.unlock();

    text.clear();
    for (const entry& e : batch)
      append_trace_line(text, e.seq, e.ts_us, node_, e.ev);
    out_.write(text.data(), static_cast<std::streamsize>(text.size()));
    out_.flush();
    const uint64_t last = batch.back().seq;
    batch.clear(); // frees the events' strings here, not under the lock

    lock.lock();
    written_seq_ = last;
    dropped_written_ += dropped;
    written_cv_.notify_all();
  }
}

} // namespace nv
