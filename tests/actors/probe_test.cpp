// Health probes against real sockets on 127.0.0.1 and real processes, on the real scheduler:
// tcp, http and command checks, the failure threshold and its reset, and timeouts (the checks
// and the runner underneath: check_runner_test.cpp). Deadlines are generous; nothing asserts how
// fast the machine is.
#include <arpa/inet.h>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/checks/check_runner.hpp"
#include "actors/node_services.hpp"
#include "actors/probe_actor.hpp"
#include "messages/caf/register_types.hpp"
#include "runtimes/sim/sim_runtime.hpp"
#include "supervisor/supervisor.hpp"
#include "tests/actors/test_server.hpp"
#include "trace/trace_sink.hpp"

using namespace nv;
using nv::actor_test::closed_port;
using nv::actor_test::test_server;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// What the parent of the actor under test saw.
struct record {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<state_change> states;
  std::vector<failure> failures;
  bool exited = false;
  caf::error exit_reason;

  template <class Pred>
  bool wait_until(Pred pred, std::chrono::seconds limit = 10s) {
    std::unique_lock g{mu};
    return cv.wait_for(g, limit, [&] { return pred(*this); });
  }
  bool reached(lifecycle s) {
    return std::any_of(states.begin(), states.end(), [s](auto& c) { return c.to == s; });
  }
};

using stop_atom = caf::atom_constant<caf::atom("stop")>;

using start_fn_t = std::function<caf::actor(caf::event_based_actor*, const child_context&)>;

// Spawns the child under test as its parent would, holds it (in the stop handler), records what
// it reports, and stops it on `stop`.
caf::behavior parent_actor(caf::event_based_actor* self, record* r, std::string child_path,
                           const node_services* services, start_fn_t start) {
  auto child = start(self, child_context{child_path, "probe", self->address(), services});
  self->monitor(child);
  self->set_down_handler([r](caf::down_msg& m) {
    std::lock_guard g{r->mu};
    r->exited = true;
    r->exit_reason = m.reason;
    r->cv.notify_all();
  });
  return {
      [self, child](stop_atom) { self->send_exit(child, caf::exit_reason::user_shutdown); },
      [r](state_change& c) {
        std::lock_guard g{r->mu};
        r->states.push_back(c);
        r->cv.notify_all();
      },
      [r](failure& f) {
        std::lock_guard g{r->mu};
        r->failures.push_back(f);
        r->cv.notify_all();
      },
  };
}

constexpr const char* probe_path = "/stack/api/api-rep-1/probe";

// A runtime whose execs wait for the test to answer them, late or out of order, as a runtime
// stuck on a slow exec would.
class held_execs final : public runtime {
public:
  std::string_view name() const override { return "held"; }
  bool runs_os(std::string_view) const override { return true; }
  void pull(const container_spec&, caf::actor) override {}
  void create(const container_spec&, caf::actor) override {}
  void start(const std::string&, caf::actor) override {}
  void stop(const std::string&, duration, int, caf::actor) override {}
  void remove(const std::string&, caf::actor) override {}
  void exec(const std::string& id, uint64_t exec_id, std::vector<std::string>, duration,
            caf::actor reply_to) override {
    std::lock_guard g{mu_};
    calls_.push_back(call{id, exec_id, std::move(reply_to)});
    cv_.notify_all();
  }
  container_status state(const std::string&) const override { return {}; }
  std::vector<std::string> logs(const std::string&, std::size_t) const override { return {}; }
  std::optional<int> pid(const std::string&) const override { return std::nullopt; }

  // Whether the n-th exec (from 1) was called within 10 s.
  bool called(std::size_t n) {
    std::unique_lock g{mu_};
    return cv_.wait_for(g, 10s, [&] { return calls_.size() >= n; });
  }
  // Answers the n-th exec with `code`, once it was called.
  bool answer(std::size_t n, int32_t code) {
    if (!called(n))
      return false;
    std::lock_guard g{mu_};
    const auto& c = calls_[n - 1];
    caf::anon_send(c.reply_to, exec_result{c.id, c.exec_id, code, "", false});
    return true;
  }

private:
  struct call {
    std::string id;
    uint64_t exec_id;
    caf::actor reply_to;
  };
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<call> calls_;
};

class Probe : public ::testing::Test {
protected:
  Probe() {
    register_message_types(cfg);
    cfg.set("scheduler.policy", caf::atom("sharing"));
    cfg.set("scheduler.max-threads", 2);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
  ~Probe() override {
    if (parent)
      caf::anon_send_exit(parent, caf::exit_reason::user_shutdown);
    sys->await_all_actors_done();
    sys.reset();
    if (trace)
      trace.reset();
    fs::remove(trace_file);
  }

  probe_config config(check check) {
    probe_config c;
    c.replica_id = "api-rep-1";
    c.check = std::move(check);
    c.start_grace = 0s;
    c.interval = 50ms;
    c.timeout = 2s;
    c.retries = 3;
    return c;
  }
  void start(probe_config c) { start(std::move(c), rt); }
  // Command checks exec in `execs`.
  void start(probe_config c, runtime& execs) {
    services = node_services{&execs, &runner, trace.get()};
    parent = sys->spawn(parent_actor, &r, probe_path, &services,
                        [c](caf::event_based_actor* self, const child_context& ctx) {
                          return self->spawn(probe_actor, ctx, c);
                        });
  }
  void start_traced(probe_config c) {
    trace_file = fs::temp_directory_path() / ("nv-probe-test-" + std::to_string(::getpid()));
    trace = std::make_unique<trace_sink>(trace_file, "t1");
    start(std::move(c));
  }
  // ok flags of the probe's checks, in order.
  std::vector<bool> checks() {
    trace->flush();
    std::vector<bool> out;
    std::ifstream in{trace_file};
    for (std::string line; std::getline(in, line);) {
      auto e = nlohmann::json::parse(line);
      if (e["event"] == "probe" && e["actor"] == probe_path)
        out.push_back(e["ok"].get<bool>());
    }
    return out;
  }
  bool wait_failure() {
    return r.wait_until([](record& x) { return !x.failures.empty() && x.exited; });
  }
  bool wait_state(lifecycle s) {
    return r.wait_until([s](record& x) { return x.reached(s); });
  }
  HealthCheckFailed only_failure() {
    std::lock_guard g{r.mu};
    EXPECT_EQ(r.failures.size(), 1u);
    EXPECT_EQ(r.failures.at(0).path, probe_path);
    EXPECT_EQ(r.exit_reason, escalated_exit_reason());
    auto* e = std::get_if<HealthCheckFailed>(&r.failures.at(0).error);
    EXPECT_NE(e, nullptr) << to_string(r.failures.at(0).error);
    return e ? *e : HealthCheckFailed{};
  }

  check_runner runner; // before the actor system: it outlives every actor that uses it
  sim_runtime rt;
  held_execs held;
  node_services services;
  fs::path trace_file;
  std::unique_ptr<trace_sink> trace;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  record r;
  caf::actor parent;
};

TEST_F(Probe, TcpListenerIsHealthy) {
  test_server server{test_server::mode::tcp};
  start(config(tcp_check{server.port()}));
  ASSERT_TRUE(wait_state(lifecycle::healthy));
  std::lock_guard g{r.mu};
  EXPECT_EQ(r.states.front().path, probe_path);
  EXPECT_EQ(r.states.front().from, lifecycle::running);
  EXPECT_TRUE(r.failures.empty());
}

TEST_F(Probe, TcpClosedPortFailsAfterRetriesConsecutiveFailures) {
  auto port = closed_port();
  start_traced(config(tcp_check{port}));
  ASSERT_TRUE(wait_failure());
  auto e = only_failure();
  EXPECT_EQ(e.id, "api-rep-1");
  EXPECT_EQ(e.reason, "tcp 127.0.0.1:" + std::to_string(port) + ": connection refused");
  EXPECT_EQ(checks(), (std::vector<bool>{false, false, false}))
      << "exactly `retries` checks, then no more";
  std::lock_guard g{r.mu};
  EXPECT_TRUE(r.states.empty()) << "never healthy, so never unhealthy either";
}

TEST_F(Probe, OnePassResetsTheFailureCount) {
  std::optional<test_server> server{std::in_place, test_server::mode::tcp};
  auto port = server->port();
  auto c = config(tcp_check{port});
  c.retries = 4;
  c.interval = 100ms;
  start_traced(c);
  ASSERT_TRUE(wait_state(lifecycle::healthy));
  server.reset(); // closed: the next check fails
  ASSERT_TRUE(wait_state(lifecycle::unhealthy));
  // Open again well before `retries` failures (three more intervals): one pass must reset.
  server.emplace(test_server::mode::tcp, port);
  ASSERT_TRUE(r.wait_until([](record& x) {
    return std::count_if(x.states.begin(), x.states.end(),
                         [](auto& s) { return s.to == lifecycle::healthy; }) == 2;
  }));
  server.reset();
  ASSERT_TRUE(wait_failure());
  EXPECT_EQ(only_failure().reason,
            "tcp 127.0.0.1:" + std::to_string(port) + ": connection refused");
  // pass+ fail{k} pass+ fail{retries}: k + retries failures in all, more than `retries`, yet
  // the probe failed only after `retries` in a row.
  auto ok = checks();
  ASSERT_GE(ok.size(), 4u + 3u);
  auto trailing = std::find(ok.rbegin(), ok.rend(), true) - ok.rbegin();
  EXPECT_EQ(trailing, 4);
  auto failures = std::count(ok.begin(), ok.end(), false);
  EXPECT_GT(failures, 4) << "a failure run before the second pass";
  std::lock_guard g{r.mu};
  std::vector<lifecycle> seen;
  for (auto& s : r.states)
    seen.push_back(s.to);
  EXPECT_EQ(seen, (std::vector<lifecycle>{lifecycle::healthy, lifecycle::unhealthy,
                                          lifecycle::healthy, lifecycle::unhealthy}));
}

TEST_F(Probe, HttpOkIsHealthy) {
  test_server server{test_server::mode::http, 0, {{"/health", 200}}};
  start(config(http_check{server.url("/health"), 200}));
  ASSERT_TRUE(wait_state(lifecycle::healthy));
  std::lock_guard g{r.mu};
  EXPECT_TRUE(r.failures.empty());
}

TEST_F(Probe, Http404FailsNamingTheStatus) {
  test_server server{test_server::mode::http, 0, {{"/health", 200}}};
  start(config(http_check{server.url("/missing"), 200}));
  ASSERT_TRUE(wait_failure());
  EXPECT_EQ(only_failure().reason, server.url("/missing") + " → 404");
}

TEST_F(Probe, HttpServerThatNeverAnswersTimesOut) {
  test_server server{test_server::mode::silent};
  auto c = config(http_check{server.url("/health"), 200});
  c.timeout = 500ms;
  c.retries = 2;
  start(c);
  ASSERT_TRUE(wait_failure()) << "the probe must not hang on a server that never answers";
  auto e = only_failure();
  EXPECT_EQ(e.reason, server.url("/health") + ": Timeout after 500ms");
  EXPECT_EQ(to_string(AgentError{e}), "Health check failed for 'api-rep-1': " +
                                          server.url("/health") + ": Timeout after 500ms");
}

TEST_F(Probe, CommandProbeExecsInTheContainer) {
  container_spec spec;
  spec.service = "api";
  spec.id = "api-rep-1";
  sim_behavior sim;
  sim.unhealthy_after = 400ms; // exec answers 0 until then, 1 after
  spec.options = sim;
  rt.create(spec, caf::actor{});
  rt.start(spec.id, caf::actor{});
  start(config(command_check{"curl -fs localhost/health"}));
  ASSERT_TRUE(wait_state(lifecycle::healthy));
  ASSERT_TRUE(wait_failure());
  EXPECT_EQ(only_failure().reason, "command 'curl -fs localhost/health' exited 1: unhealthy");
  std::lock_guard g{r.mu};
  ASSERT_EQ(r.states.size(), 2u);
  EXPECT_EQ(r.states[1].from, lifecycle::healthy);
  EXPECT_EQ(r.states[1].to, lifecycle::unhealthy);
}

TEST_F(Probe, CommandProbeOfAMissingContainerFailsWithTheRuntimesReason) {
  auto c = config(command_check{"true"});
  c.retries = 1;
  start(c);
  ASSERT_TRUE(wait_failure());
  EXPECT_EQ(only_failure().reason,
            "command 'true': Container 'api-rep-1' not found: no such container");
}

TEST_F(Probe, OnlyTheCurrentChecksExecAnswerCounts) {
  auto c = config(command_check{"true"});
  c.timeout = 1s; // held_execs enforces none: the probe abandons an exec after 1.5 s
  start(c, held);
  // The first exec gets no answer in time, and the next check execs again.
  ASSERT_TRUE(held.called(2));
  // The current check's answer counts while the abandoned exec is still out.
  ASSERT_TRUE(held.answer(2, 0));
  ASSERT_TRUE(wait_state(lifecycle::healthy));
  ASSERT_TRUE(held.called(3));
  // The abandoned exec answers now, failing: that is no outcome of the third check.
  ASSERT_TRUE(held.answer(1, 1));
  ASSERT_TRUE(held.answer(3, 0));
  ASSERT_TRUE(held.called(4)); // the third check is over
  std::lock_guard g{r.mu};
  EXPECT_EQ(r.states.size(), 1u) << "the late answer made the probe unhealthy";
  EXPECT_TRUE(r.failures.empty());
}

TEST_F(Probe, StopsOnAnExitMessage) {
  test_server server{test_server::mode::tcp};
  start(config(tcp_check{server.port()}));
  ASSERT_TRUE(wait_state(lifecycle::healthy));
  caf::anon_send(parent, stop_atom::value);
  ASSERT_TRUE(r.wait_until([](record& x) { return x.exited; }));
  EXPECT_EQ(r.exit_reason, caf::exit_reason::user_shutdown);
}

TEST_F(Probe, StopsWhenItsParentGoes) {
  test_server server{test_server::mode::tcp};
  start(config(tcp_check{server.port()}));
  ASSERT_TRUE(wait_state(lifecycle::healthy));
  caf::anon_send_exit(parent, caf::exit_reason::kill);
  parent = nullptr;
  for (int i = 0; i < 1000 && sys->registry().running() > 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(sys->registry().running(), 0u) << "the probe outlived its parent";
}

} // namespace
