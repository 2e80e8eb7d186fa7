#include "actors/checks/tcp_connect.hpp"

#include <cerrno>
#include <memory>
#include <netdb.h>
#include <sys/socket.h>
#include <system_error>

#include "posix/unique_fd.hpp"

namespace nv {

namespace {

// "connection refused to 127.0.0.1:5432": the errno text, lower-cased to read as a reason.
std::string describe(int err, const std::string& target) {
  auto text = std::generic_category().message(err); // thread-safe, unlike strerror
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z')
    text[0] = static_cast<char>(text[0] - 'A' + 'a');
  return text + " to " + target;
}

} // namespace

check_result tcp_connect(const std::string& host, uint16_t port, const check_bounds& bounds) {
  auto service = std::to_string(port);
  auto target =
      host.find(':') == std::string::npos ? host + ":" + service : "[" + host + "]:" + service;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  // getaddrinfo can be neither bounded nor cancelled: a name that resolves slowly holds this
  // worker for as long as the resolver's own timeouts (resolv.conf). Literal addresses and
  // /etc/hosts names answer at once.
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0)
    return failed("cannot resolve '" + host + "': " + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list{found, &::freeaddrinfo};
  std::string reason;
  for (auto* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
    unique_fd fd{
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol)};
    if (!fd) {
      reason = describe(errno, target);
      continue;
    }
    int err = 0;
    if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        reason = describe(errno, target);
        continue;
      }
      pollfd p{fd.get(), POLLOUT, 0};
      if (!wait_for({&p, 1}, bounds))
        return timed_out(bounds);
      socklen_t len = sizeof err;
      ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    }
    if (err == 0)
      return check_result{true, false, {}, {}};
    reason = describe(err, target);
  }
  return failed(std::move(reason));
}

} // namespace nv
