// The deployment supervisor: one per spec. It spawns every service supervisor at once in
// topological order of `depends` (waits gate when replicas start), stops them one at a
// time in reverse order, and publishes each service's state to the dependency waits that
// subscribed to it. An apply (apply_atom, deployment_plan) changes its services in place: see
// deployment_actor.cpp.
#pragma once

#include <map>
#include <optional>

#include <caf/stateful_actor.hpp>

#include "actors/plan.hpp"
#include "actors/plan_diff.hpp"
#include "supervisor/supervisor.hpp"

namespace nv {

struct deployment_state {
  supervisor_state sup;
  // service -> the dependency waits that asked for its state changes
  std::map<std::string, std::vector<caf::actor_addr>> subscribers;
  // service -> the last failure in it (a replica's, an init step's, or its own), told to the
  // waits for it so that a dependency timeout names its first cause
  std::map<std::string, failure> last_failure;
  deployment_plan plan; // the plan it runs (the wanted one, once an apply has begun)
  // An apply stops its removed and replaced services one at a time, in reverse start order,
  // before it starts anything; an apply that comes meanwhile waits (the newest only), then is
  // compared with what the first one left.
  bool applying = false;
  std::vector<std::string> to_stop; // what the apply under way still has to stop, in order
  deployment_change change;         // what it does
  std::optional<deployment_plan> next;
  static inline const char* name = "nv.deployment";
};

using deployment_actor_t = traced_stateful_actor<deployment_state>;

caf::behavior deployment_actor(deployment_actor_t* self, child_context ctx, deployment_plan plan);

child_spec deployment_child(deployment_plan plan);

// The state a deployment shows for its services' states.
lifecycle deployment_state_of(const std::vector<lifecycle>& services);

} // namespace nv
