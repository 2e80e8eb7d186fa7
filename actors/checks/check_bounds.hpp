// How a check ends: the clock its timeout is measured on, and the results of a check that failed
// or exceeded its timeout. The runner enforces the timeout itself, from the moment a check starts.
#pragma once

#include <chrono>
#include <string>

#include "messages/check.hpp"

namespace nv {

using check_clock = std::chrono::steady_clock;

// `Timeout after 500ms`: AgentError's Timeout text, which ends the reason of every check that
// exceeds its timeout.
std::string timeout_reason(duration timeout);

// What a check probes, as its failure reasons begin (design: a reason names what was probed):
// "tcp 127.0.0.1:5432", "http://127.0.0.1:17011/health", "command 'pg_isready'".
std::string probed(const check& c);
std::string probed_tcp(const std::string& host, uint16_t port);
std::string probed_command(const std::string& command);

// The failure of a check of `what` (probed()) that exceeded `timeout`:
// "tcp 127.0.0.1:5432: Timeout after 500ms".
check_result timed_out(const std::string& what, duration timeout);

// The failure of a check for `reason`.
check_result failed(std::string reason);

} // namespace nv
