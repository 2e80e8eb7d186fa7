// How a supervisor restarts its children (design §3): OTP's restart types, strategies and
// intensity, and the per-child backoff. Plain data: the spec fills it in, the supervisor obeys it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "messages/agent_error.hpp"

namespace nv {

enum class restart_type : uint8_t {
  permanent, // always restarted
  transient, // restarted only after an abnormal exit
  temporary, // never restarted, not even by a sibling's group restart
};

enum class restart_strategy : uint8_t { one_for_one, one_for_all, rest_for_one };

// A service's `errors.on_panic`: what a replica's failure does to its service.
enum class panic_action : uint8_t {
  restart,  // as the service's strategy says
  shutdown, // stop the whole service and fail it
  isolate,  // leave that replica stopped, keep the others, the service is degraded
};

std::string_view to_string(restart_type t);
std::string_view to_string(restart_strategy s);
bool from_string(std::string_view name, restart_strategy& out);

// Per child, counted inside the window: restart 1 immediate, restart k waits initial*2^(k-2),
// capped at max. The count survives restarts of the child's parents; a child that stayed up
// `reset_after` starts again from restart 1.
struct backoff_policy {
  duration initial = std::chrono::seconds{1};
  duration max = std::chrono::seconds{300};
  std::optional<duration> reset_after; // none: the supervisor's window
  bool operator==(const backoff_policy&) const = default;
};

struct supervisor_flags {
  restart_strategy strategy = restart_strategy::one_for_one;
  uint32_t max_restarts = 5; // ZLayer's defaults: 5 restarts in 300 s
  duration window = std::chrono::seconds{300};
  backoff_policy backoff;
  bool operator==(const supervisor_flags&) const = default;
};

duration backoff_delay(const backoff_policy& policy, std::size_t restart_number);

// How long a child must stay up before its backoff starts again from the first restart.
duration backoff_reset_after(const supervisor_flags& flags);

} // namespace nv
