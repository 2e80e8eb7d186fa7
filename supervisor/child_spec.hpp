// A child specification is data, as in OTP: what to start, when to restart it, how to stop it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/actor_clock.hpp>
#include <caf/local_actor.hpp>

#include "messages/agent_error.hpp"
#include "messages/supervision.hpp"

namespace nv {

// The node's services (its runtime, check runner and trace sink), handed down the tree with
// each child's context; defined by the actors that use them (actors/node_services.hpp).
struct node_services;

enum class child_kind : uint8_t { worker, supervisor };

struct shutdown_policy {
  bool brutal_kill = false; // kill at once, no grace
  duration grace = std::chrono::seconds{5};
};

// What a child needs to know about its place in the tree.
struct child_context {
  std::string path;       // e.g. "/web-stack/api/api-rep-1"
  std::string id;         // the child spec id, e.g. "api-rep-1"
  caf::actor_addr parent; // weak: the parent owns the child, never the other way round
  const node_services* services = nullptr; // outlive every actor
  uint32_t attempt = 0;                    // restarts of this child before this incarnation
  // Trace seq of the restart that started this incarnation (0 for a first start): the cause of
  // a failure that has no other, so that a crash loop reads as one chain back to its first crash.
  uint64_t restarted_by = 0;
};

// Spawns the child (from inside the supervisor, so `self` is the spawner) and returns
// its handle; an invalid handle counts as a failed start.
using start_fn = std::function<caf::actor(caf::local_actor* self, const child_context& ctx)>;

// When a child was restarted, kept with its spec rather than in its supervisor, so that a
// supervisor restarted by its own parent still knows how often its children crashed
// (supervisor_flags' backoff).
struct restart_history {
  std::vector<caf::actor_clock::time_point> recent; // restarts inside the window
  caf::actor_clock::time_point last_start;
  // Carried over from the daemon before this one, which died or handed over (node/recall):
  // the child's restarts so far, and when the restart it was waiting out falls due. Taken by the
  // child's first start under this daemon.
  uint32_t restarts_before = 0;
  std::optional<caf::actor_clock::time_point> due;
  // It had run to completion (a job): it is not started again, as Docker leaves an exited
  // container exited across a daemon restart.
  bool completed_before = false;
};

struct child_spec {
  std::string id;
  start_fn start;
  restart_type restart = restart_type::permanent;
  shutdown_policy shutdown;
  child_kind kind = child_kind::worker;
  // The child sends its own state changes (a container reports creating..running, a
  // supervisor reports running); otherwise it counts as running once spawned, as in OTP.
  bool reports_state = false;
  // It understands hurry_atom (a container, a supervisor): its parent passes a hurry on to it
  // while it stops, or when it is asked to stop after one.
  bool takes_hurry = false;
  // Shared by every incarnation of the child's supervisor; null: a new history per supervisor.
  std::shared_ptr<restart_history> history;
};

} // namespace nv
