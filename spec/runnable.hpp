// What a spec must satisfy to run at all, beyond its schema: the loader checks it, so `validate`
// refuses exactly what `run` would refuse before it asks a runtime for anything.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "spec/deployment_spec.hpp"
#include "spec/env.hpp"
#include "spec/field_reader.hpp"
#include "spec/problem.hpp"

namespace nv::spec {

// The image name that means "no image: run `command` as a plain process" (design §4).
inline constexpr std::string_view process_image = "process";

// Per service: one service's replicas are one supervisor's children. The sim runtime's load
// tests reach 100 000 replicas in services of 100, so the cap is not per deployment.
inline constexpr uint32_t max_replicas_per_service = 10'000;

// The kernel's MAX_ARG_STRLEN: execve refuses an argument or a "NAME=value" string of this many
// bytes or more (the count includes the terminating NUL).
inline constexpr std::size_t max_arg_strlen = 128 * 1024;

// A `process` image without a command; an env value or a command word that execve cannot take
// (a NUL byte, or too long); more replicas than max_replicas_per_service.
void check_runnable(const deployment_spec& spec, reader& r);

// Each `$E:VAR` whose VAR `lookup` does not know, at its field path
// ("services.api.env.DB_PASSWORD"), as a problem of `level`: `run` refuses to plan such a
// deployment (an error), `validate` only warns (the environment it runs in may not be run's).
std::vector<problem> unset_env_references(const deployment_spec& spec, const std::string& file,
                                          severity level, const env_lookup& lookup = daemon_env);

} // namespace nv::spec
