// One dependency-wait actor per `depends` entry of a service. It subscribes to the state of
// the service it waits for (the deployment publishes service states: no polling) and exits
// normally once the condition holds. At its deadline it applies `on_timeout`: fail reports
// DependencyTimeout; warn and continue trace the outcome and let the service start.
#pragma once

#include <caf/stateful_actor.hpp>

#include "messages/dependency.hpp"
#include "supervisor/child_spec.hpp"
#include "trace/traced_actor.hpp"

namespace nv {

struct dependency_wait_state {
  child_context ctx;
  std::string service; // the waiting service
  dependency dep;
  caf::actor_addr broker; // the deployment: answers subscriptions to service states
  bool done = false;
  static inline const char* name = "nv.dependency_wait";
};

using dependency_wait_actor_t = traced_stateful_actor<dependency_wait_state>;

caf::behavior dependency_wait_actor(dependency_wait_actor_t* self, child_context ctx,
                                    std::string service, dependency dep, caf::actor_addr broker);

child_spec dependency_wait_child(std::string service, dependency dep, caf::actor_addr broker);

} // namespace nv
