// Ports of the cases of Erlang/OTP's supervisor_SUITE that apply to nodevisor, run on CAF's
// deterministic test scheduler with an injected clock: no test depends on the machine's speed.
#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "messages/caf/atoms.hpp"
#include "messages/caf/register_types.hpp"
#include "supervisor/supervisor.hpp"

using namespace nv;
using namespace std::chrono_literals;

namespace {

using crash_atom = caf::atom_constant<caf::atom("crash")>;
using normal_atom = caf::atom_constant<caf::atom("normal")>;
using shutdn_atom = caf::atom_constant<caf::atom("shutdn")>;
using route_atom = caf::atom_constant<caf::atom("route")>;
using perm_atom = caf::atom_constant<caf::atom("perm")>;

// What the test children and the test parent saw. Single-threaded: the test scheduler runs
// every actor on the test's own thread.
struct world {
  std::vector<std::string> events; // "start c1", "stop c1"
  std::map<std::string, int> starts;
  std::map<std::string, caf::actor> handles;
  std::vector<failure> escalations; // failures that reached the test parent
  std::vector<caf::error> parent_downs;

  int count(const std::string& event) const {
    return static_cast<int>(std::count(events.begin(), events.end(), event));
  }
};

struct worker_opts {
  bool ignore_shutdown = false;
  int fail_starts = 0; // the first N (re)starts after the first one return no actor
};

caf::behavior test_worker(caf::event_based_actor* self, child_context ctx, world* w,
                          worker_opts opts) {
  w->events.push_back("start " + ctx.id);
  w->handles[ctx.id] = caf::actor_cast<caf::actor>(self);
  if (opts.ignore_shutdown)
    self->set_exit_handler([](caf::exit_msg&) {});
  self->attach_functor([w, id = ctx.id] { w->events.push_back("stop " + id); });
  return {
      [self, ctx](crash_atom) {
        fail_child(self, ctx, UnexpectedExit{ctx.id, 1});
      },
      [self, ctx](route_atom) {
        fail_child(self, ctx, RouteToPeer{"svc", "windows", "no runtime"});
      },
      [self, ctx](perm_atom) { fail_child(self, ctx, Unsupported{"exec"}); },
      [self](normal_atom) { self->quit(); },
      [self](shutdn_atom) { self->quit(caf::exit_reason::user_shutdown); },
  };
}

child_spec worker(world* w, std::string id, restart_type rt = restart_type::permanent,
                  worker_opts opts = {}, shutdown_policy sd = {}) {
  auto fails_left = std::make_shared<int>(opts.fail_starts);
  child_spec spec;
  spec.id = id;
  spec.restart = rt;
  spec.shutdown = sd;
  spec.start = [w, opts, fails_left](caf::local_actor* self, const child_context& ctx) {
    int n = ++w->starts[ctx.id];
    if (n > 1 && *fails_left > 0) {
      --*fails_left;
      w->events.push_back("start-failed " + ctx.id);
      return caf::actor{};
    }
    return self->spawn(test_worker, ctx, w, opts);
  };
  return spec;
}

caf::behavior test_parent(caf::event_based_actor* self, world* w) {
  self->set_down_handler([w](caf::down_msg& dm) { w->parent_downs.push_back(dm.reason); });
  return {
      [w](failure& f) { w->escalations.push_back(f); },
      [](state_change&) {},
      [self](caf::actor& watch) { self->monitor(watch); },
  };
}

class Supervisor : public ::testing::Test {
protected:
  Supervisor() {
    register_message_types(cfg);
    register_supervisor_types(cfg);
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    parent = sys->spawn(test_parent, &w);
  }

  ~Supervisor() override {
    for (auto& sup : sups)
      caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(parent, caf::exit_reason::user_shutdown);
    run();
    for (int i = 0; i < 20 && sched->has_pending_timeout(); ++i) {
      sched->clock().advance_time(10s);
      run();
    }
  }

  caf::actor start(supervisor_flags flags, std::vector<child_spec> children,
                   std::string path = "/sup", bool parallel_stop = false) {
    supervisor_config sc;
    sc.path = std::move(path);
    sc.parent = parent.address();
    sc.parent_path = "/test";
    sc.flags = flags;
    sc.parallel_stop = parallel_stop;
    sc.children = std::move(children);
    auto sup = sys->spawn(supervisor_actor, std::move(sc));
    caf::anon_send(parent, sup);
    sups.push_back(sup);
    run();
    return sup;
  }

  void run() { sched->run(); }
  void advance(duration d) {
    sched->clock().advance_time(d);
    run();
  }
  void send(const std::string& child, caf::atom_value what) {
    caf::anon_send(w.handles.at(child), what);
    run();
  }

  template <class Atom, class T>
  T query(const caf::actor& sup) {
    T out{};
    sys->spawn([&](caf::event_based_actor* self) {
      self->request(sup, caf::infinite, Atom::value).then([&](T& v) { out = std::move(v); });
    });
    run();
    return out;
  }
  std::vector<child_info> which(const caf::actor& sup) {
    return query<which_children_atom, std::vector<child_info>>(sup);
  }
  child_counts counts(const caf::actor& sup) {
    return query<count_children_atom, child_counts>(sup);
  }
  lifecycle state_of(const caf::actor& sup, const std::string& id) {
    for (auto& c : which(sup))
      if (c.id == id)
        return c.state;
    ADD_FAILURE() << "no child " << id;
    return lifecycle::pending;
  }
  bool alive(const std::string& child) {
    auto ptr = caf::actor_cast<caf::abstract_actor*>(w.handles.at(child));
    return ptr && !ptr->getf(caf::abstract_actor::is_terminated_flag);
  }

  // Immediate restarts only: the backoff is tested on its own.
  static supervisor_flags flags(restart_strategy s, uint32_t max_restarts = 5,
                                duration window = 300s) {
    supervisor_flags f;
    f.strategy = s;
    f.max_restarts = max_restarts;
    f.window = window;
    f.backoff.initial = 0s;
    return f;
  }

  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  world w;
  caf::actor parent;
  std::vector<caf::actor> sups;
};

// --- strategies --------------------------------------------------------------------------

TEST_F(Supervisor, OneForOne) {
  auto sup = start(flags(restart_strategy::one_for_one), {worker(&w, "c1"), worker(&w, "c2")});
  EXPECT_EQ(w.starts["c1"], 1);
  send("c1", crash_atom::value);
  EXPECT_EQ(w.starts["c1"], 2);
  EXPECT_EQ(w.starts["c2"], 1) << "a sibling is not touched by one_for_one";
  EXPECT_EQ(w.count("stop c2"), 0);
  EXPECT_TRUE(w.escalations.empty());
  EXPECT_EQ(counts(sup).active, 2u);
}

TEST_F(Supervisor, OneForOneEscalation) {
  auto sup = start(flags(restart_strategy::one_for_one, 1), {worker(&w, "c1"), worker(&w, "c2")});
  send("c1", crash_atom::value);
  EXPECT_EQ(w.starts["c1"], 2);
  EXPECT_TRUE(w.escalations.empty());
  send("c1", crash_atom::value);
  ASSERT_EQ(w.escalations.size(), 1u);
  EXPECT_EQ(w.escalations[0].path, "/sup/c1") << "the original failing path";
  EXPECT_EQ(w.escalations[0].error, (AgentError{UnexpectedExit{"c1", 1}})) << "the original error";
  EXPECT_FALSE(alive("c2")) << "children are stopped before the supervisor fails";
  ASSERT_EQ(w.parent_downs.size(), 1u);
  EXPECT_EQ(w.parent_downs[0], escalated_exit_reason());
}

TEST_F(Supervisor, OneForAll) {
  start(flags(restart_strategy::one_for_all), {worker(&w, "c1"), worker(&w, "c2")});
  w.events.clear();
  send("c1", crash_atom::value);
  EXPECT_EQ(w.starts["c1"], 2);
  EXPECT_EQ(w.starts["c2"], 2);
  std::vector<std::string> expected{"stop c1", "stop c2", "start c1", "start c2"};
  EXPECT_EQ(w.events, expected);
}

TEST_F(Supervisor, OneForAllEscalation) {
  start(flags(restart_strategy::one_for_all, 1), {worker(&w, "c1"), worker(&w, "c2")});
  send("c2", crash_atom::value);
  EXPECT_EQ(w.starts["c1"], 2);
  send("c2", crash_atom::value);
  ASSERT_EQ(w.escalations.size(), 1u);
  EXPECT_EQ(w.escalations[0].path, "/sup/c2");
  EXPECT_FALSE(alive("c1"));
  EXPECT_FALSE(alive("c2"));
}

TEST_F(Supervisor, OneForAllOtherChildFailsRestart) {
  // c2 fails to start once during the group restart; the supervisor retries it (counted).
  auto sup = start(flags(restart_strategy::one_for_all, 5),
                   {worker(&w, "c1"), worker(&w, "c2", restart_type::permanent, {false, 1})});
  send("c1", crash_atom::value);
  EXPECT_EQ(w.count("start-failed c2"), 1);
  EXPECT_TRUE(w.escalations.empty());
  auto c = counts(sup);
  EXPECT_EQ(c.active, 2u);
  EXPECT_TRUE(alive("c1"));
  EXPECT_TRUE(alive("c2"));
}

TEST_F(Supervisor, RestForOne) {
  start(flags(restart_strategy::rest_for_one),
        {worker(&w, "c1"), worker(&w, "c2"), worker(&w, "c3")});
  w.events.clear();
  send("c2", crash_atom::value);
  EXPECT_EQ(w.starts["c1"], 1) << "children before the failed one are left alone";
  EXPECT_EQ(w.starts["c2"], 2);
  EXPECT_EQ(w.starts["c3"], 2);
  std::vector<std::string> expected{"stop c2", "stop c3", "start c2", "start c3"};
  EXPECT_EQ(w.events, expected);
}

TEST_F(Supervisor, RestForOneEscalation) {
  start(flags(restart_strategy::rest_for_one, 1),
        {worker(&w, "c1"), worker(&w, "c2"), worker(&w, "c3")});
  send("c2", crash_atom::value);
  send("c2", crash_atom::value);
  ASSERT_EQ(w.escalations.size(), 1u);
  EXPECT_EQ(w.escalations[0].path, "/sup/c2");
  EXPECT_FALSE(alive("c1"));
  EXPECT_FALSE(alive("c3"));
}

TEST_F(Supervisor, RestForOneOtherChildFailsRestart) {
  auto sup = start(
      flags(restart_strategy::rest_for_one, 5),
      {worker(&w, "c1"), worker(&w, "c2"), worker(&w, "c3", restart_type::permanent, {false, 1})});
  send("c2", crash_atom::value);
  EXPECT_EQ(w.count("start-failed c3"), 1);
  EXPECT_EQ(w.starts["c1"], 1);
  EXPECT_EQ(counts(sup).active, 3u);
  EXPECT_TRUE(w.escalations.empty());
}

// --- restart types x exit kinds ----------------------------------------------------------

struct restart_case {
  restart_type type;
  caf::atom_value how;
  bool restarted;
  lifecycle final_state;
};

class RestartTypes : public Supervisor, public ::testing::WithParamInterface<restart_case> {};

TEST_P(RestartTypes, ExitKind) {
  auto p = GetParam();
  auto sup = start(flags(restart_strategy::one_for_one), {worker(&w, "c1", p.type)});
  send("c1", p.how);
  EXPECT_EQ(w.starts["c1"], p.restarted ? 2 : 1);
  EXPECT_EQ(state_of(sup, "c1"), p.final_state);
  EXPECT_TRUE(w.escalations.empty());
}

INSTANTIATE_TEST_SUITE_P(
    OtpSuite, RestartTypes,
    ::testing::Values(
        restart_case{restart_type::permanent, normal_atom::value, true, lifecycle::running},
        restart_case{restart_type::permanent, shutdn_atom::value, true, lifecycle::running},
        restart_case{restart_type::permanent, crash_atom::value, true, lifecycle::running},
        restart_case{restart_type::transient, normal_atom::value, false, lifecycle::completed},
        restart_case{restart_type::transient, shutdn_atom::value, false, lifecycle::completed},
        restart_case{restart_type::transient, crash_atom::value, true, lifecycle::running},
        restart_case{restart_type::temporary, normal_atom::value, false, lifecycle::stopped},
        restart_case{restart_type::temporary, shutdn_atom::value, false, lifecycle::stopped},
        restart_case{restart_type::temporary, crash_atom::value, false, lifecycle::failed}));

TEST_F(Supervisor, TemporaryChildIsNotRestartedByAGroupRestart) {
  auto sup = start(flags(restart_strategy::one_for_all),
                   {worker(&w, "c1"), worker(&w, "t", restart_type::temporary)});
  send("c1", crash_atom::value);
  EXPECT_EQ(w.starts["c1"], 2);
  EXPECT_EQ(w.starts["t"], 1);
  EXPECT_EQ(state_of(sup, "t"), lifecycle::stopped);
}

// --- intensity and backoff -----------------------------------------------------------------

TEST_F(Supervisor, MultipleRestarts) {
  // 3 restarts allowed in 10 s: 3 crashes restart, a 4th inside the window escalates, but
  // crashes spread wider than the window never do.
  auto sup = start(flags(restart_strategy::one_for_one, 3, 10s), {worker(&w, "c1")});
  for (int i = 0; i < 3; ++i)
    send("c1", crash_atom::value);
  EXPECT_EQ(w.starts["c1"], 4);
  EXPECT_TRUE(w.escalations.empty());
  advance(11s);
  for (int i = 0; i < 3; ++i)
    send("c1", crash_atom::value);
  EXPECT_EQ(w.starts["c1"], 7);
  EXPECT_TRUE(w.escalations.empty()) << "old restarts fell out of the window";
  send("c1", crash_atom::value);
  ASSERT_EQ(w.escalations.size(), 1u);
}

TEST_F(Supervisor, BackoffDoublesAndIsVisible) {
  auto f = flags(restart_strategy::one_for_one, 10);
  f.backoff.initial = 1s;
  f.backoff.max = 3s;
  auto sup = start(f, {worker(&w, "c1")});
  send("c1", crash_atom::value); // restart 1: immediate
  EXPECT_EQ(w.starts["c1"], 2);
  send("c1", crash_atom::value); // restart 2: waits 1 s
  EXPECT_EQ(w.starts["c1"], 2);
  EXPECT_EQ(state_of(sup, "c1"), lifecycle::crash_loop_backoff);
  advance(999ms);
  EXPECT_EQ(w.starts["c1"], 2);
  advance(1ms);
  EXPECT_EQ(w.starts["c1"], 3);
  EXPECT_EQ(state_of(sup, "c1"), lifecycle::running);
  send("c1", crash_atom::value); // restart 3: waits 2 s
  advance(1999ms);
  EXPECT_EQ(w.starts["c1"], 3);
  advance(1ms);
  EXPECT_EQ(w.starts["c1"], 4);
  send("c1", crash_atom::value); // restart 4: 4 s, capped at 3 s
  advance(3s);
  EXPECT_EQ(w.starts["c1"], 5);
}

TEST_F(Supervisor, BackoffStartsAgainAfterTheChildStayedUpResetAfter) {
  auto f = flags(restart_strategy::one_for_one, 10);
  f.backoff.initial = 1s;
  f.backoff.reset_after = 10s;
  auto sup = start(f, {worker(&w, "c1")});
  send("c1", crash_atom::value); // restart 1: immediate
  send("c1", crash_atom::value); // restart 2: waits 1 s
  advance(1s);
  EXPECT_EQ(w.starts["c1"], 3);
  advance(10s); // up for reset_after
  send("c1", crash_atom::value);
  EXPECT_EQ(w.starts["c1"], 4) << "counted from the first restart again: immediate";
  send("c1", crash_atom::value);
  EXPECT_EQ(w.starts["c1"], 4) << "and the next one waits `initial` again";
  EXPECT_EQ(state_of(sup, "c1"), lifecycle::crash_loop_backoff);
}

TEST(BackoffDelay, Schedule) {
  backoff_policy p{1s, 300s, std::nullopt};
  EXPECT_EQ(backoff_delay(p, 1), 0s);
  EXPECT_EQ(backoff_delay(p, 2), 1s);
  EXPECT_EQ(backoff_delay(p, 3), 2s);
  EXPECT_EQ(backoff_delay(p, 4), 4s);
  EXPECT_EQ(backoff_delay(p, 10), 256s);
  EXPECT_EQ(backoff_delay(p, 11), 300s);

  EXPECT_EQ(backoff_delay(p, 1000), 300s);
}

TEST_F(Supervisor, HangingRestartLoop) {
  // A child that can never start again: the supervisor backs off, stays responsive, and
  // gives up after max_restarts instead of looping forever.
  auto f = flags(restart_strategy::one_for_one, 3);
  f.backoff.initial = 1s;
  auto sup = start(f, {worker(&w, "c1", restart_type::permanent, {false, 1000})});
  send("c1", crash_atom::value);
  EXPECT_EQ(state_of(sup, "c1"), lifecycle::crash_loop_backoff);
  EXPECT_EQ(counts(sup).specs, 1u) << "the supervisor answers while a restart waits";
  for (int i = 0; i < 10 && w.escalations.empty(); ++i)
    advance(10s);
  ASSERT_EQ(w.escalations.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<Internal>(w.escalations[0].error));
  EXPECT_EQ(w.escalations[0].path, "/sup/c1");
}

TEST_F(Supervisor, PermanentErrorFailsAtOnce) {
  start(flags(restart_strategy::one_for_one), {worker(&w, "c1"), worker(&w, "c2")});
  send("c1", perm_atom::value);
  EXPECT_EQ(w.starts["c1"], 1) << "restarting cannot help";
  ASSERT_EQ(w.escalations.size(), 1u);
  EXPECT_EQ(w.escalations[0].error, (AgentError{Unsupported{"exec"}}));
}

TEST_F(Supervisor, RouteToPeerPassesUpUnchangedAndUncounted) {
  auto sup = start(flags(restart_strategy::one_for_one, 0), {worker(&w, "c1"), worker(&w, "c2")});
  send("c1", route_atom::value);
  ASSERT_EQ(w.escalations.size(), 1u);
  EXPECT_EQ(w.escalations[0].error, (AgentError{RouteToPeer{"svc", "windows", "no runtime"}}));
  EXPECT_EQ(w.escalations[0].path, "/sup/c1");
  EXPECT_EQ(w.starts["c1"], 1) << "not restarted";
  EXPECT_EQ(state_of(sup, "c1"), lifecycle::failed);
  EXPECT_TRUE(alive("c2"));
  EXPECT_TRUE(w.parent_downs.empty()) << "max_restarts 0, yet the supervisor did not give up";
}

// --- shutdown -----------------------------------------------------------------------------

TEST_F(Supervisor, StopsChildrenInReverseStartOrder) {
  auto sup = start(flags(restart_strategy::one_for_one),
                   {worker(&w, "c1"), worker(&w, "c2"), worker(&w, "c3")});
  w.events.clear();
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  run();
  std::vector<std::string> expected{"stop c3", "stop c2", "stop c1"};
  EXPECT_EQ(w.events, expected);
  ASSERT_EQ(w.parent_downs.size(), 1u);
  EXPECT_EQ(w.parent_downs[0], caf::exit_reason::user_shutdown);
  EXPECT_TRUE(w.escalations.empty());
}

TEST_F(Supervisor, SupStopTimeout) {
  auto sup = start(
      flags(restart_strategy::one_for_one),
      {worker(&w, "c1"), worker(&w, "stubborn", restart_type::permanent, {true, 0}, {false, 5s})});
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  run();
  EXPECT_TRUE(alive("stubborn")) << "it ignores shutdown and has 5 s of grace";
  EXPECT_TRUE(alive("c1")) << "stopping is one at a time, in reverse order";
  advance(4900ms);
  EXPECT_TRUE(alive("stubborn"));
  advance(100ms);
  EXPECT_FALSE(alive("stubborn")) << "killed at its deadline";
  EXPECT_FALSE(alive("c1"));
  EXPECT_EQ(w.parent_downs.size(), 1u);
}

TEST_F(Supervisor, SupStopBrutalKill) {
  auto sup = start(flags(restart_strategy::one_for_one),
                   {worker(&w, "c1", restart_type::permanent, {true, 0}, {true, 60s})});
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  run();
  EXPECT_FALSE(alive("c1")) << "brutal_kill does not wait";
  EXPECT_EQ(w.parent_downs.size(), 1u);
}

TEST_F(Supervisor, ParallelStop) {
  auto sup = start(flags(restart_strategy::one_for_one),
                   {worker(&w, "c1", restart_type::permanent, {true, 0}, {false, 5s}),
                    worker(&w, "c2", restart_type::permanent, {true, 0}, {false, 5s})},
                   "/sup", true);
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  run();
  advance(5s);
  EXPECT_FALSE(alive("c1"));
  EXPECT_FALSE(alive("c2")) << "both graces ran at the same time";
}

TEST_F(Supervisor, KilledSupervisorTakesItsChildrenWithIt) {
  auto sup = start(flags(restart_strategy::one_for_one), {worker(&w, "c1")});
  caf::anon_send_exit(sup, caf::exit_reason::kill);
  run();
  EXPECT_FALSE(alive("c1"));
}

// --- queries --------------------------------------------------------------------------------

TEST_F(Supervisor, CountChildren) {
  supervisor_config inner;
  auto sup = start(flags(restart_strategy::one_for_one),
                   {worker(&w, "c1"), worker(&w, "c2", restart_type::temporary)});
  auto c = counts(sup);
  EXPECT_EQ(c.specs, 2u);
  EXPECT_EQ(c.active, 2u);
  EXPECT_EQ(c.workers, 2u);
  EXPECT_EQ(c.supervisors, 0u);
  send("c2", normal_atom::value);
  c = counts(sup);
  EXPECT_EQ(c.specs, 2u);
  EXPECT_EQ(c.active, 1u);
  auto children = which(sup);
  ASSERT_EQ(children.size(), 2u);
  EXPECT_EQ(children[0].id, "c1");
  EXPECT_EQ(children[0].path, "/sup/c1");
  EXPECT_TRUE(children[0].handle);
  EXPECT_FALSE(children[1].handle);
}

// --- a nested tree escalates level by level ---------------------------------------------

child_spec nested(world* w, std::string id, supervisor_flags f, std::vector<child_spec> kids) {
  child_spec spec;
  spec.id = id;
  spec.kind = child_kind::supervisor;
  spec.shutdown.grace = 60s;
  auto shared_kids = std::make_shared<std::vector<child_spec>>(std::move(kids));
  spec.start = [w, f, shared_kids](caf::local_actor* self, const child_context& ctx) {
    ++w->starts[ctx.id];
    supervisor_config sc;
    sc.path = ctx.path;
    sc.parent = ctx.parent;
    sc.parent_path = ctx.path.substr(0, ctx.path.rfind('/'));
    sc.flags = f;
    sc.children = *shared_kids;
    return self->spawn(supervisor_actor, std::move(sc));
  };
  return spec;
}

TEST_F(Supervisor, NestedTreeEscalatesLevelByLevel) {
  // /node -> deployment (max 1) -> service (max 1) -> replica
  auto svc = flags(restart_strategy::one_for_one, 1);
  auto dep = flags(restart_strategy::one_for_one, 1);
  auto root = flags(restart_strategy::one_for_one, 0);
  auto node = start(
      root, {nested(&w, "deployment", dep, {nested(&w, "service", svc, {worker(&w, "replica")})})},
      "/node");
  (void)node;
  EXPECT_EQ(w.starts["replica"], 1);
  send("replica", crash_atom::value); // service restarts it (1 of 1)
  EXPECT_EQ(w.starts["replica"], 2);
  EXPECT_EQ(w.starts["service"], 1);
  send("replica", crash_atom::value); // service gives up; deployment restarts service (1 of 1)
  EXPECT_EQ(w.starts["service"], 2);
  EXPECT_EQ(w.starts["replica"], 3);
  EXPECT_EQ(w.starts["deployment"], 1);
  send("replica", crash_atom::value); // service restarts replica (new service: 1 of 1)
  send("replica", crash_atom::value); // service gives up; deployment gives up; node gives up
  EXPECT_EQ(w.starts["deployment"], 1);
  ASSERT_EQ(w.escalations.size(), 1u);
  EXPECT_EQ(w.escalations[0].path, "/node/deployment/service/replica")
      << "the original path survives every level";
  EXPECT_EQ(w.escalations[0].error, (AgentError{UnexpectedExit{"replica", 1}}));
  EXPECT_FALSE(alive("replica"));
}

TEST_F(Supervisor, BackoffHistorySurvivesARestartOfTheParent) {
  auto svc = flags(restart_strategy::one_for_one, 1);
  svc.backoff.initial = 1s;
  auto replica = worker(&w, "replica");
  replica.history = std::make_shared<restart_history>();
  start(flags(restart_strategy::one_for_one, 5), {nested(&w, "service", svc, {replica})}, "/node");
  send("replica", crash_atom::value); // the service restarts it at once (1 of 1)
  EXPECT_EQ(w.starts["replica"], 2);
  send("replica", crash_atom::value); // the service gives up; the node restarts the service
  EXPECT_EQ(w.starts["service"], 2);
  EXPECT_EQ(w.starts["replica"], 3);
  send("replica", crash_atom::value); // the new service's first restart of a crash-looping child
  EXPECT_EQ(w.starts["replica"], 3) << "its backoff goes on from the history, not from zero";
  advance(1s);
  EXPECT_EQ(w.starts["replica"], 4);
}

} // namespace

// --- children that come and go (terminate_child, delete_child, reorder) --------------------

namespace {

using term_atom = caf::atom_constant<caf::atom("term")>;
using delete_atom = caf::atom_constant<caf::atom("delete")>;
using reorder_atom = caf::atom_constant<caf::atom("reorder")>;

struct dynamic_state {
  supervisor_state sup;
  static inline const char* name = "test.dynamic";
};

// A supervisor whose embedder terminates, deletes and reorders children on request.
caf::behavior dynamic_supervisor(caf::stateful_actor<dynamic_state>* self, supervisor_config cfg,
                                 world* w) {
  auto behavior = supervisor_init(self, self->state.sup, std::move(cfg));
  caf::message_handler own{
      [self, w](term_atom, const std::string& id) {
        auto i = supervisor_find_child(self->state.sup, id);
        supervisor_terminate_child(self, self->state.sup, *i,
                                   [w, id] { w->events.push_back("down " + id); });
      },
      [self, w](delete_atom, const std::string& id) {
        auto i = supervisor_find_child(self->state.sup, id);
        if (!supervisor_delete_child(self->state.sup, *i))
          w->events.push_back("delete refused " + id);
      },
      [self](reorder_atom, const std::vector<std::string>& ids) {
        supervisor_reorder_children(self->state.sup, ids);
      },
  };
  return caf::behavior{own.or_else(behavior)};
}

// A supervisor whose embedder starts `n` more children once child `trigger` is stopped, from
// the state hook itself, as a service starts its replicas when its last wait ends.
caf::behavior growing_supervisor(caf::stateful_actor<dynamic_state>* self, supervisor_config cfg,
                                 world* w, std::string trigger, int n) {
  cfg.hooks.on_child_state = [self, w, trigger, n](std::size_t i, lifecycle, lifecycle to) {
    if (to != lifecycle::stopped || self->state.sup.children[i].spec.id != trigger)
      return;
    for (int k = 1; k <= n; ++k)
      supervisor_add_child(self, self->state.sup, worker(w, "n" + std::to_string(k)));
  };
  return dynamic_supervisor(self, std::move(cfg), w);
}

class DynamicSupervisor : public Supervisor {
protected:
  caf::actor start_dynamic(supervisor_flags flags, std::vector<child_spec> children) {
    supervisor_config sc;
    sc.path = "/sup";
    sc.parent = parent.address();
    sc.parent_path = "/test";
    sc.flags = flags;
    sc.children = std::move(children);
    auto sup = sys->spawn(dynamic_supervisor, std::move(sc), &w);
    sups.push_back(sup);
    run();
    return sup;
  }
  template <class... Ts>
  void tell(const caf::actor& sup, Ts&&... xs) {
    caf::anon_send(sup, std::forward<Ts>(xs)...);
    run();
  }
};

TEST_F(DynamicSupervisor, ATerminatedChildStaysDownThroughASiblingsGroupRestart) {
  auto sup = start_dynamic(flags(restart_strategy::one_for_all),
                           {worker(&w, "c1"), worker(&w, "c2"), worker(&w, "c3")});
  w.events.clear();
  tell(sup, term_atom::value, std::string{"c2"});
  EXPECT_EQ(w.events, (std::vector<std::string>{"stop c2", "down c2"}));
  EXPECT_EQ(state_of(sup, "c2"), lifecycle::stopped);
  send("c1", crash_atom::value);
  EXPECT_EQ(w.starts["c1"], 2);
  EXPECT_EQ(w.starts["c3"], 2);
  EXPECT_EQ(w.starts["c2"], 1) << "terminated: not started again by the group restart";
  EXPECT_TRUE(w.escalations.empty());
}

TEST_F(DynamicSupervisor, ATerminatedChildWaitingOutItsBackoffIsNotRestarted) {
  auto f = flags(restart_strategy::one_for_one);
  f.backoff.initial = 1s;
  auto sup = start_dynamic(f, {worker(&w, "c1")});
  send("c1", crash_atom::value); // restart 1: immediate
  send("c1", crash_atom::value); // restart 2: after 1s
  EXPECT_EQ(state_of(sup, "c1"), lifecycle::crash_loop_backoff);
  tell(sup, term_atom::value, std::string{"c1"});
  EXPECT_EQ(w.count("down c1"), 1) << "not running: done at once";
  advance(10s);
  EXPECT_EQ(w.starts["c1"], 2) << "the delayed restart did not happen";
  EXPECT_EQ(state_of(sup, "c1"), lifecycle::stopped);
}

TEST_F(DynamicSupervisor, DeletedAndReorderedChildrenStopInTheNewOrder) {
  auto sup = start_dynamic(flags(restart_strategy::one_for_one),
                           {worker(&w, "c1"), worker(&w, "c2"), worker(&w, "c3")});
  tell(sup, delete_atom::value, std::string{"c2"});
  EXPECT_EQ(w.count("delete refused c2"), 1) << "a running child is not deleted";
  tell(sup, term_atom::value, std::string{"c2"});
  tell(sup, delete_atom::value, std::string{"c2"});
  EXPECT_EQ(w.count("delete refused c2"), 1);
  auto ids = [&] {
    std::vector<std::string> out;
    for (auto& c : which(sup))
      out.push_back(c.id);
    return out;
  };
  EXPECT_EQ(ids(), (std::vector<std::string>{"c1", "c3"}));
  tell(sup, reorder_atom::value, std::vector<std::string>{"c3", "c1"});
  EXPECT_EQ(ids(), (std::vector<std::string>{"c3", "c1"}));
  // A child restarted after the moves is still found by its monitor and its record.
  send("c3", crash_atom::value);
  EXPECT_EQ(w.starts["c3"], 2);
  EXPECT_EQ(counts(sup).active, 2u);
  w.events.clear();
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  run();
  EXPECT_EQ(w.events, (std::vector<std::string>{"stop c1", "stop c3"}))
      << "reverse of the new start order";
}

// The hook runs inside the rule that stopped the child, which still holds that child's record:
// the children it adds must not move it (ASan saw exactly that with a vector of records).
TEST_F(DynamicSupervisor, AStateHookMayAddChildrenWhileARuleHoldsARecord) {
  supervisor_config sc;
  sc.path = "/sup";
  sc.parent = parent.address();
  sc.parent_path = "/test";
  sc.flags = flags(restart_strategy::one_for_one);
  sc.children = {worker(&w, "c1")};
  auto sup = sys->spawn(growing_supervisor, std::move(sc), &w, std::string{"c1"}, 64);
  sups.push_back(sup);
  run();
  w.events.clear();
  tell(sup, term_atom::value, std::string{"c1"});
  EXPECT_EQ(w.count("down c1"), 1) << "the terminate's callback ran once, after the hook";
  EXPECT_EQ(state_of(sup, "c1"), lifecycle::stopped);
  EXPECT_EQ(w.starts["n64"], 1);
  EXPECT_EQ(counts(sup).active, 64u);
}

} // namespace
