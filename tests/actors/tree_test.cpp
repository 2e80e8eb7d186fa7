// The whole tree on the simulated runtime, on the real scheduler: dependency order, typed
// dependency timeouts, restarts through the tree, and ordered shutdown. Deadlines are
// generous; nothing here asserts how fast the machine is.
#include <condition_variable>
#include <mutex>
#include <sstream>

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/node_actor.hpp"
#include "runtimes/sim/sim_runtime.hpp"
#include "tests/support/tree_config.hpp"
#include "trace/trace_sink.hpp"

using namespace nv;
using namespace std::chrono_literals;

namespace {

struct observed {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<state_change> states;
  std::vector<failure> failures;

  template <class Pred>
  bool wait_until(Pred pred, std::chrono::seconds limit = 20s) {
    std::unique_lock<std::mutex> g{mu};
    return cv.wait_for(g, limit, [&] { return pred(*this); });
  }
  bool reached(const std::string& path, lifecycle s) {
    return std::any_of(states.begin(), states.end(),
                       [&](auto& c) { return c.path == path && c.to == s; });
  }
};

caf::behavior observer(caf::event_based_actor*, observed* o) {
  return {
      [o](state_change& c) {
        std::lock_guard<std::mutex> g{o->mu};
        o->states.push_back(c);
        o->cv.notify_all();
      },
      [o](failure& f) {
        std::lock_guard<std::mutex> g{o->mu};
        o->failures.push_back(f);
        o->cv.notify_all();
      },
  };
}

service_plan service(const std::string& name, int replicas, std::vector<dependency> deps = {},
                     sim_behavior sim = {}) {
  service_plan p;
  p.name = name;
  p.depends = std::move(deps);
  p.flags.backoff.initial = 10ms;
  for (int r = 1; r <= replicas; ++r) {
    container_config c;
    c.spec.deployment = "stack";
    c.spec.service = name;
    c.spec.replica = static_cast<uint32_t>(r);
    c.spec.id = replica_id(name, c.spec.replica);
    c.spec.options = sim;
    c.stop_grace = 1s;
    p.replicas.push_back(std::make_shared<const container_config>(std::move(c)));
  }
  return p;
}

dependency dep(const std::string& on, duration timeout = 10s,
               failure_action action = failure_action::fail,
               dependency_condition cond = dependency_condition::healthy) {
  return dependency{on, cond, timeout, action};
}

class Tree : public ::testing::Test {
protected:
  Tree() {
    sys = std::make_unique<caf::actor_system>(cfg);
    trace = std::make_unique<trace_sink>(trace_out, "t1");
    obs = sys->spawn(observer, &o);
  }
  ~Tree() override { stop(); }

  void start(deployment_plan plan) {
    services = node_services{&rt, nullptr, trace.get()};
    node_config nc;
    nc.deployments.push_back(std::move(plan));
    nc.observer = obs.address();
    nc.services = &services;
    node = sys->spawn(node_actor, std::move(nc));
  }
  void stop() {
    if (node) {
      caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
      node = nullptr;
    }
    if (obs) {
      caf::anon_send_exit(obs, caf::exit_reason::user_shutdown);
      obs = nullptr;
    }
    if (sys) {
      sys->await_all_actors_done();
      trace->flush();
    }
  }
  std::vector<nlohmann::json> events() {
    trace->flush();
    std::vector<nlohmann::json> out;
    std::istringstream in{trace_out.str()};
    for (std::string line; std::getline(in, line);)
      out.push_back(nlohmann::json::parse(line));
    return out;
  }
  // seq of the first event matching, 0 when none.
  uint64_t first(const std::string& actor, const std::string& event, const std::string& to = "") {
    for (auto& e : events())
      if (e["actor"] == actor && e["event"] == event && (to.empty() || e.value("to", "") == to))
        return e["seq"].get<uint64_t>();
    return 0;
  }

  nv::test::tree_config cfg;
  sim_runtime rt;
  node_services services;
  std::ostringstream trace_out;
  std::unique_ptr<trace_sink> trace;
  std::unique_ptr<caf::actor_system> sys;
  observed o;
  caf::actor obs;
  caf::actor node;
};

TEST_F(Tree, StartsInDependencyOrderAndStopsInReverse) {
  deployment_plan plan;
  plan.name = "stack";
  plan.services.push_back(service("db", 2));
  plan.services.push_back(service("api", 2, {dep("db")}));
  plan.services.push_back(
      service("web", 1, {dep("api", 10s, failure_action::fail, dependency_condition::started)}));
  start(std::move(plan));
  ASSERT_TRUE(o.wait_until([](observed& x) { return x.reached("/stack", lifecycle::healthy); }));
  auto db_healthy = first("/stack/db", "state", "healthy");
  auto api_spawn = first("/stack/api/api-rep-1", "spawn");
  // web waits only for api to have started: running, or healthy when that came first.
  auto api_running = first("/stack/api", "state", "running");
  auto api_healthy = first("/stack/api", "state", "healthy");
  auto api_started =
      api_running && (!api_healthy || api_running < api_healthy) ? api_running : api_healthy;
  auto web_spawn = first("/stack/web/web-rep-1", "spawn");
  ASSERT_NE(db_healthy, 0u);
  ASSERT_NE(api_spawn, 0u);
  ASSERT_NE(api_started, 0u);
  EXPECT_LT(db_healthy, api_spawn) << "api's replicas start only once db is healthy";
  EXPECT_LT(api_started, web_spawn) << "web's replicas start only once api has started";
  stop();
  auto web_stop = first("/stack/web", "state", "stopped");
  auto api_stop = first("/stack/api", "state", "stopped");
  auto db_stop = first("/stack/db", "state", "stopped");
  ASSERT_NE(db_stop, 0u);
  EXPECT_LT(web_stop, api_stop);
  EXPECT_LT(api_stop, db_stop) << "services stop in reverse dependency order";
  EXPECT_EQ(rt.size(), 0u) << "every container was removed";
}

TEST_F(Tree, DependencyTimeoutFailsTheServiceWithTheSeedsText) {
  sim_behavior never;
  never.start_delay = 1h;
  deployment_plan plan;
  plan.name = "stack";
  plan.flags.max_restarts = 0;
  plan.services.push_back(service("db", 1, {}, never));
  plan.services.push_back(service("api", 1, {dep("db", 200ms)}));
  start(std::move(plan));
  ASSERT_TRUE(o.wait_until([](observed& x) { return !x.failures.empty(); }));
  auto f = o.failures.front();
  ASSERT_TRUE(std::holds_alternative<DependencyTimeout>(f.error)) << to_string(f.error);
  EXPECT_EQ(to_string(f.error), "Dependency timeout: 'api' waiting for 'db' (healthy) after 200ms");
  EXPECT_EQ(f.path, "/stack/api/wait:db");
  EXPECT_EQ(first("/stack/api/api-rep-1", "spawn"), 0u) << "the dependent never started";
}

TEST_F(Tree, WarnAndContinueStartTheDependentAnyway) {
  sim_behavior never;
  never.start_delay = 1h;
  deployment_plan plan;
  plan.name = "stack";
  plan.services.push_back(service("db", 1, {}, never));
  plan.services.push_back(service("api", 1, {dep("db", 100ms, failure_action::warn)}));
  plan.services.push_back(service("web", 1, {dep("db", 100ms, failure_action::proceed)}));
  start(std::move(plan));
  // The node reports deployments; service states are read from the trace.
  ASSERT_TRUE(o.wait_until([](observed& x) {
    return x.reached("/stack", lifecycle::degraded) || x.reached("/stack", lifecycle::starting);
  }));
  for (int i = 0; i < 500 && !(first("/stack/api", "state", "healthy") &&
                               first("/stack/web", "state", "healthy"));
       ++i)
    std::this_thread::sleep_for(20ms);
  EXPECT_NE(first("/stack/api", "state", "healthy"), 0u);
  EXPECT_NE(first("/stack/web", "state", "healthy"), 0u);
  EXPECT_TRUE(o.failures.empty());
  bool warn = false, cont = false;
  for (auto& e : events())
    if (e["event"] == "wait") {
      warn |= e["outcome"] == "timeout_warn" && e["actor"] == "/stack/api/wait:db";
      cont |= e["outcome"] == "timeout_continue" && e["actor"] == "/stack/web/wait:db";
    }
  EXPECT_TRUE(warn);
  EXPECT_TRUE(cont);
}

TEST_F(Tree, ACrashedReplicaIsRestartedAndIntensityEscalatesTheOriginalError) {
  deployment_plan plan;
  plan.name = "stack";
  plan.flags.max_restarts = 0;
  auto svc = service("api", 1);
  svc.flags.max_restarts = 1;
  plan.services.push_back(std::move(svc));
  start(std::move(plan));
  ASSERT_TRUE(o.wait_until([](observed& x) { return x.reached("/stack", lifecycle::healthy); }));
  ASSERT_TRUE(rt.crash("stack/api-rep-1", 3));
  auto restarted = [&] {
    for (auto& e : events())
      if (e["event"] == "restart" && e["child"] == "/stack/api/api-rep-1")
        return true;
    return false;
  };
  for (int i = 0; i < 200 && !restarted(); ++i)
    std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(restarted());
  // Wait until the replacement runs, then crash it again: one restart too many.
  for (int i = 0; i < 200 && rt.state("stack/api-rep-1").state != container_state::running; ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(rt.crash("stack/api-rep-1", 4));
  ASSERT_TRUE(o.wait_until([](observed& x) { return !x.failures.empty(); }));
  auto f = o.failures.front();
  EXPECT_EQ(f.error, (AgentError{UnexpectedExit{"api-rep-1", 4}}));
  EXPECT_EQ(f.path, "/stack/api/api-rep-1");
}

} // namespace

namespace {

TEST_F(Tree, OnPanicIsolateLeavesTheReplicaStoppedAndTheServiceDegraded) {
  deployment_plan plan;
  plan.name = "stack";
  auto svc = service("api", 2);
  svc.on_panic = panic_action::isolate;
  plan.services.push_back(std::move(svc));
  start(std::move(plan));
  ASSERT_TRUE(o.wait_until([](observed& x) { return x.reached("/stack", lifecycle::healthy); }));
  ASSERT_TRUE(rt.crash("stack/api-rep-1", 1));
  for (int i = 0; i < 500 && first("/stack/api", "state", "degraded") == 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_NE(first("/stack/api", "state", "degraded"), 0u);
  EXPECT_EQ(first("/stack/api", "restart"), 0u) << "an isolated replica is not restarted";
  EXPECT_EQ(rt.state("stack/api-rep-2").state, container_state::running);
  EXPECT_TRUE(o.failures.empty());
}

TEST_F(Tree, OnPanicShutdownFailsTheWholeService) {
  deployment_plan plan;
  plan.name = "stack";
  plan.flags.max_restarts = 0;
  auto svc = service("api", 2);
  svc.on_panic = panic_action::shutdown;
  plan.services.push_back(std::move(svc));
  start(std::move(plan));
  ASSERT_TRUE(o.wait_until([](observed& x) { return x.reached("/stack", lifecycle::healthy); }));
  ASSERT_TRUE(rt.crash("stack/api-rep-2", 9));
  ASSERT_TRUE(o.wait_until([](observed& x) { return !x.failures.empty(); }));
  EXPECT_EQ(o.failures.front().error, (AgentError{UnexpectedExit{"api-rep-2", 9}}));
  for (int i = 0; i < 500 && rt.state("stack/api-rep-1").state == container_state::running; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_NE(rt.state("stack/api-rep-1").state, container_state::running)
      << "its sibling was stopped";
}

} // namespace
