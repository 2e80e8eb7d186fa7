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
  // One per replica, ids {name}-rep-{n}. Shared, not copied: copies of a plan (the node's, a
  // deployment's, a restart's) and every incarnation of a replica hold the same config.
  std::vector<std::shared_ptr<const container_config>> replicas;
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

// A replica's config with `history` in place of its own; the config itself is shared, so this
// makes a new one (once per apply or restart of a daemon, not per restart of a replica).
inline std::shared_ptr<const container_config>
with_history(const std::shared_ptr<const container_config>& replica,
             std::shared_ptr<restart_history> history) {
  auto changed = std::make_shared<container_config>(*replica);
  changed->history = std::move(history);
  return changed;
}

struct deployment_plan {
  std::string name;
  supervisor_flags flags;
  std::vector<service_plan> services;                          // topological order of depends
  std::vector<caf::actor_clock::time_point> recent_restarts{}; // carried over, as a service's
};

} // namespace nv
