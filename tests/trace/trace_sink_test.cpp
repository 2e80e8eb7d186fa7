#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <poll.h>
#include <set>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "messages/agent_error.hpp"
#include "messages/failure.hpp"
#include "trace/trace_ring.hpp"
#include "trace/trace_sink.hpp"

using namespace nv;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// Every line parsed as JSON; fails the test on a line that is not.
std::vector<json> parse_lines(const std::string& text) {
  std::vector<json> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    try {
      lines.push_back(json::parse(line));
    } catch (const json::exception& e) {
      ADD_FAILURE() << "not a JSON line: " << line << " (" << e.what() << ")";
    }
  }
  EXPECT_TRUE(text.empty() || text.back() == '\n') << "last line unterminated";
  return lines;
}

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

trace_sink_options with_capacity(std::size_t capacity) {
  trace_sink_options options;
  options.capacity = capacity;
  return options;
}

trace_event probe_at(std::string actor, uint64_t n) {
  return {std::move(actor), 0, probe_event{true, n, ""}};
}

// A stream whose first write blocks until released: a trace file on a stalled disk. The writer
// thread is then known to be stuck with its batch taken, which makes the queue's fill level exact.
class stalled_buf : public std::stringbuf {
public:
  void wait_until_stalled() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return stalled_; });
  }

  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    {
      std::unique_lock lock(mu_);
      stalled_ = true;
      cv_.notify_all();
      cv_.wait(lock, [this] { return released_; });
    }
    return std::stringbuf::xsputn(s, n);
  }

private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stalled_ = false;
  bool released_ = false;
};

TEST(TraceSink, WritesEveryKindAsOneJsonLine) {
  const AgentError err = HealthCheckFailed{"api-rep-1", "connection refused"};
  const std::string api = "/web-stack/api/api-rep-1";
  std::ostringstream out;
  trace_sink sink(out, "n1");

  const int64_t before = now_us();
  const uint64_t spawn = sink.emit({api, 0, spawn_event{"/web-stack/api"}});
  sink.emit({api, spawn, state_event{lifecycle::starting, lifecycle::running, 4242}});
  sink.emit({api, 0, state_event{lifecycle::running, lifecycle::healthy, std::nullopt}});
  const uint64_t probe =
      sink.emit({api + "/probe", 0, probe_event{false, 1500, "connection refused"}});
  const uint64_t fail = sink.emit({api, probe, failure_event{err, 2}});
  sink.emit({api, fail, exit_event{exit_event::reason_kind::failure, err, std::nullopt, {}}});
  sink.emit(
      {api, 0, exit_event{exit_event::reason_kind::shutdown, std::nullopt, std::nullopt, {}}});
  sink.emit({"/web-stack/api", fail, restart_event{api, "one_for_one", 1000}});
  sink.emit({"/web-stack/api", fail, escalate_event{"/web-stack", api, err}});
  sink.emit({"/web-stack/api/wait:db", 0,
             wait_event{"db", "healthy", wait_event::outcome_kind::timeout_warn}});
  sink.emit({"/_peers", 0, route_event{"gpu", "windows", std::nullopt}});
  sink.emit({"/_peers", 0, route_event{"gpu", "windows", "n2"}});
  sink.emit({"/web-stack/api", 0, send_event{api, "restart", "api-rep-1"}});
  sink.emit({api, 0, recv_event{"/web-stack/api", "restart", "api-rep-1"}});
  sink.flush();
  const int64_t after = now_us();

  const std::vector<json> lines = parse_lines(out.str());
  const json err_json = err;
  const std::vector<json> expected = {
      {{"event", "spawn"}, {"actor", api}, {"parent", "/web-stack/api"}},
      {{"event", "state"},
       {"actor", api},
       {"cause", 1},
       {"from", "starting"},
       {"to", "running"},
       {"pid", 4242}},
      {{"event", "state"}, {"actor", api}, {"from", "running"}, {"to", "healthy"}},
      {{"event", "probe"},
       {"actor", api + "/probe"},
       {"ok", false},
       {"latency_us", 1500},
       {"reason", "connection refused"}},
      {{"event", "failure"}, {"actor", api}, {"cause", 4}, {"error", err_json}, {"attempt", 2}},
      {{"event", "exit"}, {"actor", api}, {"cause", 5}, {"reason", "failure"}, {"error", err_json}},
      {{"event", "exit"}, {"actor", api}, {"reason", "shutdown"}},
      {{"event", "restart"},
       {"actor", "/web-stack/api"},
       {"cause", 5},
       {"child", api},
       {"strategy", "one_for_one"},
       {"delay_ms", 1000}},
      {{"event", "escalate"},
       {"actor", "/web-stack/api"},
       {"cause", 5},
       {"to", "/web-stack"},
       {"origin", api},
       {"error", err_json}},
      {{"event", "wait"},
       {"actor", "/web-stack/api/wait:db"},
       {"dependency", "db"},
       {"condition", "healthy"},
       {"outcome", "timeout_warn"}},
      {{"event", "route"},
       {"actor", "/_peers"},
       {"service", "gpu"},
       {"required_os", "windows"},
       {"peer", nullptr}},
      {{"event", "route"},
       {"actor", "/_peers"},
       {"service", "gpu"},
       {"required_os", "windows"},
       {"peer", "n2"}},
      {{"event", "send"},
       {"actor", "/web-stack/api"},
       {"to", api},
       {"msg", "restart"},
       {"summary", "api-rep-1"}},
      {{"event", "recv"},
       {"actor", api},
       {"from", "/web-stack/api"},
       {"msg", "restart"},
       {"summary", "api-rep-1"}},
  };
  ASSERT_EQ(lines.size(), expected.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    json line = lines[i];
    ASSERT_TRUE(line["ts_us"].is_number_integer()) << line;
    const auto ts = line["ts_us"].get<int64_t>();
    EXPECT_GE(ts, before);
    EXPECT_LE(ts, after);
    json want = expected[i];
    want["seq"] = i + 1;
    want["node"] = "n1";
    line.erase("ts_us");
    EXPECT_EQ(line, want) << "line " << i + 1;
  }
}

TEST(TraceSink, CauseNamesAnEarlierSeq) {
  std::ostringstream out;
  trace_sink sink(out, "n1");
  const uint64_t failed = sink.emit({"/d/s/s-rep-1", 0, failure_event{Internal{"x"}, 0}});
  sink.emit({"/d/s", 0, spawn_event{"/d"}});
  const uint64_t restarted =
      sink.emit({"/d/s", failed, restart_event{"/d/s/s-rep-1", "one_for_one", 0}});
  sink.flush();

  const std::vector<json> lines = parse_lines(out.str());
  ASSERT_EQ(lines.size(), 3u);
  const json& restart = lines.at(restarted - 1);
  EXPECT_EQ(restart["seq"], restarted);
  EXPECT_EQ(restart["cause"], failed);
  EXPECT_LT(failed, restarted);
  EXPECT_EQ(lines.at(failed - 1)["event"], "failure");
  EXPECT_FALSE(lines.at(1).contains("cause"));
}

TEST(TraceSink, ConcurrentEmittersGiveGaplessIncreasingSeq) {
  // More threads than the sink has stripes, so that some share one.
  constexpr int threads = 24;
  constexpr uint64_t per_thread = 2000;
  std::ostringstream out;
  trace_sink sink(out, "n1"); // default capacity holds every event: nothing can drop
  std::vector<std::vector<uint64_t>> seqs(threads);
  {
    std::vector<std::jthread> emitters;
    for (int t = 0; t < threads; ++t)
      emitters.emplace_back([&sink, &seqs, t] {
        for (uint64_t i = 0; i < per_thread; ++i)
          seqs[t].push_back(sink.emit(probe_at("/t" + std::to_string(t), i)));
      });
  }
  sink.flush();
  EXPECT_EQ(sink.dropped_total(), 0u);

  const std::vector<json> lines = parse_lines(out.str());
  ASSERT_EQ(lines.size(), threads * per_thread);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    ASSERT_EQ(lines[i]["seq"], i + 1);
    if (i > 0) {
      ASSERT_GE(lines[i]["ts_us"], lines[i - 1]["ts_us"]) << "line " << i + 1;
    }
  }
  // Each returned seq names that thread's event on that line, and a thread's events keep its
  // order.
  for (int t = 0; t < threads; ++t)
    for (uint64_t i = 0; i < per_thread; ++i) {
      const json& line = lines.at(seqs[t][i] - 1);
      ASSERT_EQ(line["actor"], "/t" + std::to_string(t));
      ASSERT_EQ(line["latency_us"], i);
    }
}

TEST(TraceSink, FullQueueDropsWithoutBlockingAndReportsTheCount) {
  constexpr std::size_t capacity = 4;
  constexpr uint64_t overflow = 10;
  stalled_buf buf;
  std::ostream out(&buf);
  trace_sink sink(out, "n1", with_capacity(capacity));

  EXPECT_EQ(sink.emit(probe_at("/a", 0)), 1u);
  buf.wait_until_stalled(); // the writer holds seq 1 and cannot write it: the queue is empty

  const auto start = std::chrono::steady_clock::now();
  for (uint64_t i = 1; i <= capacity; ++i)
    EXPECT_EQ(sink.emit(probe_at("/a", i)), i + 1);
  for (uint64_t i = 0; i < overflow; ++i)
    EXPECT_EQ(sink.emit(probe_at("/a", 100 + i)), 0u);
  // Reaching this line at all shows emit did not wait for the stalled writer; the bound only
  // catches a wait that ends by accident.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_EQ(sink.dropped_total(), overflow);

  buf.release();
  sink.flush();
  const std::vector<json> lines = parse_lines(buf.str());
  ASSERT_EQ(lines.size(), capacity + 2);
  for (std::size_t i = 0; i <= capacity; ++i) {
    EXPECT_EQ(lines[i]["seq"], i + 1);
    EXPECT_EQ(lines[i]["event"], "probe");
    EXPECT_EQ(lines[i]["latency_us"], i);
  }
  const json& dropped = lines.back();
  EXPECT_EQ(dropped["seq"], capacity + 2);
  EXPECT_EQ(dropped["event"], "dropped");
  EXPECT_EQ(dropped["actor"], "/_trace");
  EXPECT_EQ(dropped["count"], overflow);

  // With room again, events are accepted and numbered after the dropped record.
  EXPECT_EQ(sink.emit(probe_at("/a", 200)), capacity + 3);
}

TEST(TraceSink, DestructionWritesEverything) {
  std::ostringstream out;
  {
    trace_sink sink(out, "n1", with_capacity(16));
    for (uint64_t i = 0; i < 10; ++i)
      sink.emit(probe_at("/a", i));
  }
  const std::vector<json> lines = parse_lines(out.str());
  ASSERT_EQ(lines.size(), 10u);
  EXPECT_EQ(lines.back()["seq"], 10);
}

TEST(TraceSink, DestructionWritesThePendingDroppedRecord) {
  stalled_buf buf;
  std::ostream out(&buf);
  {
    trace_sink sink(out, "n1", with_capacity(1));
    sink.emit(probe_at("/a", 0));
    buf.wait_until_stalled();
    sink.emit(probe_at("/a", 1));
    EXPECT_EQ(sink.emit(probe_at("/a", 2)), 0u);
    buf.release();
  }
  const std::vector<json> lines = parse_lines(buf.str());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2]["event"], "dropped");
  EXPECT_EQ(lines[2]["count"], 1);
}

TEST(TraceSink, FileCanBeFollowedLiveAndIsCompleteAfterDestruction) {
  const std::filesystem::path file = std::filesystem::path(testing::TempDir()) /
                                     ("trace_sink_test_" + std::to_string(getpid()) + ".jsonl");
  {
    trace_sink sink(file, "n1");
    sink.emit({"/a", 0, spawn_event{"/"}});
    sink.flush();
    EXPECT_EQ(parse_lines(read_file(file)).size(), 1u); // on disk while the sink runs
    sink.emit(
        {"/a", 0, exit_event{exit_event::reason_kind::normal, std::nullopt, std::nullopt, {}}});
    EXPECT_TRUE(sink.close());
    EXPECT_FALSE(sink.failed());
  }
  const std::vector<json> lines = parse_lines(read_file(file));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1]["reason"], "normal");
  EXPECT_FALSE(lines[1].contains("error"));
  std::filesystem::remove(file);
}

TEST(TraceSink, UnopenableFileThrows) {
  EXPECT_THROW(trace_sink("/nonexistent-dir/trace.jsonl", "n1"), std::system_error);
}

// A FIFO in a directory of its own; its read end when opened.
class Fifo : public testing::Test {
protected:
  Fifo() {
    std::filesystem::create_directories(dir);
    EXPECT_EQ(mkfifo(path.c_str(), 0600), 0) << std::strerror(errno);
  }
  ~Fifo() override {
    if (reader >= 0)
      close(reader);
    std::filesystem::remove_all(dir);
  }

  // Opens the read end, with the pipe as small as Linux makes one so that a few events fill it.
  void open_reader() {
    reader = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    ASSERT_GE(reader, 0) << std::strerror(errno);
    ASSERT_EQ(fcntl(reader, F_SETPIPE_SZ, 4096), 4096);
  }
  // Everything the pipe holds now.
  std::string drain() {
    std::string text;
    char buf[4096];
    for (ssize_t n; (n = read(reader, buf, sizeof buf)) > 0;)
      text.append(buf, static_cast<std::size_t>(n));
    return text;
  }

  const std::filesystem::path dir = std::filesystem::path(testing::TempDir()) /
                                    ("trace_sink_fifo_" + std::to_string(getpid()) + "_" +
                                     testing::UnitTest::GetInstance()->current_test_info()->name());
  const std::filesystem::path path = dir / "trace.fifo";
  int reader = -1;
};

// Every message the sink reported.
struct reports {
  std::mutex mu;
  std::vector<std::string> messages;

  trace_sink_options options(std::chrono::milliseconds flush_deadline = 2000ms) {
    trace_sink_options o;
    o.flush_deadline = flush_deadline;
    o.on_error = [this](const std::string& m) {
      std::lock_guard lock(mu);
      messages.push_back(m);
    };
    return o;
  }
  std::vector<std::string> taken() {
    std::lock_guard lock(mu);
    return messages;
  }
};

TEST_F(Fifo, CloseGivesUpOnAReaderThatStoppedReadingAndCountsWhatIsLost) {
  open_reader();
  reports r;
  trace_sink sink(path, "n1", r.options(200ms));
  constexpr uint64_t events = 500; // some 40 KiB: ten times what the pipe holds
  for (uint64_t i = 0; i < events; ++i)
    sink.emit(probe_at("/a", i));

  // Returning at all is the point: the bound only catches a wait that ends by accident.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(sink.close());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);

  const auto messages = r.taken();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_NE(messages[0].find(path.string()), std::string::npos) << messages[0];
  EXPECT_NE(messages[0].find("took no more writes within 200 ms"), std::string::npos)
      << messages[0];
  // What the reader gets is whole lines, maybe one cut short; that one counts as lost too.
  const std::string text = drain();
  const auto whole = static_cast<uint64_t>(std::count(text.begin(), text.end(), '\n'));
  EXPECT_GT(sink.dropped_total(), 0u);
  EXPECT_EQ(whole + sink.dropped_total(), events);
  EXPECT_TRUE(sink.failed());
}

TEST_F(Fifo, AReaderThatResumesBeforeTheDeadlineGetsEverything) {
  open_reader();
  reports r;
  trace_sink sink(path, "n1", r.options(60s));
  constexpr uint64_t events = 500;
  for (uint64_t i = 0; i < events; ++i)
    sink.emit(probe_at("/a", i));
  std::string text;
  std::jthread reading([&] {
    // Late, so that the writer waits on a full pipe first; then reads until the sink closes.
    std::this_thread::sleep_for(300ms);
    pollfd p{reader, POLLIN, 0};
    while (poll(&p, 1, 20'000) > 0) {
      const std::string more = drain();
      if (more.empty() && (p.revents & POLLHUP))
        break;
      text += more;
    }
  });
  EXPECT_TRUE(sink.close());
  reading.join();
  EXPECT_TRUE(r.taken().empty());
  EXPECT_EQ(sink.dropped_total(), 0u);
  EXPECT_EQ(parse_lines(text).size(), events);
}

TEST_F(Fifo, WithNoReaderTheOpenFailsAtOnce) {
  try {
    trace_sink sink(path, "n1");
    ADD_FAILURE() << "opened a FIFO with no reader";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENXIO);
    EXPECT_NE(std::string(e.what()).find("no reader"), std::string::npos) << e.what();
  }
}

TEST_F(Fifo, AVanishedReaderIsAWriteErrorNotASignal) {
  open_reader();
  reports r;
  trace_sink sink(path, "n1", r.options());
  close(reader);
  reader = -1;
  sink.emit(probe_at("/a", 0));
  sink.flush(); // SIGPIPE would have ended the test here
  EXPECT_TRUE(sink.failed());
  const auto messages = r.taken();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_NE(messages[0].find(std::strerror(EPIPE)), std::string::npos) << messages[0];
}

TEST(TraceSink, AWriteErrorIsReportedOnceAndLaterEventsAreDropped) {
  reports r;
  trace_sink sink("/dev/full", "n1", r.options());
  sink.emit(probe_at("/a", 0));
  sink.flush();
  EXPECT_TRUE(sink.failed());
  for (uint64_t i = 1; i < 100; ++i)
    sink.emit(probe_at("/a", i));
  sink.flush();
  EXPECT_EQ(sink.dropped_total(), 100u);
  EXPECT_FALSE(sink.close());

  const auto messages = r.taken();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_NE(messages[0].find("/dev/full"), std::string::npos) << messages[0];
  EXPECT_NE(messages[0].find(std::strerror(ENOSPC)), std::string::npos) << messages[0];
}

TEST(TraceSink, CloseLeavesBehindAWriteThatNeverReturns) {
  // A disk that stopped answering: the write never returns. Leaked on purpose, as the writer
  // left behind still holds them.
  auto* buf = new stalled_buf;
  auto* out = new std::ostream(buf);
  reports r;
  trace_sink sink(*out, "n1", r.options(100ms));
  sink.emit(probe_at("/a", 0));
  buf->wait_until_stalled();
  sink.emit(probe_at("/a", 1));

  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(sink.close());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
  const auto messages = r.taken();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_NE(messages[0].find("a write has not returned"), std::string::npos) << messages[0];
  EXPECT_NE(messages[0].find("2 events not written"), std::string::npos) << messages[0];
}

TEST(TraceSink, FlushWithNothingEmittedReturns) {
  std::ostringstream out;
  trace_sink sink(out, "n1");
  sink.flush();
  EXPECT_TRUE(out.str().empty());
}

// Every line the ring holds, oldest first.
std::vector<trace_ring::line> ring_lines(const trace_ring& ring) {
  std::vector<trace_ring::line> lines;
  ring.visit_after(ring.oldest_seq() - 1, SIZE_MAX, [&](const trace_ring::line& l) {
    lines.push_back(l);
    return true;
  });
  return lines;
}

std::filesystem::path fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::path(testing::TempDir()) /
                   ("trace_sink_" + name + "_" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(TraceSinkRing, GetsEveryLineOfTheFileInSeqOrderWithKindAndActor) {
  const auto dir = fresh_dir("ring");
  auto ring = std::make_shared<trace_ring>();
  trace_sink_options options;
  options.ring = ring;
  trace_sink sink(dir / "trace.jsonl", "n1", options);
  // From several threads, so that the writer merges stripes.
  std::vector<std::thread> emitters;
  for (int t = 0; t < 4; ++t)
    emitters.emplace_back([&sink, t] {
      const std::string actor = "/d/s" + std::to_string(t);
      for (uint64_t i = 0; i < 500; ++i) {
        if (i % 2)
          sink.emit(probe_at(actor, i));
        else
          sink.emit({actor, 0, state_event{lifecycle::starting, lifecycle::running, 1}});
      }
    });
  for (auto& t : emitters)
    t.join();
  sink.flush();

  const std::string file_text = read_file(dir / "trace.jsonl");
  const std::vector<json> file_lines = parse_lines(file_text);
  const std::vector<trace_ring::line> lines = ring_lines(*ring);
  ASSERT_EQ(lines.size(), 2000u);
  EXPECT_EQ(ring->oldest_seq(), 1u);
  EXPECT_EQ(ring->last_seq(), 2000u);
  std::string joined;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const json line = json::parse(lines[i].text);
    EXPECT_EQ(lines[i].seq, i + 1);
    EXPECT_EQ(line["seq"], i + 1);
    EXPECT_EQ(lines[i].actor, line["actor"]);
    EXPECT_EQ(to_string(lines[i].kind), line["event"]);
    joined += lines[i].text;
  }
  EXPECT_EQ(joined, file_text); // the same bytes, newlines included
  EXPECT_TRUE(sink.close());
}

TEST(TraceSinkRing, ADroppedEventIsItsDroppedRecordInTheRing) {
  auto ring = std::make_shared<trace_ring>();
  trace_sink_options options = with_capacity(2);
  options.ring = ring;
  stalled_buf buf;
  std::ostream out(&buf);
  trace_sink sink(out, "n1", options);
  sink.emit(probe_at("/a", 0));
  buf.wait_until_stalled();
  sink.emit(probe_at("/a", 1));
  sink.emit(probe_at("/a", 2));
  EXPECT_EQ(sink.emit(probe_at("/a", 3)), 0u);
  buf.release();
  sink.flush();

  const std::vector<trace_ring::line> lines = ring_lines(*ring);
  ASSERT_EQ(lines.size(), 4u);
  for (std::size_t i = 0; i < lines.size(); ++i)
    EXPECT_EQ(lines[i].seq, i + 1);
  EXPECT_EQ(lines[3].kind, trace_kind::dropped);
  EXPECT_EQ(lines[3].actor, "/_trace");
  EXPECT_EQ(json::parse(lines[3].text)["count"], 1);
}

TEST(TraceSinkRing, KeepsGettingLinesAfterTheFileFailed) {
  auto ring = std::make_shared<trace_ring>();
  reports r;
  trace_sink_options options = r.options();
  options.ring = ring;
  trace_sink sink("/dev/full", "n1", options);
  for (uint64_t i = 0; i < 10; ++i)
    sink.emit(probe_at("/a", i));
  sink.flush();
  EXPECT_TRUE(sink.failed());
  EXPECT_EQ(ring->last_seq(), 10u);
  EXPECT_EQ(ring_lines(*ring).size(), 10u);
  EXPECT_FALSE(sink.close());
}

// The first seq and the last of a trace file's lines.
std::pair<uint64_t, uint64_t> seq_range(const std::filesystem::path& file) {
  const std::vector<json> lines = parse_lines(read_file(file));
  if (lines.empty())
    return {0, 0};
  for (std::size_t i = 1; i < lines.size(); ++i)
    EXPECT_EQ(lines[i]["seq"], lines[i - 1]["seq"].get<uint64_t>() + 1) << file;
  return {lines.front()["seq"], lines.back()["seq"]};
}

TEST(TraceSinkRotation, RenamesShiftsAndDropsTheOldestKeepingTheLinesContinuous) {
  const auto dir = fresh_dir("rotate");
  const auto file = dir / "trace.jsonl";
  constexpr uint64_t rotate_bytes = 4096;
  trace_sink_options options;
  options.rotate_bytes = rotate_bytes;
  options.keep_files = 2;
  trace_sink sink(file, "n1", options);
  uint64_t emitted = 0;
  // Batches of 20 lines, about 2 KiB: a file passes the size every few batches.
  for (int batch = 0; batch < 60; ++batch) {
    for (int i = 0; i < 20; ++i)
      emitted = sink.emit(probe_at("/d/s/s-rep-1", emitted));
    sink.flush();
  }
  // The last batch may have rotated the file: one more line, which does not fill a new one.
  emitted = sink.emit(probe_at("/d/s/s-rep-1", emitted));
  ASSERT_TRUE(sink.close());

  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    names.insert(entry.path().filename().string());
  EXPECT_EQ(names, (std::set<std::string>{"trace.jsonl", "trace.jsonl.1", "trace.jsonl.2"}));

  const auto [first2, last2] = seq_range(dir / "trace.jsonl.2");
  const auto [first1, last1] = seq_range(dir / "trace.jsonl.1");
  const auto [first0, last0] = seq_range(file);
  EXPECT_GT(first2, 1u); // older files were deleted
  EXPECT_EQ(first1, last2 + 1);
  EXPECT_EQ(first0, last1 + 1);
  EXPECT_EQ(last0, emitted);
  // Rotated at a batch's end once past the size: never smaller, and at most a batch bigger.
  for (const char* rotated : {"trace.jsonl.1", "trace.jsonl.2"}) {
    EXPECT_GE(std::filesystem::file_size(dir / rotated), rotate_bytes) << rotated;
    EXPECT_LT(std::filesystem::file_size(dir / rotated), 2 * rotate_bytes) << rotated;
  }
  std::filesystem::remove_all(dir);
}

TEST(TraceSinkRotation, AnEarlierRunsFileIsKeptAsFileDotOne) {
  const auto dir = fresh_dir("rotate_open");
  const auto file = dir / "trace.jsonl";
  trace_sink_options options;
  options.rotate_bytes = 1 << 20;
  options.keep_files = 3;
  {
    trace_sink first(file, "n1", options);
    for (uint64_t i = 0; i < 5; ++i)
      first.emit(probe_at("/a", i));
  }
  {
    trace_sink second(file, "n1", options);
    second.emit(probe_at("/b", 0));
  }
  const std::vector<json> earlier = parse_lines(read_file(dir / "trace.jsonl.1"));
  const std::vector<json> now = parse_lines(read_file(file));
  ASSERT_EQ(earlier.size(), 5u);
  EXPECT_EQ(earlier[0]["actor"], "/a");
  ASSERT_EQ(now.size(), 1u);
  EXPECT_EQ(now[0]["actor"], "/b");
  EXPECT_EQ(now[0]["seq"], 1);

  // Without rotation the file is truncated, as before.
  {
    trace_sink third(file, "n1");
    third.emit(probe_at("/c", 0));
  }
  EXPECT_EQ(parse_lines(read_file(file)).size(), 1u);
  EXPECT_EQ(parse_lines(read_file(dir / "trace.jsonl.1")).size(), 5u);
  std::filesystem::remove_all(dir);
}

} // namespace
