// `nodevisor trace ...` as a user runs it: the real binary as a child process, for exit codes,
// following a file being written, a real crash loop, and memory on a large trace.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <poll.h>
#include <spawn.h>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/nodevisor_process.hpp"
#include "tests/trace/trace_scenario.hpp"

extern char** environ;

using namespace nv;
using namespace nv::test;
using namespace std::chrono_literals;

namespace {

using child = nv_test::nodevisor_process;

// Runs `nodevisor ARGS...` to its end.
struct result {
  int code;
  std::string out, err;
};
result run(std::vector<std::string> args) {
  child c(std::move(args));
  const int code = c.wait_exit();
  return {code, c.stdout_text, c.stderr_text};
}

void append(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::app | std::ios::binary);
  f << text;
}

using TraceCommand = TraceFiles;

TEST_F(TraceCommand, WhyPrintsTheChainAndExitsOneForAnActorThatNeverFailed) {
  const auto path = write("t.jsonl", scenario().text);
  const auto ok = run({"trace", "why", "api-rep-1", path});
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_NE(ok.out.find("escalate  to /: Container 'api-rep-1' exited unexpectedly with code 3"),
            std::string::npos)
      << ok.out;
  const auto never = run({"trace", "why", "/d/db", path});
  EXPECT_EQ(never.code, 1);
  EXPECT_TRUE(never.out.empty());
  EXPECT_NE(never.err.find("/d/db never failed in " + path), std::string::npos) << never.err;
}

TEST_F(TraceCommand, UsageErrorsAndUnreadableFilesExitTwoWithAMessage) {
  const auto path = write("t.jsonl", scenario().text);
  const auto missing = (dir / "missing.jsonl").string();
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"trace"},
           {"trace", "frobnicate", path},
           {"trace", "summary"},
           {"trace", "summary", missing},
           {"trace", "why", "api-rep-1"},
           {"trace", "why", "api-rep-1", missing},
           {"trace", "why", "nope", path},
           {"trace", "tree", path, "--at", "soon"},
           {"trace", "tail", path, "--event", "explode"},
           {"trace", "export", path},
           {"trace", "export", "--chrome", "-", "--dot", "-", path}}) {
    const auto r = run(args);
    std::string cmd;
    for (const auto& a : args)
      cmd += a + " ";
    EXPECT_EQ(r.code, 2) << cmd;
    EXPECT_FALSE(r.err.empty()) << cmd;
    EXPECT_TRUE(r.out.empty()) << cmd << ": " << r.out;
  }
  const auto r = run({"trace", "summary", missing});
  EXPECT_NE(r.err.find(missing + ": cannot open"), std::string::npos) << r.err;
}

TEST_F(TraceCommand, SummaryTreeAndExportsRunAndReportSkippedLines) {
  const auto path = write("t.jsonl", scenario().text + "oops\n");
  const auto sum = run({"trace", "summary", path});
  EXPECT_EQ(sum.code, 0);
  EXPECT_EQ(sum.out.rfind("events:    30\n", 0), 0u) << sum.out;
  EXPECT_NE(sum.err.find(path + ":31: "), std::string::npos) << sum.err;

  const auto relative = run({"trace", "tree", path, "--at", "1.5s"});
  EXPECT_EQ(relative.code, 0);
  EXPECT_NE(relative.out.find("api-rep-1  running"), std::string::npos) << relative.out;
  EXPECT_EQ(run({"trace", "tree", path, "--at", "1500ms"}).out, relative.out);
  EXPECT_EQ(run({"trace", "tree", path, "--at", std::to_string(t0_us + 1500000)}).out,
            relative.out);
  const auto end = run({"trace", "tree", path});
  EXPECT_NE(end.out.find("api-rep-1  failed, exited (failure: UnexpectedExit)"), std::string::npos)
      << end.out;

  const auto chrome = (dir / "t.json").string();
  EXPECT_EQ(run({"trace", "export", "--chrome", chrome, path}).code, 0);
  std::ifstream in(chrome);
  EXPECT_GT(nlohmann::json::parse(in)["traceEvents"].size(), 50u); // trace_read_test checks them
  const auto dot = run({"trace", "export", "--dot", "-", path});
  EXPECT_EQ(dot.code, 0);
  EXPECT_EQ(dot.out.rfind("digraph nodevisor {\n", 0), 0u);
  EXPECT_NE(run({"trace", "export", "--dot", "-", "--at", "1.5s", path})
                .out.find("[label=\"api-rep-1\\nrunning\""),
            std::string::npos);
}

TEST_F(TraceCommand, TailFollowsTheFileAsItIsWrittenAndStopsOnSignals) {
  const std::string text = scenario().text;
  std::vector<std::string> lines;
  for (std::size_t at = 0; at < text.size();) {
    const auto nl = text.find('\n', at);
    lines.push_back(text.substr(at, nl + 1 - at));
    at = nl + 1;
  }
  const auto path = (dir / "live.jsonl").string();
  for (int sig : {SIGINT, SIGTERM}) {
    std::filesystem::remove(path);
    // Started before the file exists, like a tail started next to a run that has not begun.
    child tail({"trace", "tail", path, "--actor", "/d/api"});
    std::this_thread::sleep_for(200ms);
    for (std::size_t i = 0; i < 13; ++i)
      append(path, lines[i]);
    ASSERT_TRUE(tail.wait_for_stdout("#13 ")) << tail.stdout_text << tail.stderr_text;
    EXPECT_EQ(tail.stdout_text.find("#9 "), std::string::npos) << "--actor filters /d/db out";

    // Half a line is not printed until its newline arrives.
    const std::string& next = lines[13];
    append(path, next.substr(0, next.size() / 2));
    tail.pump(500ms);
    EXPECT_EQ(tail.stdout_text.find("#14 "), std::string::npos);
    append(path, next.substr(next.size() / 2));
    ASSERT_TRUE(tail.wait_for_stdout("#14 ")) << tail.stdout_text;

    for (std::size_t i = 14; i < lines.size(); ++i)
      append(path, lines[i]);
    ASSERT_TRUE(tail.wait_for_stdout("#26 ")) << tail.stdout_text;
    EXPECT_NE(tail.stdout_text.find("#26     /d/api  exit  failure: Container 'api-rep-1'"),
              std::string::npos)
        << tail.stdout_text;
    kill(tail.pid, sig);
    EXPECT_EQ(tail.wait_exit(10s), 0) << "signal " << sig << ": " << tail.stderr_text;
    EXPECT_TRUE(tail.stderr_text.find("malformed") == std::string::npos) << tail.stderr_text;
  }
}

TEST_F(TraceCommand, TailWithoutFollowStopsAtTheEndOfTheFile) {
  const auto path = write("t.jsonl", scenario().text);
  const auto r = run({"trace", "tail", path, "--no-follow", "--event", "escalate"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2) << r.out;
}

// The real thing: a replica that keeps crashing until its service and then its deployment
// give up; `trace why` on the replica ends in the escalation, with the replica's own error.
TEST_F(TraceCommand, WhyOnARealCrashLoopEndsInTheEscalationWithTheOriginalError) {
  const auto spec = write("spec.yaml", R"(version: v1
deployment: crashy
supervision: {max_restarts: 0}
services:
  worker:
    image: {name: local/test}
    command: {entrypoint: ["sh", "-c", "sleep 0.2; exit 3"]}
    supervision: {max_restarts: 2, window: 60s, backoff: {initial: 100ms, max: 1s}}
)");
  const auto trace = (dir / "trace.jsonl").string();
  {
    child nv({"run", spec, "--trace", trace});
    ASSERT_TRUE(nv.wait_for_stdout("deployment failed")) << nv.stdout_text << nv.stderr_text;
    // A deployment that failed for good ends run by itself, with 1.
    ASSERT_EQ(nv.wait_exit(), 1) << nv.stderr_text;
  }
  const auto why = run({"trace", "why", "worker-rep-1", trace});
  ASSERT_EQ(why.code, 0) << why.err;
  std::vector<std::string> lines;
  std::istringstream in(why.out);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  ASSERT_GE(lines.size(), 3u) << why.out;
  const std::string error = "Container 'worker-rep-1' exited unexpectedly with code 3";
  EXPECT_NE(lines.front().find("/crashy/worker/worker-rep-1  failure  " + error), std::string::npos)
      << why.out;
  std::size_t last_escalate = lines.size();
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (lines[i].find("  escalate  ") != std::string::npos)
      last_escalate = i;
  ASSERT_LT(last_escalate, lines.size()) << why.out;
  EXPECT_NE(lines[last_escalate].find("/crashy  escalate  to /: " + error +
                                      " (from /crashy/worker/worker-rep-1)"),
            std::string::npos)
      << why.out;
  // After the deployment's escalation only its own failed state and exit may follow.
  for (std::size_t i = last_escalate + 1; i < lines.size(); ++i)
    EXPECT_NE(lines[i].find("/crashy  "), std::string::npos) << lines[i];
}

// A long trace: 500 actors, each living through state changes, probes and failures that name
// their causes. `trace summary` keeps per-actor totals only, so its memory must not grow with
// the file.
TEST_F(TraceCommand, SummaryOfALargeTraceRunsInBoundedMemory) {
  const uint64_t events = NV_SANITIZED ? 200'000 : 2'000'000;
  const auto path = (dir / "big.jsonl").string();
  {
    std::ofstream out(path, std::ios::binary);
    std::string buf;
    uint64_t seq = 0;
    const AgentError err = HealthCheckFailed{"svc-rep-1", "connection refused"};
    auto emit = [&](const std::string& actor, trace_data data, uint64_t cause) {
      trace_event ev{actor, cause, std::move(data)};
      ++seq;
      append_trace_line(buf, seq, t0_us + static_cast<int64_t>(seq) * 10, "n1", ev);
      if (buf.size() > (1u << 20)) {
        out << buf;
        buf.clear();
      }
      return seq;
    };
    std::vector<std::string> actors;
    for (int s = 0; s < 50; ++s)
      for (int r = 1; r <= 10; ++r)
        actors.push_back("/big/svc-" + std::to_string(s) + "/svc-" + std::to_string(s) + "-rep-" +
                         std::to_string(r));
    for (const auto& a : actors)
      emit(a, spawn_event{a.substr(0, a.rfind('/'))}, 0);
    // `emit` advances seq: a while loop, so no compiler mistakes it for a loop that never ends.
    std::size_t i = 0;
    while (seq < events) {
      const std::string& a = actors[i % actors.size()];
      const uint64_t p = emit(a + "/probe", probe_event{i % 7 != 0, 900, "connection refused"}, 0);
      emit(a, state_event{lifecycle::healthy, lifecycle::unhealthy, std::nullopt}, p);
      if (i % 5 == 0) {
        const uint64_t f = emit(a, failure_event{err, static_cast<uint32_t>(i % 3)}, p);
        emit(a.substr(0, a.rfind('/')), restart_event{a, "one_for_one", 100}, f);
      }
      emit(a, state_event{lifecycle::unhealthy, lifecycle::healthy, 4242}, 0);
      ++i;
    }
    out << buf;
  }
  const auto start = std::chrono::steady_clock::now();
  child summary({"trace", "summary", path});
  // Output is a few hundred KiB; pumped while the child runs so it never blocks on the pipe.
  ASSERT_EQ(summary.wait_exit(120s), 0) << summary.stderr_text;
  const auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // 500 replicas, their probes and 50 services (named by their restart events).
  EXPECT_NE(summary.stdout_text.find("actors:    1050\n"), std::string::npos)
      << summary.stdout_text.substr(0, 300);
  const long rss_kib = summary.usage.ru_maxrss;
  std::printf("trace summary: %llu events in %.1f s, peak RSS %.1f MiB\n",
              static_cast<unsigned long long>(events), secs, rss_kib / 1024.0);
  if (NV_SANITIZED)
    GTEST_SKIP() << "sanitizer shadow memory makes RSS meaningless; checked in the plain build";
  EXPECT_LT(rss_kib, 64 * 1024) << "peak RSS " << rss_kib << " KiB";
}

} // namespace
