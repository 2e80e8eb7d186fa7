// `failure`: what a child sends its parent when it fails. The parent decides what happens.
#pragma once

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>

#include "messages/agent_error.hpp"
#include "messages/agent_error_inspect.hpp"

namespace nv {

struct failure {
  std::string path;     // the ORIGINAL failing actor's path; kept unchanged through escalation
  AgentError error;     // the ORIGINAL error; never wrapped
  uint32_t attempt = 0; // restarts of the failing child before this failure
  int64_t ts_us = 0;    // wall clock, microseconds since the epoch
  uint64_t cause = 0;   // trace seq of the event that recorded this failure (0: untraced)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, failure& x) {
  return f(caf::meta::type_name("failure"), x.path, x.error, x.attempt, x.ts_us, x.cause);
}

int64_t now_us();

} // namespace nv
