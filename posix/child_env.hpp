// The environment a container's processes (its main process and its execs) get: what the spec
// gives them and a minimal base, as systemd gives its services, never the daemon's own
// environment, which holds the operator's secrets (tokens, SSH agent sockets, cloud keys).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "messages/container_spec.hpp"

namespace nv {

// systemd's default PATH for services.
inline constexpr std::string_view default_child_path =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// "NAME=value" entries, a later one replacing an earlier one of the same name:
//   PATH (default_child_path), HOME (`home`; left out when empty), LANG (the daemon's own LANG
//   from `base`, environ's layout, else C.UTF-8),
//   then the spec's pairs (its `$E:` values already resolved), which may override those three,
//   then NODEVISOR_DEPLOYMENT, NODEVISOR_SERVICE and NODEVISOR_REPLICA (1-based), which cannot
//   be overridden.
// Nothing else of `base` is passed on.
std::vector<std::string> child_environment(const container_spec& spec, const char* const* base,
                                           std::string_view home);

} // namespace nv
