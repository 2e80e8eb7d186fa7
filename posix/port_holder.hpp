// Who holds a port on this host, for an error a person can act on before a start that would fail
// to bind (Compose's "port is already allocated").
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "messages/agent_error.hpp"
#include "messages/container_spec.hpp"

namespace nv {

// nullopt when nothing on the host (on any address) listens on `port` (tcp) or is bound to it
// (udp); else who does, as far as /proc tells: "pid 4242 (nginx)", or "a process this node
// cannot see" (another PID namespace, or no permission).
std::optional<std::string> port_holder(uint16_t port, bool udp);

// The Network error for the first port of `spec`'s endpoints that something on the host holds,
// naming the port, the replica and the holder; nullopt when all are free. A start on the host's
// network would fail to bind it.
std::optional<Network> held_endpoint(const container_spec& spec);

} // namespace nv
