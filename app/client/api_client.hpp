// The CLI's side of the control API (design.md §8): where the daemon is, how to reach it, and
// what its answers mean for an exit code. A verb asks through an api_client and lets a
// client_error leave with the text and the exit code the user gets.
#pragma once

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace nv::client {

// The exit codes of §8.
inline constexpr int exit_failed = 1;      // the operation failed
inline constexpr int exit_usage = 2;       // invalid spec or usage
inline constexpr int exit_unreachable = 3; // daemon unreachable or not permitted

// A failure the user reads on stderr, and the exit code that goes with it.
struct client_error : std::runtime_error {
  client_error(int code, const std::string& message) : std::runtime_error{message}, code{code} {}
  int code;
};

inline constexpr std::string_view default_host = "unix:///run/nodevisor/nodevisor.sock";

// What the command line says about the connection; empty: ask the environment.
struct connection_options {
  std::string host;       // --host, else $NODEVISOR_HOST, else default_host
  std::string token_file; // --token-file, else $NODEVISOR_TOKEN_FILE; TCP only
};

struct endpoint {
  bool is_unix = true;
  std::string path; // the socket, for unix
  std::string host; // for tcp
  int port = 0;
  std::string token; // bearer token, for tcp
  std::string shown; // unix:///path or tcp://host:port, for messages
};

// Parses `unix:///path` or `tcp://HOST:PORT`; throws client_error (exit 2) naming what was
// expected.
endpoint parse_host(std::string_view text);

// The token in `path`, read by the daemon's own rule (posix/token_file: mode 0600 or 0400,
// owned by this user or root, one line), since the token is the whole authorization on TCP.
// Throws client_error (exit 2) naming the file and the remedy.
std::string read_token_file(const std::string& path);

// The endpoint the options and the environment choose, with the token read when it is TCP.
endpoint resolve_endpoint(const connection_options& opts);

struct api_response {
  int status = 0;
  std::string body;
};

class api_client {
public:
  explicit api_client(endpoint ep);

  // One request; the answer whatever its status. A connection failure throws client_error
  // (exit 3) saying why: no daemon on the socket, or not permitted (with the socket's group).
  api_response get(const std::string& path);
  api_response post(const std::string& path, const std::string& json_body);
  api_response put(const std::string& path, const std::string& json_body);
  api_response del(const std::string& path);

  // A GET whose body may never end (follow): each piece of a 2xx body goes to `sink` as it
  // arrives, with no read timeout; an error answer is collected and returned instead.
  api_response stream(const std::string& path, const std::function<void(std::string_view)>& sink);

  // How long an answer may take. A change that stops or restarts services (rm, stop, restart,
  // an apply) answers once they have stopped, which grace periods can make minutes.
  void set_read_timeout(std::chrono::seconds t) { read_timeout_ = t; }

  const endpoint& where() const { return ep_; }

private:
  endpoint ep_;
  std::chrono::seconds read_timeout_{30};
};

// The text of an answer that is not 2xx: the AgentError's `message` from `{"error": {...}}`
// (printable), else the status and the start of the body.
std::string error_text(const api_response& r);
// The AgentError's `kind`, or empty.
std::string error_kind(const api_response& r);

// Throws client_error for a non-2xx answer: exit 1, or 3 for 401 (not permitted: the token).
void expect_success(const api_response& r);

// `text` made safe for a URL's path segment (keep_slash false) or query value.
std::string url_encode(std::string_view text, bool keep_slash = false);

} // namespace nv::client
