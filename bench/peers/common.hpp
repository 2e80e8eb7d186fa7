// What every peer adapter and the driver share: launching a supervisor in its own session,
// reading /proc, PSS, small files. Linux only; no exceptions escape these functions.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace nv::bench::peers {

using clk = std::chrono::steady_clock;

struct proc_entry {
  pid_t pid = 0;
  pid_t ppid = 0;
  char state = '?';
  std::string comm;
};

// One pass over /proc: every process (not threads) that could be read.
std::vector<proc_entry> scan_proc();

// Every descendant of `root` in `all` (not `root` itself), found through ppid links.
std::vector<proc_entry> descendants(const std::vector<proc_entry>& all, pid_t root);

// "comm" of `pid` (without the newline); empty when it is gone.
std::string comm_of(pid_t pid);

// The children of every thread of `pid` (/proc/PID/task/*/children), appended to `out`.
// `tasks` caches the thread ids: pass an empty vector the first time.
void children_of(pid_t pid, std::vector<pid_t>& tasks, std::vector<pid_t>& out);

// Memory of one process in kB, from /proc/PID/smaps_rollup.
struct memory {
  long pss = 0;   // proportional set size: shared pages divided among their users
  long rss = 0;   // resident set size: shared pages counted in full
  long dirty = 0; // Private_Dirty: pages only this process wrote (heap, stacks, relocated data);
                  // unlike PSS, not moved by other processes mapping the same libraries
};

// False when the process is gone.
bool memory_of(pid_t pid, memory& out);

// True while `pid` exists, zombies included (it is gone once reaped).
bool alive(pid_t pid);

// Launches argv (argv[0] an absolute path) in a new session, stdin from `stdin_fd` (-1: /dev/null),
// stdout and stderr appended to `log_path`, with `env` added to (or replacing in) this process's
// environment. Returns the pid, or -1 with `error` set.
pid_t launch(const std::vector<std::string>& argv, const std::vector<std::string>& env,
             const std::string& log_path, int stdin_fd, std::string& error);

// Runs argv to completion (at most `limit`), returns its stdout and stderr, trimmed; on failure
// or timeout says so in the text.
std::string run_capture(const std::vector<std::string>& argv, std::chrono::seconds limit);

// Reaps every exited child of this process without blocking (the benchmark is a subreaper, so
// orphans of a supervisor that died land here); returns how many.
int reap_exited();

// Removes the cgroup directory `path` and every cgroup below it, deepest first: a cgroup goes
// with rmdir only, and only once it has no child cgroups (and no processes).
void remove_cgroup(const std::string& path);

bool write_file(const std::string& path, const std::string& text, bool executable = false);
std::string read_file(const std::string& path);

// A run script for runit, daemontools and s6: /bin/sh execs the command (the documented way to
// write ./run; the shell's own start-up is part of each start).
std::string run_script(const std::vector<std::string>& argv, const std::string& before_exec = {});

// Creates `n` service directories c0001..cNNNN under `dir`, each with an executable ./run holding
// `run` and the `extra` files (name, content). For runit, daemontools and s6.
bool make_service_dirs(const std::string& dir, std::size_t n, const std::string& run,
                       const std::vector<std::pair<std::string, std::string>>& extra,
                       std::string& error);

// Single-quotes `s` for /bin/sh.
std::string shell_quote(const std::string& s);

double ms_since(clk::time_point t0, clk::time_point t1);

void sleep_ms(long ms);

} // namespace nv::bench::peers
