// Init steps against real sockets on 127.0.0.1 and real processes, on the real scheduler: the
// wait actions, init.run, the step's own timeout, on_failure, retry, and the sequence-level
// retry schedule. Deadlines are generous; nothing asserts how fast the machine is.
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>
#include <unistd.h>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "actors/init_step_actor.hpp"
#include "actors/node_services.hpp"
#include "messages/caf/register_types.hpp"
#include "supervisor/supervisor.hpp"
#include "tests/actors/test_server.hpp"

using namespace nv;
using nv::actor_test::closed_port;
using nv::actor_test::test_server;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// What the parent of the step saw.
struct record {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<failure> failures;
  bool exited = false;
  caf::error exit_reason;

  bool wait_exit(std::chrono::seconds limit = 20s) {
    std::unique_lock g{mu};
    return cv.wait_for(g, limit, [this] { return exited; });
  }
  bool has_exited() {
    std::lock_guard g{mu};
    return exited;
  }
};

// Starts the step from its child spec, as the service does, and records its failure and exit.
caf::behavior parent_actor(caf::event_based_actor* self, record* r, const node_services* services,
                           child_spec spec) {
  child_context ctx{"/stack/api/" + spec.id, spec.id, self->address(), services};
  auto child = spec.start(self, ctx);
  self->monitor(child);
  self->set_down_handler([r](caf::down_msg& m) {
    std::lock_guard g{r->mu};
    r->exited = true;
    r->exit_reason = m.reason;
    r->cv.notify_all();
  });
  return {
      [r, child](failure& f) { // holds `child`: the parent owns its child
        std::lock_guard g{r->mu};
        r->failures.push_back(f);
        r->cv.notify_all();
      },
  };
}

class InitStep : public ::testing::Test {
protected:
  InitStep() {
    register_message_types(cfg);
    cfg.set("scheduler.policy", caf::atom("sharing"));
    cfg.set("scheduler.max-threads", 2);
    sys = std::make_unique<caf::actor_system>(cfg);
    std::string tmpl = (fs::temp_directory_path() / "nv-init-test-XXXXXX").string();
    dir = fs::canonical(::mkdtemp(tmpl.data()));
  }
  ~InitStep() override {
    if (parent)
      caf::anon_send_exit(parent, caf::exit_reason::user_shutdown);
    sys->await_all_actors_done();
    sys.reset();
    fs::remove_all(dir);
  }

  init_step_config step(std::string id, check action, std::optional<duration> action_timeout = {}) {
    init_step_config c;
    c.id = std::move(id);
    c.action_timeout = std::holds_alternative<command_check>(action) ? 300s : 30s;
    c.action = std::move(action);
    if (action_timeout)
      c.action_timeout = *action_timeout;
    c.timeout = 20s;
    c.env = {"PATH=/usr/bin:/bin", "GREETING=boom"};
    c.workdir = dir.string();
    return c;
  }
  void start(init_step_config c) {
    parent = sys->spawn(parent_actor, &r, &services, init_step_child(c));
  }
  // It finished and the service may go on.
  void expect_normal_exit() {
    ASSERT_TRUE(r.wait_exit());
    std::lock_guard g{r.mu};
    EXPECT_EQ(r.exit_reason, caf::exit_reason::normal);
    EXPECT_TRUE(r.failures.empty()) << to_string(r.failures.front().error);
  }
  AgentError expect_failure(const std::string& path) {
    EXPECT_TRUE(r.wait_exit());
    std::lock_guard g{r.mu};
    EXPECT_EQ(r.exit_reason, escalated_exit_reason());
    if (r.failures.size() != 1u) {
      ADD_FAILURE() << r.failures.size() << " failures";
      return Internal{"no failure"};
    }
    EXPECT_EQ(r.failures[0].path, path);
    return r.failures[0].error;
  }

  check_runner runner; // before the actor system: it outlives every actor that uses it
  node_services services{nullptr, &runner, nullptr};
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  fs::path dir;
  record r;
  caf::actor parent;
};

TEST_F(InitStep, WaitTcpSucceedsOnceAListenerAppears) {
  auto port = closed_port();
  start(step("wait-db", tcp_check{port}, 10s));
  std::this_thread::sleep_for(300ms);
  ASSERT_FALSE(r.has_exited()) << "nothing listened yet";
  test_server server{test_server::mode::tcp, port};
  expect_normal_exit();
}

TEST_F(InitStep, WaitTcpFailsWhenItsActionTimeoutExpires) {
  auto port = closed_port();
  start(step("wait-db", tcp_check{port}, 300ms));
  auto e = expect_failure("/stack/api/init:wait-db");
  EXPECT_EQ(e, (AgentError{InitActionFailed{
                   "wait-db", "Timeout after 300ms: tcp 127.0.0.1:" + std::to_string(port) +
                                  ": connection refused"}}));
}

TEST_F(InitStep, StepTimeoutFailsWithTimeoutAndKillsTheCommand) {
  auto pid_file = dir / "pid";
  auto c =
      step("migrate", command_check{"echo $$ > " + pid_file.string() + "; exec sleep 30"}, 60s);
  c.timeout = 300ms;
  start(c);
  auto e = expect_failure("/stack/api/init:migrate");
  EXPECT_EQ(e, (AgentError{Timeout{300ms}}));
  EXPECT_EQ(to_string(e), "Timeout after 300ms");
  std::ifstream in{pid_file};
  pid_t pid = 0;
  in >> pid;
  ASSERT_GT(pid, 0);
  bool gone = false;
  for (int i = 0; i < 500 && !gone; ++i) {
    gone = ::kill(pid, 0) != 0; // killed and reaped by the runner
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(gone) << "the command outlived its step";
}

TEST_F(InitStep, RunExitZeroSucceedsInTheServicesWorkdir) {
  start(step("check", command_check{"test \"$(pwd)\" = " + dir.string()}));
  expect_normal_exit();
}

TEST_F(InitStep, RunNonZeroExitFailsWithTheCodeAndLastLine) {
  start(step("migrate", command_check{"echo starting; echo \"$GREETING\" >&2; exit 3"}));
  auto e = expect_failure("/stack/api/init:migrate");
  std::string reason = "command 'echo starting; echo \"$GREETING\" >&2; exit 3' exited 3: boom";
  EXPECT_EQ(e, (AgentError{InitActionFailed{"migrate", reason}}));
  EXPECT_EQ(to_string(e), "Init action failed for 'migrate': " + reason);
}

TEST_F(InitStep, RunOwnTimeoutIsAnInitActionFailure) {
  start(step("migrate", command_check{"sleep 30"}, 300ms));
  auto e = expect_failure("/stack/api/init:migrate");
  EXPECT_EQ(e,
            (AgentError{InitActionFailed{"migrate", "command 'sleep 30': Timeout after 300ms"}}));
}

TEST_F(InitStep, OnFailureWarnExitsNormally) {
  auto c = step("migrate", command_check{"exit 3"});
  c.on_failure = failure_action::warn;
  start(c);
  expect_normal_exit();
}

TEST_F(InitStep, OnFailureContinueExitsNormallyEvenAtTheStepTimeout) {
  auto c = step("migrate", command_check{"sleep 30"});
  c.timeout = 200ms;
  c.on_failure = failure_action::proceed;
  start(c);
  expect_normal_exit();
}

TEST_F(InitStep, RetryRunsFailedAttemptsAgain) {
  // Fails twice, then passes: with retry 2 the third attempt succeeds.
  auto count = dir / "count";
  auto cmd = "n=$(cat " + count.string() + " 2>/dev/null || echo 0); n=$((n+1)); echo $n > " +
             count.string() + "; echo attempt $n; [ $n -ge 3 ]";
  auto c = step("flaky", command_check{cmd});
  c.retry = 2;
  start(c);
  expect_normal_exit();
  std::ifstream in{count};
  int n = 0;
  in >> n;
  EXPECT_EQ(n, 3);
}

TEST_F(InitStep, RetryExhaustedFailsWithTheLastAttemptsReason) {
  auto count = dir / "count";
  auto cmd = "n=$(cat " + count.string() + " 2>/dev/null || echo 0); n=$((n+1)); echo $n > " +
             count.string() + "; echo attempt $n; exit 1";
  auto c = step("flaky", command_check{cmd});
  c.retry = 1;
  start(c);
  auto e = expect_failure("/stack/api/init:flaky");
  EXPECT_EQ(e,
            (AgentError{InitActionFailed{"flaky", "command '" + cmd + "' exited 1: attempt 2"}}));
}

TEST_F(InitStep, WaitHttpAcceptsAny2xxWithoutExpectStatus) {
  test_server server{test_server::mode::http, 0, {{"/ready", 204}}};
  start(step("wait-api", http_check{server.url("/ready"), std::nullopt}, 10s));
  expect_normal_exit();
}

TEST_F(InitStep, WaitHttpWrongStatusFailsAtItsTimeout) {
  test_server server{test_server::mode::http, 0, {{"/ready", 204}}};
  start(step("wait-api", http_check{server.url("/ready"), 200}, 300ms));
  auto e = expect_failure("/stack/api/init:wait-api");
  EXPECT_EQ(
      e, (AgentError{InitActionFailed{"wait-api", "Timeout after 300ms: " + server.url("/ready") +
                                                      " → 204, expected 200"}}));
}

TEST(InitRetryDelay, FailNeverRetries) {
  EXPECT_EQ(init_retry_delay(init_failure_policy::fail, 1), std::nullopt);
}

TEST(InitRetryDelay, RestartRetriesThreeTimes100msApart) {
  for (uint32_t n = 1; n <= 3; ++n)
    EXPECT_EQ(init_retry_delay(init_failure_policy::restart, n), duration{100ms}) << n;
  EXPECT_EQ(init_retry_delay(init_failure_policy::restart, 4), std::nullopt);
}

TEST(InitRetryDelay, BackoffDoublesFromOneSecond) {
  EXPECT_EQ(init_retry_delay(init_failure_policy::backoff, 1), duration{1s});
  EXPECT_EQ(init_retry_delay(init_failure_policy::backoff, 2), duration{2s});
  EXPECT_EQ(init_retry_delay(init_failure_policy::backoff, 3), duration{4s});
  EXPECT_EQ(init_retry_delay(init_failure_policy::backoff, 4), std::nullopt);
}

} // namespace
