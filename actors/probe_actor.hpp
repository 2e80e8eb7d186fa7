// The health probe of one replica (design §1: `<replica path>/probe`), spawned and owned by the
// replica's container actor once its container runs. It waits `start_grace`, then checks; each
// check is bounded by `timeout` and the next starts `interval` after the previous one ended.
// tcp and http checks run on the shared check_runner; command checks are `sh -c command`
// exec'd inside the container by the runtime. Nothing here blocks a scheduler thread.
//
// Protocol with the parent (the container actor):
// - probe -> parent `state_change{probe path, from, to}` on every health change: the first
//   passing check, and every pass after a failure, reports `healthy` (from `running` the first
//   time, else from `unhealthy`); the first failing check after a pass reports `unhealthy`.
//   Failures before the first pass change nothing: the replica is simply not healthy yet.
// - probe -> parent `failure{probe path, HealthCheckFailed{replica_id, reason of the last
//   failed check}}` after `retries` consecutive failed checks (one pass resets the count),
//   sent with fail_child: the probe then exits with escalated_exit_reason() and checks no more.
//   A check that exceeds `timeout` fails with reason `<what was probed>: Timeout after <timeout>`.
//   When the probe was healthy, the `unhealthy` state_change comes first.
// - parent -> probe: nothing but stopping it, by any exit message (send_exit(probe,
//   exit_reason::user_shutdown)); the probe also stops by itself when its parent goes down (it
//   monitors it). A check in flight is abandoned: a runner check is cancelled, a late exec answer
//   is dropped.
// Trace: a `probe` event (ok, latency_us, reason) per check, a `state` event per health change
// (caused by that check's event), and fail_child's `failure` event.
#pragma once

#include <optional>
#include <string>
#include <variant>

#include <caf/stateful_actor.hpp>

#include "actors/checks/check_bounds.hpp"
#include "actors/checks/check_runner.hpp"
#include "messages/health.hpp"
#include "messages/lifecycle.hpp"
#include "runtimes/runtime.hpp"
#include "supervisor/child_spec.hpp"
#include "trace/traced_actor.hpp"

namespace nv {

// The health block as the probe of one replica runs it. `replica_id` (`api-rep-1`) is what
// HealthCheckFailed names, and the runtime's container a command check execs in
// (container_spec::id is the replica id).
struct probe_config : health_spec {
  std::string replica_id;
  std::string container; // the runtime's key of that container (runtime_key); empty: replica_id
};

struct probe_state {
  child_context ctx;
  probe_config cfg;
  lifecycle health = lifecycle::running; // running (no pass yet) | healthy | unhealthy
  uint32_t failures = 0;                 // consecutive failed checks
  uint64_t seq = 0;                      // number of the current (or last) check; its exec id
  bool checking = false;                 // check `seq` has no outcome yet
  uint64_t ticket = 0;                   // its check_runner ticket; 0 for execs
  check_clock::time_point started;       // of the current check

  probe_state() = default;
  probe_state(const probe_state&) = delete;
  probe_state& operator=(const probe_state&) = delete;
  ~probe_state(); // cancels a runner check in flight

  static inline const char* name = "nv.probe";
};

using probe_actor_t = traced_stateful_actor<probe_state>;

caf::behavior probe_actor(probe_actor_t* self, child_context ctx, probe_config cfg);

// The context of the probe of a replica: path `<replica path>/probe`, id `probe`, the replica
// (the container actor at `replica_addr`) as parent, the replica's services.
child_context probe_context(const child_context& replica, caf::actor_addr replica_addr);

} // namespace nv
