// One container actor per replica: drives its runtime by messages through
// create -> start -> running, reports exits as typed failures, and stops its container
// (signal, grace, kill) when its supervisor asks it to stop.
#pragma once

#include <memory>

#include <caf/stateful_actor.hpp>

#include "actors/probe_actor.hpp"
#include "messages/container_spec.hpp"
#include "messages/lifecycle.hpp"
#include "runtimes/runtime.hpp"
#include "supervisor/child_spec.hpp"

namespace nv {

struct container_config {
  container_spec spec;
  bool job = false; // rtype job: exit 0 completes it, any other exit fails it
  restart_type restart = restart_type::permanent; // from restart_policy, else rtype
  duration stop_grace = std::chrono::seconds{30};
  // A health probe decides `healthy`; without one, running means healthy.
  std::optional<probe_config> health;
  // Its restarts, kept across restarts of its service (child_spec::history).
  std::shared_ptr<restart_history> history;
};

struct container_actor_state {
  child_context ctx;
  // Shared with the child spec that restarts it: one copy per replica, however often it restarts.
  std::shared_ptr<const container_config> cfg;
  lifecycle state = lifecycle::pending;
  bool stop_requested = false;
  caf::error quit_reason; // the reason the parent asked us to exit with
  runtime_op in_flight = runtime_op::pull;
  bool busy = false;    // a runtime call has not answered yet
  bool created = false; // the runtime holds a container for us: remove it when done
  bool started = false;
  int32_t pid = 0;
  caf::actor probe;                       // while the container runs, when it has a health check
  std::optional<AgentError> stopping_for; // the probe gave up: stop the container, then fail
  uint64_t stopped_by = 0; // trace seq of what made us stop (the probe's failure, the request)

  container_actor_state() = default;
  container_actor_state(const container_actor_state&) = delete;
  container_actor_state& operator=(const container_actor_state&) = delete;
  ~container_actor_state(); // stops the probe, should the container actor be killed

  static inline const char* name = "nv.container";
};

using container_actor_t = traced_stateful_actor<container_actor_state>;

caf::behavior container_actor(container_actor_t* self, child_context ctx,
                              std::shared_ptr<const container_config> cfg);

// The child spec of a replica: a permanent (service) or transient (job) worker whose
// shutdown grace covers the container's own stop grace.
child_spec container_child(container_config cfg);

} // namespace nv
