#include "messages/runtime_messages.hpp"

namespace nv {

std::string_view to_string(runtime_op op) {
  switch (op) {
  case runtime_op::pull:
    return "pull";
  case runtime_op::create:
    return "create";
  case runtime_op::start:
    return "start";
  case runtime_op::stop:
    return "stop";
  case runtime_op::remove:
    return "remove";
  }
  return "unknown";
}

std::string_view to_string(container_state s) {
  switch (s) {
  case container_state::unknown:
    return "unknown";
  case container_state::created:
    return "created";
  case container_state::running:
    return "running";
  case container_state::stopping:
    return "stopping";
  case container_state::exited:
    return "exited";
  }
  return "unknown";
}

} // namespace nv
