// The spec's `sim:` block (design §4): fault injection for the simulated runtime. The spec reads
// it and the sim runtime obeys it; in between it travels as a container's opaque options.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

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

} // namespace nv
