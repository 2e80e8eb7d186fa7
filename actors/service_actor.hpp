// The service supervisor: one per service. Its children are first the dependency waits (all
// at once, in parallel), then the init steps (one after another), then the replicas. Its own
// state is derived from its replicas' states and published to the deployment.
#pragma once

#include <array>

#include <caf/stateful_actor.hpp>

#include "actors/plan.hpp"
#include "supervisor/supervisor.hpp"

namespace nv {

enum class child_role : uint8_t { wait, init, replica };

// How many replicas are in each lifecycle state, indexed by the state.
using replica_counts = std::array<uint32_t, static_cast<std::size_t>(lifecycle::degraded) + 1>;

struct service_state {
  supervisor_state sup;
  std::shared_ptr<const service_plan> plan; // shared with the child spec that restarts it
  std::vector<child_role> roles;            // per child index
  std::size_t waits = 0;                    // children [0, waits) are dependency waits
  std::size_t waits_done = 0;
  std::vector<std::size_t> init_children; // child index of each init step started so far
  uint32_t init_failures = 0;             // failed runs of the init sequence
  uint64_t init_retried_by = 0;           // trace seq of the decision to run them again
  bool replicas_started = false;
  std::vector<bool> isolated; // per child index: left stopped by on_panic: isolate
  // The states of the replicas not isolated, kept up to date on every change, so that the
  // service's own state costs the same however many replicas it has.
  replica_counts counts{};
  std::size_t isolated_count = 0;
  static inline const char* name = "nv.service";
};

using service_actor_t = traced_stateful_actor<service_state>;

// `broker`: the deployment, which publishes the states of the services waited for.
caf::behavior service_actor(service_actor_t* self, child_context ctx,
                            std::shared_ptr<const service_plan> plan, caf::actor_addr broker);

child_spec service_child(service_plan plan, caf::actor_addr broker);

// The state a service shows for its replicas' states (`isolated` ones excluded).
lifecycle service_state_of(const replica_counts& replicas, std::size_t isolated);

} // namespace nv
