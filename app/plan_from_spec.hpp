// Turns a loaded spec into the plan the actors are built from, applying what `run` checks
// beyond the spec itself: what the chosen runtime needs, and `$E:` variables that must exist.
#pragma once

#include <string>
#include <vector>

#include "actors/plan.hpp"
#include "spec/deployment_spec.hpp"

namespace nv {

struct plan_result {
  deployment_plan plan;
  std::vector<std::string> errors;   // one line each: "services.api.command: ..."
  std::vector<std::string> warnings; // the same, for what may still fail at start
};

// `runtime_name`: process | sim, the runtime the containers will run on.
plan_result plan_from_spec(const spec::deployment_spec& spec, const std::string& runtime_name);

} // namespace nv
