// The typed model of a deployment spec (ZLayer's schema, design.md §5), with every default
// filled in. Both YAML and JSON load into it; plain data, compared with ==.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "messages/agent_error.hpp"
#include "messages/container_spec.hpp"
#include "messages/dependency.hpp"
#include "messages/health.hpp"
#include "messages/init_step.hpp"
#include "messages/sim_behavior.hpp"
#include "messages/supervision.hpp"

namespace nv::spec {

enum class service_kind : uint8_t { service, job }; // the spec's `rtype`

enum class restart_kind : uint8_t { no, always, unless_stopped, on_failure };

struct image_spec {
  std::string name;
  pull_policy pull = pull_policy::if_not_present;
  bool operator==(const image_spec&) const = default;
};

struct command_spec {
  std::vector<std::string> entrypoint;
  std::vector<std::string> args;
  std::string workdir; // empty: the runtime's default
  bool operator==(const command_spec&) const = default;
};

struct platform_spec {
  std::string os;   // OCI name: linux | windows | darwin (the spec's `macos` is `darwin`)
  std::string arch; // amd64 | arm64; empty: any
  bool operator==(const platform_spec&) const = default;
};

struct resources_spec {
  std::optional<double> cpu;      // cores
  std::optional<uint64_t> memory; // bytes
  std::optional<gpu_request> gpu;
  bool operator==(const resources_spec&) const = default;
};

struct errors_spec {
  init_failure_policy on_init_failure = init_failure_policy::fail;
  panic_action on_panic = panic_action::restart;
  bool operator==(const errors_spec&) const = default;
};

struct service_spec {
  std::string name;
  service_kind rtype = service_kind::service;
  image_spec image;
  command_spec command;
  // In file order, values as written: `$E:VAR` is resolved once, when the deployment is planned
  // (env.hpp).
  std::vector<std::pair<std::string, std::string>> env;
  // Replicas to start: `scale.replicas` (fixed), `scale.min` (adaptive), otherwise 1.
  uint32_t replicas = 1;
  std::optional<platform_spec> platform; // none: any platform
  int stop_signal = SIGTERM;
  duration stop_grace_period = std::chrono::seconds{30};
  std::optional<restart_kind> restart_policy;
  resources_spec resources;
  std::optional<health_spec> health; // none: no probe, and healthy means running
  std::vector<dependency> depends;
  std::vector<init_step> init; // `init.steps`
  // `init: true` (Compose's, docker run --init), or `init.process: true` beside steps: the
  // container's PID 1 is an init that forwards signals to the entrypoint and reaps orphans.
  bool init_process = false;
  errors_spec errors;
  supervisor_flags supervision; // nodevisor's own `supervision` block; defaults are ZLayer's
  sim_behavior sim;
  // nodevisor's own `replica_port: <base>`: replica N gets port base + N - 1, as NODEVISOR_PORT
  // in its environment and as ${NODEVISOR_PORT} (port 0 in a tcp check) in its fields.
  std::optional<uint16_t> replica_port;
  std::string user; // ZLayer's `user` (docker's forms); empty: nodevisor's own
  // ZLayer's `endpoints`: the ports it serves (`target_port`, else `port`); the rest of an
  // endpoint (name, path, expose) is the proxy's, which nodevisor does not have.
  std::vector<host_port> endpoints;
  bool operator==(const service_spec&) const = default;
};

struct deployment_spec {
  std::string name; // the spec's `deployment`
  supervisor_flags supervision;
  std::vector<service_spec> services; // in file order
  bool operator==(const deployment_spec&) const = default;
};

// `restart_policy.kind` decides when present (always, unless_stopped: permanent; on_failure:
// transient; no: temporary); otherwise `rtype` does (service: permanent; job: transient).
restart_type restart_type_of(const service_spec& service);

} // namespace nv::spec
