// The embedded default runtime: a service's command runs as a real child process of the
// daemon, in its own process group, with the spec's env and workdir.
//
// Threads: the calls come from actor handlers on CAF scheduler threads, so none of them
// blocks. pull, create, remove and the snapshots are done by the caller under one lock (remove
// only sends a SIGKILL, which does not wait). start, stop and exec go to one I/O thread through
// a queue; it spawns the processes, reads every child's output and watches every child's
// pidfd in one epoll set, keeps the stop and exec deadlines in a heap (the epoll timeout), and
// answers with caf::anon_send. A child is reaped only by the I/O thread and only under the
// lock, and a group is signalled only before its leader is reaped: a group id is never
// signalled after the kernel could hand its number to another process.
//
// Semantics beyond runtime.hpp:
// - command[0] is looked up like execvp, in the daemon's own PATH (the one `run` was started
//   with, not the child's), after the chdir to the workdir, so a relative "./x" is relative to
//   the workdir: `nodevisor run` finds the programs its user's shell finds. What that program
//   runs in turn is looked up in the child's PATH.
// - The child's environment is posix/child_env.hpp's: the spec's env, the NODEVISOR_* variables,
//   a minimal PATH, HOME and LANG, nothing else of the daemon's.
// - `user` (docker's forms) is switched to in the child before the exec, with its groups; the
//   names are resolved at each start, on the I/O thread. One that cannot be (unknown, or the
//   daemon is not root) fails the start, naming the user and the reason.
// - The child holds no descriptor of the daemon's but 0 (/dev/null), 1 and 2 (its output pipe).
// - A container starts once; a restart is remove and create. A failed start (exec of a missing
//   binary, a bad workdir) leaves it created, so it may be started again.
// - The container ends with its main process: the rest of its process group is SIGKILLed then,
//   as a PID namespace would. Output already written is read before container_exited is sent.
// - stop sends its signal to the container's process group, then SIGCONT, so that a stopped
//   group acts on it at once rather than at the end of the grace.
// - stop of a container that never ran, or has exited, succeeds at once without an exit. A
//   second stop while one waits out its grace adds its own deadline; the earlier one kills.
// - remove of a starting container answers the start with StartFailed; pending stops get ok.
// - exec needs a running container; it runs in the container's env and workdir, in a process
//   group of its own. Failing to run at all answers code -1 with the reason. Output beyond
//   64 KiB is read and dropped. A timeout <= 0 means none.
// - The destructor SIGKILLs and reaps every child and sends nothing.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>

#include "posix/child_process.hpp"
#include "posix/unique_fd.hpp"
#include "posix/user.hpp"
#include "runtimes/process/log_file.hpp"
#include "runtimes/process/log_ring.hpp"
#include "runtimes/runtime.hpp"

namespace nv {

struct process_runtime_options {
  // Non-empty: each replica's output is also appended to `<log_dir>/<id>.log` (the replica id),
  // timestamped (runtimes/process/log_file.hpp). Created by the constructor if missing, and
  // checked.
  std::string log_dir;
  std::size_t log_lines = 1000; // lines kept per container for logs()
  // Set: called on the runtime's I/O thread with each line (without its '\n', cut at
  // log_ring::max_line) a container's main process writes to stdout or stderr, and with an
  // unterminated last line when its output ends. It holds up every container's I/O while it
  // runs, so it must not block: hand the line on (a queue) and return.
  std::function<void(const std::string& id, std::string_view line)> on_line{};
  // Log files named `<deployment>.<id>.log`: the daemon's, whose deployments repeat replica ids.
  bool qualified_log_names = false;
};

class process_runtime final : public runtime {
public:
  static constexpr std::size_t exec_output_limit = 64 * 1024;

  // Throws std::system_error when the epoll set or the thread cannot be made, and
  // std::runtime_error with a one-line reason when log_dir cannot be created or is refused.
  explicit process_runtime(process_runtime_options options = {});
  ~process_runtime() override;

  process_runtime(const process_runtime&) = delete;
  process_runtime& operator=(const process_runtime&) = delete;

  std::string_view name() const override { return "process"; }
  bool runs_os(std::string_view os) const override;

  void pull(const container_spec& spec, caf::actor reply_to) override;
  void create(const container_spec& spec, caf::actor reply_to) override;
  void start(const std::string& id, caf::actor reply_to) override;
  void stop(const std::string& id, duration grace, int signal, caf::actor reply_to) override;
  void remove(const std::string& id, caf::actor reply_to) override;
  void exec(const std::string& id, uint64_t exec_id, std::vector<std::string> cmd, duration timeout,
            caf::actor reply_to) override;

  container_status state(const std::string& id) const override;
  std::vector<std::string> logs(const std::string& id, std::size_t tail) const override;
  std::optional<int> pid(const std::string& id) const override;

private:
  using clock = std::chrono::steady_clock;

  enum class phase : uint8_t { created, starting, running, stopping, exited };

  // How to spawn a process of one container; fixed at create, shared with the I/O thread so
  // that it spawns without holding the lock.
  struct launch {
    std::vector<std::string> argv;
    // What the environment is made from (deployment, service, replica, the spec's env). The
    // full environment, the daemon's own included, is built at each spawn and dropped after:
    // kept per container it would cost kilobytes each.
    container_spec env_source;
    std::string workdir;
    std::string user; // the spec's; empty: the daemon's own
  };

  struct container { // guarded by mu_
    std::shared_ptr<const launch> how;
    log_ring log;
    caf::actor exit_to{};                   // start's reply_to
    std::vector<caf::actor> stop_waiters{}; // answered after the exit
    uint64_t gen = 0;                       // incarnation: never matches a removed namesake
    uint64_t token = 0;                     // its main process in children_, once started
    int32_t pid = 0;
    int32_t exit_code = 0;
    phase ph = phase::created;
  };

  // A live process, owned by the I/O thread: a container's main process or an exec.
  struct child {
    child_process proc;
    std::string id; // its container
    uint64_t gen = 0;
    bool is_exec = false;
    log_file log{};       // main process with log_dir: <log_dir>/<id>.log
    caf::actor exec_to{}; // exec: who gets the exec_result
    uint64_t exec_id = 0; // exec: what the exec_result carries
    std::string output{}; // exec: the first exec_output_limit bytes
    bool timed_out = false;
    std::string line{}; // main process with on_line: the start of a line not yet complete
  };

  struct command {
    enum class kind : uint8_t { start, stop, exec };
    kind what = kind::start;
    std::string id;
    uint64_t gen = 0; // start, stop: the container as the caller saw it
    caf::actor reply_to{};
    duration time{0}; // stop: grace; exec: timeout
    int signal = 0;
    std::vector<std::string> argv{}; // exec
    uint64_t exec_id = 0;            // exec
  };

  // When the child with this token is SIGKILLed: the end of a stop's grace or an exec's timeout.
  struct deadline {
    clock::time_point at;
    uint64_t token;
    bool operator>(const deadline& other) const { return at > other.at; }
  };

  void enqueue(command cmd);

  // The I/O thread.
  void io_loop();
  void run(command& cmd);
  void run_start(const command& cmd);
  void run_stop(const command& cmd);
  void run_exec(command& cmd);
  // Adds the child's pidfd and output to the epoll set under `token`; on failure ends the child
  // and says why.
  std::string watch(uint64_t token, const child_process& proc);
  void on_output(child& ch);
  void consume(child& ch, std::string_view bytes);
  void pass_lines(child& ch, std::string_view bytes); // to options_.on_line
  void on_exit(uint64_t token);
  void close_output(child& ch);
  void fire_deadlines(clock::time_point now);
  int epoll_timeout_ms(clock::time_point now) const;
  void kill_all_children();

  // Who a child of this launch runs as, or why it cannot run; its HOME.
  resolved_user identity_of(const launch& how) const;

  process_runtime_options options_;
  unique_fd log_dir_;
  std::string own_home_; // HOME of a child that runs as the daemon's user
  unique_fd dev_null_;
  unique_fd epoll_;
  unique_fd wakeup_; // eventfd: the queue got work, or the destructor wants the thread to end

  mutable std::mutex mu_;
  std::unordered_map<std::string, container> containers_;
  uint64_t next_gen_ = 1;

  std::mutex queue_mu_;
  std::vector<command> queue_;
  bool quit_ = false;

  // Used by the I/O thread only.
  std::unordered_map<uint64_t, child> children_;
  uint64_t next_token_ = 1; // 0 is the eventfd's
  std::priority_queue<deadline, std::vector<deadline>, std::greater<>> deadlines_;
  std::vector<char> buffer_;

  std::thread io_thread_; // last: starts after everything it uses exists
};

} // namespace nv
