// The node while it runs: deployments added, removed, applied and rolled through the node's
// control protocol (actors/node_protocol.hpp), on the process runtime with real processes
// (`sh`, `sleep`), on the real scheduler. Deadlines are generous; nothing asserts how fast the
// machine is.
#include <cerrno>
#include <csignal>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <unistd.h>

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/checks/check_runner.hpp"
#include "actors/node_actor.hpp"
#include "actors/node_protocol.hpp"
#include "messages/caf/atoms.hpp"
#include "messages/caf/register_types.hpp"
#include "runtimes/process/process_runtime.hpp"
#include "trace/trace_sink.hpp"

using namespace nv;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct observed {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<state_change> states;
  std::vector<failure> failures;
};

caf::behavior observer(caf::event_based_actor*, observed* o) {
  return {
      [o](state_change& c) {
        std::lock_guard g{o->mu};
        o->states.push_back(c);
        o->cv.notify_all();
      },
      [o](failure& f) {
        std::lock_guard g{o->mu};
        o->failures.push_back(f);
        o->cv.notify_all();
      },
  };
}

bool alive(int pid) {
  return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

class NodeControl : public ::testing::Test {
protected:
  NodeControl() {
    std::string tmpl = (fs::temp_directory_path() / "nv-node-control-XXXXXX").string();
    dir = fs::canonical(::mkdtemp(tmpl.data()));
    register_message_types(cfg);
    register_supervisor_types(cfg);
    register_node_types(cfg);
    cfg.set("scheduler.policy", caf::atom("sharing"));
    cfg.set("scheduler.max-threads", 2);
    sys = std::make_unique<caf::actor_system>(cfg);
    trace = std::make_unique<trace_sink>(trace_out, "t1");
    obs = sys->spawn(observer, &o);
    services = node_services{&rt, &runner, trace.get()};
  }
  ~NodeControl() override {
    stop();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  // A service of `replicas` processes running `script` with sh; a health check passes once the
  // replica has written its own pid to ready-<n> (so a replica replaced anew is not healthy on
  // the strength of the file its predecessor left).
  service_plan service(const std::string& deployment, const std::string& name, int replicas,
                       const std::string& env = "v1", bool health = false) {
    service_plan p;
    p.name = name;
    p.shape = "shape:" + name;
    p.flags.backoff.initial = 10ms;
    for (int r = 1; r <= replicas; ++r) {
      container_config c;
      c.spec.deployment = deployment;
      c.spec.service = name;
      c.spec.replica = static_cast<uint32_t>(r);
      c.spec.id = replica_id(name, c.spec.replica);
      c.spec.image = "process";
      c.spec.workdir = dir.string();
      auto ready = "ready-" + c.spec.id;
      c.spec.command = {"/bin/sh", "-c",
                        health ? "sleep 0.3; echo $$ > " + ready + "; exec sleep 1000"
                               : "exec sleep 1000"};
      c.spec.env = {{"VERSION", env}};
      c.stop_grace = 5s;
      if (health) {
        probe_config pc;
        pc.start_grace = 0s;
        pc.interval = 100ms;
        pc.timeout = 5s;
        pc.retries = 1000;
        pc.check = command_check{"kill -0 \"$(cat " + ready + " 2>/dev/null)\" 2>/dev/null"};
        pc.replica_id = c.spec.id;
        c.health = pc;
      }
      c.fingerprint = "env:" + env + (health ? " health" : "");
      p.replicas.push_back(std::move(c));
    }
    return p;
  }
  deployment_plan deployment(const std::string& name, std::vector<service_plan> services) {
    deployment_plan d;
    d.name = name;
    d.services = std::move(services);
    return d;
  }

  void start(std::vector<deployment_plan> plans) {
    node_config nc;
    nc.deployments = std::move(plans);
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

  deployment_change deploy(deployment_plan plan) {
    caf::scoped_actor self{*sys};
    deployment_change out;
    self->request(node, 30s, deploy_atom::value, std::move(plan))
        .receive([&](deployment_change& c) { out = std::move(c); },
                 [&](caf::error& e) { ADD_FAILURE() << sys->render(e); });
    return out;
  }
  // The error of a remove, or none.
  caf::error remove(const std::string& name) {
    caf::scoped_actor self{*sys};
    caf::error out;
    self->request(node, 60s, remove_atom::value, name)
        .receive([] {}, [&](caf::error& e) { out = std::move(e); });
    return out;
  }
  caf::error restart(const std::string& d, const std::string& s) {
    caf::scoped_actor self{*sys};
    caf::error out;
    self->request(node, 30s, restart_atom::value, d, s)
        .receive([] {}, [&](caf::error& e) { out = std::move(e); });
    return out;
  }
  std::vector<std::string> deployments() {
    caf::scoped_actor self{*sys};
    std::vector<std::string> out;
    self->request(node, 30s, which_children_atom::value)
        .receive(
            [&](std::vector<child_info>& xs) {
              for (auto& x : xs)
                out.push_back(x.id);
            },
            [&](caf::error& e) { ADD_FAILURE() << sys->render(e); });
    return out;
  }

  // The state the node last reported for deployment `name`, after the `skip` first reports.
  lifecycle last_state(const std::string& path) {
    std::lock_guard g{o.mu};
    lifecycle out = lifecycle::pending;
    for (auto& c : o.states)
      if (c.path == path)
        out = c.to;
    return out;
  }
  bool wait_for(const std::function<bool()>& pred, std::chrono::seconds limit = 30s) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > until)
        return false;
      std::this_thread::sleep_for(20ms);
    }
    return true;
  }
  bool healthy(const std::string& deployment) {
    return wait_for([&] { return last_state("/" + deployment) == lifecycle::healthy; });
  }
  int pid(const std::string& id) { return rt.pid(id).value_or(0); }

  std::vector<nlohmann::json> events() {
    trace->flush();
    std::vector<nlohmann::json> out;
    std::istringstream in{trace_out.str()};
    for (std::string line; std::getline(in, line);)
      out.push_back(nlohmann::json::parse(line));
    return out;
  }

  fs::path dir;
  caf::actor_system_config cfg;
  process_runtime rt;
  check_runner runner;
  node_services services;
  std::ostringstream trace_out;
  std::unique_ptr<trace_sink> trace;
  std::unique_ptr<caf::actor_system> sys;
  observed o;
  caf::actor obs;
  caf::actor node;
};

TEST_F(NodeControl, DeployAddsASecondDeploymentWhileTheFirstRuns) {
  start({deployment("one", {service("one", "a", 1)})});
  ASSERT_TRUE(healthy("one"));
  auto a1 = pid("a-rep-1");
  ASSERT_TRUE(alive(a1));
  auto change = deploy(deployment("two", {service("two", "b", 2)}));
  EXPECT_EQ(change.whole, deployment_change::kind::created);
  EXPECT_EQ(change.added, (std::vector<std::string>{"b"}));
  ASSERT_TRUE(healthy("two"));
  EXPECT_TRUE(alive(pid("b-rep-1")));
  EXPECT_TRUE(alive(pid("b-rep-2")));
  EXPECT_EQ(pid("a-rep-1"), a1) << "the first deployment is not touched";
  EXPECT_EQ(deployments(), (std::vector<std::string>{"one", "two"}));
}

TEST_F(NodeControl, RemoveStopsAllItsProcessesAndLeavesTheOtherAlone) {
  start({deployment("one", {service("one", "a", 1)}),
         deployment("two", {service("two", "b", 2), service("two", "c", 1)})});
  ASSERT_TRUE(healthy("one"));
  ASSERT_TRUE(healthy("two"));
  auto a1 = pid("a-rep-1");
  std::vector<int> gone{pid("b-rep-1"), pid("b-rep-2"), pid("c-rep-1")};
  for (auto p : gone)
    ASSERT_TRUE(alive(p));
  EXPECT_FALSE(remove("two")) << "the reply comes once everything of it is down";
  for (auto p : gone)
    EXPECT_FALSE(alive(p)) << "pid " << p << " of the removed deployment still runs";
  EXPECT_FALSE(rt.pid("b-rep-1"));
  EXPECT_EQ(pid("a-rep-1"), a1);
  EXPECT_TRUE(alive(a1));
  EXPECT_EQ(deployments(), (std::vector<std::string>{"one"}));
  // Its services stopped in reverse order, as a shutdown does: c (started last) first.
  uint64_t c_stopped = 0, b_stopped = 0;
  for (auto& e : events())
    if (e["event"] == "state" && e["to"] == "stopped") {
      if (e["actor"] == "/two/c" && !c_stopped)
        c_stopped = e["seq"];
      if (e["actor"] == "/two/b" && !b_stopped)
        b_stopped = e["seq"];
    }
  ASSERT_NE(c_stopped, 0u);
  ASSERT_NE(b_stopped, 0u);
  EXPECT_LT(c_stopped, b_stopped);
}

TEST_F(NodeControl, RemoveOfAnUnknownDeploymentIsNotFound) {
  start({deployment("one", {service("one", "a", 1)})});
  auto err = remove("nope");
  ASSERT_TRUE(err);
  EXPECT_EQ(node_error_code(err), node_errc::not_found);
  EXPECT_EQ(node_error_text(err), "no deployment 'nope' on this node");
  EXPECT_EQ(node_error_code(restart("nope", "a")), node_errc::not_found);
  EXPECT_EQ(deployments(), (std::vector<std::string>{"one"}));
}

TEST_F(NodeControl, RemoveThenDeployOfTheSameNameNeverRaces) {
  start({deployment("one", {service("one", "a", 2)})});
  ASSERT_TRUE(healthy("one"));
  std::vector<int> old{pid("a-rep-1"), pid("a-rep-2")};
  // Both at once: the deploy waits for the remove to end, then adds the deployment anew.
  caf::scoped_actor self{*sys};
  bool removed = false;
  deployment_change change;
  self->send(node, remove_atom::value, std::string{"one"});
  self->request(node, 60s, deploy_atom::value, deployment("one", {service("one", "a", 2, "v2")}))
      .receive([&](deployment_change& c) { change = std::move(c); },
               [&](caf::error& e) { ADD_FAILURE() << sys->render(e); });
  self->receive([&] { removed = true; }, [&](caf::error& e) { ADD_FAILURE() << sys->render(e); });
  EXPECT_TRUE(removed);
  EXPECT_EQ(change.whole, deployment_change::kind::created);
  for (auto p : old)
    EXPECT_FALSE(alive(p)) << "the old replicas are gone before the new ones start";
  ASSERT_TRUE(wait_for([&] { return alive(pid("a-rep-1")) && alive(pid("a-rep-2")); }));
  EXPECT_EQ(deployments(), (std::vector<std::string>{"one"}));
}

} // namespace
