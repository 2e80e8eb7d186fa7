#include "actors/checks/check_bounds.hpp"

namespace nv {

std::string timeout_reason(duration timeout) {
  return to_string(AgentError{Timeout{timeout}});
}

std::string probed_tcp(const std::string& host, uint16_t port) {
  auto h = host.find(':') == std::string::npos ? host : "[" + host + "]";
  return "tcp " + h + ":" + std::to_string(port);
}

std::string probed_command(const std::string& command) {
  return "command '" + command + "'";
}

std::string probed(const check& c) {
  if (const auto* tcp = std::get_if<tcp_check>(&c))
    return probed_tcp(tcp->host, tcp->port);
  if (const auto* http = std::get_if<http_check>(&c))
    return http->url;
  return probed_command(std::get<command_check>(c).command);
}

check_result timed_out(const std::string& what, duration timeout) {
  return check_result{false, true, what + ": " + timeout_reason(timeout), {}};
}

check_result failed(std::string reason) {
  return check_result{false, false, std::move(reason), {}};
}

} // namespace nv
