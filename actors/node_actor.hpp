// The node: root of the tree, one per daemon, never dies on a child's failure. A deployment
// that gives up is marked failed; a RouteToPeer reaching it is re-placed on a peer whose OS
// matches, or, with no peer, leaves its service failed with both remedies named.
// Everything the node decides is also sent to its observer (the CLI), as itself.
#pragma once

#include <caf/stateful_actor.hpp>

#include "actors/node_services.hpp"
#include "actors/plan.hpp"
#include "supervisor/supervisor.hpp"

namespace nv {

struct node_config {
  std::string name = "n1";
  std::vector<deployment_plan> deployments;
  caf::actor_addr observer; // receives deployment state changes and every failure
  const node_services* services = nullptr;
};

struct node_state {
  supervisor_state sup;
  caf::actor_addr observer;
  static inline const char* name = "nv.node";
};

using node_actor_t = traced_stateful_actor<node_state>;

caf::behavior node_actor(node_actor_t* self, node_config cfg);

// What an operator can do about a service that needs an OS this node does not run.
std::string route_remedy(const RouteToPeer& r);

} // namespace nv
