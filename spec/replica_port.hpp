// The spec checks of nodevisor's `replica_port` extension (docs/spec.md): the range fits in
// 16 bits, a service that refers to its replica port has one, no two services' ranges overlap,
// and every `${NODEVISOR_...}` names a variable nodevisor expands.
#pragma once

#include "spec/deployment_spec.hpp"
#include "spec/field_reader.hpp"

namespace nv::spec {

void check_replica_ports(const deployment_spec& spec, reader& r);

} // namespace nv::spec
