// The embedded default runtime: a service's command runs as a real child process of the
// node's keeper (keeper/keeper.hpp), in its own process group and, where cgroups allow, its own
// freezer cgroup, with the spec's env and workdir. This class is the keeper's client: it starts
// the keeper (or connects to the one that outlived the last daemon), turns runtime calls into
// keeper requests and the keeper's events into messages to the container actors.
//
// Threads: the calls come from actor handlers on CAF scheduler threads, so none of them blocks:
// each takes one lock, updates the container's record and queues a request on the keeper's
// socket (a non-blocking send; what the socket cannot take waits in a backlog). One I/O thread
// reads the keeper's events and answers with caf::anon_send.
//
// Two ways to keep:
// - attached (`run`, keeper_socket empty): the keeper is started with a socketpair and dies with
//   this process, whatever kills it, SIGKILL included, taking every container with it.
// - shared (the daemon, keeper_socket set): the keeper listens on keeper_socket and outlives this
//   process. At construction the runtime connects to the keeper that is there, or starts one; the
//   containers the keeper already holds are adopted by create() and start() of the same key and
//   fingerprint, with their pid, and one that exited while nobody was connected reports that
//   exit right after its start answers. Held containers that nobody claims within adopt_window
//   are killed. shut_down_keeper() ends it with everything it holds (SIGTERM); the destructor
//   leaves it running (a hand-over, a crash).
// If the keeper dies, every container it held counts as killed (container_exited with SIGKILL,
// as its children die with it), a start in flight fails naming the keeper, and a new keeper is
// started for what comes next.
//
// Semantics beyond runtime.hpp:
// - command[0] is looked up like execvp, in the keeper's PATH (the one `run` or the daemon was
//   started with), after the chdir to the workdir.
// - The child's environment is posix/child_env.hpp's.
// - `user` (docker's forms) is switched to in the child before the exec; one that cannot be
//   resolved fails the start, naming the user and the reason.
// - create fails with Network when a port of the spec's endpoints is held on the host (the
//   process shares the host's network), and with Unsupported when the spec asks for a GPU.
// - A container starts once; a restart is remove and create. A failed start leaves it created.
// - The container ends with its main process: the rest of its process group and its cgroup is
//   SIGKILLed then. Output already written is read before container_exited is sent.
// - stop sends its signal to the container's process group, then SIGCONT; at the end of the
//   grace everything in its cgroup is killed.
// - stop of a container that never ran, or has exited, succeeds at once without an exit.
// - remove of a starting container answers the start with StartFailed; pending stops get ok.
// - exec needs a running container; it runs in the container's env, workdir and cgroup, in a
//   process group of its own. Failing to run at all answers code -1 with the reason. Output
//   beyond 64 KiB is dropped. A timeout <= 0 means none.
// - logs() has the last lines this runtime has seen: with on_line set, the output as it comes;
//   without, the last lines the keeper reports with the exit (the rest is in the log file).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>

#include "keeper/log_ring.hpp"
#include "keeper/protocol.hpp"
#include "messages/supervision_memory.hpp"
#include "posix/unique_fd.hpp"
#include "runtimes/runtime.hpp"

namespace nv {

// The process runtime's container_spec::options: a container whose main process another program
// starts (keeper::launch), as the oci runtime's runc does. `command` is then the launcher.
struct process_launch {
  keeper::launch launch;
  // What the launched container is made of beyond the command and env (the oci runtime: a digest
  // of its image and config), so that a held container with another one is not adopted.
  std::string identity;
};

struct process_runtime_options {
  // Non-empty: each replica's output is appended by the keeper to `<log_dir>/<id>.log` (the
  // replica id), timestamped and rotated (keeper/log_file.hpp). Created if missing, and checked.
  std::string log_dir;
  // Set: called on the runtime's I/O thread with each line (without its '\n', cut at
  // log_ring::max_line) a container's main process writes, and with an unterminated last line
  // when its output ends. It holds up the runtime's I/O while it runs: hand the line on and return.
  std::function<void(const std::string& id, std::string_view line)> on_line{};
  // Log files named `<deployment>.<id>.log`: the daemon's, whose deployments repeat replica ids.
  bool qualified_log_names = false;
  // Rotation of each log file (logs.max_size, logs.max_files); max_size 0: never rotated.
  uint64_t log_max_size = uint64_t{10} << 20;
  uint32_t log_max_files = 3;
  // Shared mode (see above): the keeper's socket. Empty: attached.
  std::string keeper_socket{};
  // The nodevisor-keeper program; empty: $NODEVISOR_KEEPER, else the one beside this executable.
  std::string keeper_program{};
  // The keeper's cgroups go under <freezer>/nodevisor/<this>; empty: "run-<pid>" when attached,
  // "node-<hash of keeper_socket>" when shared.
  std::string cgroup_name{};
  duration adopt_window = std::chrono::seconds{60};
  // Per container, the bytes of its last lines that logs() answers from, and for all of them
  // together (a thousand chatty containers share it: 4 KiB each), as the keeper bounds its own.
  std::size_t tail_bytes = 8 * 1024;
  std::size_t tail_total = 4 * 1024 * 1024;
};

// Also the node's supervision_memory: its notes are kept by the keeper, for the next daemon.
class process_runtime final : public runtime, public supervision_memory {
public:
  static constexpr std::size_t exec_output_limit = 64 * 1024;

  // Throws std::runtime_error with a one-line reason when the keeper cannot be started or
  // reached, or refuses log_dir.
  explicit process_runtime(process_runtime_options options = {});
  // Attached: ends the keeper, which kills every container. Shared: leaves it running.
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
  bool adoptable(const std::string& id) const override;

  // Called on the runtime's I/O thread with every exit before it is sent, for a runtime built on
  // this one to add what it knows (the oci runtime: an OOM kill). Set before the first start.
  void annotate_exits(std::function<void(const std::string& id, container_exited&)> annotate);

  void remember(const std::string& key, std::string text) override;
  void forget(const std::string& prefix) override;
  const std::map<std::string, std::string>& recalled() const override { return recalled_; }

  // Ends the keeper and everything it holds, and waits for it (the daemon's SIGTERM, once the
  // tree has stopped). Blocks: not on a CAF thread.
  void shut_down_keeper();
  // The keeper's pid, and how many containers it held when this runtime connected.
  int keeper_pid() const;
  std::size_t adoptable_at_connect() const { return adoptable_at_connect_; }

private:
  using clock = std::chrono::steady_clock;

  enum class phase : uint8_t { created, starting, running, stopping, exited };

  struct container { // guarded by mu_
    std::shared_ptr<const keeper::spawn> how;
    caf::actor exit_to{};                    // start's reply_to
    std::vector<caf::actor> stop_waiters{};  // answered after the exit
    log_ring tail{0};                        // its last lines
    std::unique_ptr<keeper::held> adopted{}; // held by the keeper when we connected
    uint64_t gen = 0;                        // incarnation: never matches a removed namesake
    int32_t pid = 0;
    int32_t exit_code = 0;
    phase ph = phase::created;
  };

  struct pending_exec {
    std::string id;
    uint64_t caller_id = 0; // what the exec_result carries
    caf::actor reply_to;
  };

  void connect_or_start_keeper();
  void start_keeper();
  void take_hello(const keeper::hello& h);
  void send(const keeper::request& r); // under mu_
  void flush();                        // under mu_

  void io_loop();
  void on_event(keeper::event& e);
  void on_keeper_lost(const std::string& why);
  void pass_lines(const std::string& id, std::string_view bytes);
  void end_lines(const std::string& id);
  void kill_unclaimed();
  void share_tails(); // under mu_

  process_runtime_options options_;
  std::string program_;

  mutable std::mutex mu_;
  std::unordered_map<std::string, container> containers_;
  std::unordered_map<std::string, keeper::held> held_; // not yet claimed by a create
  std::map<std::string, std::string> recalled_;        // the keeper's notes at connect
  std::unordered_map<uint64_t, pending_exec> execs_;
  std::size_t tail_share_ = 0; // each container's ring capacity
  uint64_t next_gen_ = 1;
  uint64_t next_exec_ = 1;
  unique_fd keeper_; // the connection
  pid_t keeper_pid_ = 0;
  pid_t keeper_child_ = 0; // the keeper's pid when it is our child, to reap
  std::deque<std::string> backlog_;
  std::size_t adoptable_at_connect_ = 0;
  clock::time_point claim_deadline_{};

  std::function<void(const std::string& id, container_exited&)> annotate_;

  unique_fd epoll_;
  unique_fd wakeup_;  // eventfd: the backlog has work, or the destructor wants the thread to end
  bool quit_ = false; // under mu_

  // Used by the I/O thread only: the start of a line not yet complete, per container.
  std::unordered_map<std::string, std::string> partial_lines_;
  keeper::message_buffer buffer_;

  std::thread io_thread_; // last: starts after everything it uses exists
};

} // namespace nv
