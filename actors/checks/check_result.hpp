// The outcome of one check (tcp connect, HTTP GET, shell command), and the message a
// check_runner answers with.
#pragma once

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>

#include "messages/agent_error.hpp"
#include "trace/message_trace.hpp"

namespace nv {

struct check_result {
  bool ok = false;
  // It exceeded its timeout; `reason` is then exactly `Timeout after <timeout>`.
  bool timed_out = false;
  std::string reason;  // why it failed, e.g. "connection refused to 127.0.0.1:5432"; empty when ok
  duration latency{0}; // from the start of the check to its outcome
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, check_result& x) {
  return f(caf::meta::type_name("check_result"), x.ok, x.timed_out, x.reason, x.latency);
}

// What a check_runner sends the actor that submitted a check: `ticket` is submit's return value,
// so an actor tells the answer of its current check from a late one.
struct check_done {
  uint64_t ticket = 0;
  check_result result;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, check_done& x) {
  return f(caf::meta::type_name("check_done"), x.ticket, x.result);
}

// For message tracing (trace/message_trace.hpp).
inline const char* describe(const check_done& x, std::string& summary) {
  summary += x.result.ok ? std::string_view{"ok"} : std::string_view{x.result.reason};
  return "check_done";
}

} // namespace nv
