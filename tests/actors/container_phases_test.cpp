// Every phase transition of the container actor, driven by a scripted runtime that answers each
// call only when the test says so: stops during pull, create and start (and what each leaves to
// undo), an exit and a probe failure during a stop, an error answer at each verb, a second stop
// request, and how a job's and a service's exit 0 end. Real CAF actors on the real scheduler;
// nothing is timed, every wait is for a message, with a generous deadline.
#include <condition_variable>
#include <mutex>
#include <sstream>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "actors/container_actor.hpp"
#include "actors/node_services.hpp"
#include "supervisor/supervisor.hpp"
#include "tests/support/tree_config.hpp"
#include "trace/trace_sink.hpp"

using namespace nv;
using namespace std::chrono_literals;

namespace {

constexpr auto deadline = 20s;
constexpr const char* replica = "api-rep-1";
constexpr const char* replica_path = "/stack/api/api-rep-1";
constexpr const char* replica_key = "stack/api-rep-1"; // the runtime's key: runtime_key()

// A runtime that records each call and answers it only when the test says so. Exec answers
// are scripted too, for the command checks of a probe. Answers go through `relay` (the test's
// parent actor), which also sends the stop requests: the container actor then gets the test's
// messages in the order the test sends them.
class scripted_runtime : public runtime {
public:
  void relay_through(caf::actor relay) {
    std::lock_guard g{mu_};
    relay_ = std::move(relay);
  }

  std::string_view name() const override { return "scripted"; }
  bool runs_os(std::string_view) const override { return true; }

  void pull(const container_spec& spec, caf::actor reply_to) override {
    record(runtime_op::pull, runtime_key(spec), std::move(reply_to));
  }
  void create(const container_spec& spec, caf::actor reply_to) override {
    record(runtime_op::create, runtime_key(spec), std::move(reply_to));
  }
  void start(const std::string& id, caf::actor reply_to) override {
    std::lock_guard g{mu_};
    exits_to_ = reply_to;
    record_locked(runtime_op::start, id, std::move(reply_to));
  }
  void stop(const std::string& id, duration, int, caf::actor reply_to) override {
    record(runtime_op::stop, id, std::move(reply_to));
  }
  void remove(const std::string& id, caf::actor reply_to) override {
    record(runtime_op::remove, id, std::move(reply_to));
  }
  void exec(const std::string&, uint64_t exec_id, std::vector<std::string>, duration,
            caf::actor reply_to) override {
    std::lock_guard g{mu_};
    execs_.push_back({exec_id, std::move(reply_to)});
    cv_.notify_all();
  }
  container_status state(const std::string&) const override { return {}; }
  std::vector<std::string> logs(const std::string&, std::size_t) const override {
    return {"line one", "line two"};
  }
  std::optional<int> pid(const std::string&) const override { return std::nullopt; }

  // Waits until `op` has been called `n` times.
  bool called(runtime_op op, std::size_t n = 1) {
    std::unique_lock g{mu_};
    return cv_.wait_for(g, deadline, [&] { return count_locked(op) >= n; });
  }
  bool exec_called(std::size_t n = 1) {
    std::unique_lock g{mu_};
    return cv_.wait_for(g, deadline, [&] { return execs_.size() >= n; });
  }
  std::size_t count(runtime_op op) {
    std::lock_guard g{mu_};
    return count_locked(op);
  }
  std::vector<runtime_op> ops() {
    std::lock_guard g{mu_};
    std::vector<runtime_op> out;
    for (auto& c : calls_)
      out.push_back(c.op);
    return out;
  }

  // Answers the last call of `op`.
  void answer(runtime_op op, int32_t pid = 0) {
    auto c = last(op);
    send(c.reply_to, reply_ok(c.id, op, pid));
  }
  void fail(runtime_op op, AgentError error) {
    auto c = last(op);
    send(c.reply_to, reply_failed(c.id, op, std::move(error)));
  }
  // The container exits, as the runtime reports it to whoever started it.
  void exit(int32_t code) {
    std::unique_lock g{mu_};
    auto to = exits_to_;
    g.unlock();
    send(to, container_exited{replica_key, code, 0});
  }
  void answer_exec(int32_t code) {
    std::unique_lock g{mu_};
    auto [exec_id, to] = execs_.back();
    g.unlock();
    send(to, exec_result{replica_key, exec_id, code, "", false});
  }

private:
  struct call {
    runtime_op op;
    std::string id;
    caf::actor reply_to;
  };

  template <class Message>
  void send(caf::actor to, Message m) {
    std::lock_guard g{mu_};
    caf::anon_send(relay_, std::move(to), std::move(m));
  }
  void record(runtime_op op, const std::string& id, caf::actor reply_to) {
    std::lock_guard g{mu_};
    record_locked(op, id, std::move(reply_to));
  }
  void record_locked(runtime_op op, const std::string& id, caf::actor reply_to) {
    calls_.push_back(call{op, id, std::move(reply_to)});
    cv_.notify_all();
  }
  std::size_t count_locked(runtime_op op) const {
    return static_cast<std::size_t>(
        std::count_if(calls_.begin(), calls_.end(), [op](auto& c) { return c.op == op; }));
  }
  call last(runtime_op op) {
    std::lock_guard g{mu_};
    for (auto it = calls_.rbegin(); it != calls_.rend(); ++it)
      if (it->op == op)
        return *it;
    ADD_FAILURE() << "no " << to_string(op) << " call to answer";
    return call{op, replica_key, caf::actor{}};
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<call> calls_;
  caf::actor relay_;
  caf::actor exits_to_;
  std::vector<std::pair<uint64_t, caf::actor>> execs_; // exec id, who to answer
};

// What the parent of the container actor saw.
struct seen {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<lifecycle> states; // the `to` of each state change, in order
  std::vector<failure> failures;
  bool down = false;
  caf::error reason;

  template <class Pred>
  bool wait_until(Pred pred) {
    std::unique_lock g{mu};
    return cv.wait_for(g, deadline, [&] { return pred(*this); });
  }
  bool reached(lifecycle s) { return std::find(states.begin(), states.end(), s) != states.end(); }
};

using stop_atom = caf::atom_constant<caf::atom("stop")>;
using inject_atom = caf::atom_constant<caf::atom("inject")>;

// Spawns the container actor as its service would, holds it, records what it reports, asks it
// to stop on `stop`, hands it an `inject`ed failure as if its probe had sent it, and relays
// the scripted runtime's answers.
caf::behavior test_parent(caf::event_based_actor* self, seen* s, const node_services* services,
                          std::shared_ptr<const container_config> cfg) {
  auto child = self->spawn(container_actor,
                           child_context{replica_path, replica, self->address(), services}, cfg);
  self->monitor(child);
  self->set_down_handler([s](caf::down_msg& m) {
    std::lock_guard g{s->mu};
    s->down = true;
    s->reason = m.reason;
    s->cv.notify_all();
  });
  // A test that ends early must not leave the container actor behind.
  self->set_exit_handler([self, child](caf::exit_msg& m) {
    self->send_exit(child, caf::exit_reason::kill);
    self->quit(m.reason);
  });
  return {
      [self, child](stop_atom) { self->send_exit(child, caf::exit_reason::user_shutdown); },
      [self, child](inject_atom, failure& f) { self->send(child, std::move(f)); },
      [self](caf::actor& to, runtime_reply& r) { self->send(to, std::move(r)); },
      [self](caf::actor& to, container_exited& e) { self->send(to, std::move(e)); },
      [self](caf::actor& to, exec_result& r) { self->send(to, std::move(r)); },
      [s](state_change& c) {
        std::lock_guard g{s->mu};
        s->states.push_back(c.to);
        s->cv.notify_all();
      },
      [s](failure& f) {
        std::lock_guard g{s->mu};
        s->failures.push_back(f);
        s->cv.notify_all();
      },
  };
}

class ContainerPhases : public ::testing::Test {
protected:
  ContainerPhases() {
    sys = std::make_unique<caf::actor_system>(cfg);
    trace = std::make_unique<trace_sink>(trace_out, "t1");
    trace->set_messages(true);
    services = node_services{&rt, nullptr, trace.get()};
  }
  ~ContainerPhases() override {
    if (parent)
      caf::anon_send_exit(parent, caf::exit_reason::user_shutdown);
    sys->await_all_actors_done();
  }

  container_config service() {
    container_config c;
    c.spec.deployment = "stack";
    c.spec.service = "api";
    c.spec.id = replica;
    c.stop_grace = 1s;
    return c;
  }
  // A command check answered by the scripted runtime's exec: one failed check fails it.
  container_config probed() {
    auto c = service();
    probe_config p;
    p.replica_id = replica;
    p.container = replica_key;
    p.check = command_check{"true"};
    p.start_grace = 0s;
    p.interval = 1h;
    p.timeout = 1h;
    p.retries = 1;
    c.health = p;
    return c;
  }
  void start(container_config c) {
    parent = sys->spawn(test_parent, &s, &services,
                        std::make_shared<const container_config>(std::move(c)));
    rt.relay_through(parent);
  }
  // Pull, create and start answered: the container runs.
  void run_to(lifecycle s_) {
    ASSERT_TRUE(rt.called(runtime_op::pull));
    rt.answer(runtime_op::pull);
    ASSERT_TRUE(rt.called(runtime_op::create));
    rt.answer(runtime_op::create);
    ASSERT_TRUE(rt.called(runtime_op::start));
    rt.answer(runtime_op::start, 4242);
    ASSERT_TRUE(wait_state(s_));
  }
  void stop() { caf::anon_send(parent, stop_atom::value); }
  bool wait_state(lifecycle to) {
    return s.wait_until([to](seen& x) { return x.reached(to); });
  }
  bool wait_down() {
    return s.wait_until([](seen& x) { return x.down; });
  }
  std::vector<lifecycle> states() {
    std::lock_guard g{s.mu};
    return s.states;
  }
  std::vector<failure> failures() {
    std::lock_guard g{s.mu};
    return s.failures;
  }
  caf::error reason() {
    std::lock_guard g{s.mu};
    return s.reason;
  }
  // The replica ended as its parent asked: stopped, with the reason of the request, no failure.
  void expect_stopped() {
    ASSERT_TRUE(wait_down());
    EXPECT_EQ(reason(), caf::exit_reason::user_shutdown);
    EXPECT_EQ(states().back(), lifecycle::stopped);
    EXPECT_TRUE(failures().empty());
  }
  // The replica failed with `error` and told its parent.
  void expect_failed(const AgentError& error) {
    ASSERT_TRUE(wait_down());
    EXPECT_EQ(reason(), escalated_exit_reason());
    EXPECT_EQ(states().back(), lifecycle::failed);
    auto f = failures();
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].path, replica_path);
    EXPECT_EQ(f[0].error, error) << to_string(f[0].error);
  }

  using ops = std::vector<runtime_op>;
  static constexpr auto pull = runtime_op::pull;
  static constexpr auto create = runtime_op::create;
  static constexpr auto start_ = runtime_op::start;
  static constexpr auto stop_ = runtime_op::stop;
  static constexpr auto remove = runtime_op::remove;

  scripted_runtime rt; // before the actor system: it outlives every actor that calls it
  std::ostringstream trace_out;
  std::unique_ptr<trace_sink> trace;
  node_services services;
  nv::test::tree_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  seen s;
  caf::actor parent;
};

TEST_F(ContainerPhases, ARunReportsEachStateAndAStopEndsIt) {
  start(service());
  run_to(lifecycle::healthy);
  stop();
  ASSERT_TRUE(rt.called(stop_));
  rt.answer(stop_);
  expect_stopped();
  EXPECT_EQ(states(), (std::vector{lifecycle::creating, lifecycle::starting, lifecycle::running,
                                   lifecycle::healthy, lifecycle::stopping, lifecycle::stopped}));
  EXPECT_EQ(rt.ops(), (ops{pull, create, start_, stop_, remove}));
}

TEST_F(ContainerPhases, StopDuringPullWaitsForThePullThenExitsWithNothingToUndo) {
  start(service());
  ASSERT_TRUE(rt.called(pull));
  stop();
  stop(); // a second request changes nothing
  rt.answer(pull);
  expect_stopped();
  EXPECT_EQ(states(), (std::vector{lifecycle::stopped}));
  EXPECT_EQ(rt.ops(), (ops{pull}));
}

TEST_F(ContainerPhases, StopDuringAFailingPullIsNoFailure) {
  start(service());
  ASSERT_TRUE(rt.called(pull));
  stop();
  rt.fail(pull, PullFailed{"local/test", "no such image"});
  expect_stopped();
  EXPECT_EQ(rt.ops(), (ops{pull}));
}

TEST_F(ContainerPhases, StopDuringCreateRemovesWhatWasCreatedAndNeverStarts) {
  start(service());
  ASSERT_TRUE(rt.called(pull));
  rt.answer(pull);
  ASSERT_TRUE(rt.called(create));
  stop();
  rt.answer(create);
  expect_stopped();
  EXPECT_EQ(states(), (std::vector{lifecycle::creating, lifecycle::stopped}));
  EXPECT_EQ(rt.ops(), (ops{pull, create, remove}));
}

TEST_F(ContainerPhases, StopDuringAFailingCreateHasNothingToRemove) {
  start(service());
  ASSERT_TRUE(rt.called(pull));
  rt.answer(pull);
  ASSERT_TRUE(rt.called(create));
  stop();
  rt.fail(create, CreateFailed{replica, "bad config"});
  expect_stopped();
  EXPECT_EQ(rt.ops(), (ops{pull, create}));
}

TEST_F(ContainerPhases, StopDuringStartStopsAtOnceAndIgnoresTheLateStartAnswer) {
  start(service());
  ASSERT_TRUE(rt.called(pull));
  rt.answer(pull);
  ASSERT_TRUE(rt.called(create));
  rt.answer(create);
  ASSERT_TRUE(rt.called(start_));
  stop();
  ASSERT_TRUE(rt.called(stop_)) << "the start is not waited out";
  rt.answer(start_, 4242);
  rt.answer(stop_);
  expect_stopped();
  EXPECT_EQ(states(), (std::vector{lifecycle::creating, lifecycle::starting, lifecycle::stopping,
                                   lifecycle::stopped}));
  EXPECT_EQ(rt.ops(), (ops{pull, create, start_, stop_, remove}));
}

TEST_F(ContainerPhases, AnExitDuringAStopIsTheStopsOwn) {
  start(service());
  run_to(lifecycle::healthy);
  stop();
  ASSERT_TRUE(rt.called(stop_));
  rt.exit(143);
  rt.answer(stop_);
  expect_stopped();
  EXPECT_EQ(rt.ops(), (ops{pull, create, start_, stop_, remove}));
}

TEST_F(ContainerPhases, AProbeFailureDuringAStopIsIgnored) {
  start(probed());
  run_to(lifecycle::running);
  ASSERT_TRUE(rt.exec_called());
  stop();
  ASSERT_TRUE(rt.called(stop_));
  // As if the probe had given up just before it was stopped.
  caf::anon_send(parent, inject_atom::value,
                 failure{std::string{replica_path} + "/probe",
                         HealthCheckFailed{replica, "command 'true' exited 1"},
                         0,
                         now_us(),
                         0,
                         {},
                         {}});
  rt.answer(stop_);
  expect_stopped();
  EXPECT_EQ(rt.count(stop_), 1u);
}

TEST_F(ContainerPhases, AProbeThatGivesUpStopsTheContainerThenFailsWithItsError) {
  start(probed());
  run_to(lifecycle::running);
  ASSERT_TRUE(rt.exec_called());
  rt.answer_exec(1);
  ASSERT_TRUE(rt.called(stop_));
  rt.exit(143); // the stop's own exit
  rt.answer(stop_);
  expect_failed(HealthCheckFailed{replica, "command 'true' exited 1"});
  EXPECT_EQ(states(), (std::vector{lifecycle::creating, lifecycle::starting, lifecycle::running,
                                   lifecycle::stopping, lifecycle::failed}));
  EXPECT_EQ(rt.ops(), (ops{pull, create, start_, stop_, remove}));
}

TEST_F(ContainerPhases, AStopRequestDuringAProbeFailureStopEndsAsARequestedStop) {
  start(probed());
  run_to(lifecycle::running);
  ASSERT_TRUE(rt.exec_called());
  rt.answer_exec(1);
  ASSERT_TRUE(rt.called(stop_));
  stop();
  stop();
  rt.answer(stop_);
  expect_stopped();
  EXPECT_EQ(rt.ops(), (ops{pull, create, start_, stop_, remove}));
}

TEST_F(ContainerPhases, AProbePassMakesItHealthy) {
  start(probed());
  run_to(lifecycle::running);
  ASSERT_TRUE(rt.exec_called());
  rt.answer_exec(0);
  ASSERT_TRUE(wait_state(lifecycle::healthy));
  stop();
  ASSERT_TRUE(rt.called(stop_));
  rt.answer(stop_);
  expect_stopped();
}

TEST_F(ContainerPhases, APullErrorIsReportedAsItIs) {
  start(service());
  ASSERT_TRUE(rt.called(pull));
  rt.fail(pull, PullFailed{"local/test", "no such image"});
  expect_failed(PullFailed{"local/test", "no such image"});
  EXPECT_EQ(rt.ops(), (ops{pull}));
}

TEST_F(ContainerPhases, ACreateErrorIsReportedWithNothingToRemove) {
  start(service());
  ASSERT_TRUE(rt.called(pull));
  rt.answer(pull);
  ASSERT_TRUE(rt.called(create));
  rt.fail(create, CreateFailed{replica, "bad config"});
  expect_failed(CreateFailed{replica, "bad config"});
  EXPECT_EQ(rt.ops(), (ops{pull, create}));
}

TEST_F(ContainerPhases, AStartErrorCarriesTheLogTailAndRemovesTheContainer) {
  start(service());
  ASSERT_TRUE(rt.called(pull));
  rt.answer(pull);
  ASSERT_TRUE(rt.called(create));
  rt.answer(create);
  ASSERT_TRUE(rt.called(start_));
  rt.fail(start_, StartFailed{replica, "no such file"});
  expect_failed(StartFailed{replica, "no such file\nline one\nline two\n"});
  EXPECT_EQ(rt.ops(), (ops{pull, create, start_, remove}));
}

TEST_F(ContainerPhases, AStopErrorStillFinishesTheStopAndRemoves) {
  start(service());
  run_to(lifecycle::healthy);
  stop();
  ASSERT_TRUE(rt.called(stop_));
  rt.fail(stop_, Internal{"kill failed"});
  expect_stopped();
  EXPECT_EQ(rt.ops(), (ops{pull, create, start_, stop_, remove}));
}

TEST_F(ContainerPhases, AStopErrorAfterTheProbeGaveUpStillFailsWithTheProbesError) {
  start(probed());
  run_to(lifecycle::running);
  ASSERT_TRUE(rt.exec_called());
  rt.answer_exec(1);
  ASSERT_TRUE(rt.called(stop_));
  rt.fail(stop_, Internal{"kill failed"});
  expect_failed(HealthCheckFailed{replica, "command 'true' exited 1"});
  EXPECT_EQ(rt.ops(), (ops{pull, create, start_, stop_, remove}));
}

TEST_F(ContainerPhases, ASecondStopRequestIsIgnored) {
  start(service());
  run_to(lifecycle::healthy);
  stop();
  stop();
  ASSERT_TRUE(rt.called(stop_));
  rt.answer(stop_);
  expect_stopped();
  EXPECT_EQ(rt.count(stop_), 1u);
  EXPECT_EQ(rt.count(remove), 1u);
}

TEST_F(ContainerPhases, AJobsExitZeroCompletesIt) {
  auto c = service();
  c.job = true;
  start(c);
  run_to(lifecycle::running);
  rt.exit(0);
  ASSERT_TRUE(wait_down());
  EXPECT_FALSE(reason()) << "a normal exit";
  EXPECT_EQ(states(), (std::vector{lifecycle::creating, lifecycle::starting, lifecycle::running,
                                   lifecycle::completed}));
  EXPECT_TRUE(failures().empty());
  EXPECT_EQ(rt.ops(), (ops{pull, create, start_, remove}));
}

TEST_F(ContainerPhases, AJobsNonZeroExitFailsIt) {
  auto c = service();
  c.job = true;
  start(c);
  run_to(lifecycle::running);
  rt.exit(3);
  expect_failed(UnexpectedExit{replica, 3});
}

TEST_F(ContainerPhases, AServicesExitZeroIsAnUnexpectedExit) {
  start(service());
  run_to(lifecycle::healthy);
  rt.exit(0);
  expect_failed(UnexpectedExit{replica, 0});
  EXPECT_EQ(rt.ops(), (ops{pull, create, start_, remove}));
}

// Killed (kill cannot be trapped) before it could stop its container: the runtime is left clean
// all the same, once the runtime holds a container.
TEST_F(ContainerPhases, AKilledReplicaStillRemovesItsContainer) {
  start(service());
  run_to(lifecycle::healthy);
  caf::anon_send_exit(parent, caf::exit_reason::user_shutdown);
  parent = nullptr;
  sys->await_all_actors_done();
  EXPECT_EQ(rt.ops(), (ops{pull, create, start_, remove}));
}

TEST_F(ContainerPhases, AReplicaKilledDuringItsPullHasNothingToRemove) {
  start(service());
  ASSERT_TRUE(rt.called(pull));
  caf::anon_send_exit(parent, caf::exit_reason::user_shutdown);
  parent = nullptr;
  sys->await_all_actors_done();
  EXPECT_EQ(rt.ops(), (ops{pull}));
}

} // namespace
