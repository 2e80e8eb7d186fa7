#include "actors/checks/run_shell.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <system_error>
#include <unistd.h>

#include "posix/child_process.hpp"

namespace nv {

namespace {

// Enough for the last line of any sensible diagnostic, small enough to keep per worker.
constexpr std::size_t output_tail = 4096;

// Appends what `fd` (non-blocking) has to `tail`, keeping its last output_tail bytes. False once
// the writers have all closed it (or it failed): nothing more will come.
bool drain(int fd, std::string& tail) {
  char buf[4096];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      tail.append(buf, static_cast<std::size_t>(n));
      if (tail.size() > output_tail)
        tail.erase(0, tail.size() - output_tail);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    return n < 0 && errno == EAGAIN;
  }
}

} // namespace

check_result run_shell(const std::string& command, const std::vector<std::string>& env,
                       const std::string& workdir, const check_bounds& bounds) {
  unique_fd devnull{::open("/dev/null", O_RDONLY | O_CLOEXEC)};
  if (!devnull)
    return failed("open /dev/null: " + std::generic_category().message(errno));
  const std::vector<std::string> argv{"sh", "-c", command};
  auto spawned = spawn_child(spawn_request{argv, env, workdir, devnull.get()});
  if (!spawned.error.empty())
    return failed(std::move(spawned.error));
  auto& child = spawned.child;
  std::string tail;
  std::array<pollfd, 2> fds{{{child.output.get(), POLLIN, 0}, {child.pidfd.get(), POLLIN, 0}}};
  for (bool exited = false; !exited;) {
    if (!wait_for(fds, bounds)) {
      signal_group(child.pid, SIGKILL); // before the reap: the zombie keeps the group id ours
      reap(child.pid, true);
      return timed_out(bounds);
    }
    if (fds[0].revents != 0 && !drain(child.output.get(), tail))
      fds[0].fd = -1; // at its end: poll skips negative descriptors
    exited = fds[1].revents != 0;
  }
  if (fds[0].fd >= 0)
    drain(child.output.get(), tail);    // what it wrote just before exiting
  auto status = *reap(child.pid, true); // a blocking reap always has a status
  if (status.code == 0)
    return check_result{true, false, {}, {}};
  return failed(exit_code_reason(status.code, tail));
}

std::string exit_code_reason(int32_t code, std::string_view output) {
  auto end = output.find_last_not_of(" \t\r\n");
  std::string reason = "exit code " + std::to_string(code);
  if (end == std::string_view::npos)
    return reason;
  output = output.substr(0, end + 1);
  auto start = output.find_last_of('\n');
  auto line = start == std::string_view::npos ? output : output.substr(start + 1);
  return reason.append(": ").append(line);
}

} // namespace nv
