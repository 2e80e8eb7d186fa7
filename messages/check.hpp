// The checks a probe, an init step or a dependency can run: one vocabulary from the spec down to
// the reactor that runs them (design §5: `health.check` and the `init.wait_*` / `init.run`
// actions).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "messages/agent_error.hpp"

namespace nv {

// Can a connection to host:port be opened?
struct tcp_check {
  uint16_t port = 0;
  std::string host = "127.0.0.1"; // a health check's is the replica's own host
  bool operator==(const tcp_check&) const = default;
};

// Does a GET of the url answer with the expected status? A health check expects 200 unless it
// says otherwise; an init.wait_http step with no expect_status takes any 2xx.
struct http_check {
  std::string url;
  std::optional<uint16_t> expect_status; // none: any 2xx
  bool operator==(const http_check&) const = default;
};

// Does `sh -c command` exit 0?
struct command_check {
  std::string command;
  bool operator==(const command_check&) const = default;
};

using check = std::variant<tcp_check, http_check, command_check>;

// The outcome of one check.
struct check_result {
  bool ok = false;
  // It exceeded its timeout; `reason` then ends with `: Timeout after <timeout>`.
  bool timed_out = false;
  // Why it failed, naming what was probed: "tcp 127.0.0.1:5432: connection refused",
  // "http://127.0.0.1:17011/health → 404", "command 'pg_isready' exited 1: <last line>".
  // Empty when ok.
  std::string reason;
  duration latency{0}; // from the start of the check to its outcome
};

// What the check runner sends the actor that submitted a check: `ticket` is what submit
// returned, so an actor tells the answer of its current check from a late one.
struct check_done {
  uint64_t ticket = 0;
  check_result result;
};

} // namespace nv
