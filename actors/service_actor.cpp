#include "actors/service_actor.hpp"

#include <algorithm>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/dependency_wait_actor.hpp"
#include "actors/node_services.hpp"
#include "actors/plan_diff.hpp"
#include "actors/restart_memory.hpp"
#include "messages/caf/atoms.hpp"
#include "trace/emit.hpp"

namespace nv {

namespace {

uint32_t& count_of(replica_counts& counts, lifecycle s) {
  return counts[static_cast<std::size_t>(s)];
}

void publish(service_actor_t* self) {
  auto& st = self->state;
  if (!st.replicas_started || supervisor_is_ending(st.sup))
    return;
  auto next = service_state_of(st.counts, st.isolated_count);
  if (next != st.sup.state)
    spdlog::info("[{}] {}", st.sup.path, to_string(next));
  supervisor_set_state(self, st.sup, next);
}

// --- apply and roll --------------------------------------------------------------------------

std::shared_ptr<const container_config> wanted_replica(const service_state& st,
                                                       const std::string& id) {
  for (auto& r : st.plan->replicas)
    if (r->spec.id == id)
      return r;
  return nullptr;
}

// The fingerprint of what replica `id` runs now; empty: none (it is not deployed).
const std::string& deployed_print(const service_state& st, const std::string& id) {
  static const std::string none;
  auto it = st.deployed.find(id);
  return it == st.deployed.end() ? none : it->second->fingerprint;
}

void add_replica(service_actor_t* self, const std::shared_ptr<const container_config>& cfg) {
  auto& st = self->state;
  st.isolated.push_back(false);
  st.roles.push_back(child_role::replica);
  ++count_of(st.counts, lifecycle::pending); // a new child's record starts there
  st.deployed[cfg->spec.id] = cfg;
  supervisor_add_child(self, st.sup, container_child(cfg));
}

// A replica removed by an apply (scale down), once it is down.
void forget_replica(service_actor_t* self, const std::string& id) {
  auto& st = self->state;
  auto i = supervisor_find_child(st.sup, id);
  if (!i || st.sup.children[*i].handle)
    return; // started again already
  if (auto cfg = wanted_replica(st, id)) {
    // A newer apply wants it again: it starts anew, from that plan.
    supervisor_set_child_spec(st.sup, *i, container_child(cfg));
    st.deployed[id] = cfg;
    supervisor_restart_child(self, st.sup, *i);
    return;
  }
  if (st.isolated[*i])
    --st.isolated_count;
  else
    --count_of(st.counts, st.sup.children[*i].state);
  st.isolated.erase(st.isolated.begin() + static_cast<std::ptrdiff_t>(*i));
  st.roles.erase(st.roles.begin() + static_cast<std::ptrdiff_t>(*i));
  supervisor_delete_child(st.sup, *i);
  st.deployed.erase(id);
  publish(self);
}

void next_roll(service_actor_t* self);

// The old incarnation of the replica being replaced is down: start the new one.
void start_replacement(service_actor_t* self, const std::string& id) {
  auto& st = self->state;
  auto i = supervisor_find_child(st.sup, id);
  auto cfg = wanted_replica(st, id);
  if (!i || !cfg) { // removed meanwhile
    st.rolling.clear();
    next_roll(self);
    return;
  }
  if (st.isolated[*i]) { // a new replica is no longer left stopped
    st.isolated[*i] = false;
    --st.isolated_count;
    ++count_of(st.counts, st.sup.children[*i].state);
  }
  supervisor_set_child_spec(st.sup, *i, container_child(cfg));
  st.deployed[id] = cfg;
  st.rolling_started = true;
  trace::because(st.roll_cause);
  supervisor_restart_child(self, st.sup, *i);
}

// The next replica to replace, if none is being replaced now.
void next_roll(service_actor_t* self) {
  auto& st = self->state;
  if (!st.rolling.empty() || supervisor_is_ending(st.sup))
    return;
  while (!st.roll_queue.empty()) {
    auto id = st.roll_queue.front();
    st.roll_queue.pop_front();
    auto cfg = wanted_replica(st, id);
    auto i = supervisor_find_child(st.sup, id);
    if (!cfg || !i)
      continue;
    bool forced = st.forced.erase(id) > 0;
    if (!forced && same_fingerprint(deployed_print(st, id), cfg->fingerprint))
      continue; // an apply that came meanwhile made it what it already runs
    st.rolling = id;
    st.rolling_started = false;
    trace::cause_scope each;
    st.roll_cause =
        trace::restart(st.sup.path, st.sup.children[*i].path, forced ? "rolling" : "apply", 0);
    trace::because(st.roll_cause);
    spdlog::info("[{}] replacing {} ({})", st.sup.path, id,
                 forced ? "restart" : "its spec changed");
    supervisor_terminate_child(self, st.sup, *i, [self, id] { start_replacement(self, id); });
    return;
  }
}

// The replica being replaced is up again (or will never be): the next one may go.
void roll_step_done(service_actor_t* self, std::size_t i, lifecycle to) {
  auto& st = self->state;
  if (st.rolling.empty() || !st.rolling_started || st.sup.children[i].spec.id != st.rolling)
    return;
  if (to != lifecycle::healthy && to != lifecycle::completed && to != lifecycle::stopped)
    return;
  st.rolling.clear();
  next_roll(self);
}

// Every replica whose fingerprint differs from what it runs, or that a restart asked for, in
// replica order.
void queue_roll(service_actor_t* self) {
  auto& st = self->state;
  st.roll_queue.clear();
  for (auto& r : st.plan->replicas)
    if (st.forced.count(r->spec.id) ||
        !same_fingerprint(deployed_print(st, r->spec.id), r->fingerprint))
      st.roll_queue.push_back(r->spec.id);
  next_roll(self);
}

void apply(service_actor_t* self, service_plan wanted) {
  auto& st = self->state;
  st.plan = std::make_shared<const service_plan>(std::move(wanted));
  if (!st.replicas_started || supervisor_is_ending(st.sup))
    return; // its replicas start from the new plan
  // Scale down: the replicas no longer wanted stop, all at once, and are forgotten.
  std::vector<std::string> gone;
  for (auto& [id, cfg] : st.deployed)
    if (!wanted_replica(st, id))
      gone.push_back(id);
  for (auto& id : gone) {
    spdlog::info("[{}] removing {} (scale down)", st.sup.path, id);
    st.forced.erase(id);
    trace::cause_scope each;
    supervisor_terminate_child(self, st.sup, *supervisor_find_child(st.sup, id),
                               [self, id] { forget_replica(self, id); });
  }
  // Scale up.
  for (auto& r : st.plan->replicas)
    if (!st.deployed.count(r->spec.id)) {
      spdlog::info("[{}] adding {} (scale up)", st.sup.path, r->spec.id);
      add_replica(self, r);
    }
  queue_roll(self);
  publish(self);
}

void roll_all(service_actor_t* self) {
  auto& st = self->state;
  if (!st.replicas_started || supervisor_is_ending(st.sup))
    return; // its replicas are yet to start: they start anew anyway
  for (auto& r : st.plan->replicas)
    st.forced.insert(r->spec.id);
  queue_roll(self);
}

void start_replicas(service_actor_t* self) {
  auto& st = self->state;
  st.replicas_started = true;
  for (auto& cfg : st.plan->replicas)
    add_replica(self, cfg);
  if (st.plan->replicas.empty())
    supervisor_set_state(self, st.sup, lifecycle::healthy);
  else
    publish(self);
}

// Step `k` of the init sequence: a new child the first time, the same child again when the
// sequence is re-run after a failure.
void run_init_step(service_actor_t* self, std::size_t k) {
  auto& st = self->state;
  if (k < st.init_children.size()) {
    supervisor_restart_child(self, st.sup, st.init_children[k]);
    return;
  }
  st.init_children.push_back(st.sup.children.size());
  st.roles.push_back(child_role::init);
  st.isolated.push_back(false);
  supervisor_add_child(self, st.sup, init_step_child(st.plan->init[k]));
}

// Every replica is held by the runtime from before this daemon.
bool ran_on_before(const service_plan& plan, const runtime& rt) {
  return !plan.replicas.empty() &&
         std::all_of(plan.replicas.begin(), plan.replicas.end(),
                     [&rt](const auto& r) { return rt.adoptable(runtime_key(r->spec)); });
}

void after_waits(service_actor_t* self) {
  auto& st = self->state;
  if (st.plan->init.empty()) {
    start_replicas(self);
    return;
  }
  supervisor_set_state(self, st.sup, lifecycle::initializing);
  run_init_step(self, 0);
}

bool done(lifecycle s) {
  return s == lifecycle::stopped || s == lifecycle::completed;
}

void on_child_state(service_actor_t* self, std::size_t i, lifecycle from, lifecycle to) {
  auto& st = self->state;
  if (st.replicas_started && st.roles[i] == child_role::replica) {
    if (auto* memory = st.sup.services->memory; memory && to == lifecycle::completed) {
      const auto& rec = st.sup.children[i];
      remember_completion(*memory, rec, deployed_print(st, rec.spec.id));
    }
    if (!st.isolated[i]) {
      --count_of(st.counts, from);
      ++count_of(st.counts, to);
    }
    publish(self);
    roll_step_done(self, i, to);
    return;
  }
  if (!done(to) || st.replicas_started)
    return;
  if (st.roles[i] == child_role::wait) {
    if (++st.waits_done == st.waits)
      after_waits(self);
    return;
  }
  if (st.roles[i] == child_role::init) {
    auto k = static_cast<std::size_t>(
        std::find(st.init_children.begin(), st.init_children.end(), i) - st.init_children.begin());
    if (k + 1 < st.plan->init.size())
      run_init_step(self, k + 1);
    else
      start_replicas(self);
  }
}

void on_init_failure(service_actor_t* self, failure& report) {
  auto& st = self->state;
  auto delay = init_retry_delay(st.plan->on_init_failure, ++st.init_failures);
  if (!delay) {
    supervisor_give_up(self, st.sup, report, "as errors.on_init_failure says");
    return;
  }
  spdlog::warn("[{}] init failed ({}); running the init steps again in {}", st.sup.path,
               to_string(report.error), format_duration(*delay));
  auto delay_ms = std::chrono::duration_cast<std::chrono::milliseconds>(*delay).count();
  trace::because(report.cause);
  st.init_retried_by = trace::restart(st.sup.path, report.path, "on_init_failure", delay_ms);
  self->delayed_send(self, *delay, restart_atom::value);
}

// The deployment keeps each service's last failure for the waits on that service.
void tell_deployment(service_actor_t* self, const failure& report) {
  if (auto d = caf::actor_cast<caf::actor>(self->state.sup.parent))
    self->send(d, last_failure_atom::value, report);
}

bool on_child_failure(service_actor_t* self, std::size_t i, failure& report) {
  auto& st = self->state;
  if (st.roles[i] != child_role::wait)
    tell_deployment(self, report);
  if (st.roles[i] == child_role::wait) {
    // A dependency that timed out with on_timeout: fail: the service does not start.
    supervisor_give_up(self, st.sup, report, "as its depends entry's on_timeout says");
    return true;
  }
  if (st.roles[i] == child_role::init) {
    on_init_failure(self, report);
    return true;
  }
  switch (st.plan->on_panic) {
  case panic_action::restart:
    return false;
  case panic_action::shutdown:
    supervisor_give_up(self, st.sup, report, "as errors.on_panic says (shutdown)");
    return true;
  case panic_action::isolate:
    spdlog::warn("[{}] isolating {} (on_panic: isolate): {}", st.sup.path, report.path,
                 to_string(report.error));
    st.isolated[i] = true;
    --count_of(st.counts, st.sup.children[i].state);
    ++st.isolated_count;
    trace::because(report.cause);
    publish(self);
    roll_step_done(self, i, lifecycle::stopped); // left stopped: a roll waits no longer for it
    return true;
  }
  return false;
}

} // namespace

lifecycle service_state_of(const replica_counts& replicas, std::size_t isolated) {
  auto n = [&](lifecycle s) { return replicas[static_cast<std::size_t>(s)]; };
  uint64_t total = 0;
  for (auto c : replicas)
    total += c;
  if (total == 0)
    return isolated > 0 ? lifecycle::failed : lifecycle::stopped;
  const uint64_t done = n(lifecycle::completed);
  const uint64_t healthy = done + n(lifecycle::healthy);
  const uint64_t up = healthy + n(lifecycle::running);
  lifecycle out;
  if (done == total)
    out = lifecycle::completed;
  else if (healthy == total)
    out = lifecycle::healthy;
  else if (up == total)
    out = lifecycle::running;
  else if (n(lifecycle::crash_loop_backoff) > 0)
    out = lifecycle::crash_loop_backoff;
  else if (n(lifecycle::failed) > 0)
    out = lifecycle::failed;
  else if (n(lifecycle::stopping) > 0)
    out = lifecycle::stopping;
  else
    out = lifecycle::starting;
  if (isolated > 0 && (out == lifecycle::healthy || out == lifecycle::running))
    out = lifecycle::degraded;
  return out;
}

caf::behavior service_actor(service_actor_t* self, child_context ctx,
                            std::shared_ptr<const service_plan> plan, caf::actor_addr broker) {
  self->trace_as(ctx.path, ctx.services->trace);
  auto& st = self->state;
  st.plan = std::move(plan);
  supervisor_config sc;
  sc.path = ctx.path;
  sc.noun = "service";
  sc.parent = ctx.parent;
  sc.parent_path = parent_path_of(ctx.path);
  sc.services = ctx.services;
  sc.flags = st.plan->flags;
  sc.parallel_stop = true; // replicas stop in parallel
  sc.own_state_is_running = false;
  sc.recent_restarts = st.plan->recent_restarts;
  // Its waits and init steps ran under the daemon before this one, and its replicas never
  // stopped: running them again would wait on what is up already, or migrate twice.
  const bool ran_on = ran_on_before(*st.plan, *ctx.services->rt);
  if (ran_on)
    spdlog::info("[{}] its replicas ran on under the keeper while no daemon watched: adopting them "
                 "without running its waits and init steps again",
                 ctx.path);
  else
    for (auto& dep : st.plan->depends)
      sc.children.push_back(dependency_wait_child(st.plan->name, dep, broker));
  st.waits = sc.children.size();
  st.isolated.assign(st.waits, false);
  st.roles.assign(st.waits, child_role::wait);
  sc.hooks.on_child_state = [self](std::size_t i, lifecycle from, lifecycle to) {
    on_child_state(self, i, from, to);
  };
  sc.hooks.on_child_failure = [self](std::size_t i, failure& report) {
    return on_child_failure(self, i, report);
  };
  if (auto* memory = ctx.services->memory)
    sc.hooks.on_restart = [self, memory](std::size_t i, duration delay) {
      remember_restart(*memory, self->state.sup, i, delay, self->clock().now());
    };
  auto behavior = supervisor_init(self, st.sup, std::move(sc));
  if (ran_on)
    start_replicas(self);
  else if (st.waits == 0)
    after_waits(self);
  else if (st.waits_done < st.waits)
    supervisor_set_state(self, st.sup, lifecycle::waiting);
  caf::message_handler own{
      [self](apply_atom, service_plan& wanted) { apply(self, std::move(wanted)); },
      [self](roll_atom) { roll_all(self); },
      [self](restart_atom) {
        // The init sequence failed earlier and its retry delay has passed.
        if (!self->state.replicas_started) {
          trace::because(self->state.init_retried_by);
          run_init_step(self, 0);
        }
      },
  };
  return caf::behavior{own.or_else(behavior)};
}

child_spec service_child(service_plan plan, caf::actor_addr broker) {
  child_spec spec;
  spec.id = plan.name;
  spec.kind = child_kind::supervisor;
  spec.reports_state = true;
  spec.takes_hurry = true;
  // Enough for every replica's own grace (they stop in parallel), plus a margin.
  duration grace{0};
  for (auto& r : plan.replicas)
    grace = std::max(grace, r->stop_grace);
  spec.shutdown.grace = grace + std::chrono::seconds{10};
  spec.history = plan.history;
  // Each replica's restart history outlives this service's incarnations: a service restarted by
  // its deployment does not bring a crash-looping replica back in a burst.
  for (auto& r : plan.replicas)
    if (!r->history)
      r = with_history(r, std::make_shared<restart_history>());
  spec.start = [plan = std::make_shared<const service_plan>(std::move(plan)),
                broker = std::move(broker)](caf::local_actor* self, const child_context& ctx) {
    return self->spawn(service_actor, ctx, plan, broker);
  };
  return spec;
}

void keep_histories(service_plan& wanted, const service_plan& running) {
  for (auto& r : wanted.replicas) {
    std::shared_ptr<restart_history> kept;
    for (auto& old : running.replicas)
      if (old->spec.id == r->spec.id && old->history &&
          same_fingerprint(old->fingerprint, r->fingerprint))
        kept = old->history;
    if (!kept)
      kept = r->history ? r->history : std::make_shared<restart_history>();
    if (kept != r->history)
      r = with_history(r, std::move(kept));
  }
}

} // namespace nv
