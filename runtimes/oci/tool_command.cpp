#include "runtimes/oci/tool_command.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "posix/child_process.hpp"
#include "posix/unique_fd.hpp"

extern char** environ;

namespace nv::oci {

namespace {

constexpr std::size_t output_limit = 64 * 1024;

} // namespace

std::string tool_result::reason() const {
  if (timed_out)
    return "timed out";
  auto end = output.find_last_not_of(" \n\r\t");
  if (end == std::string::npos)
    return code < 0 ? "could not run" : "exited with code " + std::to_string(code);
  auto start = output.rfind('\n', end);
  auto line = output.substr(start == std::string::npos ? 0 : start + 1,
                            end + 1 - (start == std::string::npos ? 0 : start + 1));
  // Go programs log as time="..." level=fatal msg="...": the message is what a person reads.
  if (auto msg = line.find("msg=\""); msg != std::string::npos) {
    auto close = line.rfind('"');
    if (close > msg + 5)
      line = line.substr(msg + 5, close - msg - 5);
  }
  return line;
}

tool_result run_tool(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e)
    env.emplace_back(*e);
  unique_fd null_in{::open("/dev/null", O_RDONLY | O_CLOEXEC)};
  const std::string here;
  auto spawned =
      spawn_child({.argv = argv, .env = env, .workdir = here, .stdin_fd = null_in.get()});
  tool_result out;
  if (!spawned.error.empty()) {
    out.code = -1;
    out.output = spawned.error;
    return out;
  }
  auto& child = spawned.child;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool exited = false;
  char buffer[16 * 1024];
  auto keep = [&out, &buffer](ssize_t got) {
    auto room = output_limit - std::min(output_limit, out.output.size());
    out.output.append(buffer, std::min(static_cast<std::size_t>(got), room));
  };
  while (!exited) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 && !out.timed_out) {
      out.timed_out = true;
      signal_group(child.pid, SIGKILL);
    }
    pollfd fds[2] = {{child.pidfd.get(), POLLIN, 0}, {child.output.get(), POLLIN, 0}};
    int n = ::poll(fds, child.output ? 2 : 1, out.timed_out ? -1 : static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR)
      break;
    if (child.output && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      auto got = ::read(child.output.get(), buffer, sizeof buffer);
      if (got > 0)
        keep(got);
      else if (got == 0 || (errno != EAGAIN && errno != EINTR))
        child.output.reset();
    }
    exited = (fds[0].revents & POLLIN) != 0;
  }
  // What it wrote last is in the pipe; a descendant that kept the pipe does not hold us up.
  while (child.output) {
    auto got = ::read(child.output.get(), buffer, sizeof buffer);
    if (got <= 0)
      break;
    keep(got);
  }
  auto status = reap(child.pid, true);
  out.code = status ? status->code : -1;
  return out;
}

} // namespace nv::oci
