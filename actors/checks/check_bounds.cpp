#include "actors/checks/check_bounds.hpp"

namespace nv {

std::string timeout_reason(duration timeout) {
  return to_string(AgentError{Timeout{timeout}});
}

check_result timed_out(duration timeout) {
  return check_result{false, true, timeout_reason(timeout), {}};
}

check_result failed(std::string reason) {
  return check_result{false, false, std::move(reason), {}};
}

} // namespace nv
