// One container actor per replica: drives its runtime by messages through
// pull -> create -> start -> running, reports exits as typed failures, and stops its container
// (signal, grace, kill) when its supervisor asks it to stop or its probe gives up.
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
  // What the replica runs (image, command, env, health, stop, user, ports, ...), as a digest of
  // its canonical text: an apply replaces a replica whose fingerprint changed (actors/plan_diff).
  // Empty: unknown, and an apply replaces it.
  std::string fingerprint;
};

// Where the container actor is in its run: which runtime call it waits for, or what its
// container is doing. Each message it gets is an event, and what an event does in each phase is
// one cell of the table in container_actor.cpp.
enum class container_phase : uint8_t {
  pulling,           // pull in flight
  creating,          // create in flight
  starting,          // start in flight; the runtime holds a container from here on
  running,           // started; its probe runs, if it has a health check
  stopping,          // stop in flight, asked for by the parent: exit with its reason once stopped
  failing,           // stop in flight because the probe gave up: fail with its error once stopped
  abandoning_pull,   // the parent asked to stop during the pull: exit once it answers
  abandoning_create, // ... during the create: exit once it answers, removing what it made
  done,              // the runtime is clean, and the actor exits
};

struct container_actor_state {
  child_context ctx;
  // Shared with the plan and the child spec that restarts it: one copy per replica, however
  // often it restarts.
  std::shared_ptr<const container_config> cfg;
  container_phase phase = container_phase::pulling;
  lifecycle state = lifecycle::pending; // what it reports to its parent and the trace
  caf::error quit_reason; // since a stop request: the reason the parent asked us to exit with
  std::unique_ptr<AgentError> probe_error; // failing: what the probe gave up with
  int32_t pid = 0;
  caf::actor probe;        // while the container runs, when it has a health check
  uint64_t stopped_by = 0; // trace seq of what made us stop (the probe's failure, the request)
  bool hurried = false;    // the parent said to skip the stop grace: stops are kills

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
child_spec container_child(std::shared_ptr<const container_config> cfg);

} // namespace nv
