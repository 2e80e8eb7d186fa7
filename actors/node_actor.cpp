#include "actors/node_actor.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/deployment_actor.hpp"
#include "trace/emit.hpp"

namespace nv {

namespace {

// The observer is whoever runs the node (the CLI, the daemon's control API).
const std::string observer_path = "/_observer";

template <class Message>
void tell_observer(node_actor_t* self, Message msg) {
  if (auto obs = caf::actor_cast<caf::actor>(self->state.observer))
    self->send(obs, std::move(msg));
}

} // namespace

std::string route_remedy(const RouteToPeer& r) {
  return "service '" + r.service + "' needs OS '" + r.required_os +
         "' and no peer of this node runs it. Remedies: enable a local runtime for '" +
         r.required_os + "' on this node, or add a peer node that runs '" + r.required_os + "'";
}

caf::behavior node_actor(node_actor_t* self, node_config cfg) {
  self->trace_as("/", cfg.services->trace);
  auto& st = self->state;
  st.observer = cfg.observer;
  supervisor_config sc;
  sc.path = "/";
  sc.noun = "node";
  sc.parent = cfg.observer;
  sc.parent_path = observer_path;
  sc.services = cfg.services;
  // The root of the tree: nobody supervises it, so it records its own spawn.
  trace::spawn("/", "");
  for (auto& d : cfg.deployments)
    sc.children.push_back(deployment_child(std::move(d)));
  sc.hooks.on_child_state = [self](std::size_t i, lifecycle from, lifecycle to) {
    tell_observer(self, state_change{self->state.sup.children[i].path, from, to});
  };
  sc.hooks.on_child_failure = [self](std::size_t i, failure& report) {
    spdlog::error("[/] deployment {} failed: {} (first failure at {}); the node stays up",
                  self->state.sup.children[i].spec.id, to_string(report.error), report.path);
    tell_observer(self, report);
    return true; // marked failed, never restarted by the node
  };
  sc.hooks.on_reschedule = [self](failure& report) {
    auto& r = std::get<RouteToPeer>(report.error);
    // No peers yet: the _peers router has nobody to place the service on.
    trace::because(report.cause);
    report.cause = trace::route("/_peers", r.service, r.required_os, "");
    spdlog::error("[/_peers] {}: {}", to_string(report.error), route_remedy(r));
    tell_observer(self, report);
  };
  return supervisor_init(self, st.sup, std::move(sc));
}

} // namespace nv
