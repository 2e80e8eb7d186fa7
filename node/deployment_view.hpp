// The JSON the daemon answers about a deployment and its services (design.md §8 "Details of a
// deployment"): ZLayer's DeploymentDetails / ServiceDetails fields, exactly as its schema has
// them, plus nodevisor's own. Built from what is stored (the desired state) and what the tree
// reports (tree_walk); plain functions, no I/O but /proc for the metrics.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "node/proc_usage.hpp"
#include "node/tree_walk.hpp"

namespace nv {

// What is stored about a deployment that the view needs (not the spec text).
struct deployment_record {
  std::string name;
  uint64_t generation = 1;
  bool desired_running = true;
  int64_t created_at_us = 0, updated_at_us = 0;
  // Why the tree does not run it though it should (a stored spec that no longer validates, a
  // deploy the node refused); empty: nothing stands in the way.
  std::string refused;
  // The services of its current spec, in start order, with the replicas each should have.
  std::vector<std::pair<std::string, uint32_t>> services;
};

// Restart counts that never go down: a restarted supervisor's children count from 0 again, so
// the view adds what earlier incarnations counted (by child path).
class restart_memory {
public:
  uint32_t total(const std::string& path, uint32_t reported);
  void forget(const std::string& path_prefix);

private:
  struct count {
    uint32_t earlier = 0, last = 0;
  };
  std::map<std::string, count> counts_;
};

struct view_context {
  std::string node; // this node's name
  restart_memory* restarts = nullptr;
  usage_cache* usage = nullptr; // cpu and memory of each service; none: zeros (in lists)
};

nlohmann::json service_details(const deployment_record& d, const std::string& service,
                               uint32_t desired, const service_sample* live,
                               const view_context& ctx);

nlohmann::json deployment_details(const deployment_record& d, const deployment_sample* live,
                                  const view_context& ctx);

// ZLayer's status words: pending, deploying, running, failed: <message>, stopped.
std::string deployment_status(const deployment_record& d, const deployment_sample* live);

std::string rfc3339_us(int64_t us);

} // namespace nv
