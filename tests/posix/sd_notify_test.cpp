// systemd's notify protocol against a datagram socket the test binds itself, as systemd would.
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "posix/sd_notify.hpp"
#include "posix/unique_fd.hpp"

using namespace nv;

namespace {

// Binds an AF_UNIX datagram socket at `name` ("/path" or "@abstract") and points
// NOTIFY_SOCKET at it for the test's duration.
class notify_socket {
public:
  explicit notify_socket(std::string name) : name_(std::move(name)) {
    fd_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    EXPECT_TRUE(fd_) << std::strerror(errno);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, name_.data(), name_.size());
    auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name_.size());
    if (name_.front() == '@')
      address.sun_path[0] = '\0';
    else
      std::filesystem::remove(name_);
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&address), length), 0)
        << std::strerror(errno);
    ::setenv("NOTIFY_SOCKET", name_.c_str(), 1);
  }
  ~notify_socket() {
    ::unsetenv("NOTIFY_SOCKET");
    if (name_.front() == '/')
      std::filesystem::remove(name_);
  }

  // The next datagram, or "(none)" when none arrives within a generous deadline.
  std::string receive() const {
    pollfd pfd{fd_.get(), POLLIN, 0};
    if (::poll(&pfd, 1, 10'000) != 1)
      return "(none)";
    char buffer[4096];
    const ssize_t n = ::recv(fd_.get(), buffer, sizeof buffer, 0);
    return n < 0 ? "(error)" : std::string(buffer, static_cast<std::size_t>(n));
  }

  int fd() const { return fd_.get(); }

private:
  std::string name_;
  unique_fd fd_;
};

std::string socket_path() {
  return (std::filesystem::temp_directory_path() /
          ("nv-notify-" + std::to_string(::getpid()) + ".sock"))
      .string();
}

} // namespace

TEST(SdNotify, SendsEachStateAsOneDatagramToAPath) {
  notify_socket systemd{socket_path()};
  EXPECT_EQ(systemd::notify("READY=1"), "");
  EXPECT_EQ(systemd::notify("STATUS=restoring 2 deployments"), "");
  EXPECT_EQ(systemd::notify("STOPPING=1\nSTATUS=stopping"), "");
  EXPECT_EQ(systemd::notify("WATCHDOG=1"), "");
  EXPECT_EQ(systemd.receive(), "READY=1");
  EXPECT_EQ(systemd.receive(), "STATUS=restoring 2 deployments");
  EXPECT_EQ(systemd.receive(), "STOPPING=1\nSTATUS=stopping");
  EXPECT_EQ(systemd.receive(), "WATCHDOG=1");
}

TEST(SdNotify, SendsToAnAbstractAddress) {
  notify_socket systemd{"@nv-notify-test-" + std::to_string(::getpid())};
  EXPECT_EQ(systemd::notify("READY=1"), "");
  EXPECT_EQ(systemd.receive(), "READY=1");
}

TEST(SdNotify, DoesNothingWithoutNotifySocket) {
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_EQ(systemd::notify("READY=1"), "");
}

TEST(SdNotify, SaysWhatWentWrongWhenNobodyListens) {
  const auto path = socket_path() + ".gone";
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  const auto error = systemd::notify("READY=1");
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_EQ(error, "NOTIFY_SOCKET=" + path + ": " + std::strerror(ENOENT));

  ::setenv("NOTIFY_SOCKET", "relative.sock", 1);
  EXPECT_NE(systemd::notify("READY=1").find("not an absolute path"), std::string::npos);
  ::unsetenv("NOTIFY_SOCKET");
}

TEST(SdNotify, NeverBlocksOnAManagerThatDoesNotRead) {
  notify_socket systemd{socket_path()};
  int small = 1;
  ::setsockopt(systemd.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  // The receive queue fills; notify then fails with EAGAIN instead of waiting. A blocking
  // socket would hang here (and the test would time out).
  std::string error;
  for (int i = 0; i < 100'000 && error.empty(); ++i)
    error = systemd::notify("WATCHDOG=1");
  EXPECT_NE(error.find(std::strerror(EAGAIN)), std::string::npos) << error;
}

TEST(SdNotify, WatchdogIntervalIsForThisProcessOnly) {
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
  EXPECT_EQ(systemd::watchdog_interval(), std::nullopt);

  ::setenv("WATCHDOG_USEC", "30000000", 1);
  EXPECT_EQ(systemd::watchdog_interval(), std::chrono::seconds{30});
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  EXPECT_EQ(systemd::watchdog_interval(), std::chrono::seconds{30});
  ::setenv("WATCHDOG_PID", std::to_string(::getpid() + 1).c_str(), 1);
  EXPECT_EQ(systemd::watchdog_interval(), std::nullopt) << "meant for another process";
  ::unsetenv("WATCHDOG_PID");

  for (const char* bad : {"0", "", "-5", "30s", "99999999999999999999999"}) {
    ::setenv("WATCHDOG_USEC", bad, 1);
    EXPECT_EQ(systemd::watchdog_interval(), std::nullopt) << bad;
  }
  ::unsetenv("WATCHDOG_USEC");
}
