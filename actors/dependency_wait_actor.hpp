// One dependency-wait actor per `depends` entry of a service. It subscribes to the state of
// the service it waits for (the deployment publishes service states: no polling) and exits
// normally once the condition holds. At its deadline it applies `on_timeout`: fail reports
// DependencyTimeout, caused by the dependency's own last failure when it had one (the
// deployment tells the wait of each); warn and continue trace the outcome and let the service
// start.
#pragma once

#include <optional>

#include <caf/stateful_actor.hpp>

#include "messages/dependency.hpp"
#include "messages/failure.hpp"
#include "supervisor/child_spec.hpp"
#include "trace/traced_actor.hpp"

namespace nv {

struct dependency_wait_state {
  child_context ctx;
  std::string service; // the waiting service
  dependency dep;
  caf::actor_addr broker; // the deployment: answers subscriptions to service states
  // The last failure of the service waited for, when it had one: the first cause a timeout
  // names (trace cause and `because`).
  std::optional<failure> dep_failure;
  bool done = false;
  static inline const char* name = "nv.dependency_wait";
};

using dependency_wait_actor_t = traced_stateful_actor<dependency_wait_state>;

caf::behavior dependency_wait_actor(dependency_wait_actor_t* self, child_context ctx,
                                    std::string service, dependency dep, caf::actor_addr broker);

child_spec dependency_wait_child(std::string service, dependency dep, caf::actor_addr broker);

} // namespace nv
