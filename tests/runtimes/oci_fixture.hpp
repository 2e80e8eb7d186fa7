// What the oci tests share: the tools they need (or the reason they cannot run here), an image
// built offline from Debian's static busybox (examples/oci/busybox-image.sh) and a real
// docker-registry on a loopback port serving it, started once per test program and stopped at
// its end.
#pragma once

#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/free_port.hpp"

namespace nv::oci_test {

namespace fs = std::filesystem;

inline int shell(const std::string& command) {
  int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline bool on_path(const std::string& program) {
  return shell("command -v " + program + " >/dev/null 2>&1") == 0;
}

using nv_test_support::free_loopback_port;

// What runc lists under `root`, as "id status" lines.
inline std::vector<std::string> runc_list(const std::string& root) {
  std::string text;
  if (FILE* p = ::popen(("runc --root " + root + " list --format json 2>/dev/null").c_str(), "r")) {
    char buf[4096];
    while (auto n = std::fread(buf, 1, sizeof buf, p))
      text.append(buf, n);
    ::pclose(p);
  }
  std::vector<std::string> out;
  auto list = nlohmann::json::parse(text, nullptr, false);
  if (list.is_array())
    for (const auto& c : list)
      out.push_back(c.value("id", "") + " " + c.value("status", ""));
  return out;
}

inline bool accepts(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

class registry_environment : public ::testing::Environment {
public:
  static registry_environment* get() { return instance_; }

  // Empty when the tests can run; else why not (for GTEST_SKIP).
  const std::string& unavailable() const { return unavailable_; }
  const std::string& image() const { return image_; } // in the registry
  // The same image, its config saying windows/amd64.
  std::string windows_image() const { return registry() + "/nodevisor/busybox:windows"; }
  std::string registry() const { return "127.0.0.1:" + std::to_string(port_); }
  const fs::path& dir() const { return dir_; }

  void SetUp() override {
    instance_ = this;
    if (::geteuid() != 0) {
      unavailable_ = "runc needs root here (no rootless set-up): run the tests as root";
      return;
    }
    if (!fs::exists("/sys/fs/cgroup/memory") && !fs::exists("/sys/fs/cgroup/cgroup.controllers")) {
      unavailable_ = "no memory cgroup controller mounted under /sys/fs/cgroup";
      return;
    }
    // Missing tools fail rather than skip: scripts/setup.sh installs them.
    for (const char* tool : {"runc", "umoci", "skopeo", "docker-registry", "busybox"})
      ASSERT_TRUE(on_path(tool)) << tool << " is not installed: run scripts/setup.sh";
    dir_ = fs::temp_directory_path() / ("nv-oci-" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "registry");
    ASSERT_EQ(shell(std::string{NV_SOURCE_DIR} + "/examples/oci/busybox-image.sh " +
                    (dir_ / "layout").string() + " busybox:1 >/dev/null"),
              0);
    port_ = free_loopback_port();
    std::ofstream{dir_ / "registry.yml"}
        << "version: 0.1\nlog:\n  level: error\nstorage:\n"
        << "  filesystem:\n    rootdirectory: " << (dir_ / "registry").string()
        << "\nhttp:\n  addr: " << registry() << "\n";
    registry_pid_ = ::fork();
    if (registry_pid_ == 0) {
      ::setpgid(0, 0);
      auto log = (dir_ / "registry.log").string();
      std::freopen(log.c_str(), "w", stderr);
      std::freopen(log.c_str(), "a", stdout);
      ::execlp("docker-registry", "docker-registry", "serve", (dir_ / "registry.yml").c_str(),
               nullptr);
      ::_exit(127);
    }
    for (int i = 0; i < 500 && !accepts(port_); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    ASSERT_TRUE(accepts(port_)) << "docker-registry did not listen on " << registry();
    image_ = registry() + "/nodevisor/busybox:1";
    ASSERT_EQ(shell("skopeo copy --quiet --dest-tls-verify=false oci:" +
                    (dir_ / "layout").string() + ":busybox:1 docker://" + image_),
              0);
    ASSERT_EQ(shell("umoci config --image " + (dir_ / "layout").string() +
                    ":busybox:1 --tag windows --os windows && skopeo copy --quiet "
                    "--dest-tls-verify=false oci:" +
                    (dir_ / "layout").string() + ":windows docker://" + windows_image()),
              0);
  }

  void TearDown() override {
    if (registry_pid_ > 0) {
      ::kill(-registry_pid_, SIGTERM);
      ::waitpid(registry_pid_, nullptr, 0);
    }
    std::error_code ec;
    if (!dir_.empty())
      fs::remove_all(dir_, ec);
  }

private:
  static inline registry_environment* instance_ = nullptr;
  std::string unavailable_;
  std::string image_;
  fs::path dir_;
  uint16_t port_ = 0;
  pid_t registry_pid_ = -1;
};

#define NV_NEEDS_OCI()                                                                             \
  do {                                                                                             \
    if (!::nv::oci_test::registry_environment::get()->unavailable().empty())                       \
      GTEST_SKIP() << ::nv::oci_test::registry_environment::get()->unavailable();                  \
  } while (0)

// Registered by each test program that includes this header.
inline auto* const registered =
    ::testing::AddGlobalTestEnvironment(new registry_environment); // NOLINT: gtest owns it

} // namespace nv::oci_test
