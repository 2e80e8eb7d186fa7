#include "posix/sd_notify.hpp"

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "posix/unique_fd.hpp"

namespace nv::systemd {

namespace {

std::optional<uint64_t> parse_unsigned(std::string_view text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty())
    return std::nullopt;
  return value;
}

} // namespace

std::string notify(std::string_view state) {
  const char* env = std::getenv("NOTIFY_SOCKET");
  if (env == nullptr || *env == '\0')
    return {};
  const std::string_view name = env;
  auto failed = [&](std::string_view why) {
    return "NOTIFY_SOCKET=" + std::string{name} + ": " + std::string{why};
  };
  // systemd also speaks vsock ("vsock:CID:PORT") to a manager outside a VM; a node agent runs
  // under the machine's own manager, which gives a path.
  if (name.front() != '/' && name.front() != '@')
    return failed("not an absolute path or an abstract socket name (@name)");
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (name.size() >= sizeof address.sun_path)
    return failed("the address is longer than a Unix socket address can be");
  std::memcpy(address.sun_path, name.data(), name.size());
  // An abstract address starts with a NUL byte and its length counts exactly its bytes; a
  // path's length may include its terminating NUL, which the zeroed struct provides.
  socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
  if (name.front() == '@')
    address.sun_path[0] = '\0';
  else
    ++length;

  unique_fd fd{::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)};
  if (!fd)
    return failed(std::string{"socket: "} + std::strerror(errno));
  ssize_t sent = 0;
  do
    sent = ::sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL,
                    reinterpret_cast<const sockaddr*>(&address), length);
  while (sent < 0 && errno == EINTR);
  if (sent < 0)
    return failed(std::strerror(errno));
  return {};
}

std::optional<std::chrono::microseconds> watchdog_interval() {
  const char* usec = std::getenv("WATCHDOG_USEC");
  if (usec == nullptr)
    return std::nullopt;
  auto interval = parse_unsigned(usec);
  if (!interval || *interval == 0 || *interval > static_cast<uint64_t>(INT64_MAX))
    return std::nullopt;
  // A child that inherited the variables from its parent is not the watched process.
  if (const char* pid = std::getenv("WATCHDOG_PID"); pid != nullptr) {
    auto watched = parse_unsigned(pid);
    if (!watched || *watched != static_cast<uint64_t>(::getpid()))
      return std::nullopt;
  }
  return std::chrono::microseconds{static_cast<int64_t>(*interval)};
}

} // namespace nv::systemd
