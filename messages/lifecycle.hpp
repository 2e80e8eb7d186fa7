// The lifecycle states every actor of the tree reports, and the `state` message.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace nv {

enum class lifecycle : uint8_t {
  pending,            // spec known, nothing started yet
  waiting,            // a service waiting for its dependencies
  initializing,       // init steps running
  creating,           // runtime create in flight
  starting,           // runtime start in flight
  running,            // process exec'd / container running
  healthy,            // running and its probe passes (or no probe)
  unhealthy,          // running, probe failing
  crash_loop_backoff, // a restart waits for its backoff delay
  stopping,           // graceful stop in progress
  stopped,            // stopped on request or for good (temporary child)
  completed,          // a job that finished successfully
  failed,             // gave up: intensity exceeded, permanent error, routed away
  degraded,           // a service running with some replicas isolated
};

std::string_view to_string(lifecycle s);
bool from_string(std::string_view name, lifecycle& out);

// A state change of the actor at `path`.
struct state_change {
  std::string path;
  lifecycle from = lifecycle::pending;
  lifecycle to = lifecycle::pending;
  int32_t pid = 0; // a container's main process once it runs (0: none, or not a container)
};

} // namespace nv
