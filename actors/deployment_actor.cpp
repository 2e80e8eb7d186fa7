#include "actors/deployment_actor.hpp"

#include <algorithm>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/node_protocol.hpp"
#include "actors/node_services.hpp"
#include "actors/restart_memory.hpp"
#include "actors/service_actor.hpp"
#include "messages/caf/atoms.hpp"
#include "trace/emit.hpp"

namespace nv {

namespace {

void notify(deployment_actor_t* self, const std::string& service, lifecycle from, lifecycle to) {
  auto& st = self->state;
  auto it = st.subscribers.find(service);
  if (it == st.subscribers.end())
    return;
  auto path = child_path(st.sup.path, service);
  auto& subs = it->second;
  // Waits that are gone (satisfied, or their service restarted) drop out here.
  subs.erase(std::remove_if(subs.begin(), subs.end(),
                            [&](const caf::actor_addr& sub) {
                              auto h = caf::actor_cast<caf::actor>(sub);
                              if (!h)
                                return true;
                              self->send(h, state_change{path, from, to});
                              return false;
                            }),
             subs.end());
}

void remember_failure(deployment_actor_t* self, const std::string& service, const failure& f) {
  auto& st = self->state;
  st.last_failure[service] = f;
  auto it = st.subscribers.find(service);
  if (it == st.subscribers.end())
    return;
  for (auto& sub : it->second)
    if (auto h = caf::actor_cast<caf::actor>(sub))
      self->send(h, last_failure_atom::value, f);
}

void publish(deployment_actor_t* self) {
  auto& st = self->state;
  if (supervisor_is_ending(st.sup))
    return; // the children's states no longer say anything about the deployment
  std::vector<lifecycle> states;
  for (auto& c : st.sup.children)
    states.push_back(c.state);
  supervisor_set_state(self, st.sup, deployment_state_of(states));
}

// --- apply -----------------------------------------------------------------------------------
//
// Removed and replaced services stop first, one at a time in reverse start order, as a shutdown
// stops them; then, in the wanted plan's start order, added services start and replaced ones
// start again from their new plan (their waits gate their replicas, as at a first start). A
// rolled service is handed its new plan at once and replaces its own replicas (service_actor).
// Unchanged services are not touched. Which services a replaced one takes with it follows the
// deployment's strategy, as on a restart (diff_plans).

const service_plan* find_service(const deployment_plan& plan, const std::string& name) {
  for (auto& s : plan.services)
    if (s.name == name)
      return &s;
  return nullptr;
}

void apply(deployment_actor_t* self, deployment_plan wanted);

void finish_apply(deployment_actor_t* self) {
  auto& st = self->state;
  auto& change = st.change;
  for (auto& name : change.removed)
    if (auto i = supervisor_find_child(st.sup, name)) {
      supervisor_delete_child(st.sup, *i);
      st.subscribers.erase(name);
      st.last_failure.erase(name);
    }
  std::vector<std::string> order;
  for (auto& svc : st.plan.services) {
    order.push_back(svc.name);
    trace::cause_scope each;
    if (listed(change.added, svc.name)) {
      supervisor_add_child(self, st.sup, service_child(svc, self->address()));
    } else if (listed(change.replaced, svc.name)) {
      auto i = supervisor_find_child(st.sup, svc.name);
      supervisor_set_child_spec(st.sup, *i, service_child(svc, self->address()));
      supervisor_restart_child(self, st.sup, *i);
    }
  }
  // Start order (and so stop order, reversed) is the wanted plan's dependency order.
  supervisor_reorder_children(st.sup, order);
  st.applying = false;
  st.change = {};
  publish(self);
  if (st.next) {
    auto next = std::move(*st.next);
    st.next.reset();
    apply(self, std::move(next));
  }
}

void stop_next(deployment_actor_t* self) {
  auto& st = self->state;
  while (!st.to_stop.empty()) {
    auto name = st.to_stop.front();
    st.to_stop.erase(st.to_stop.begin());
    auto i = supervisor_find_child(st.sup, name);
    if (!i)
      continue;
    spdlog::info("[{}] stopping service {} ({})", st.sup.path, name,
                 listed(st.change.removed, name) ? "removed" : "replaced");
    if (!st.sup.children[*i].handle) {
      supervisor_terminate_child(self, st.sup, *i); // down already: kept down
      continue;
    }
    supervisor_terminate_child(self, st.sup, *i, [self] { stop_next(self); });
    return;
  }
  finish_apply(self);
}

void apply(deployment_actor_t* self, deployment_plan wanted) {
  auto& st = self->state;
  if (supervisor_is_ending(st.sup))
    return;
  if (st.applying) {
    st.next = std::move(wanted); // an apply waiting for this one is superseded by a newer one
    return;
  }
  auto change = diff_plans(st.plan, wanted);
  if (change.empty()) {
    st.plan = std::move(wanted);
    return;
  }
  spdlog::info("[{}] applying a new plan: {}", st.sup.path, change.to_json());
  trace::cause_scope whole;
  for (auto& svc : wanted.services)
    if (auto* running = find_service(st.plan, svc.name))
      keep_histories(svc, *running);
  for (auto& roll : change.rolled) {
    auto& svc = *find_service(wanted, roll.name);
    auto i = supervisor_find_child(st.sup, roll.name);
    supervisor_set_child_spec(st.sup, *i, service_child(svc, self->address()));
    if (auto& h = st.sup.children[*i].handle)
      self->send(h, apply_atom::value, svc);
  }
  st.applying = true;
  st.to_stop.clear();
  for (std::size_t i = st.sup.children.size(); i-- > 0;) {
    auto& id = st.sup.children[i].spec.id;
    if (listed(change.removed, id) || listed(change.replaced, id))
      st.to_stop.push_back(id);
  }
  st.change = std::move(change);
  st.plan = std::move(wanted);
  stop_next(self);
}

} // namespace

lifecycle deployment_state_of(const std::vector<lifecycle>& services) {
  auto all = [&](auto pred) { return std::all_of(services.begin(), services.end(), pred); };
  auto any = [&](lifecycle s) {
    return std::find(services.begin(), services.end(), s) != services.end();
  };
  if (services.empty() || all([](lifecycle s) { return s == lifecycle::completed; }))
    return lifecycle::completed;
  if (all([](lifecycle s) { return s == lifecycle::healthy || s == lifecycle::completed; }))
    return lifecycle::healthy;
  if (any(lifecycle::failed))
    return lifecycle::degraded;
  if (all([](lifecycle s) {
        return s == lifecycle::running || s == lifecycle::healthy || s == lifecycle::completed ||
               s == lifecycle::degraded;
      }))
    return lifecycle::running;
  return lifecycle::starting;
}

caf::behavior deployment_actor(deployment_actor_t* self, child_context ctx, deployment_plan plan) {
  self->trace_as(ctx.path, ctx.services->trace);
  auto& st = self->state;
  st.plan = std::move(plan);
  supervisor_config sc;
  sc.path = ctx.path;
  sc.noun = "deployment";
  sc.parent = ctx.parent;
  sc.parent_path = "/";
  sc.services = ctx.services;
  sc.flags = st.plan.flags;
  sc.parallel_stop = false; // services stop one at a time, in reverse order
  sc.own_state_is_running = false;
  sc.recent_restarts = st.plan.recent_restarts;
  for (auto& svc : st.plan.services) {
    keep_histories(svc, service_plan{});
    sc.children.push_back(service_child(svc, self->address()));
  }
  sc.hooks.on_child_state = [self](std::size_t i, lifecycle from, lifecycle to) {
    notify(self, self->state.sup.children[i].spec.id, from, to);
    publish(self);
  };
  sc.hooks.on_child_failure = [self](std::size_t i, failure& report) {
    remember_failure(self, self->state.sup.children[i].spec.id, report);
    return false; // the supervisor decides as for any failure
  };
  if (auto* memory = ctx.services->memory)
    sc.hooks.on_restart = [self, memory](std::size_t i, duration delay) {
      remember_restart(*memory, self->state.sup, i, delay, self->clock().now());
    };
  auto behavior = supervisor_init(self, st.sup, std::move(sc));
  publish(self);
  caf::message_handler own{
      [self](subscribe_atom, std::string& service) {
        auto& st = self->state;
        auto sender = caf::actor_cast<caf::actor>(self->current_sender());
        if (!sender)
          return;
        // Answer at once with the state now, so a wait never misses one that already holds.
        for (auto& c : st.sup.children)
          if (c.spec.id == service)
            self->send(sender, state_change{c.path, c.state, c.state});
        if (auto it = st.last_failure.find(service); it != st.last_failure.end())
          self->send(sender, last_failure_atom::value, it->second);
        st.subscribers[service].push_back(sender.address());
      },
      [self](apply_atom, deployment_plan& wanted) { apply(self, std::move(wanted)); },
      [self](restart_atom, std::string& service) -> caf::result<void> {
        auto& st = self->state;
        auto i = supervisor_find_child(st.sup, service);
        if (!i)
          return make_error(node_errc::not_found,
                            "no service '" + service + "' in deployment '" + st.plan.name + "'");
        // A service that is down starts its replicas anew anyway.
        if (auto& h = st.sup.children[*i].handle)
          self->send(h, roll_atom::value);
        return caf::unit;
      },
      [self](last_failure_atom, failure& f) {
        // From a service: a failure below it, which it handles itself.
        auto& st = self->state;
        auto it = st.sup.index.find(caf::actor_cast<caf::actor_addr>(self->current_sender()));
        if (it != st.sup.index.end())
          remember_failure(self, st.sup.children[it->second].spec.id, f);
      },
  };
  return caf::behavior{own.or_else(behavior)};
}

child_spec deployment_child(deployment_plan plan) {
  child_spec spec;
  spec.id = plan.name;
  spec.kind = child_kind::supervisor;
  spec.reports_state = true;
  spec.takes_hurry = true;
  // Services stop one after another, each its replicas in parallel: the sum over services of
  // their longest replica grace.
  duration grace{std::chrono::seconds{10}};
  for (auto& s : plan.services) {
    duration longest{0};
    for (auto& r : s.replicas)
      longest = std::max(longest, r->stop_grace);
    grace += longest + std::chrono::seconds{10};
  }
  spec.shutdown.grace = grace;
  spec.start = [plan = std::move(plan)](caf::local_actor* self, const child_context& ctx) {
    return self->spawn(deployment_actor, ctx, plan);
  };
  return spec;
}

} // namespace nv
