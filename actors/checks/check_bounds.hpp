// How a check ends: the clock its timeout is measured on, and the results of a check that failed
// or exceeded its timeout. The runner enforces the timeout itself, from the moment a check starts.
#pragma once

#include <chrono>
#include <string>

#include "messages/check.hpp"

namespace nv {

using check_clock = std::chrono::steady_clock;

// `Timeout after 500ms`: the reason of every check that exceeds its timeout, AgentError's
// Timeout text.
std::string timeout_reason(duration timeout);

// The failure of a check that exceeded `timeout`.
check_result timed_out(duration timeout);

// The failure of a check for `reason`.
check_result failed(std::string reason);

} // namespace nv
