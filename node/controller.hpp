// What the control API does, apart from HTTP: each call checks its input, makes the change
// durable in the state store, then tells the node actor (request/response, with a timeout),
// and answers with design.md §8's status and body. Called from the API's own threads, never
// from a CAF scheduler thread; changes are serialized (a second apply waits for the first), reads
// are not.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/plan.hpp"
#include "node/api_answer.hpp"
#include "node/deployment_view.hpp"
#include "node/state_store.hpp"

namespace nv {

class supervision_memory;

struct controller_config {
  std::string node_name;
  std::string runtime = "process";                   // what serves linux: process | sim | oci
  std::map<std::string, std::string> other_runtimes; // what serves another OS (sim), by OS
  std::chrono::milliseconds tree_timeout{2000};      // for one question to the tree
  std::string version;
  // Where the supervisors' memory is kept (the keeper); restore() takes what the daemon before
  // this one wrote there. Null: nothing outlives the daemon.
  supervision_memory* memory = nullptr;
  // The node's links to its peers (peer_mesh.hpp), when it is in a cluster; null: no peers.
  caf::actor peers;
  std::string address; // this node's middleman HOST:PORT, in a cluster
};

class controller {
public:
  controller(caf::actor_system& sys, caf::actor node, state_store& store, controller_config cfg);

  // Brings back every deployment whose desired state is running, in creation order. A spec
  // that no longer plans is logged and left out (it stays stored); the daemon goes on.
  void restore();
  bool ready() const { return ready_; }

  api_answer list();
  api_answer get(const std::string& name);
  api_answer stored_spec(const std::string& name);
  // `file`: where the text came from, for the problems' lines ("<request>", a manifest path).
  // `source`: the manifest that owns the deployment (stored with it); empty: the API.
  api_answer create(const std::string& text, bool dry_run, const std::string& file,
                    const std::string& source = {});
  // `name` empty: whatever the spec names (a manifest, `deploy`); else it must match.
  api_answer apply(const std::string& name, const std::string& text, bool dry_run,
                   const std::string& file, const std::string& source = {});
  // create, or apply when the deployment exists.
  api_answer deploy(const std::string& text, bool dry_run, const std::string& file,
                    const std::string& source = {});
  // Every stored deployment, as the store has it (the manifests' owners among them).
  std::vector<stored_deployment> stored() const;
  api_answer stop(const std::string& name);
  api_answer start(const std::string& name);
  api_answer remove(const std::string& name);
  api_answer services(const std::string& deployment);
  api_answer service(const std::string& deployment, const std::string& service);
  api_answer scale(const std::string& deployment, const std::string& service, int64_t replicas);
  api_answer restart(const std::string& deployment, const std::string& service);
  api_answer tree();
  api_answer nodes();
  // ZLayer's scheduler call: scale a service named without its deployment; a service whose OS
  // this node does not run answers 200 with `reroute_to_os` (its RouteToPeer).
  api_answer internal_scale(const nlohmann::json& body);
  nlohmann::json capabilities() const;
  // OS → the runtime that serves it here: {"linux": "process", "windows": "sim"}.
  nlohmann::json runtimes_served() const;
  int64_t uptime_secs() const;

  // Stops every deployment, in reverse creation order, each fully before the next; the desired
  // state is left as it is. For SIGTERM.
  void stop_all();

  const controller_config& config() const { return cfg_; }
  tree_sample sample();

private:
  struct planned {
    deployment_plan plan;
    std::string canonical;
    std::vector<std::pair<std::string, uint32_t>> services;
  };
  // The plan of `text`, or the 400 answer listing its problems.
  std::variant<planned, api_answer> plan_text(const std::string& text, const std::string& file);
  deployment_record record_of(const stored_deployment& row) const;
  api_answer details(const stored_deployment& row, int status = 200);
  std::optional<AgentError> tell_deploy(const deployment_plan& plan);
  std::optional<AgentError> tell_remove(const std::string& name);
  api_answer store_failure(const store_error& e);

  caf::actor_system& sys_;
  caf::actor node_;
  state_store& store_;
  controller_config cfg_;
  std::atomic<bool> ready_{false};
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::mutex change_mu_;                       // one change at a time
  mutable std::mutex mu_;                      // what follows
  std::map<std::string, planned> running_;     // the plan each deployment in the tree runs
  std::map<std::string, std::string> refused_; // why the tree does not run one it should
  restart_memory restarts_;
  usage_cache usage_; // its own lock: read outside mu_ too
};

} // namespace nv
