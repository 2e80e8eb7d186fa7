#include "actors/deployment_actor.hpp"

#include <algorithm>

#include <caf/all.hpp>

#include "actors/node_services.hpp"
#include "actors/service_actor.hpp"
#include "messages/caf/atoms.hpp"

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
  supervisor_config sc;
  sc.path = ctx.path;
  sc.noun = "deployment";
  sc.parent = ctx.parent;
  sc.parent_path = "/";
  sc.services = ctx.services;
  sc.flags = plan.flags;
  sc.parallel_stop = false; // services stop one at a time, in reverse order
  sc.own_state_is_running = false;
  for (auto& svc : plan.services)
    sc.children.push_back(service_child(std::move(svc), self->address()));
  sc.hooks.on_child_state = [self](std::size_t i, lifecycle from, lifecycle to) {
    notify(self, self->state.sup.children[i].spec.id, from, to);
    publish(self);
  };
  sc.hooks.on_child_failure = [self](std::size_t i, failure& report) {
    remember_failure(self, self->state.sup.children[i].spec.id, report);
    return false; // the supervisor decides as for any failure
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
      longest = std::max(longest, r.stop_grace);
    grace += longest + std::chrono::seconds{10};
  }
  spec.shutdown.grace = grace;
  spec.start = [plan = std::move(plan)](caf::local_actor* self, const child_context& ctx) {
    return self->spawn(deployment_actor, ctx, plan);
  };
  return spec;
}

} // namespace nv
