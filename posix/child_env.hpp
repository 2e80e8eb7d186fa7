// The environment a container's processes (its main process and its execs) get.
#pragma once

#include <string>
#include <vector>

#include "messages/container_spec.hpp"

namespace nv {

// "NAME=value" entries: the daemon's own environment (`base`, environ's layout), then the
// spec's pairs, then NODEVISOR_DEPLOYMENT, NODEVISOR_SERVICE and NODEVISOR_REPLICA (1-based).
// A later entry replaces an earlier one of the same name, so the spec overrides the daemon and
// the NODEVISOR_* variables cannot be overridden.
std::vector<std::string> child_environment(const container_spec& spec, const char* const* base);

} // namespace nv
