#include "posix/wait_writable.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <poll.h>

namespace nv {

writable_wait
wait_writable(int fd, int wake,
              const std::function<std::chrono::steady_clock::time_point()>& deadline) {
  using steady = std::chrono::steady_clock;
  for (;;) {
    const auto until = deadline();
    const bool has_deadline = until != steady::time_point{};
    int timeout_ms = -1;
    if (has_deadline)
      timeout_ms = static_cast<int>(std::max<int64_t>(
          0, std::chrono::ceil<std::chrono::milliseconds>(until - steady::now()).count()));
    // Once there is a deadline, the eventfd stays readable and is left out.
    pollfd fds[2] = {{fd, POLLOUT, 0}, {wake, POLLIN, 0}};
    const int ready = poll(fds, has_deadline ? 1 : 2, timeout_ms);
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready <= 0)
      return writable_wait::gave_up;
    if (fds[0].revents & POLLOUT)
      return writable_wait::writable;
    if (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL))
      return writable_wait::hung_up;
  }
}

} // namespace nv
