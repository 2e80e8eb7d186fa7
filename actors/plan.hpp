// What the tree is built from: the deployment spec reduced to what the actors act on.
// Plain data; app/ turns a loaded spec into a plan, tests and benchmarks build plans directly.
#pragma once

#include <string>
#include <vector>

#include "actors/container_actor.hpp"
#include "actors/init_step_actor.hpp"
#include "supervisor/supervisor_flags.hpp"

namespace nv {

enum class wait_condition : uint8_t { started, healthy, ready };
enum class timeout_action : uint8_t { fail, warn, proceed }; // spec: fail | warn | continue
enum class panic_action : uint8_t { restart, shutdown, isolate };

std::string_view to_string(wait_condition c);
std::string_view to_string(timeout_action a);

struct dependency_plan {
  std::string service; // the dependency's name
  wait_condition condition = wait_condition::healthy;
  duration timeout = std::chrono::seconds{300};
  timeout_action on_timeout = timeout_action::fail;
};

struct service_plan {
  std::string name;
  std::vector<dependency_plan> depends;
  std::vector<init_step_config> init; // run one after another, after the waits
  init_failure_policy on_init_failure = init_failure_policy::fail;
  std::vector<container_config> replicas; // one per replica, ids {name}-rep-{n}
  supervisor_flags flags;
  panic_action on_panic = panic_action::restart;
};

struct deployment_plan {
  std::string name;
  supervisor_flags flags;
  std::vector<service_plan> services; // topological order of depends
};

// Is a service in `state` far enough for a dependent waiting on `condition`?
bool satisfies(lifecycle state, wait_condition condition);

} // namespace nv
