// What a runtime needs to create one replica: plain data, built by the service supervisor
// from the deployment spec.
#pragma once

#include <csignal>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "messages/agent_error.hpp"

namespace nv {

// Fault injection for the simulated runtime (the spec's `sim:` block).
struct sim_behavior {
  duration start_delay{0};                        // create -> running takes this long
  std::optional<duration> exit_after;             // exits on its own this long after running
  int32_t exit_code = 0;                          // ... with this code
  std::string fail_pull, fail_create, fail_start; // non-empty: that step fails with this reason
  std::optional<duration> unhealthy_after;        // checks fail from this long after running
  bool hang_on_stop = false;                      // ignores the stop signal; only the kill ends it
  bool operator==(const sim_behavior&) const = default;
};

struct container_spec {
  std::string deployment;
  std::string service;
  uint32_t replica = 1; // 1-based
  std::string id;       // ZLayer's replica id: "{service}-rep-{replica}"
  std::string image;
  std::vector<std::string> command; // entrypoint followed by args
  std::vector<std::pair<std::string, std::string>> env;
  std::string workdir;
  std::string os = "linux"; // OCI name: linux | windows | darwin
  int stop_signal = SIGTERM;
  sim_behavior sim;
};

inline std::string replica_id(const std::string& service, uint32_t replica) {
  return service + "-rep-" + std::to_string(replica);
}

} // namespace nv
