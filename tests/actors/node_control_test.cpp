// The node while it runs: deployments added, removed, applied and rolled through the node's
// control protocol (actors/node_protocol.hpp), on the process runtime with real processes
// (`sh`, `sleep`), on the real scheduler. Deadlines are generous; nothing asserts how fast the
// machine is.
#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
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
#include "runtimes/process/process_runtime.hpp"
#include "tests/support/tree_config.hpp"
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
    register_node_types(cfg);
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
        pc.container = runtime_key(c.spec);
        c.health = pc;
      }
      c.fingerprint = "env:" + env + (health ? " health" : "");
      key_of[c.spec.id] = runtime_key(c.spec);
      p.replicas.push_back(std::make_shared<const container_config>(std::move(c)));
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

  // The state the node last reported for the deployment at `path`.
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
  // The pid of a replica by its id (each test names its services apart across deployments).
  int pid(const std::string& id) { return rt.pid(runtime_key_of(id)).value_or(0); }
  std::string runtime_key_of(const std::string& id) {
    auto it = key_of.find(id);
    EXPECT_NE(it, key_of.end()) << "no service made replica " << id;
    return it == key_of.end() ? id : it->second;
  }
  std::map<std::string, std::string> key_of; // replica id -> the runtime's key

  // The children of an actor of the tree, by its path from the node ("/web/api").
  std::vector<child_info> children_of(const std::string& path) {
    caf::scoped_actor self{*sys};
    caf::actor at = node;
    std::vector<child_info> out;
    std::string walked;
    auto list = [&](const caf::actor& a) {
      std::vector<child_info> xs;
      self->request(a, 30s, which_children_atom::value)
          .receive([&](std::vector<child_info>& v) { xs = std::move(v); },
                   [&](caf::error& e) { ADD_FAILURE() << sys->render(e); });
      return xs;
    };
    out = list(at);
    std::istringstream parts{path.substr(1)};
    for (std::string part; std::getline(parts, part, '/');) {
      caf::actor next;
      for (auto& c : out)
        if (c.id == part)
          next = c.handle;
      if (!next) {
        ADD_FAILURE() << "no running " << part << " in " << path;
        return {};
      }
      out = list(next);
    }
    return out;
  }
  std::vector<std::string> ids_of(const std::string& path) {
    std::vector<std::string> out;
    for (auto& c : children_of(path))
      out.push_back(c.id);
    return out;
  }
  std::map<std::string, int> pids(const std::vector<std::string>& ids) {
    std::map<std::string, int> out;
    for (auto& id : ids)
      out[id] = pid(id);
    return out;
  }
  // The value of VERSION in a running process's environment.
  std::string version_of(int pid) {
    std::ifstream in{"/proc/" + std::to_string(pid) + "/environ"};
    std::string all{std::istreambuf_iterator<char>(in), {}};
    std::istringstream vars{all};
    for (std::string var; std::getline(vars, var, '\0');)
      if (var.rfind("VERSION=", 0) == 0)
        return var.substr(8);
    return {};
  }
  // Most replicas of `service` (under /<deployment>/<service>/) not healthy at once, from the
  // moment all `n` of them had been healthy, over the trace so far.
  int most_down_at_once(const std::string& deployment, const std::string& service, int n) {
    std::map<std::string, std::string> last;
    bool counting = false;
    int most = 0;
    auto prefix = "/" + deployment + "/" + service + "/" + service + "-rep-";
    for (auto& e : events()) {
      if (e["event"] != "state")
        continue;
      std::string actor = e["actor"];
      if (actor.rfind(prefix, 0) != 0 || actor.find('/', prefix.size()) != std::string::npos)
        continue;
      last[actor] = e["to"];
      int up = 0, down = 0;
      for (auto& [a, state] : last)
        (state == "healthy" ? up : down) += 1;
      if (up == n && down == 0)
        counting = true;
      if (counting)
        most = std::max(most, down + (n - up - down));
    }
    return counting ? most : -1;
  }
  int restarts_with(const std::string& strategy, const std::string& child_prefix) {
    int out = 0;
    for (auto& e : events())
      if (e["event"] == "restart" && e["strategy"] == strategy &&
          std::string{e["child"]}.rfind(child_prefix, 0) == 0)
        ++out;
    return out;
  }

  std::vector<nlohmann::json> events() {
    trace->flush();
    std::vector<nlohmann::json> out;
    std::istringstream in{trace_out.str()};
    for (std::string line; std::getline(in, line);)
      out.push_back(nlohmann::json::parse(line));
    return out;
  }

  fs::path dir;
  nv::test::tree_config cfg;
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
  EXPECT_FALSE(rt.pid(runtime_key_of("b-rep-1")));
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

TEST_F(NodeControl, ApplyWithOneServiceChangedRollsItOneReplicaAtATime) {
  auto web = [&](const std::string& api_version) {
    return deployment("web",
                      {service("web", "db", 1, "v1", true),
                       service("web", "api", 3, api_version, true), service("web", "cache", 1)});
  };
  start({web("v1")});
  ASSERT_TRUE(healthy("web"));
  auto others = pids({"db-rep-1", "cache-rep-1"});
  auto api = pids({"api-rep-1", "api-rep-2", "api-rep-3"});
  auto change = deploy(web("v2"));
  EXPECT_EQ(change.whole, deployment_change::kind::apply);
  EXPECT_EQ(change.unchanged, (std::vector<std::string>{"db", "cache"}));
  ASSERT_EQ(change.rolled.size(), 1u);
  EXPECT_EQ(change.rolled[0].replicas.replaced,
            (std::vector<std::string>{"api-rep-1", "api-rep-2", "api-rep-3"}));
  ASSERT_TRUE(wait_for([&] {
    for (auto& [id, old] : api)
      if (pid(id) == old || !alive(pid(id)) || version_of(pid(id)) != "v2")
        return false;
    return restarts_with("apply", "/web/api/") == 3 && last_state("/web") == lifecycle::healthy;
  })) << "every api replica runs v2 in a new process";
  for (auto& [id, old] : api)
    EXPECT_FALSE(alive(old)) << id << "'s old process is gone";
  EXPECT_EQ(pids({"db-rep-1", "cache-rep-1"}), others) << "the unchanged services keep their pids";
  EXPECT_EQ(most_down_at_once("web", "api", 3), 1)
      << "each new replica is healthy before the next old one stops";
  // Each replacement reads in the trace as a restart that causes the old one's exit and the new
  // one's spawn.
  auto all = events();
  for (auto& r : all) {
    if (r["event"] != "restart" || r["strategy"] != "apply")
      continue;
    bool exit = false, spawn = false;
    for (auto& e : all)
      if (e["actor"] == r["child"] && e.value("cause", uint64_t{0}) == r["seq"]) {
        exit |= e["event"] == "exit";
        spawn |= e["event"] == "spawn";
      }
    EXPECT_TRUE(exit && spawn) << r.dump();
  }
}

TEST_F(NodeControl, ScaleUpAndDownThroughApplyKeepTheExistingReplicas) {
  start({deployment("web", {service("web", "api", 2)})});
  ASSERT_TRUE(healthy("web"));
  auto first = pids({"api-rep-1", "api-rep-2"});
  auto up = deploy(deployment("web", {service("web", "api", 4)}));
  ASSERT_EQ(up.rolled.size(), 1u);
  EXPECT_EQ(up.rolled[0].replicas.added, (std::vector<std::string>{"api-rep-3", "api-rep-4"}));
  ASSERT_TRUE(wait_for([&] { return alive(pid("api-rep-3")) && alive(pid("api-rep-4")); }));
  EXPECT_EQ(pids({"api-rep-1", "api-rep-2"}), first) << "scale up starts new replicas only";
  auto gone = pids({"api-rep-2", "api-rep-3", "api-rep-4"});
  auto down = deploy(deployment("web", {service("web", "api", 1)}));
  ASSERT_EQ(down.rolled.size(), 1u);
  EXPECT_EQ(down.rolled[0].replicas.removed,
            (std::vector<std::string>{"api-rep-2", "api-rep-3", "api-rep-4"}));
  ASSERT_TRUE(wait_for([&] {
    return std::none_of(gone.begin(), gone.end(), [&](auto& g) { return alive(g.second); });
  })) << "scale down stops the highest replicas";
  EXPECT_EQ(pid("api-rep-1"), first["api-rep-1"]);
  ASSERT_TRUE(wait_for([&] { return ids_of("/web/api") == std::vector<std::string>{"api-rep-1"}; }))
      << "and forgets them";
  EXPECT_EQ(restarts_with("apply", "/web/api/"), 0) << "no replica was replaced";
}

TEST_F(NodeControl, AReplicaScaledDownAndUpAgainWhileItStopsStartsAgain) {
  // Replicas that ignore SIGTERM: a scale down takes their grace (1s) to end.
  auto api = [&](int replicas) {
    auto svc = service("web", "api", replicas);
    for (auto& r : svc.replicas) {
      auto ignoring = std::make_shared<container_config>(*r);
      ignoring->spec.command = {"/bin/sh", "-c", "trap '' TERM; exec sleep 1000"};
      ignoring->stop_grace = 1s;
      r = std::move(ignoring);
    }
    return deployment("web", {svc});
  };
  start({api(3)});
  ASSERT_TRUE(healthy("web"));
  auto first = pids({"api-rep-1", "api-rep-2", "api-rep-3"});
  deploy(api(1));
  deploy(api(3)); // before api-rep-2 and -3 are down
  ASSERT_TRUE(wait_for([&] {
    for (auto& id : {"api-rep-2", "api-rep-3"})
      if (!alive(pid(id)) || pid(id) == first[id])
        return false;
    return true;
  })) << "wanted again, they start anew once the old ones are down";
  EXPECT_EQ(pid("api-rep-1"), first["api-rep-1"]);
  EXPECT_EQ(ids_of("/web/api"), (std::vector<std::string>{"api-rep-1", "api-rep-2", "api-rep-3"}));
}

TEST_F(NodeControl, AddedRemovedAndReplacedServices) {
  start({deployment(
      "web", {service("web", "db", 1), service("web", "api", 2), service("web", "old", 1)})});
  ASSERT_TRUE(healthy("web"));
  auto before = pids({"db-rep-1", "api-rep-1", "api-rep-2", "old-rep-1"});
  auto db = service("web", "db", 1);
  db.shape = "shape:db, with a new supervision block";
  auto change =
      deploy(deployment("web", {db, service("web", "api", 2), service("web", "worker", 1)}));
  EXPECT_EQ(change.added, (std::vector<std::string>{"worker"}));
  EXPECT_EQ(change.removed, (std::vector<std::string>{"old"}));
  EXPECT_EQ(change.replaced, (std::vector<std::string>{"db"}));
  EXPECT_EQ(change.unchanged, (std::vector<std::string>{"api"}));
  ASSERT_TRUE(wait_for([&] {
    return alive(pid("worker-rep-1")) && alive(pid("db-rep-1")) &&
           pid("db-rep-1") != before["db-rep-1"] && !alive(before["old-rep-1"]);
  }));
  EXPECT_EQ(pid("api-rep-1"), before["api-rep-1"]);
  EXPECT_EQ(pid("api-rep-2"), before["api-rep-2"]);
  ASSERT_TRUE(wait_for([&] {
    return ids_of("/web") == std::vector<std::string>{"db", "api", "worker"};
  })) << "the removed service is forgotten, the added one listed in start order";
  ASSERT_TRUE(healthy("web"));
  // Removed and replaced stop one at a time, in reverse start order: old, then db.
  uint64_t old_stopped = 0, db_stopped = 0;
  for (auto& e : events())
    if (e["event"] == "state" && e["to"] == "stopped") {
      if (e["actor"] == "/web/old" && !old_stopped)
        old_stopped = e["seq"];
      if (e["actor"] == "/web/db" && !db_stopped)
        db_stopped = e["seq"];
    }
  ASSERT_NE(old_stopped, 0u);
  ASSERT_NE(db_stopped, 0u);
  EXPECT_LT(old_stopped, db_stopped);
}

TEST_F(NodeControl, RestartRollsEveryReplicaOneAtATime) {
  start({deployment("web", {service("web", "db", 1), service("web", "api", 2, "v1", true)})});
  ASSERT_TRUE(healthy("web"));
  auto db = pid("db-rep-1");
  auto api = pids({"api-rep-1", "api-rep-2"});
  EXPECT_FALSE(restart("web", "api"));
  ASSERT_TRUE(wait_for([&] {
    for (auto& [id, old] : api)
      if (pid(id) == old || !alive(pid(id)))
        return false;
    return restarts_with("rolling", "/web/api/") == 2 && last_state("/web") == lifecycle::healthy;
  }));
  EXPECT_EQ(pid("db-rep-1"), db);
  EXPECT_EQ(most_down_at_once("web", "api", 2), 1);
  auto err = restart("web", "nope");
  EXPECT_EQ(node_error_code(err), node_errc::not_found);
  EXPECT_EQ(node_error_text(err), "no service 'nope' in deployment 'web'");
}

TEST_F(NodeControl, ANewApplyReplacesTheRollInProgress) {
  auto web = [&](const std::string& v) {
    return deployment("web", {service("web", "api", 3, v, true)});
  };
  start({web("v1")});
  ASSERT_TRUE(healthy("web"));
  deploy(web("v2"));
  deploy(web("v3"));
  ASSERT_TRUE(wait_for([&] {
    for (auto& id : {"api-rep-1", "api-rep-2", "api-rep-3"})
      if (!alive(pid(id)) || version_of(pid(id)) != "v3")
        return false;
    return last_state("/web") == lifecycle::healthy;
  })) << "every replica ends on the newest plan";
  EXPECT_LE(restarts_with("apply", "/web/api/"), 4)
      << "replicas not yet rolled to v2 go straight to v3";
}

TEST_F(NodeControl, AChangedDeploymentSupervisionReplacesItWhole) {
  start({deployment("web", {service("web", "db", 1), service("web", "api", 1)})});
  ASSERT_TRUE(healthy("web"));
  auto before = pids({"db-rep-1", "api-rep-1"});
  auto next = deployment("web", {service("web", "db", 1), service("web", "api", 1)});
  next.flags.max_restarts = 1;
  auto change = deploy(next);
  EXPECT_EQ(change.whole, deployment_change::kind::replaced);
  EXPECT_EQ(change.replaced, (std::vector<std::string>{"db", "api"}));
  ASSERT_TRUE(wait_for([&] {
    for (auto& [id, old] : before)
      if (pid(id) == old || !alive(pid(id)))
        return false;
    return true;
  }));
  for (auto& [id, old] : before)
    EXPECT_FALSE(alive(old));
}

TEST_F(NodeControl, AnIdenticalDeployChangesNothing) {
  start({deployment("web", {service("web", "api", 2)})});
  ASSERT_TRUE(healthy("web"));
  auto before = pids({"api-rep-1", "api-rep-2"});
  auto change = deploy(deployment("web", {service("web", "api", 2)}));
  EXPECT_TRUE(change.empty());
  EXPECT_EQ(pids({"api-rep-1", "api-rep-2"}), before);
  EXPECT_EQ(restarts_with("apply", "/web/"), 0);
}

} // namespace
