// The floor for process_bench: the same kernel work as the process runtime, done by a plain
// loop with no supervisor, no actors and no I/O thread.
//
// Two modes:
// - bare: posix_spawnp of the command, each child in its own process group, nothing else;
// - full: what process_runtime does per child besides the spawn: an output pipe (stdout and
//   stderr), stdin from /dev/null, a clean signal mask and default dispositions, closefrom(3),
//   a pidfd, and both descriptors in an epoll set. The command is looked up in PATH the same
//   way (posix_spawnp).
//
// Also the benchmark's safety net: kill_own_children() finds this process's children in /proc
// and SIGKILLs each one (its whole group when it leads one); it is async-signal-safe, so the
// signal handlers of the benchmark call it too.
#pragma once

#include <chrono>
#include <csignal>
#include <cstddef>
#include <string>
#include <sys/types.h>
#include <vector>

namespace nv::bench {

enum class floor_mode { bare, full };

const char* to_cstr(floor_mode m);

class floor_pool {
public:
  // Throws std::system_error when /dev/null or the epoll set cannot be opened.
  floor_pool(floor_mode mode, std::vector<std::string> argv);
  ~floor_pool(); // SIGKILLs and reaps whatever is left
  floor_pool(const floor_pool&) = delete;
  floor_pool& operator=(const floor_pool&) = delete;

  // Spawns `n` more children; on failure stops at the first error and says why.
  bool start(std::size_t n, std::string& error);
  // kill -9 child `i`, reap it, spawn its replacement (exec'd when this returns).
  bool restart(std::size_t i, std::string& error);
  // SIGTERM every child's group, then reap every child.
  void stop_all();

  std::size_t size() const { return children_.size(); }
  pid_t pid(std::size_t i) const { return children_[i].pid; }

private:
  struct child {
    pid_t pid = -1;
    int pidfd = -1;
    int output = -1;
  };

  bool spawn(child& c, std::string& error);
  void close_fds(child& c);

  floor_mode mode_;
  std::vector<std::string> argv_;
  std::vector<std::string> env_;
  int dev_null_ = -1;
  int epoll_ = -1;
  std::vector<child> children_;
};

// Async-signal-safe. SIGKILLs every child of this process, its process group when it leads
// one. Returns how many children it found, or -1 when /proc cannot be read.
int kill_own_children();

// Async-signal-safe. How many children this process has (zombies included), or -1.
int count_own_children();

// Reaps every child of this process, waiting at most `timeout_ms`; returns how many it reaped.
int reap_own_children(int timeout_ms);

// Call first thing in main(), while the process has one thread. Forks: the parent becomes a
// guardian (a child subreaper that forwards SIGINT, SIGTERM and SIGHUP) and returns the exit
// code to leave with once the child is gone and every process left behind (reparented to it) is
// SIGKILLed and reaped; the child returns -1 and runs the benchmark. Whatever way the benchmark
// ends, even while it is still spawning, nothing it started keeps running.
int guard_children();

// Runs an executable (args[0], e.g. /proc/self/exe) with `args`, its stdout captured into `out`;
// waits at most `limit`, then sends SIGTERM (so that it can kill its own children), then
// SIGKILL. Returns its exit code, or -1 when it did not exit normally or could not be run.
int run_self(const std::vector<std::string>& args, std::chrono::seconds limit, std::string& out);

// The pid of the process run_self is running, 0 when none; for signal handlers, which should
// SIGTERM it before they SIGKILL this process's children.
pid_t running_self();

} // namespace nv::bench
