// nodevisor's per-replica variables (docs/spec.md, "replica_port"): `${NODEVISOR_PORT}` and
// `${NODEVISOR_REPLICA}` in a service's command, health check and init steps are replaced by
// each replica's own values when the deployment is planned, so that two replicas of one service
// listen on, and are probed at, different ports. Other `${...}` text is left as written (a
// shell may expand it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nv::spec {

struct replica_values {
  uint32_t replica = 1;         // 1-based
  std::optional<uint16_t> port; // none: the service has no replica_port
};

// Replica `replica`'s port: base + replica - 1 (the spec check keeps it within 65535).
uint16_t replica_port(uint16_t base, uint32_t replica);

// The names inside every `${NODEVISOR_...}` of `text`, e.g. {"NODEVISOR_PORT"}.
std::vector<std::string> nodevisor_references(std::string_view text);

// Is `name` one nodevisor expands (NODEVISOR_PORT, NODEVISOR_REPLICA)?
bool is_replica_variable(std::string_view name);

// `text` with `${NODEVISOR_PORT}` and `${NODEVISOR_REPLICA}` replaced; a port reference stays
// as written when `values.port` is none (the spec check refuses that beforehand).
std::string expand_replica_variables(std::string_view text, const replica_values& values);

} // namespace nv::spec
