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
#include "supervisor/child_spec.hpp"
#include "supervisor/supervisor_flags.hpp"

namespace nv::spec {

enum class service_kind : uint8_t { service, job }; // the spec's `rtype`

enum class pull_policy : uint8_t { always, newer, if_not_present, never };

enum class restart_kind : uint8_t { no, always, unless_stopped, on_failure };

enum class dependency_condition : uint8_t { started, healthy, ready };

// What to do when a dependency wait or an init step runs out of time or fails. `continue`
// is a keyword, hence the underscore.
enum class failure_action : uint8_t { fail, warn, continue_ };

enum class init_failure_action : uint8_t { fail, restart, backoff };

enum class panic_action : uint8_t { restart, shutdown, isolate };

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
  bool operator==(const resources_spec&) const = default;
};

struct tcp_check {
  uint16_t port = 0;
  bool operator==(const tcp_check&) const = default;
};
struct http_check {
  std::string url;
  uint16_t expect_status = 200;
  bool operator==(const http_check&) const = default;
};
struct command_check {
  std::string command; // run with `sh -c`
  bool operator==(const command_check&) const = default;
};
using health_check = std::variant<tcp_check, http_check, command_check>;

struct health_spec {
  duration start_grace = std::chrono::seconds{5};
  duration interval =
      std::chrono::seconds{10}; // from the end of one check to the start of the next
  duration timeout = std::chrono::seconds{5};
  uint32_t retries = 3; // consecutive failures that make the replica unhealthy
  health_check check;
  bool operator==(const health_spec&) const = default;
};

struct dependency_spec {
  std::string service;
  dependency_condition condition = dependency_condition::healthy;
  duration timeout = std::chrono::seconds{300};
  failure_action on_timeout = failure_action::fail;
  bool operator==(const dependency_spec&) const = default;
};

// The init actions, named after their `uses` value.
struct init_wait_tcp {
  std::string host;
  uint16_t port = 0;
  duration timeout = std::chrono::seconds{30};
  bool operator==(const init_wait_tcp&) const = default;
};
struct init_wait_http {
  std::string url;
  std::optional<uint16_t> expect_status; // none: any 2xx
  duration timeout = std::chrono::seconds{30};
  bool operator==(const init_wait_http&) const = default;
};
struct init_run {
  std::string command; // run with `sh -c`
  duration timeout = std::chrono::seconds{300};
  bool operator==(const init_run&) const = default;
};
using init_action = std::variant<init_wait_tcp, init_wait_http, init_run>;

struct init_step {
  std::string id;
  init_action action;
  duration timeout = std::chrono::seconds{300};
  failure_action on_failure = failure_action::fail;
  std::optional<uint32_t> retry;
  bool operator==(const init_step&) const = default;
};

struct errors_spec {
  init_failure_action on_init_failure = init_failure_action::fail;
  panic_action on_panic = panic_action::restart;
  bool operator==(const errors_spec&) const = default;
};

// nodevisor's own `supervision` block; the defaults are ZLayer's supervisor constants.
struct supervision_spec {
  restart_strategy strategy = restart_strategy::one_for_one;
  uint32_t max_restarts = 5;
  duration window = std::chrono::seconds{300};
  duration backoff_initial = std::chrono::seconds{1};
  duration backoff_max = std::chrono::seconds{300};
  bool operator==(const supervision_spec&) const = default;
};

struct service_spec {
  std::string name;
  service_kind rtype = service_kind::service;
  image_spec image;
  command_spec command;
  // In file order, values as written: `$E:VAR` is resolved when a container starts (env.hpp).
  std::vector<std::pair<std::string, std::string>> env;
  // Replicas to start: `scale.replicas` (fixed), `scale.min` (adaptive), otherwise 1.
  uint32_t replicas = 1;
  std::optional<platform_spec> platform; // none: any platform
  int stop_signal = SIGTERM;
  duration stop_grace_period = std::chrono::seconds{30};
  std::optional<restart_kind> restart_policy;
  resources_spec resources;
  std::optional<health_spec> health; // none: no probe, and healthy means running
  std::vector<dependency_spec> depends;
  std::vector<init_step> init; // `init.steps`
  errors_spec errors;
  supervision_spec supervision;
  sim_behavior sim;
  bool operator==(const service_spec&) const = default;
};

struct deployment_spec {
  std::string name; // the spec's `deployment`
  supervision_spec supervision;
  std::vector<service_spec> services; // in file order
  bool operator==(const deployment_spec&) const = default;
};

// `restart_policy.kind` decides when present (always, unless_stopped: permanent; on_failure:
// transient; no: temporary); otherwise `rtype` does (service: permanent; job: transient).
restart_type restart_type_of(const service_spec& service);

} // namespace nv::spec
