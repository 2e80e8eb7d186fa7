#include "messages/init_step.hpp"

#include <algorithm>

namespace nv {

std::optional<duration> init_retry_delay(init_failure_policy policy, uint32_t failures) {
  constexpr uint32_t max_retries = 3; // ZLayer's DEFAULT_MAX_INIT_RETRIES
  if (failures < 1 || failures > max_retries)
    return std::nullopt;
  switch (policy) {
  case init_failure_policy::fail:
    return std::nullopt;
  case init_failure_policy::restart:
    return std::chrono::milliseconds{100};
  case init_failure_policy::backoff:
    return std::min<duration>(std::chrono::seconds{1} * (1u << (failures - 1)),
                              std::chrono::seconds{60});
  }
  return std::nullopt;
}

} // namespace nv
