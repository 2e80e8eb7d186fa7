#include "actors/checks/check_bounds.hpp"

#include <cerrno>
#include <ctime>
#include <vector>

namespace nv {

std::string timeout_reason(duration timeout) {
  return to_string(AgentError{Timeout{timeout}});
}

check_result timed_out(const check_bounds& bounds) {
  return check_result{false, true, timeout_reason(bounds.timeout), {}};
}

check_result failed(std::string reason) {
  return check_result{false, false, std::move(reason), {}};
}

bool wait_for(std::span<pollfd> fds, const check_bounds& bounds) {
  std::vector<pollfd> all{fds.begin(), fds.end()};
  all.push_back(pollfd{bounds.cancel_fd, POLLIN, 0}); // poll skips it when it is -1
  for (;;) {
    auto left = bounds.deadline - check_clock::now();
    if (left <= duration::zero())
      return false;
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(left);
    timespec ts{static_cast<time_t>(secs.count()), static_cast<long>((left - secs).count())};
    int rc = ::ppoll(all.data(), all.size(), &ts, nullptr);
    if (rc < 0 && errno == EINTR)
      continue;
    if (rc <= 0 || all.back().revents != 0)
      return false; // timed out (rc 0), cancelled, or poll itself failed
    for (std::size_t i = 0; i < fds.size(); ++i)
      fds[i].revents = all[i].revents;
    return true;
  }
}

bool cancelled(const check_bounds& bounds) {
  pollfd p{bounds.cancel_fd, POLLIN, 0};
  return bounds.cancel_fd >= 0 && ::poll(&p, 1, 0) > 0;
}

} // namespace nv
