// Turns a loaded spec into the plan the actors are built from, applying what `run` checks
// beyond the spec itself: what the chosen runtime needs, and `$E:` variables that must exist.
// What needs no runtime (spec/runnable.hpp) the loader has already checked, for `validate` too.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "actors/plan.hpp"
#include "spec/deployment_spec.hpp"
#include "spec/problem.hpp"

namespace nv {

struct plan_result {
  deployment_plan plan;
  std::vector<std::string> errors; // one line each: "services.api.command: ..."
  // Fields the chosen runtime accepts but does not enforce (`resources` on process and sim).
  std::vector<spec::problem> warnings; // `file` left empty for the caller to fill in
};

// `runtimes`: the local runtime (process | sim | oci) that serves each OS, as the node config's
// `runtimes` says. A service of an OS that none serves is planned without a runtime's checks: its
// create answers RouteToPeer, for the node to place it elsewhere.
plan_result plan_from_spec(const spec::deployment_spec& spec,
                           const std::map<std::string, std::string>& runtimes);

// With `runtime_name` serving linux, and nothing else.
plan_result plan_from_spec(const spec::deployment_spec& spec, const std::string& runtime_name);

} // namespace nv
