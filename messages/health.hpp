// A service's `health` block (design §5): how its probe checks each replica.
#pragma once

#include <chrono>
#include <cstdint>

#include "messages/agent_error.hpp"
#include "messages/check.hpp"

namespace nv {

struct health_spec {
  duration start_grace = std::chrono::seconds{5};
  duration interval = std::chrono::seconds{10}; // from the end of one check to the next start
  duration timeout = std::chrono::seconds{5};   // per check; may exceed interval
  uint32_t retries = 3;                         // consecutive failed checks that fail the replica
  nv::check check; // a command check runs inside the replica's container
  bool operator==(const health_spec&) const = default;
};

} // namespace nv
