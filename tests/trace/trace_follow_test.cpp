// The daemon's trace stream (trace/trace_follow.hpp) over a real sink: its ring and its rotated
// files, written by the sink's writer thread as the daemon's are.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "trace/trace_follow.hpp"
#include "trace/trace_ring.hpp"
#include "trace/trace_sink.hpp"

using namespace nv;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

using status = trace_reader_cursor::status;

// A sink as the daemon has it, with a small ring and small files so that a test's few thousand
// events span several rotated files and overflow the ring.
struct traced {
  explicit traced(std::size_t ring_lines = 100, uint64_t rotate_bytes = 16 * 1024,
                  unsigned keep_files = 50)
      : dir(fresh_dir()), file(dir / "trace.jsonl"),
        ring(std::make_shared<trace_ring>(ring_lines)) {
    trace_sink_options options;
    options.ring = ring;
    options.rotate_bytes = rotate_bytes;
    options.keep_files = keep_files;
    sink = std::make_unique<trace_sink>(file, "n1", options);
  }
  ~traced() {
    sink.reset();
    std::filesystem::remove_all(dir);
  }

  // `n` probe events of `actor`, flushed in batches so that files rotate along the way.
  uint64_t emit(uint64_t n, const std::string& actor = "/d/s/s-rep-1") {
    uint64_t last = 0;
    for (uint64_t i = 0; i < n; ++i) {
      last = sink->emit({actor, 0, probe_event{true, i, ""}});
      if (i % 50 == 49)
        sink->flush();
    }
    sink->flush();
    return last;
  }

  trace_reader_cursor cursor(uint64_t since, trace_filter filter = {}) const {
    return trace_reader_cursor(ring, file, since, std::move(filter));
  }

  static std::filesystem::path fresh_dir() {
    const auto dir = std::filesystem::path(testing::TempDir()) /
                     ("trace_follow_" + std::to_string(getpid()) + "_" +
                      testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
  }

  std::filesystem::path dir;
  std::filesystem::path file;
  std::shared_ptr<trace_ring> ring;
  std::unique_ptr<trace_sink> sink;
};

struct read_result {
  std::vector<json> lines;
  status last = status::more;
};

// Every line up to the end (not following), each parsed; fails on a line without its newline.
read_result read_all(trace_reader_cursor& cursor) {
  read_result r;
  std::vector<std::string> out;
  for (int calls = 0; calls < 100000; ++calls) {
    r.last = cursor.next(out, 0ms, false);
    for (const std::string& line : out) {
      EXPECT_TRUE(!line.empty() && line.back() == '\n') << line;
      r.lines.push_back(json::parse(line));
    }
    if (r.last == status::end || r.last == status::cut_off)
      break;
  }
  return r;
}

std::vector<uint64_t> seqs_of(const std::vector<json>& lines) {
  std::vector<uint64_t> seqs;
  for (const json& l : lines)
    seqs.push_back(l["seq"]);
  return seqs;
}

std::vector<uint64_t> range(uint64_t first, uint64_t last) {
  std::vector<uint64_t> r;
  for (uint64_t s = first; s <= last; ++s)
    r.push_back(s);
  return r;
}

// "none", or the seq after which the next one is not the next number ("12 then 15").
std::string first_gap(const std::vector<uint64_t>& seqs) {
  for (std::size_t i = 0; i < seqs.size(); ++i)
    if (seqs[i] != i + 1)
      return (i == 0 ? std::string{"the start"} : std::to_string(seqs[i - 1])) + " then " +
             std::to_string(seqs[i]);
  return "none";
}

int rotated_files(const traced& t) {
  int n = 0;
  while (std::filesystem::exists(t.file.string() + "." + std::to_string(n + 1)))
    ++n;
  return n;
}

TEST(TraceRing, BoundedInLinesKeepingTheLatest) {
  trace_ring ring(4, 1 << 20);
  EXPECT_EQ(ring.last_seq(), 0u);
  EXPECT_EQ(ring.oldest_seq(), 1u);
  for (uint64_t seq = 1; seq <= 10; ++seq)
    ring.append({seq, trace_kind::probe, "/a", "line " + std::to_string(seq) + "\n"});
  EXPECT_EQ(ring.oldest_seq(), 7u);
  EXPECT_EQ(ring.last_seq(), 10u);
  std::vector<uint64_t> seen;
  EXPECT_TRUE(ring.visit_after(6, 100, [&](const trace_ring::line& l) {
    seen.push_back(l.seq);
    return true;
  }));
  EXPECT_EQ(seen, range(7, 10));
  // The line after 5 is gone: the reader is told, and sees nothing.
  EXPECT_FALSE(ring.visit_after(5, 100, [&](const trace_ring::line&) {
    ADD_FAILURE();
    return true;
  }));
  seen.clear();
  EXPECT_TRUE(ring.visit_after(8, 1, [&](const trace_ring::line& l) {
    seen.push_back(l.seq);
    return true;
  }));
  EXPECT_EQ(seen, std::vector<uint64_t>{9});
}

TEST(TraceRing, BoundedInBytesButKeepsAtLeastTheLastLine) {
  const std::string hundred(99, 'x');
  trace_ring ring(1000, 350); // a line here costs its text and its actor: 101 bytes
  for (uint64_t seq = 1; seq <= 10; ++seq)
    ring.append({seq, trace_kind::probe, "/a", hundred + "\n"});
  EXPECT_EQ(ring.oldest_seq(), 8u);
  EXPECT_EQ(ring.last_seq(), 10u);

  ring.append({11, trace_kind::probe, "/a", std::string(1000, 'y') + "\n"});
  EXPECT_EQ(ring.oldest_seq(), 11u);
  EXPECT_EQ(ring.last_seq(), 11u);
}

TEST(TraceRing, AWaitingReaderWakesOnANewLine) {
  trace_ring ring;
  std::thread writer([&] {
    std::this_thread::sleep_for(20ms);
    ring.append({1, trace_kind::spawn, "/a", "x\n"});
  });
  EXPECT_TRUE(ring.wait_past(0, std::chrono::steady_clock::now() + 30s));
  writer.join();
  EXPECT_FALSE(ring.wait_past(1, std::chrono::steady_clock::now() + 10ms));
}

TEST(TraceFollow, SinceZeroReadsEverythingKeptThenEnds) {
  traced t(10000);
  const uint64_t last = t.emit(300);
  auto cursor = t.cursor(0);
  const read_result r = read_all(cursor);
  EXPECT_EQ(r.last, status::end);
  EXPECT_EQ(seqs_of(r.lines), range(1, last));
  EXPECT_EQ(cursor.last_seq(), last);
}

TEST(TraceFollow, ReplaysRotatedFilesThenTheRingWithoutGapOrDuplicate) {
  traced t;
  const uint64_t last = t.emit(3000);
  ASSERT_GE(rotated_files(t), 5); // the replay crosses several rotated files
  ASSERT_GT(t.ring->oldest_seq(), 2000u);

  for (const uint64_t since : {uint64_t{0}, uint64_t{1}, uint64_t{437}, uint64_t{1999},
                               t.ring->oldest_seq() - 1, t.ring->oldest_seq(), last - 1}) {
    auto cursor = t.cursor(since);
    const read_result r = read_all(cursor);
    EXPECT_EQ(r.last, status::end) << "since " << since;
    EXPECT_EQ(seqs_of(r.lines), range(since + 1, last)) << "since " << since;
  }
}

TEST(TraceFollow, NotFollowingReadsWhatIsThereAtTheFirstCall) {
  traced t(10000);
  t.emit(100);
  auto cursor = t.cursor(0);
  std::vector<std::string> out;
  EXPECT_EQ(cursor.next(out, 0ms, false), status::end);
  EXPECT_EQ(out.size(), 100u);
  t.emit(10);
  EXPECT_EQ(cursor.next(out, 0ms, false), status::end);
  EXPECT_TRUE(out.empty());
}

TEST(TraceFollow, SinceFromTheFutureStartsAtTheNewest) {
  // A client resuming with a seq of an earlier daemon, whose seqs went further.
  traced t(10000);
  const uint64_t last = t.emit(20);
  auto cursor = t.cursor(1'000'000);
  EXPECT_EQ(cursor.last_seq(), last);
  std::vector<std::string> out;
  EXPECT_EQ(cursor.next(out, 0ms, true), status::idle);
  EXPECT_TRUE(out.empty());
  t.emit(3);
  EXPECT_EQ(cursor.next(out, 30s, true), status::more);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(json::parse(out[0])["seq"], last + 1);
}

TEST(TraceFollow, AnEarlierRunsRotatedFilesAreNotReplayed) {
  const auto dir = traced::fresh_dir();
  const auto file = dir / "trace.jsonl";
  trace_sink_options options;
  options.rotate_bytes = 1 << 20;
  {
    trace_sink earlier(file, "n1", options); // its file becomes trace.jsonl.1 below
    for (uint64_t i = 0; i < 50; ++i)
      earlier.emit({"/earlier", 0, probe_event{true, i, ""}});
  }
  auto ring = std::make_shared<trace_ring>(5);
  options.ring = ring;
  trace_sink sink(file, "n1", options);
  for (uint64_t i = 0; i < 20; ++i)
    sink.emit({"/now", 0, probe_event{true, i, ""}});
  sink.flush();
  ASSERT_TRUE(std::filesystem::exists(dir / "trace.jsonl.1"));

  trace_reader_cursor cursor(ring, file, 0, {});
  const read_result r = read_all(cursor);
  EXPECT_EQ(seqs_of(r.lines), range(1, 20));
  for (const json& l : r.lines)
    EXPECT_EQ(l["actor"], "/now");
  sink.close();
  std::filesystem::remove_all(dir);
}

TEST(TraceFollow, FiltersByActorSubtreeAndEventInFilesAndRing) {
  traced t(50);
  const std::vector<std::string> actors = {"/d/api", "/d/api/api-rep-1", "/d/api-gw",
                                           "/d/api/api-rep-1/probe", "/d/db"};
  for (int round = 0; round < 40; ++round) {
    for (const std::string& a : actors) {
      t.sink->emit({a, 0, probe_event{true, 0, ""}});
      t.sink->emit({a, 0, state_event{lifecycle::starting, lifecycle::running, 0}});
    }
    t.sink->flush();
  }
  ASSERT_GE(rotated_files(t), 1);
  ASSERT_GT(t.ring->oldest_seq(), 100u); // the first lines come from the files

  auto by_actor = t.cursor(0, {"/d/api", {}});
  const read_result api = read_all(by_actor);
  EXPECT_EQ(api.lines.size(), 40u * 3 * 2);
  for (const json& l : api.lines) {
    const std::string actor = l["actor"];
    EXPECT_TRUE(actor == "/d/api" || actor.starts_with("/d/api/")) << actor;
  }

  auto by_event = t.cursor(0, {"/d/api/", {"state", "failure"}});
  const read_result states = read_all(by_event);
  EXPECT_EQ(states.lines.size(), 40u * 3);
  for (const json& l : states.lines)
    EXPECT_EQ(l["event"], "state");
  EXPECT_EQ(by_event.last_seq(), t.ring->last_seq()); // filtered lines are passed, not waited on

  auto none = t.cursor(0, {"/nowhere", {}});
  EXPECT_TRUE(read_all(none).lines.empty());
}

TEST(TraceFollow, AFollowerWakesOnANewLine) {
  traced t;
  t.emit(5);
  auto cursor = t.cursor(5);
  std::vector<std::string> out;
  EXPECT_EQ(cursor.next(out, 0ms, true), status::idle);
  std::thread emitter([&] {
    std::this_thread::sleep_for(50ms); // most likely after the reader is waiting
    t.sink->emit({"/late", 0, probe_event{true, 0, ""}});
  });
  const status s = cursor.next(out, 60s, true);
  emitter.join();
  EXPECT_EQ(s, status::more);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(json::parse(out[0])["actor"], "/late");
  EXPECT_EQ(json::parse(out[0])["seq"], 6);
}

TEST(TraceFollow, AReaderThatStopsReadingIsCutOffAndCanResumeFromTheFiles) {
  constexpr std::size_t ring_lines = 100;
  traced t(ring_lines);
  t.emit(30);
  auto cursor = t.cursor(0);
  std::vector<std::string> out;
  ASSERT_EQ(cursor.next(out, 0ms, true), status::more);
  ASSERT_EQ(out.size(), 30u);
  const uint64_t stopped_at = cursor.last_seq();

  // The reader stops reading while ten rings' worth is emitted: the emitters finish.
  std::vector<std::thread> emitters;
  for (int i = 0; i < 2; ++i)
    emitters.emplace_back([&] { t.emit(5 * ring_lines); });
  for (auto& e : emitters)
    e.join();

  EXPECT_EQ(cursor.next(out, 0ms, true), status::cut_off);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], trace_reader_cursor::cut_off_line(stopped_at));
  const json cut = json::parse(out[0]);
  EXPECT_EQ(cut["event"], "cut_off");
  EXPECT_EQ(cut["last_seq"], stopped_at);
  EXPECT_EQ(cut["message"], "reader too slow: resume with since=" + std::to_string(stopped_at));

  // Resuming where it says: everything after, from the files and then the ring.
  auto resumed = t.cursor(stopped_at);
  const read_result r = read_all(resumed);
  EXPECT_EQ(r.last, status::end);
  EXPECT_EQ(seqs_of(r.lines), range(stopped_at + 1, t.ring->last_seq()));
}

TEST(TraceFollow, AFollowerCatchesUpFromTheFilesWhileTheTreeEmits) {
  traced t(200);
  t.emit(1000);
  std::atomic<bool> done{false};
  std::thread emitter([&] {
    for (int i = 0; i < 20; ++i)
      t.emit(50);
    done = true;
  });
  auto cursor = t.cursor(0);
  std::vector<uint64_t> seqs;
  std::vector<std::string> out;
  bool cut = false;
  // Until everything emitted is read, or the reader was too slow (a loaded machine).
  while (!(done && cursor.last_seq() == t.ring->last_seq())) {
    const status s = cursor.next(out, 100ms, true);
    for (const std::string& line : out)
      if (s != status::cut_off || &line != &out.back())
        seqs.push_back(json::parse(line)["seq"]);
    if (s == status::cut_off) {
      cut = true;
      break;
    }
  }
  emitter.join();
  ASSERT_FALSE(seqs.empty());
  EXPECT_EQ(seqs, range(1, seqs.back()))
      << (cut ? "cut off" : "caught up") << ", first gap after " << first_gap(seqs);
}

TEST(TraceFollow, RingAloneWithoutAFileStartsAtItsOldest) {
  auto ring = std::make_shared<trace_ring>(10);
  for (uint64_t seq = 1; seq <= 25; ++seq)
    ring->append({seq, trace_kind::probe, "/a", "{\"seq\":" + std::to_string(seq) + "}\n"});
  trace_reader_cursor cursor(ring, {}, 0, {});
  const read_result r = read_all(cursor);
  EXPECT_EQ(seqs_of(r.lines), range(16, 25));
}

} // namespace
