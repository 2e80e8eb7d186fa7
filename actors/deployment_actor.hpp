// The deployment supervisor: one per spec. It spawns every service supervisor at once in
// topological order of `depends` (waits gate when replicas start), stops them one at a
// time in reverse order, and publishes each service's state to the dependency waits that
// subscribed to it.
#pragma once

#include <map>

#include <caf/stateful_actor.hpp>

#include "actors/plan.hpp"
#include "supervisor/supervisor.hpp"

namespace nv {

struct deployment_state {
  supervisor_state sup;
  // service -> the dependency waits that asked for its state changes
  std::map<std::string, std::vector<caf::actor_addr>> subscribers;
  // service -> the last failure in it (a replica's, an init step's, or its own), told to the
  // waits for it so that a dependency timeout names its first cause
  std::map<std::string, failure> last_failure;
  static inline const char* name = "nv.deployment";
};

using deployment_actor_t = traced_stateful_actor<deployment_state>;

caf::behavior deployment_actor(deployment_actor_t* self, child_context ctx, deployment_plan plan);

child_spec deployment_child(deployment_plan plan);

// The state a deployment shows for its services' states.
lifecycle deployment_state_of(const std::vector<lifecycle>& services);

} // namespace nv
