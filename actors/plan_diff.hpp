// What an apply changes: the running plan of a deployment against the wanted one, service by
// service and, for a service whose replicas alone changed, replica by replica. Pure data; the
// deployment and its services act on it, the daemon prints it for --dry-run.
#pragma once

#include <string>
#include <vector>

#include "actors/plan.hpp"

namespace nv {

// Replica ids ("api-rep-2") of a rolled service, per kind of change.
struct replica_changes {
  std::vector<std::string> unchanged; // same actor, same process
  std::vector<std::string> added;     // scale up
  std::vector<std::string> removed;   // scale down: the highest numbers
  std::vector<std::string> replaced;  // stopped, then started anew, one at a time
};

struct rolled_service {
  std::string name;
  replica_changes replicas;
};

struct deployment_change {
  std::string deployment;
  // created: the deployment was not in the tree, every service is `added`. replaced: its own
  // `supervision` changed, so the deployment is stopped and started again as a whole, and every
  // service of the wanted plan is `replaced`.
  enum class kind : uint8_t { apply, created, replaced };
  kind whole = kind::apply;
  // Service names, in the wanted plan's start order (removed ones in the running plan's).
  std::vector<std::string> unchanged; // not touched
  std::vector<std::string> added;     // started, in dependency order
  std::vector<std::string> removed;   // stopped in reverse dependency order, then forgotten
  std::vector<std::string> replaced;  // its shape changed: stopped, then started anew
  std::vector<rolled_service> rolled; // only its replicas changed

  // Nothing to do: an identical re-apply.
  bool empty() const;
  // {"deployment", "kind": "apply"|"created"|"replaced", "unchanged": [...], "added": [...],
  //  "removed": [...], "replaced": [...], "rolled": [{"service", "unchanged", "added", "removed",
  //  "replaced"}]}
  std::string to_json() const;
};

const char* to_string(deployment_change::kind k);

// Whether `name` is one of `names` (a change's lists of services and replicas).
bool listed(const std::vector<std::string>& names, const std::string& name);

// True when both are known (non-empty) and equal: an unknown fingerprint counts as changed.
bool same_fingerprint(const std::string& a, const std::string& b);

// Service by service: unchanged, added, removed, replaced (shape changed), or rolled (replicas
// only). When a service is replaced, the others follow the wanted plan's strategy as on a restart
// of it: rest_for_one replaces those after it in start order, one_for_all all of them.
// Deployment-level flags are not compared here: the node replaces a deployment whose
// `supervision` changed (deployment_change::kind::replaced).
deployment_change diff_plans(const deployment_plan& running, const deployment_plan& wanted);

// Replica by replica, matched on id.
replica_changes diff_replicas(const service_plan& running, const service_plan& wanted);

} // namespace nv
