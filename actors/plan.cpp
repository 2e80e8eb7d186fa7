#include "actors/plan.hpp"

namespace nv {

std::string_view to_string(wait_condition c) {
  switch (c) {
  case wait_condition::started:
    return "started";
  case wait_condition::healthy:
    return "healthy";
  case wait_condition::ready:
    return "ready";
  }
  return "healthy";
}

std::string_view to_string(timeout_action a) {
  switch (a) {
  case timeout_action::fail:
    return "fail";
  case timeout_action::warn:
    return "warn";
  case timeout_action::proceed:
    return "continue";
  }
  return "fail";
}

bool satisfies(lifecycle state, wait_condition condition) {
  // A job that completed has done everything a dependent can wait for.
  if (state == lifecycle::completed)
    return true;
  switch (condition) {
  case wait_condition::started:
    return state == lifecycle::running || state == lifecycle::healthy ||
           state == lifecycle::unhealthy || state == lifecycle::degraded;
  case wait_condition::healthy:
  case wait_condition::ready:
    return state == lifecycle::healthy;
  }
  return false;
}

} // namespace nv
