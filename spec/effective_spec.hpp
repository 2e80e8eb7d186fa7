// The spec as nodevisor will run it, every default filled in (`nodevisor validate --print`, like
// `docker compose config`): JSON, which the loader reads back to the same model.
#pragma once

#include <string>

#include "spec/deployment_spec.hpp"

namespace nv::spec {

// Pretty-printed JSON in the spec's own schema, services in file order. `$E:` values stay as
// written (printing the secret they name is not the point); `scale` is the replica count
// nodevisor starts, as `mode: fixed`; `sim` appears only where it differs from its defaults.
std::string effective_spec_json(const deployment_spec& spec);

} // namespace nv::spec
