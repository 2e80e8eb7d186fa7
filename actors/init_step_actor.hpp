// One init step of a service (design §1: `init:<step-id>`); the service runs its steps one after
// another, each as a child that exits normally when the service may go on.
//
// Actions: wait_tcp and wait_http try until their own timeout, a new try at most 500 ms after
// the previous one started (a single try is bounded by 5 s, so a server that hangs is tried
// again); run executes `sh -c command` with the service's environment, once per attempt,
// bounded by its timeout. All of them run on the shared check_runner, but a run of a service of
// an image runtime: that runs in a container of the service's image (init_step_config::container),
// pulled, created, started, awaited and removed through the node's runtime for each attempt.
//
// An attempt fails when the action does (wait: its timeout expired; run: a non-zero exit, a
// spawn error or its timeout); `retry` more attempts follow, 500 ms apart. The step's own
// `timeout` bounds all attempts together.
//
// Outcome, towards the parent (the service actor):
// - success: exits normally (exit_reason::normal).
// - failure (attempts exhausted, or the step's timeout expired), by `on_failure`:
//   fail: fail_child with InitActionFailed{step id, reason} — reason as "command './migrate' exited
//   3: <last output line>", or "Timeout after 30s: tcp db:5432: connection refused" for a wait
//   whose action timeout expired — or Timeout{step timeout} when the step's own timeout expired;
//   the actor then exits with escalated_exit_reason(). warn: logs a warning naming the error and
//   exits normally. proceed (the spec's `continue`): exits normally.
// The parent stops a step by any exit message; a command still running is killed (its process
// group, SIGKILL). A step also stops when its parent goes down (it monitors it).
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <caf/stateful_actor.hpp>

#include "actors/checks/check_bounds.hpp"
#include "actors/checks/check_runner.hpp"
#include "messages/container_spec.hpp"
#include "messages/init_step.hpp"
#include "messages/runtime_messages.hpp"
#include "supervisor/child_spec.hpp"
#include "trace/traced_actor.hpp"

namespace nv {

// An init step as its actor runs it: the spec's step, plus the service's complete environment
// ("NAME=value", as child_environment builds it) and working directory (empty: the daemon's) for
// an init.run command.
struct init_step_config : init_step {
  std::vector<std::string> env;
  std::string workdir;
  // Where the service's replicas are containers of an image (the oci runtime), an init.run runs
  // in a container of its own made from this spec (its first replica's, with the step's id and
  // command) through the node's runtime, as a Kubernetes init container does: the service's image,
  // env, user and limits, not the host's. None: on the host, by the check runner.
  std::optional<container_spec> container;
};

struct init_step_state {
  child_context ctx;
  init_step_config cfg;
  uint32_t attempt = 0;                    // attempts started
  check_clock::time_point action_deadline; // wait actions: the current attempt's end
  check_clock::time_point try_started;     // wait actions: the current try's start
  std::string last_reason;                 // wait actions: why the last try that ran failed
  uint64_t ticket = 0;                     // the check in flight, 0 when none
  // init.run in a container: its runtime key while it exists, and how its attempt ended (set by
  // its exit or its timeout, acted on once the runtime has removed it).
  std::string box;
  std::optional<std::string> box_failed; // nullopt with box_done: the command succeeded
  bool box_done = false;

  init_step_state() = default;
  init_step_state(const init_step_state&) = delete;
  init_step_state& operator=(const init_step_state&) = delete;
  ~init_step_state(); // cancels the check in flight, removes the container

  static inline const char* name = "nv.init_step";
};

using init_step_actor_t = traced_stateful_actor<init_step_state>;

caf::behavior init_step_actor(init_step_actor_t* self, child_context ctx, init_step_config cfg);

// The child spec of a step: id `init:<step id>`, temporary (the service decides what a failed
// sequence means, with init_retry_delay), stopped with a short grace: it kills its own command.
child_spec init_step_child(init_step_config cfg);

} // namespace nv
