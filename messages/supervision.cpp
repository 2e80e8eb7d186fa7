#include "messages/supervision.hpp"

#include <algorithm>

namespace nv {

std::string_view to_string(restart_strategy s) {
  switch (s) {
  case restart_strategy::one_for_one:
    return "one_for_one";
  case restart_strategy::one_for_all:
    return "one_for_all";
  case restart_strategy::rest_for_one:
    return "rest_for_one";
  }
  return "unknown";
}

bool from_string(std::string_view name, restart_strategy& out) {
  for (auto s : {restart_strategy::one_for_one, restart_strategy::one_for_all,
                 restart_strategy::rest_for_one})
    if (to_string(s) == name) {
      out = s;
      return true;
    }
  return false;
}

std::string_view to_string(restart_type t) {
  switch (t) {
  case restart_type::permanent:
    return "permanent";
  case restart_type::transient:
    return "transient";
  case restart_type::temporary:
    return "temporary";
  }
  return "unknown";
}

duration backoff_delay(const backoff_policy& policy, std::size_t restart_number) {
  if (restart_number <= 1)
    return duration::zero();
  auto delay = policy.initial;
  for (std::size_t k = 2; k < restart_number && delay < policy.max; ++k)
    delay *= 2;
  return std::min(delay, policy.max);
}

duration backoff_reset_after(const supervisor_flags& flags) {
  return flags.backoff.reset_after.value_or(flags.window);
}

} // namespace nv
