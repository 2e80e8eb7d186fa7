// A child specification is data, as in OTP: what to start, when to restart it, how to stop it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/local_actor.hpp>

#include "messages/agent_error.hpp"

namespace nv {

class trace_sink;

enum class restart_type : uint8_t {
  permanent, // always restarted
  transient, // restarted only after an abnormal exit
  temporary, // never restarted, not even by a sibling's group restart
};

enum class child_kind : uint8_t { worker, supervisor };

std::string_view to_string(restart_type t);
std::string_view to_string(child_kind k);

struct shutdown_policy {
  bool brutal_kill = false; // kill at once, no grace
  duration grace = std::chrono::seconds{5};
};

// What a child needs to know about its place in the tree.
struct child_context {
  std::string path;            // e.g. "/web-stack/api/api-rep-1"
  std::string id;              // the child spec id, e.g. "api-rep-1"
  caf::actor_addr parent;      // weak: the parent owns the child, never the other way round
  trace_sink* trace = nullptr; // may be null: tracing off
  uint32_t attempt = 0;        // restarts of this child before this incarnation
  // Trace seq of the restart that started this incarnation (0 for a first start): the cause of
  // a failure that has no other, so that a crash loop reads as one chain back to its first crash.
  uint64_t restarted_by = 0;
};

// Spawns the child (from inside the supervisor, so `self` is the spawner) and returns
// its handle; an invalid handle counts as a failed start.
using start_fn = std::function<caf::actor(caf::local_actor* self, const child_context& ctx)>;

struct child_spec {
  std::string id;
  start_fn start;
  restart_type restart = restart_type::permanent;
  shutdown_policy shutdown;
  child_kind kind = child_kind::worker;
  // The child sends its own state changes (a container reports creating..running, a
  // supervisor reports running); otherwise it counts as running once spawned, as in OTP.
  bool reports_state = false;
};

} // namespace nv
