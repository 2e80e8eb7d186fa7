// The services' `depends` edges: checks for the loader and the start order for the deployment
// supervisor (design.md §1: services start in topological order, stop in reverse).
#pragma once

#include <cstddef>
#include <vector>

#include "spec/deployment_spec.hpp"
#include "spec/field_reader.hpp"

namespace nv::spec {

// Self-dependencies, dependencies on services the spec does not have, and cycles, named
// "a -> b -> a" (a depends on b, b on a). Entries with an empty service name were already
// reported by the schema and are skipped.
void check_dependencies(const deployment_spec& spec, reader& r);

// Indices into spec.services, each service after those it depends on; services that do not
// depend on each other keep file order (Kahn's algorithm, lowest index first). Services on or
// behind a cycle are left out, so use it on a spec that loaded without errors.
std::vector<std::size_t> start_order(const deployment_spec& spec);

} // namespace nv::spec
