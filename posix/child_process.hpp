// One child process of the process runtime, from spawn to reap. The child runs in its own
// process group (its pgid is its pid), so that a stop reaches everything it started; its
// stdout and stderr share one pipe, which keeps their relative order and costs one descriptor;
// a pidfd reports its exit without polling. It inherits no descriptor but 0, 1 and 2, no
// signal mask and no ignored signal.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "posix/unique_fd.hpp"
#include "posix/user.hpp"

namespace nv {

struct spawn_request {
  const std::vector<std::string>& argv; // argv[0] is looked up in PATH like execvp
  const std::vector<std::string>& env;  // "NAME=value"
  const std::string& workdir;           // empty: the daemon's current directory
  int stdin_fd;                         // what the child reads (/dev/null)
  const child_identity* as = nullptr;   // non-null: switch to this user before the exec (root)
  int cgroup_procs = -1;        // >= 0: a cgroup.procs the child writes "0" to, joining it first
  bool die_with_parent = false; // SIGKILLed when the spawning thread ends (PR_SET_PDEATHSIG)
  // The caller's process has no other thread (the keeper): a cloned child may borrow its
  // descriptor table until the exec rather than copy it, which with thousands of descriptors
  // costs more than the rest of the start (clone_child).
  bool sole_thread = false;
};

struct child_process {
  pid_t pid = 0;    // also its process group id
  unique_fd pidfd;  // becomes readable when the child has exited
  unique_fd output; // non-blocking read end of its stdout and stderr
};

struct spawn_outcome {
  child_process child;
  std::string error; // non-empty: nothing runs, e.g. "exec 'foo': No such file or directory"
};

spawn_outcome spawn_child(const spawn_request& request);

// A wait status in the runtime's convention: the exit status, or 128 + signal when killed.
struct exit_status {
  int32_t code = 0;
  int32_t signal = 0;
};

exit_status decode_wait_status(int status);

// Signals the whole process group led by `pid`. Only valid until the leader is reaped: its
// zombie keeps the group id from being reused.
void signal_group(pid_t pid, int signal);

// Reaps `pid`. With `block` false, nullopt while it has not exited yet. A child reaped by
// someone else (SIGCHLD set to SIG_IGN, a stray waitpid(-1)) reports code -1.
std::optional<exit_status> reap(pid_t pid, bool block);

} // namespace nv
