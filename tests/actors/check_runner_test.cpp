// The check runner against real sockets on 127.0.0.1 and real processes: each kind of check,
// redirects, timeouts, cancel, and the starvation of issue 10 (long commands must not make an
// unrelated http probe time out). Deadlines are generous; nothing asserts how fast the machine is.
#include <arpa/inet.h>
#include <condition_variable>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "actors/checks/check_runner.hpp"
#include "actors/node_services.hpp"
#include "actors/probe_actor.hpp"
#include "messages/caf/register_types.hpp"
#include "supervisor/supervisor.hpp"
#include "tests/actors/test_server.hpp"

using namespace nv;
using nv::actor_test::closed_port;
using nv::actor_test::test_server;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// Collects check_done messages for a thread outside the actor system.
struct inbox {
  std::mutex mu;
  std::condition_variable cv;
  std::map<uint64_t, check_result> done;
  std::size_t answers = 0;

  bool wait_for(uint64_t ticket, std::chrono::seconds limit = 60s) {
    std::unique_lock g{mu};
    return cv.wait_for(g, limit, [&] { return done.count(ticket) != 0; });
  }
};

caf::behavior inbox_actor(caf::event_based_actor*, inbox* in) {
  return {[in](check_done& d) {
    std::lock_guard g{in->mu};
    in->done[d.ticket] = std::move(d.result);
    ++in->answers;
    in->cv.notify_all();
  }};
}

class CheckRunner : public ::testing::Test {
protected:
  CheckRunner() {
    register_message_types(cfg);
    cfg.set("scheduler.policy", caf::atom("sharing"));
    cfg.set("scheduler.max-threads", 2);
    sys = std::make_unique<caf::actor_system>(cfg);
    box = sys->spawn(inbox_actor, &in);
  }
  ~CheckRunner() override {
    caf::anon_send_exit(box, caf::exit_reason::user_shutdown);
    box = nullptr;
    sys->await_all_actors_done();
    sys.reset();
  }

  // Runs one check and waits for its answer, far longer than its timeout.
  check_result run(check_request request, duration timeout = 10s) {
    auto ticket = runner.submit(std::move(request), timeout, box);
    EXPECT_TRUE(in.wait_for(ticket)) << "no answer for ticket " << ticket;
    std::lock_guard g{in.mu};
    return in.done[ticket];
  }

  check_runner runner; // before the actor system: it outlives every actor that uses it
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  inbox in;
  caf::actor box;
  const std::vector<std::string> env{"PATH=/usr/bin:/bin", "WORD=boom"};
};

// Killed: reaped, or a zombie waiting for init (which reaps orphans at its own pace).
bool dead(pid_t pid) {
  std::ifstream stat{"/proc/" + std::to_string(pid) + "/stat"};
  std::string id, comm, state;
  return ::kill(pid, 0) != 0 || !(stat >> id >> comm >> state) || state == "Z";
}

bool becomes_dead(pid_t pid) {
  for (int i = 0; i < 1000; ++i) {
    if (dead(pid))
      return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

pid_t read_pid(const fs::path& file) {
  for (int i = 0; i < 1000; ++i) {
    std::ifstream in{file};
    pid_t pid = 0;
    if (in >> pid && pid > 0)
      return pid;
    std::this_thread::sleep_for(10ms);
  }
  return 0;
}

fs::path temp_file(const std::string& name) {
  return fs::temp_directory_path() / ("nv-runner-" + name + "-" + std::to_string(::getpid()));
}

TEST_F(CheckRunner, TcpConnect) {
  test_server server{test_server::mode::tcp};
  EXPECT_TRUE(run(tcp_check{server.port(), "127.0.0.1"}).ok);
  EXPECT_TRUE(run(tcp_check{server.port(), "localhost"}).ok) << "a name, resolved off the reactor";
  auto port = closed_port();
  auto r = run(tcp_check{port, "127.0.0.1"});
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.reason, "tcp 127.0.0.1:" + std::to_string(port) + ": connection refused");
  r = run(tcp_check{80, "no-such-host.invalid"}, 60s);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(
      r.reason.rfind("tcp no-such-host.invalid:80: cannot resolve 'no-such-host.invalid': ", 0), 0u)
      << r.reason;
}

TEST_F(CheckRunner, HttpGetAnyTwoHundred) {
  test_server server{test_server::mode::http, 0, {{"/a", 204}, {"/b", 503}}};
  EXPECT_TRUE(run(http_check{server.url("/a"), std::nullopt}).ok);
  EXPECT_FALSE(run(http_check{server.url("/a"), 200}).ok);
  EXPECT_EQ(run(http_check{server.url("/b"), std::nullopt}).reason, server.url("/b") + " → 503");
  auto refused = run(http_check{"http://127.0.0.1:" + std::to_string(closed_port()) + "/", 200});
  EXPECT_FALSE(refused.ok);
  EXPECT_EQ(refused.reason.rfind("http://127.0.0.1:", 0), 0u) << refused.reason;
}

TEST_F(CheckRunner, HttpServerThatNeverAnswersTimesOut) {
  test_server server{test_server::mode::silent};
  auto r = run(http_check{server.url("/health"), 200}, 500ms);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.reason, server.url("/health") + ": Timeout after 500ms");
}

TEST_F(CheckRunner, HttpFollowsRedirectsToTheSameHostOnly) {
  test_server server{test_server::mode::http,
                     0,
                     {
                         {"/old", {302, "/ok"}},
                         {"/ok", 200},
                         {"/gone", {301, "/missing"}},
                         {"/loop", {302, "/loop"}},
                         // Another host: not followed, and a pass, as Kubernetes probes do.
                         {"/away", {302, "http://elsewhere.invalid/missing"}},
                     }};
  EXPECT_TRUE(run(http_check{server.url("/old"), 200}).ok);
  EXPECT_EQ(run(http_check{server.url("/gone"), std::nullopt}).reason,
            server.url("/missing") + " → 404");
  EXPECT_EQ(run(http_check{server.url("/loop"), std::nullopt}).reason,
            server.url("/loop") + ": stopped after 10 redirects");
  auto away = run(http_check{server.url("/away"), 200});
  EXPECT_TRUE(away.ok) << away.reason;
}

TEST_F(CheckRunner, RunShell) {
  EXPECT_TRUE(run(shell_request{"true", env, ""}).ok);
  auto r = run(shell_request{"echo starting; echo \"$WORD\" >&2; exit 3", env, ""});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "command 'echo starting; echo \"$WORD\" >&2; exit 3' exited 3: boom");
  EXPECT_EQ(run(shell_request{"exit 4", env, ""}).reason, "command 'exit 4' exited 4");
  EXPECT_TRUE(run(shell_request{"test \"$(pwd)\" = /", env, "/"}).ok);
  EXPECT_EQ(run(shell_request{"true", env, "/no/such/dir"}).reason,
            "command 'true': workdir '/no/such/dir': No such file or directory");
  // More output than the 4 KiB kept: the last line still names the failure.
  EXPECT_EQ(run(shell_request{"seq 1 5000; echo last; exit 1", env, ""}).reason,
            "command 'seq 1 5000; echo last; exit 1' exited 1: last");
}

TEST_F(CheckRunner, RunShellKillsTheGroupAtItsTimeout) {
  auto pid_file = temp_file("pid");
  // A grandchild in the same group must die with it.
  auto r =
      run(shell_request{"sleep 30 & echo $! > " + pid_file.string() + "; wait", env, ""}, 300ms);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.reason.rfind("command 'sleep 30 & echo $! > ", 0), 0u) << r.reason;
  EXPECT_TRUE(r.reason.ends_with("; wait': Timeout after 300ms")) << r.reason;
  auto pid = read_pid(pid_file);
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(becomes_dead(pid)) << "sleep " << pid << " survived";
  fs::remove(pid_file);
}

TEST_F(CheckRunner, ExitCodeReasonTakesTheLastNonEmptyLine) {
  EXPECT_EQ(exit_code_reason("pg_isready", 3, "one\ntwo\n\n"),
            "command 'pg_isready' exited 3: two");
  EXPECT_EQ(exit_code_reason("pg_isready", 1, "only\r\n"), "command 'pg_isready' exited 1: only");
  EXPECT_EQ(exit_code_reason("pg_isready", 2, " \n"), "command 'pg_isready' exited 2");
}

// A failure reason begins with what was probed, so that a person reading it knows where to look.
TEST(Probed, NamesWhatACheckProbes) {
  EXPECT_EQ(probed(check{tcp_check{5432, "127.0.0.1"}}), "tcp 127.0.0.1:5432");
  EXPECT_EQ(probed(check{tcp_check{5432, "::1"}}), "tcp [::1]:5432");
  EXPECT_EQ(probed(check{http_check{"http://127.0.0.1:17011/health", 200}}),
            "http://127.0.0.1:17011/health");
  EXPECT_EQ(probed(check{command_check{"pg_isready"}}), "command 'pg_isready'");
  EXPECT_EQ(probed(check_request{shell_request{"pg_isready", {}, ""}}), "command 'pg_isready'");
  EXPECT_EQ(timed_out("tcp 127.0.0.1:5432", 1500ms).reason,
            "tcp 127.0.0.1:5432: Timeout after 1.5s");
}

TEST_F(CheckRunner, AnswersOnceAndNothingAfterCancel) {
  auto pid_file = temp_file("cancel");
  auto slow = runner.submit(
      shell_request{"echo $$ > " + pid_file.string() + "; exec sleep 30", env, ""}, 60s, box);
  auto quick = runner.submit(shell_request{"true", env, ""}, 60s, box);
  EXPECT_NE(slow, quick);
  ASSERT_TRUE(in.wait_for(quick)) << "the quick command does not wait for the slow one";
  auto pid = read_pid(pid_file);
  ASSERT_GT(pid, 0);
  runner.cancel(slow);
  EXPECT_TRUE(becomes_dead(pid)) << "the cancelled command still runs";
  // Cancelled at once after submitting: nothing either. (A check that can end at once, such as a
  // refused connect, may have answered before the cancel; one that waits for a server that never
  // answers cannot.)
  test_server silent{test_server::mode::silent};
  auto never = runner.submit(http_check{silent.url("/health"), 200}, 60s, box);
  runner.cancel(never);
  auto last = runner.submit(shell_request{"true", env, ""}, 60s, box);
  ASSERT_TRUE(in.wait_for(last));
  std::this_thread::sleep_for(100ms);
  std::lock_guard g{in.mu};
  EXPECT_EQ(in.answers, 2u) << "nothing for the cancelled checks";
  EXPECT_TRUE(in.done.at(quick).ok);
  EXPECT_EQ(in.done.count(slow) + in.done.count(never), 0u);
  fs::remove(pid_file);
}

TEST(CheckRunnerLifetime, DestroyingTheRunnerKillsItsCommandsAndAnswersNothing) {
  caf::actor_system_config cfg;
  cfg.set("scheduler.policy", caf::atom("sharing"));
  caf::actor_system sys{cfg};
  inbox in;
  auto box = sys.spawn(inbox_actor, &in);
  auto pid_file = temp_file("lifetime");
  pid_t pid = 0;
  {
    check_runner runner;
    std::vector<std::string> env{"PATH=/usr/bin:/bin"};
    runner.submit(shell_request{"echo $$ > " + pid_file.string() + "; exec sleep 30", env, ""}, 60s,
                  box);
    pid = read_pid(pid_file);
    ASSERT_GT(pid, 0);
  }
  EXPECT_NE(::kill(pid, 0), 0) << "killed and reaped by the runner's destructor";
  std::this_thread::sleep_for(100ms);
  std::lock_guard g{in.mu};
  EXPECT_EQ(in.answers, 0u);
  caf::anon_send_exit(box, caf::exit_reason::user_shutdown);
  fs::remove(pid_file);
}

// Issue 10, reproduced at the runner: long commands and hanging checks in flight, more of them
// than the old pool had threads, and an http check of a healthy server with a 1 s timeout
// still passes, each time.
TEST_F(CheckRunner, LongCommandsDoNotStarveOtherChecks) {
  test_server healthy{test_server::mode::http, 0, {{"/health", 200}}};
  test_server silent{test_server::mode::silent};
  std::vector<uint64_t> slow;
  for (int i = 0; i < 8; ++i)
    slow.push_back(runner.submit(shell_request{"sleep 5", env, ""}, 60s, box));
  for (int i = 0; i < 4; ++i)
    slow.push_back(runner.submit(http_check{silent.url("/"), 200}, 30s, box));
  for (int i = 0; i < 5; ++i) {
    auto r = run(http_check{healthy.url("/health"), 200}, 1s);
    EXPECT_TRUE(r.ok) << "check " << i << ": " << r.reason;
  }
  std::lock_guard g{in.mu};
  for (auto t : slow)
    EXPECT_EQ(in.done.count(t), 0u) << "the slow checks were still running";
}

// What the probe's parent saw.
struct record {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<failure> failures;
  std::vector<state_change> states;
};

caf::behavior parent_actor(caf::event_based_actor* self, record* r, const node_services* services,
                           probe_config c) {
  auto child = self->spawn(
      probe_actor, child_context{"/stack/web/web-rep-1/probe", "probe", self->address(), services},
      c);
  return {
      [r, child](failure& f) { // holds `child`: the parent owns its child
        std::lock_guard g{r->mu};
        r->failures.push_back(f);
        r->cv.notify_all();
      },
      [r](state_change& s) {
        std::lock_guard g{r->mu};
        r->states.push_back(s);
        r->cv.notify_all();
      },
  };
}

// Issue 10 end to end: four services' long init.run steps (and four more) run while the
// probe of an unrelated healthy http service checks every 100 ms with a 1 s timeout and gives up
// after one failure. It must fail (and so restart its replica) zero times.
TEST_F(CheckRunner, LongInitStepsDoNotRestartAHealthyService) {
  test_server healthy{test_server::mode::http, 0, {{"/health", 200}}};
  node_services services{nullptr, &runner, nullptr};
  probe_config c;
  c.replica_id = "web-rep-1";
  c.check = http_check{healthy.url("/health"), 200};
  c.start_grace = 0s;
  c.interval = 100ms;
  c.timeout = 1s;
  c.retries = 1;
  std::vector<uint64_t> steps;
  for (int i = 0; i < 8; ++i)
    steps.push_back(runner.submit(shell_request{"sleep 5", env, ""}, 60s, box));
  record r;
  auto parent = sys->spawn(parent_actor, &r, &services, c);
  for (auto t : steps)
    ASSERT_TRUE(in.wait_for(t)) << "init step " << t << " never ended";
  {
    std::unique_lock g{r.mu};
    EXPECT_TRUE(r.failures.empty()) << to_string(r.failures.front().error);
    ASSERT_FALSE(r.states.empty()) << "never healthy";
    EXPECT_EQ(r.states.front().to, lifecycle::healthy);
    EXPECT_EQ(r.states.size(), 1u) << "it went unhealthy";
  }
  std::lock_guard g{in.mu};
  for (auto t : steps)
    EXPECT_TRUE(in.done[t].ok) << in.done[t].reason;
  caf::anon_send_exit(parent, caf::exit_reason::user_shutdown);
}

} // namespace
