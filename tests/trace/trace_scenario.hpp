// A hand-written trace shared by the trace reader tests: a replica whose probe fails, which is
// restarted, crashes again and makes its service and deployment give up. Lines are written
// with the sink's own writer, so they are what a run writes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include <gtest/gtest.h>

#include "trace/trace_line.hpp"

namespace nv::test {

inline constexpr int64_t t0_us = 1732600000000000;
inline constexpr const char* rep1 = "/d/api/api-rep-1";

struct trace_text {
  std::string text;
  uint64_t last_seq = 0;

  // Appends one event at `ms` after t0 and returns its seq.
  uint64_t add(int64_t ms, std::string actor, trace_data data, uint64_t cause = 0) {
    trace_event ev{std::move(actor), cause, std::move(data)};
    append_trace_line(text, ++last_seq, t0_us + ms * 1000, "n1", ev);
    return last_seq;
  }
};

inline const AgentError probe_error = HealthCheckFailed{"api-rep-1", "connection refused"};
inline const AgentError crash_error = UnexpectedExit{"api-rep-1", 3};

// `filler(text)` is called between the steps of the failure story: tests that need a large
// file put unrelated events there.
template <class Filler>
trace_text scenario(Filler&& filler) {
  using lc = lifecycle;
  trace_text t;
  auto state = [](lc from, lc to) { return state_event{from, to, std::nullopt}; };
  t.add(0, "/d", spawn_event{"/"});                            // 1
  t.add(0, "/d", state(lc::pending, lc::starting));            // 2
  t.add(1, "/d/api", spawn_event{"/d"});                       // 3
  t.add(1, "/d/api", state(lc::pending, lc::starting));        // 4
  t.add(2, rep1, spawn_event{"/d/api"});                       // 5
  t.add(2, rep1, state(lc::pending, lc::creating));            // 6
  t.add(3, rep1, state_event{lc::creating, lc::running, 100}); // 7
  t.add(100, rep1, state(lc::running, lc::healthy));           // 8
  t.add(150, "/d/db", spawn_event{"/d"});                      // 9
  t.add(150, "/d/db", state(lc::pending, lc::healthy));        // 10
  filler(t);
  const auto probe = t.add(1000, std::string{rep1} + "/probe",
                           probe_event{false, 1500, "connection refused"}); // 11
  filler(t);
  const auto unhealthy =
      t.add(1000, std::string{rep1} + "/probe", state(lc::healthy, lc::unhealthy), probe); // 12
  filler(t);
  const auto fail1 = t.add(1001, rep1, failure_event{probe_error, 0}, unhealthy); // 13
  filler(t);
  const auto exit1 =
      t.add(1002, rep1, exit_event{exit_event::reason_kind::failure, probe_error, std::nullopt, {}},
            fail1);                                         // 14
  t.add(1002, rep1, state(lc::healthy, lc::failed), exit1); // 15
  filler(t);
  const auto restart = t.add(1002, "/d/api", restart_event{rep1, "one_for_one", 0}, exit1); // 16
  t.add(1002, rep1, state(lc::failed, lc::crash_loop_backoff), restart);                    // 17
  filler(t);
  const auto respawn = t.add(1003, rep1, spawn_event{"/d/api"}, restart); // 18
  t.add(1003, rep1, state(lc::crash_loop_backoff, lc::creating));         // 19
  t.add(1004, rep1, state_event{lc::creating, lc::running, 101});         // 20
  filler(t);
  const auto fail2 = t.add(2000, rep1, failure_event{crash_error, 1}, respawn); // 21
  filler(t);
  const auto exit2 =
      t.add(2000, rep1, exit_event{exit_event::reason_kind::failure, crash_error, std::nullopt, {}},
            fail2);                                         // 22
  t.add(2000, rep1, state(lc::running, lc::failed), exit2); // 23
  filler(t);
  const auto esc1 = t.add(2001, "/d/api", escalate_event{"/d", rep1, crash_error}, exit2); // 24
  t.add(2001, "/d/api", state(lc::starting, lc::failed), esc1);                            // 25
  filler(t);
  const auto exit3 = t.add(
      2002, "/d/api", exit_event{exit_event::reason_kind::failure, crash_error, std::nullopt, {}},
      esc1); // 26
  filler(t);
  const auto esc2 = t.add(2003, "/d", escalate_event{"/", rep1, crash_error}, exit3); // 27
  t.add(2003, "/d", state(lc::starting, lc::failed), esc2);                           // 28
  t.add(2500, "/_trace", dropped_event{5});                                           // 29
  t.add(3000, "/d/db", probe_event{true, 200, ""});                                   // 30
  return t;
}

inline trace_text scenario() {
  return scenario([](trace_text&) {});
}

// A fresh directory per test, removed afterwards.
class TraceFiles : public ::testing::Test {
protected:
  TraceFiles() {
    dir = std::filesystem::temp_directory_path() /
          ("nv-trace-" + std::to_string(getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~TraceFiles() override { std::filesystem::remove_all(dir); }

  std::string write(const std::string& name, const std::string& text) const {
    const auto path = dir / name;
    std::ofstream{path, std::ios::binary} << text;
    return path.string();
  }

  std::filesystem::path dir;
};

} // namespace nv::test
