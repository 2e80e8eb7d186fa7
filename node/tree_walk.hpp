// One look at the whole tree, for the daemon's answers: the node's deployments, each one's
// services, each service's children (replicas, waits, init steps), as their supervisors report
// them (which_children). Blocking: for the API's own threads, never a CAF scheduler thread.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "supervisor/supervisor.hpp"

namespace nv {

// One service as the tree reports it: its record in its deployment, and its own children.
struct service_sample {
  std::string deployment;
  child_info service;
  std::vector<child_info> children;
  bool children_known = false; // false: it did not answer in time (or is not running)
};

struct deployment_sample {
  child_info record; // its record in the node
  std::vector<service_sample> services;
  bool services_known = false;
};

struct tree_sample {
  bool answered = false; // false: the node did not answer within the timeout
  std::vector<deployment_sample> deployments;
  const deployment_sample* find(const std::string& deployment) const;
};

// Every level is asked at once (its requests sent together, then their answers received), so
// a walk costs three round trips however wide the tree. A part that does not answer within
// `timeout` (a supervisor that just exited, or one too busy) is left out, marked unknown.
tree_sample walk_tree(caf::actor_system& sys, const caf::actor& node,
                      std::chrono::milliseconds timeout);

} // namespace nv
