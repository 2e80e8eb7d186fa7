// `failure`: what a child sends its parent when it fails. The parent decides what happens.
#pragma once

#include <cstdint>
#include <string>

#include "messages/agent_error.hpp"

namespace nv {

struct failure {
  std::string path;     // the ORIGINAL failing actor's path; kept unchanged through escalation
  AgentError error;     // the ORIGINAL error; never wrapped
  uint32_t attempt = 0; // restarts of the failing child before this failure
  int64_t ts_us = 0;    // wall clock, microseconds since the epoch
  uint64_t cause = 0;   // trace seq of the event that recorded this failure (0: untraced)
};

int64_t now_us();

} // namespace nv
