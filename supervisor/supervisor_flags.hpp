#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "messages/agent_error.hpp"

namespace nv {

enum class restart_strategy : uint8_t { one_for_one, one_for_all, rest_for_one };

std::string_view to_string(restart_strategy s);
bool from_string(std::string_view name, restart_strategy& out);

// Per child, counted inside the window: restart 1 immediate, restart k waits initial*2^(k-2),
// capped at max.
struct backoff_policy {
  duration initial = std::chrono::seconds{1};
  duration max = std::chrono::seconds{300};
};

struct supervisor_flags {
  restart_strategy strategy = restart_strategy::one_for_one;
  uint32_t max_restarts = 5; // ZLayer's defaults: 5 restarts in 300 s
  duration window = std::chrono::seconds{300};
  backoff_policy backoff;
  // Stop all children at once (a service's replicas) instead of one at a time in reverse
  // start order (a deployment's services).
  bool parallel_stop = false;
};

duration backoff_delay(const backoff_policy& policy, std::size_t restart_number);

} // namespace nv
