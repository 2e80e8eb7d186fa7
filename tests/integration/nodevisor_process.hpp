// The fixture of the end-to-end tests: the real `nodevisor` binary (NV_BINARY) run as a child
// process with its stdout and stderr collected, a temporary directory per test, and the run's
// trace read back as JSON.
#pragma once

#include <arpa/inet.h>
#include <chrono>
#include <cstdint>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <set>
#include <signal.h>
#include <spawn.h>
#include <string>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/free_port.hpp"

extern char** environ;

namespace nv_test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The temporary directory of the test that is running (the Run fixture's).
inline fs::path test_dir() {
  return fs::temp_directory_path() /
         ("nv-run-" + std::to_string(getpid()) + "-" +
          ::testing::UnitTest::GetInstance()->current_test_info()->name());
}

// A running `nodevisor run`, its stdout and stderr collected as they come. It runs in `cwd`
// (by default the test's directory, when there is one): `run` takes a lock per deployment in
// its working directory, and tests running in parallel reuse deployment names.
struct nodevisor_process {
  pid_t pid = -1;
  int out = -1, err = -1;
  std::string stdout_text, stderr_text;
  int status = -1;
  rusage usage{}; // its own, from wait4 (RUSAGE_CHILDREN would mix in every earlier child)

  // own_group: in a process group of its own (pgid = pid), so that a test can kill the group.
  nodevisor_process(std::vector<std::string> args, const fs::path& cwd = test_dir(),
                    bool own_group = false) {
    int o[2], e[2];
    EXPECT_EQ(pipe2(o, O_CLOEXEC), 0);
    EXPECT_EQ(pipe2(e, O_CLOEXEC), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, o[1], 1);
    posix_spawn_file_actions_adddup2(&fa, e[1], 2);
    if (fs::is_directory(cwd))
      posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    if (own_group) {
      posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
      posix_spawnattr_setpgroup(&attr, 0);
    }
    std::vector<char*> argv;
    args.insert(args.begin(), NV_BINARY);
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    EXPECT_EQ(posix_spawn(&pid, NV_BINARY, &fa, &attr, argv.data(), environ), 0);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    close(o[1]);
    close(e[1]);
    out = o[0];
    err = e[0];
  }
  ~nodevisor_process() {
    if (pid > 0 && status < 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    close(out);
    close(err);
  }

  // Reads what is available for up to `wait`.
  void pump(std::chrono::milliseconds wait) {
    pollfd fds[2] = {{out, POLLIN, 0}, {err, POLLIN, 0}};
    if (poll(fds, 2, static_cast<int>(wait.count())) <= 0)
      return;
    char buf[4096];
    for (int i = 0; i < 2; ++i)
      if (fds[i].revents & (POLLIN | POLLHUP)) {
        auto n = read(fds[i].fd, buf, sizeof buf);
        if (n > 0)
          (i == 0 ? stdout_text : stderr_text).append(buf, static_cast<std::size_t>(n));
      }
  }
  bool wait_for_stdout(const std::string& text, std::chrono::seconds limit = 30s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (stdout_text.find(text) == std::string::npos) {
      if (std::chrono::steady_clock::now() > deadline)
        return false;
      pump(100ms);
    }
    return true;
  }
  // Waits for the exit; returns the exit code, or -1 on timeout.
  int wait_exit(std::chrono::seconds limit = 60s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      pump(50ms);
      int st = 0;
      if (wait4(pid, &st, WNOHANG, &usage) == pid) {
        status = st;
        for (int i = 0; i < 20; ++i)
          pump(10ms);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      if (std::chrono::steady_clock::now() > deadline)
        return -1;
    }
  }
};

class Run : public ::testing::Test {
protected:
  Run() {
    dir = test_dir();
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~Run() override { fs::remove_all(dir); }

  std::string write_spec(const std::string& text) {
    auto path = dir / "spec.yaml";
    std::ofstream{path} << text;
    return path.string();
  }
  std::string trace_path() const { return (dir / "trace.jsonl").string(); }

  std::vector<nlohmann::json> trace() const {
    std::vector<nlohmann::json> events;
    std::ifstream in{trace_path()};
    for (std::string line; std::getline(in, line);) {
      // A run still writing may have its last line half written: skip it.
      auto event = nlohmann::json::parse(line, nullptr, false);
      if (!event.is_discarded())
        events.push_back(std::move(event));
    }
    return events;
  }
  // The pids every replica ever ran with, from the trace's state events.
  std::set<int> pids() const {
    std::set<int> out;
    for (auto& e : trace())
      if (e["event"] == "state" && e.contains("pid"))
        out.insert(e["pid"].get<int>());
    return out;
  }
  uint64_t first(const std::string& actor, const std::string& event,
                 const std::string& to = "") const {
    for (auto& e : trace())
      if (e["actor"] == actor && e["event"] == event && (to.empty() || e.value("to", "") == to))
        return e["seq"].get<uint64_t>();
    return 0;
  }
  static bool alive(int pid) { return kill(pid, 0) == 0; }
  // Alive and not a zombie: an orphan's exit is reaped by whoever inherits it, which may be late.
  static bool running(int pid) {
    std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
    std::string stat;
    if (!std::getline(in, stat))
      return false;
    auto close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
  }

  fs::path dir;
};

// A port nobody listens on right now, for a demo server to take.
inline std::string free_port() {
  return std::to_string(nv_test_support::free_loopback_port());
}

inline std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

} // namespace nv_test
