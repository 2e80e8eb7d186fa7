// A TCP/HTTP listener on 127.0.0.1 for the probe and init step tests, on its own thread.
#pragma once

#include <arpa/inet.h>
#include <cstdint>
#include <map>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

namespace nv::actor_test {

// What an http test_server answers on one path: a status and, for a redirect, a Location.
struct http_route {
  http_route(int s, std::string where = {}) : status{s}, location{std::move(where)} {}
  int status;
  std::string location;
};

// A TCP listener on 127.0.0.1. `tcp` accepts and closes; `http` answers each GET with the
// route its path maps to (404 otherwise); `silent` never accepts, so the kernel completes the
// handshake and the client waits for an answer that never comes.
class test_server {
public:
  enum class mode { tcp, http, silent };

  explicit test_server(mode m, uint16_t port = 0, std::map<std::string, http_route> routes = {})
      : mode_(m), routes_(std::move(routes)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 64) != 0)
      throw std::runtime_error("cannot listen on 127.0.0.1:" + std::to_string(port));
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    if (::pipe2(stop_, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe");
    if (mode_ != mode::silent)
      thread_ = std::thread{[this] { serve(); }};
  }
  ~test_server() {
    ::write(stop_[1], "x", 1);
    if (thread_.joinable())
      thread_.join();
    ::close(fd_);
    ::close(stop_[0]);
    ::close(stop_[1]);
  }

  uint16_t port() const { return port_; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int accepted() const { return accepted_; }

private:
  void serve() {
    for (;;) {
      pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 || fds[1].revents != 0)
        return;
      int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0)
        continue;
      ++accepted_;
      if (mode_ == mode::http)
        answer(conn);
      ::close(conn);
    }
  }
  void answer(int conn) {
    std::string request;
    char buf[1024];
    while (request.find("\r\n\r\n") == std::string::npos) {
      pollfd p{conn, POLLIN, 0};
      if (::poll(&p, 1, 2000) <= 0)
        return;
      auto n = ::read(conn, buf, sizeof buf);
      if (n <= 0)
        return;
      request.append(buf, static_cast<std::size_t>(n));
    }
    auto start = request.find(' ') + 1;
    auto path = request.substr(start, request.find(' ', start) - start);
    auto it = routes_.find(path);
    auto route = it == routes_.end() ? http_route{404} : it->second;
    auto response = "HTTP/1.1 " + std::to_string(route.status) + " X\r\n";
    if (!route.location.empty())
      response += "Location: " + route.location + "\r\n";
    response += "Content-Length: 0\r\nConnection: close\r\n\r\n";
    ::write(conn, response.data(), response.size());
  }

  mode mode_;
  std::map<std::string, http_route> routes_;
  int fd_ = -1;
  int stop_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// A port nothing listens on (it did a moment ago, so nothing else is likely to have taken it).
inline uint16_t closed_port() {
  test_server s{test_server::mode::silent};
  return s.port();
}

} // namespace nv::actor_test
