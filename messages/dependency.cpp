#include "messages/dependency.hpp"

namespace nv {

std::string_view to_string(dependency_condition c) {
  switch (c) {
  case dependency_condition::started:
    return "started";
  case dependency_condition::healthy:
    return "healthy";
  case dependency_condition::ready:
    return "ready";
  }
  return "healthy";
}

std::string_view to_string(failure_action a) {
  switch (a) {
  case failure_action::fail:
    return "fail";
  case failure_action::warn:
    return "warn";
  case failure_action::proceed:
    return "continue";
  }
  return "fail";
}

bool satisfies(lifecycle state, dependency_condition condition) {
  // A job that completed has done everything a dependent can wait for.
  if (state == lifecycle::completed)
    return true;
  switch (condition) {
  case dependency_condition::started:
    return state == lifecycle::running || state == lifecycle::healthy ||
           state == lifecycle::unhealthy || state == lifecycle::degraded;
  case dependency_condition::healthy:
  case dependency_condition::ready:
    return state == lifecycle::healthy;
  }
  return false;
}

} // namespace nv
