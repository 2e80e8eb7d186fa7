// The node: root of the tree, one per daemon, never dies on a child's failure. A deployment
// that gives up is marked failed; a RouteToPeer reaching it is re-placed on a peer whose OS
// matches, or, with no peer, leaves its service failed with both remedies named.
// Everything the node decides is also sent to its observer (the CLI), as itself. Deployments
// come and go while it runs (actors/node_protocol.hpp).
#pragma once

#include <map>

#include <caf/response_promise.hpp>
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

// What the node keeps of each deployment in its tree, beyond the supervisor's record.
struct node_deployment {
  deployment_plan plan;   // the one last deployed: what an apply is compared with
  bool removing = false;  // a remove is under way
  bool replacing = false; // stopping, to start again as a whole with `plan`
  std::vector<caf::response_promise> removed; // removes waiting for the end of the stop
  // Deploys that came in while it was being removed: done in order once it is gone.
  std::vector<std::pair<deployment_plan, caf::response_promise>> queued;
};

struct node_state {
  supervisor_state sup;
  caf::actor_addr observer;
  std::map<std::string, node_deployment> deployments;
  static inline const char* name = "nv.node";
};

using node_actor_t = traced_stateful_actor<node_state>;

caf::behavior node_actor(node_actor_t* self, node_config cfg);

// What an operator can do about a service that needs an OS this node does not run.
std::string route_remedy(const RouteToPeer& r);

} // namespace nv
