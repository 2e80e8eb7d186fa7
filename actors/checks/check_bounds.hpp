// How long a check may take, and how it learns that nobody waits for its answer any more. Checks
// block their worker thread, so both limits act where a check waits: in poll.
#pragma once

#include <chrono>
#include <poll.h>
#include <span>
#include <string>

#include "actors/checks/check_result.hpp"

namespace nv {

using check_clock = std::chrono::steady_clock;

struct check_bounds {
  duration timeout{0};              // as configured: the `Timeout after …` reason names it
  check_clock::time_point deadline; // the check fails with that reason once this has passed
  int cancel_fd = -1;               // readable once the check was cancelled; -1: never cancelled
};

// `Timeout after 500ms`: the reason of every check that exceeds its timeout, AgentError's
// Timeout text.
std::string timeout_reason(duration timeout);

// The failure of a check that exceeded bounds.timeout.
check_result timed_out(const check_bounds& bounds);

// The failure of a check for `reason`.
check_result failed(std::string reason);

// Waits until one of `fds` has an event (their revents are set); false when the deadline passed
// or the check was cancelled first (or poll itself failed, which only lack of memory causes). A
// cancelled check ends as if it had timed out: the runner drops the answer of a cancelled check, so
// nobody sees the difference.
bool wait_for(std::span<pollfd> fds, const check_bounds& bounds);

// Without waiting: was the check cancelled?
bool cancelled(const check_bounds& bounds);

} // namespace nv
