// The simulated runtime: containers are a few bytes of state and a deadline, driven by the
// spec's `sim:` block (nv::sim_behavior). It carries 100 000 containers in one process, for
// load benchmarks and fault injection. Nothing here blocks a CAF scheduler thread: deadlines
// (start delay, exit after, kill at the end of a stop's grace) live in one timer thread, and
// zero delays are answered from the caller's thread.
//
// Semantics beyond runtime.hpp:
// - A container starts once (a second start fails with StartFailed); a restart is remove and
//   create. stop or remove during the start delay answers the pending start with StartFailed.
// - stop of a container that never ran, or has exited, succeeds at once without an exit.
// - A second stop while a hang_on_stop container waits out its grace kills it at once.
// - unhealthy_after needs no timer: health is computed when state() or exec() asks.
// - The deadline of a removed (or already exited) container stays queued, 56 bytes, until it
//   comes due and is dropped.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>

#include "messages/sim_behavior.hpp"
#include "runtimes/runtime.hpp"

namespace nv {

using sim_clock = std::chrono::steady_clock;

// How many containers are in each public state (a container waiting out its start delay
// counts as created, as status() reports it).
struct sim_counts {
  std::size_t created = 0;
  std::size_t running = 0;
  std::size_t stopping = 0;
  std::size_t exited = 0;
};

// Per-container state, kept small because a benchmark holds 100 000 of them: no log buffer
// (logs() derives its lines from this state) and no timer handle (timers find the container
// again by id and check `gen`).
struct sim_container {
  enum class phase : uint8_t { created, starting, running, stopping, exited };

  caf::actor exit_to; // start's reply_to: receives container_exited
  caf::actor stop_to; // the reply_to of a stop that hang_on_stop made wait
  std::string fail_start;
  duration start_delay{0};
  std::optional<duration> exit_after;
  std::optional<duration> unhealthy_after;
  sim_clock::time_point running_since;
  // Incarnation, from a runtime-wide counter: a re-created container never matches the timers
  // of a removed one. Within one incarnation each timer kind is scheduled at most once (start
  // is accepted once), so a timer is current when `gen` matches and the phase is the one it
  // was scheduled for.
  uint64_t gen = 0;
  int32_t exit_code_on_exit = 0; // sim_behavior::exit_code
  int32_t exit_code = 0;         // the code it exited with
  int32_t pid = 0;
  phase ph = phase::created;
  uint8_t signal = 0; // the stop signal received, or the signal that killed it
  bool hang_on_stop = false;
  bool start_failed = false;
};

class sim_runtime final : public runtime {
public:
  // `oses`: the OCI os names this runtime claims to run (the composite runtime routes by it).
  explicit sim_runtime(std::vector<std::string> oses = {"linux"});
  // Stops the timer thread; pending deadlines are dropped without a message.
  ~sim_runtime() override;

  sim_runtime(const sim_runtime&) = delete;
  sim_runtime& operator=(const sim_runtime&) = delete;

  std::string_view name() const override { return "sim"; }
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

  // Fault injection: a running (or stopping) container exits now with `code`, as if its
  // process had died; container_exited goes to its start's reply_to. False when it was not
  // running.
  bool crash(const std::string& id, int32_t code);
  // crash() for each id; returns how many were running.
  std::size_t crash_many(std::span<const std::string> ids, int32_t code);

  // Containers known (created and not removed).
  std::size_t size() const;
  sim_counts counts() const;

private:
  enum class timer_kind : uint8_t { running, exit, kill };

  struct timer {
    sim_clock::time_point at;
    uint64_t gen;
    std::string id;
    timer_kind kind;
    bool operator>(const timer& other) const { return at > other.at; }
  };

  // Sharded so that actors on different scheduler threads rarely contend; alignment keeps two
  // shards' mutexes off one cache line.
  struct alignas(64) shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, sim_container> containers;
  };
  static constexpr std::size_t shard_count = 16;

  shard& shard_of(const std::string& id);
  const shard& shard_of(const std::string& id) const;

  void schedule(sim_clock::time_point at, uint64_t gen, const std::string& id, timer_kind kind);
  void timer_loop();
  void fire(const timer& t);

  // Transitions; the caller holds the container's shard lock, and messages are sent under it
  // so that one container's messages can never overtake each other.
  void become_running(const std::string& id, sim_container& c, sim_clock::time_point now);
  void exit_now(const std::string& id, sim_container& c, int32_t code, int signal);

  std::vector<std::string> oses_;
  std::array<shard, shard_count> shards_;
  std::atomic<uint64_t> next_gen_{1};
  std::atomic<int32_t> next_pid_{1000}; // fake pids; never a real process

  std::mutex timer_mu_;
  std::condition_variable timer_cv_;
  std::vector<timer> timers_; // a min-heap on `at`
  bool stopping_ = false;
  std::thread timer_thread_; // last: starts after everything it uses exists
};

} // namespace nv
