// A service's `depends` entry (design §5) and what the wait for it does at its deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "messages/agent_error.hpp"
#include "messages/lifecycle.hpp"

namespace nv {

enum class dependency_condition : uint8_t { started, healthy, ready };

// What a dependency wait or an init step does when it runs out of time or fails. The spec's
// word for `proceed` is `continue`, a keyword here.
enum class failure_action : uint8_t { fail, warn, proceed };

std::string_view to_string(dependency_condition c);
std::string_view to_string(failure_action a);

struct dependency {
  std::string service;
  dependency_condition condition = dependency_condition::healthy;
  duration timeout = std::chrono::seconds{300};
  failure_action on_timeout = failure_action::fail;
  bool operator==(const dependency&) const = default;
};

// Is a service in `state` far enough for a dependent waiting on `condition`?
bool satisfies(lifecycle state, dependency_condition condition);

} // namespace nv
