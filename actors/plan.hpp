// What the tree is built from: the deployment spec reduced to what the actors act on.
// Plain data; app/ turns a loaded spec into a plan, tests and benchmarks build plans directly.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "actors/container_actor.hpp"
#include "actors/init_step_actor.hpp"
#include "messages/dependency.hpp"
#include "messages/init_step.hpp"
#include "messages/supervision.hpp"

namespace nv {

struct service_plan {
  std::string name;
  std::vector<dependency> depends;
  std::vector<init_step_config> init; // run one after another, after the waits
  init_failure_policy on_init_failure = init_failure_policy::fail;
  std::vector<container_config> replicas; // one per replica, ids {name}-rep-{n}
  supervisor_flags flags;
  panic_action on_panic = panic_action::restart;
  // What the service is apart from its replicas (depends, init steps, supervision, errors), as
  // text, so that an apply can tell a changed service from an unchanged one (actors/plan_diff).
  // node/plan_from_spec fills it in; empty: unknown, and an apply replaces the service.
  std::string shape;
  // Carried over from the daemon before this one (actors/restart_memory): the service's own
  // restart history as its deployment's child, and the restarts it made inside its window.
  std::shared_ptr<restart_history> history{};
  std::vector<caf::actor_clock::time_point> recent_restarts{};
};

struct deployment_plan {
  std::string name;
  supervisor_flags flags;
  std::vector<service_plan> services; // topological order of depends
  std::vector<caf::actor_clock::time_point> recent_restarts{}; // carried over, as a service's
};

} // namespace nv
