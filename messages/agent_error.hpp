// AgentError: the typed failure that travels up the supervision tree.
// One struct per variant of ZLayer's agent error enum (crates/zlayer-agent/src/error.rs);
// to_string() reproduces the seed's display texts byte for byte.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json_fwd.hpp>

namespace nv {

using duration = std::chrono::nanoseconds;

struct NotFound {
  std::string container, reason;
  bool operator==(const NotFound&) const = default;
};
struct PullFailed {
  std::string image, reason;
  bool operator==(const PullFailed&) const = default;
};
struct CreateFailed {
  std::string id, reason;
  bool operator==(const CreateFailed&) const = default;
};
struct StartFailed {
  std::string id, reason;
  bool operator==(const StartFailed&) const = default;
};
struct UnexpectedExit {
  std::string id;
  int32_t code = 0;   // 128 + signal when killed by one (shell convention)
  int32_t signal = 0; // the signal that killed it; 0: it exited by itself. Not in the display text
                      // (the seed's) nor in the JSON form or on the wire (agent_error_fields.hpp):
                      // in-process only, for the trace's exit event and the status.
  bool oom_killed = false; // by the kernel, at its memory limit; in-process only, like `signal`
  bool operator==(const UnexpectedExit&) const = default;
};
struct HealthCheckFailed {
  std::string id, reason;
  bool operator==(const HealthCheckFailed&) const = default;
};
struct InitActionFailed {
  std::string id, reason;
  bool operator==(const InitActionFailed&) const = default;
};
struct Timeout {
  duration timeout{0};
  bool operator==(const Timeout&) const = default;
};
struct DependencyTimeout {
  std::string service, dependency, condition;
  duration timeout{0};
  bool operator==(const DependencyTimeout&) const = default;
};
struct InvalidSpec {
  std::string msg;
  bool operator==(const InvalidSpec&) const = default;
};
struct Network {
  std::string msg;
  bool operator==(const Network&) const = default;
};
struct Configuration {
  std::string msg;
  bool operator==(const Configuration&) const = default;
};
struct Internal {
  std::string msg;
  bool operator==(const Internal&) const = default;
};
struct Unsupported {
  std::string msg;
  bool operator==(const Unsupported&) const = default;
};
struct WslGpuUnavailable {
  std::string reason;
  bool operator==(const WslGpuUnavailable&) const = default;
};
struct GpuSharingUnavailable {
  std::string mode, reason;
  bool operator==(const GpuSharingUnavailable&) const = default;
};
struct RouteToPeer {
  std::string service, required_os, reason;
  bool operator==(const RouteToPeer&) const = default;
};
struct WrongPlatform {
  std::string runtime, expected, actual, image;
  bool operator==(const WrongPlatform&) const = default;
};

using AgentError =
    std::variant<NotFound, PullFailed, CreateFailed, StartFailed, UnexpectedExit, HealthCheckFailed,
                 InitActionFailed, Timeout, DependencyTimeout, InvalidSpec, Network, Configuration,
                 Internal, Unsupported, WslGpuUnavailable, GpuSharingUnavailable, RouteToPeer,
                 WrongPlatform>;

inline constexpr std::size_t agent_error_kinds = std::variant_size_v<AgentError>;

// Rust's `Debug` for `Duration`: 0ns, 7ns, 10µs, 200ms, 1.5s, 90s, 2.000001s (never minutes).
std::string format_duration(duration d);

// The seed's display text, e.g. "Dependency timeout: 'api' waiting for 'db' (healthy) after 300s".
std::string to_string(const AgentError& err);

// The variant's name, e.g. "DependencyTimeout"; stable, used as the JSON "kind".
std::string_view kind_name(const AgentError& err);

// Restarting cannot help: fail at once.
bool is_permanent(const AgentError& err);

// Not a container failure: forwarded unchanged to the node, never counted or wrapped.
bool is_reschedule_signal(const AgentError& err);

// JSON form: {"kind":"...", <fields>, "message":"<to_string>"}; durations as "<field>_ns".
void to_json(nlohmann::json& j, const AgentError& err);
void from_json(const nlohmann::json& j, AgentError& err);

} // namespace nv
