// A service's init steps (design §5: `init.steps`), run one after another before its replicas,
// and what the service does once the sequence has failed (`errors.on_init_failure`).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "messages/agent_error.hpp"
#include "messages/check.hpp"
#include "messages/dependency.hpp"

namespace nv {

// `uses: init.wait_tcp` is a tcp check, `init.wait_http` an http check (tried again until
// `action_timeout`), `init.run` a command check (run once per attempt, bounded by it).
struct init_step {
  std::string id;
  check action;
  duration action_timeout = std::chrono::seconds{30}; // `with.timeout`: 300 s for init.run
  duration timeout = std::chrono::seconds{300};       // bounds the whole step, all attempts
  failure_action on_failure = failure_action::fail;
  std::optional<uint32_t> retry; // extra attempts after a failed one
  bool operator==(const init_step&) const = default;
};

enum class init_failure_policy : uint8_t {
  fail,    // no retry
  restart, // 3 retries, 100 ms apart
  backoff, // 3 retries after 1s, 2s, 4s (doubling, capped at 60s)
};

// The delay before running the sequence again after its `failures`-th failure (1 after the
// first), or nullopt when `policy` allows no further retry.
std::optional<duration> init_retry_delay(init_failure_policy policy, uint32_t failures);

} // namespace nv
