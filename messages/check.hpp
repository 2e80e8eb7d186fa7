// The checks a probe, an init step or a dependency can run: one vocabulary from the spec down to
// the reactor that runs them (design §5: `health.check` and the `init.wait_*` / `init.run` actions).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace nv {

// Can a connection to host:port be opened?
struct tcp_check {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  bool operator==(const tcp_check&) const = default;
};

// Does a GET of the url answer with the expected status (none: any 2xx)?
struct http_check {
  std::string url;
  std::optional<uint16_t> expect_status;
  bool operator==(const http_check&) const = default;
};

// Does `sh -c command` exit 0?
struct command_check {
  std::string command;
  bool operator==(const command_check&) const = default;
};

using check = std::variant<tcp_check, http_check, command_check>;

} // namespace nv
