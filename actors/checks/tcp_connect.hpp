// The tcp check: can a connection to host:port be opened within the timeout?
#pragma once

#include <cstdint>
#include <string>

#include "actors/checks/check_bounds.hpp"

namespace nv {

// Resolves `host` (a name or a literal address), then tries each address with a non-blocking
// connect until one connects. Fails with e.g. "connection refused to 127.0.0.1:5432", or
// `Timeout after <timeout>` at the deadline. Blocks its thread: for check_runner's workers.
check_result tcp_connect(const std::string& host, uint16_t port, const check_bounds& bounds);

} // namespace nv
