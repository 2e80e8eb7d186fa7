// What a runtime needs to create one replica: plain data, built by the service supervisor
// from the deployment spec.
#pragma once

#include <any>
#include <csignal>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "messages/agent_error.hpp"

namespace nv {

// When a runtime with images fetches one: `newer` checks the registry like `always` (the copy is
// content-addressed, so an unchanged image costs its manifest).
enum class pull_policy : uint8_t { always, newer, if_not_present, never };

// A port a container serves on the host (its spec's `endpoints`, on the host's network): one
// that something else holds already fails the create with Network, before anything starts.
struct host_port {
  uint16_t port = 0;
  bool udp = false;
  bool operator==(const host_port&) const = default;
};

enum class gpu_sharing : uint8_t { exclusive, mps, time_slice };

// ZLayer's `resources.gpu`, the part that a node acts on: which devices and how many, and, for
// NVIDIA's MPS, where its control daemon's pipes and logs are.
struct gpu_request {
  uint32_t count = 1;
  std::string vendor = "nvidia"; // nvidia | amd | intel | apple
  gpu_sharing sharing = gpu_sharing::exclusive;
  std::string mps_pipe_dir = "/tmp/nvidia-mps";
  std::string mps_log_dir = "/tmp/nvidia-log";
  bool operator==(const gpu_request&) const = default;
};

struct container_spec {
  std::string deployment;
  std::string service;
  uint32_t replica = 1; // 1-based
  std::string id;       // ZLayer's replica id: "{service}-rep-{replica}"
  std::string image;
  pull_policy pull = pull_policy::if_not_present;
  std::vector<std::string> command; // entrypoint followed by args
  std::vector<std::pair<std::string, std::string>> env;
  std::string workdir;
  // Who its processes run as, docker's forms: name, uid, name:group, uid:gid; empty: the
  // runtime's own user.
  std::string user;
  std::string os = "linux"; // OCI name: linux | windows | darwin
  int stop_signal = SIGTERM;
  // Limits, for a runtime that enforces them (the oci runtime, through cgroups).
  std::optional<double> cpu;      // cores
  std::optional<uint64_t> memory; // bytes
  // A runtime that cannot give its containers GPUs fails a create that asks for one (Unsupported)
  // rather than run it without.
  std::optional<gpu_request> gpu;
  std::vector<host_port> ports;
  // PID 1 of its container is an init (docker run --init) that forwards signals to the command
  // and reaps orphans, for a command that installs no handler for its stop signal.
  bool init_process = false;
  // What only the runtime that serves it understands (containerd's `options`): the sim runtime's
  // sim_behavior, say. Opaque to everything above the runtime; empty: the runtime's defaults.
  std::any options;
};

// The runtime's handle of a container: replica ids repeat across the deployments of one node,
// so a runtime keys its containers by deployment and id ("shop/api-rep-1"), and names a
// container in its errors by the replica id alone (replica_of).
inline std::string runtime_key(const container_spec& spec) {
  return spec.deployment.empty() ? spec.id : spec.deployment + "/" + spec.id;
}

inline std::string replica_of(const std::string& key) {
  auto slash = key.rfind('/');
  return slash == std::string::npos ? key : key.substr(slash + 1);
}

inline std::string replica_id(const std::string& service, uint32_t replica) {
  return service + "-rep-" + std::to_string(replica);
}

} // namespace nv
