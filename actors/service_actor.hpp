// The service supervisor: one per service. Its children are first the dependency waits (all
// at once, in parallel), then the init steps (one after another), then the replicas. Its own
// state is derived from its replicas' states and published to the deployment. An apply
// (apply_atom, service_plan) of a plan whose replicas alone changed adds, removes and replaces
// replicas in place; a roll (roll_atom) replaces them all, one at a time.
#pragma once

#include <array>
#include <deque>
#include <map>
#include <set>

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
  // An apply or a restart replaces replicas one at a time: `rolling` is stopped, started anew
  // from the plan, and once healthy (running without a health check, completed for a job) the
  // next in `roll_queue` goes. A new apply replaces the queue; the replica being replaced ends
  // its step first.
  // Replica id -> the config its child runs (shared with the plan it came from).
  std::map<std::string, std::shared_ptr<const container_config>> deployed;
  std::deque<std::string> roll_queue;
  std::set<std::string> forced; // a restart replaces these even though unchanged
  std::string rolling;          // empty: none
  bool rolling_started = false; // its new incarnation is started: waiting for it to be healthy
  uint64_t roll_cause = 0;      // trace seq of its restart event
  const char* roll_reason = "apply";
  static inline const char* name = "nv.service";
};

using service_actor_t = traced_stateful_actor<service_state>;

// `broker`: the deployment, which publishes the states of the services waited for.
caf::behavior service_actor(service_actor_t* self, child_context ctx,
                            std::shared_ptr<const service_plan> plan, caf::actor_addr broker);

child_spec service_child(service_plan plan, caf::actor_addr broker);

// Gives each replica of `wanted` a restart history: that of the replica of the same id in
// `running` when it is unchanged (same fingerprint), so an apply does not reset its backoff, and a
// new one otherwise.
void keep_histories(service_plan& wanted, const service_plan& running);

// The state a service shows for its replicas' states (`isolated` ones excluded).
lifecycle service_state_of(const replica_counts& replicas, std::size_t isolated);

} // namespace nv
