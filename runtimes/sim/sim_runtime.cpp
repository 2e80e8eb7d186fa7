#include "runtimes/sim/sim_runtime.hpp"

#include <algorithm>
#include <csignal>
#include <functional>
#include <utility>

#include <caf/send.hpp>

namespace nv {

namespace {

using phase = sim_container::phase;

constexpr int32_t kill_code = 128 + SIGKILL;

// A container's sim block, from its opaque options; none: a container that simply runs.
const sim_behavior& behavior_of(const container_spec& spec) {
  static const sim_behavior plain;
  const auto* b = std::any_cast<sim_behavior>(&spec.options);
  return b ? *b : plain;
}

container_state public_state(phase p) {
  switch (p) {
  case phase::created:
  case phase::starting:
    return container_state::created;
  case phase::running:
    return container_state::running;
  case phase::stopping:
    return container_state::stopping;
  case phase::exited:
    return container_state::exited;
  }
  return container_state::unknown;
}

// Its process exists: it can exit, crash, be exec'd into and fail health checks.
bool alive(const sim_container& c) {
  return c.ph == phase::running || c.ph == phase::stopping;
}

bool unhealthy(const sim_container& c, sim_clock::time_point now) {
  return alive(c) && c.unhealthy_after && now >= c.running_since + *c.unhealthy_after;
}

} // namespace

sim_runtime::sim_runtime(std::vector<std::string> oses)
    : oses_(std::move(oses)), timer_thread_([this] { timer_loop(); }) {}

sim_runtime::~sim_runtime() {
  {
    std::lock_guard lock{timer_mu_};
    stopping_ = true;
  }
  timer_cv_.notify_one();
  timer_thread_.join();
}

bool sim_runtime::runs_os(std::string_view os) const {
  return std::find(oses_.begin(), oses_.end(), os) != oses_.end();
}

sim_runtime::shard& sim_runtime::shard_of(const std::string& id) {
  return shards_[std::hash<std::string>{}(id) % shard_count];
}

const sim_runtime::shard& sim_runtime::shard_of(const std::string& id) const {
  return shards_[std::hash<std::string>{}(id) % shard_count];
}

void sim_runtime::pull(const container_spec& spec, caf::actor reply_to) {
  if (behavior_of(spec).fail_pull.empty())
    caf::anon_send(reply_to, reply_ok(runtime_key(spec), runtime_op::pull));
  else
    caf::anon_send(reply_to, reply_failed(runtime_key(spec), runtime_op::pull,
                                          PullFailed{spec.image, behavior_of(spec).fail_pull}));
}

void sim_runtime::create(const container_spec& spec, caf::actor reply_to) {
  if (!behavior_of(spec).fail_create.empty()) {
    caf::anon_send(reply_to, reply_failed(runtime_key(spec), runtime_op::create,
                                          CreateFailed{spec.id, behavior_of(spec).fail_create}));
    return;
  }
  auto& s = shard_of(runtime_key(spec));
  std::lock_guard lock{s.mu};
  auto [it, inserted] = s.containers.try_emplace(runtime_key(spec));
  if (!inserted) {
    caf::anon_send(reply_to,
                   reply_failed(runtime_key(spec), runtime_op::create,
                                CreateFailed{spec.id, "a container with this id exists"}));
    return;
  }
  auto& c = it->second;
  const auto& b = behavior_of(spec);
  c.fail_start = b.fail_start;
  c.start_delay = std::max(b.start_delay, duration::zero());
  c.exit_after = b.exit_after;
  c.unhealthy_after = b.unhealthy_after;
  c.gen = next_gen_++;
  c.exit_code_on_exit = b.exit_code;
  c.hang_on_stop = b.hang_on_stop;
  caf::anon_send(reply_to, reply_ok(runtime_key(spec), runtime_op::create));
}

void sim_runtime::start(const std::string& id, caf::actor reply_to) {
  auto& s = shard_of(id);
  std::lock_guard lock{s.mu};
  auto it = s.containers.find(id);
  if (it == s.containers.end()) {
    caf::anon_send(reply_to,
                   reply_failed(id, runtime_op::start, no_such_container(replica_of(id))));
    return;
  }
  auto& c = it->second;
  if (!c.fail_start.empty()) {
    c.start_failed = true;
    caf::anon_send(reply_to,
                   reply_failed(id, runtime_op::start, StartFailed{replica_of(id), c.fail_start}));
    return;
  }
  if (c.ph != phase::created) {
    // A container starts once; a restart is remove and create.
    caf::anon_send(reply_to,
                   reply_failed(id, runtime_op::start,
                                StartFailed{replica_of(id), "container was started already"}));
    return;
  }
  c.exit_to = std::move(reply_to);
  auto now = sim_clock::now();
  if (c.start_delay > duration::zero()) {
    c.ph = phase::starting;
    schedule(now + c.start_delay, c.gen, id, timer_kind::running);
  } else {
    become_running(id, c, now);
  }
}

void sim_runtime::stop(const std::string& id, duration grace, int signal, caf::actor reply_to) {
  auto& s = shard_of(id);
  std::lock_guard lock{s.mu};
  auto it = s.containers.find(id);
  if (it == s.containers.end()) {
    caf::anon_send(reply_to, reply_failed(id, runtime_op::stop, no_such_container(replica_of(id))));
    return;
  }
  auto& c = it->second;
  switch (c.ph) {
  case phase::created:
  case phase::exited:
    // Nothing runs: like `docker stop`, a no-op that succeeds.
    break;
  case phase::starting:
    // The start never completed, so it fails, and no exit is reported for a process that
    // never ran.
    caf::anon_send(c.exit_to,
                   reply_failed(id, runtime_op::start,
                                StartFailed{replica_of(id), "stopped before it was running"}));
    c.ph = phase::exited;
    c.exit_code = 128 + signal;
    c.signal = static_cast<uint8_t>(signal);
    break;
  case phase::running:
    if (!c.hang_on_stop) {
      exit_now(id, c, 128 + signal, signal);
      break;
    }
    // It ignores the signal; the reply waits for the kill at the grace deadline.
    c.ph = phase::stopping;
    c.signal = static_cast<uint8_t>(signal);
    c.stop_to = std::move(reply_to);
    if (grace > duration::zero())
      schedule(sim_clock::now() + grace, c.gen, id, timer_kind::kill);
    else
      exit_now(id, c, kill_code, SIGKILL);
    return;
  case phase::stopping:
    // A second stop does not wait for the first one's grace: it kills at once, and both
    // stops are answered.
    exit_now(id, c, kill_code, SIGKILL);
    break;
  }
  caf::anon_send(reply_to, reply_ok(id, runtime_op::stop));
}

void sim_runtime::remove(const std::string& id, caf::actor reply_to) {
  // Declared before the lock, so the removed container (and the actor handles it holds) is
  // destroyed after the lock is released: the last reference to an actor can run its cleanup.
  decltype(shard::containers)::node_type removed;
  auto& s = shard_of(id);
  std::lock_guard lock{s.mu};
  auto it = s.containers.find(id);
  if (it == s.containers.end()) {
    caf::anon_send(reply_to,
                   reply_failed(id, runtime_op::remove, no_such_container(replica_of(id))));
    return;
  }
  auto& c = it->second;
  // Every call gets its one answer, also when the container goes away under it.
  if (c.ph == phase::starting)
    caf::anon_send(c.exit_to,
                   reply_failed(id, runtime_op::start,
                                StartFailed{replica_of(id), "removed before it was running"}));
  else if (c.ph == phase::stopping)
    caf::anon_send(c.stop_to, reply_ok(id, runtime_op::stop));
  removed = s.containers.extract(it);
  caf::anon_send(reply_to, reply_ok(id, runtime_op::remove));
}

void sim_runtime::exec(const std::string& id, uint64_t exec_id, std::vector<std::string>, duration,
                       caf::actor reply_to) {
  auto& s = shard_of(id);
  std::lock_guard lock{s.mu};
  auto it = s.containers.find(id);
  // exec_result carries no error, so failures to exec at all are code -1 with the reason.
  if (it == s.containers.end()) {
    caf::anon_send(reply_to, exec_result{id, exec_id, -1,
                                         to_string(no_such_container(replica_of(id))), false});
    return;
  }
  const auto& c = it->second;
  if (!alive(c))
    caf::anon_send(reply_to, exec_result{id, exec_id, -1, "container is not running", false});
  else if (unhealthy(c, sim_clock::now()))
    caf::anon_send(reply_to, exec_result{id, exec_id, 1, "unhealthy", false});
  else
    caf::anon_send(reply_to, exec_result{id, exec_id, 0, "", false});
}

container_status sim_runtime::state(const std::string& id) const {
  auto& s = shard_of(id);
  std::lock_guard lock{s.mu};
  auto it = s.containers.find(id);
  if (it == s.containers.end())
    return container_status{};
  const auto& c = it->second;
  return container_status{public_state(c.ph), c.exit_code, c.pid, !unhealthy(c, sim_clock::now())};
}

std::vector<std::string> sim_runtime::logs(const std::string& id, std::size_t tail) const {
  auto& s = shard_of(id);
  std::lock_guard lock{s.mu};
  auto it = s.containers.find(id);
  if (it == s.containers.end())
    return {};
  const auto& c = it->second;
  // Derived from the state rather than stored: at most five lines, no per-container buffer.
  std::vector<std::string> lines{"created"};
  if (c.start_failed)
    lines.push_back("start failed: " + c.fail_start);
  if (c.pid != 0)
    lines.push_back("started, pid " + std::to_string(c.pid));
  if (unhealthy(c, sim_clock::now()))
    lines.push_back("unhealthy");
  if (c.signal != 0)
    lines.push_back("received signal " + std::to_string(c.signal));
  if (c.ph == phase::exited)
    lines.push_back("exited with code " + std::to_string(c.exit_code));
  if (lines.size() > tail)
    lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(tail));
  return lines;
}

std::optional<int> sim_runtime::pid(const std::string& id) const {
  auto& s = shard_of(id);
  std::lock_guard lock{s.mu};
  auto it = s.containers.find(id);
  if (it == s.containers.end() || !alive(it->second))
    return std::nullopt;
  return it->second.pid;
}

bool sim_runtime::crash(const std::string& id, int32_t code) {
  auto& s = shard_of(id);
  std::lock_guard lock{s.mu};
  auto it = s.containers.find(id);
  if (it == s.containers.end() || !alive(it->second))
    return false;
  exit_now(id, it->second, code, 0);
  return true;
}

std::size_t sim_runtime::crash_many(std::span<const std::string> ids, int32_t code) {
  std::size_t crashed = 0;
  for (const auto& id : ids)
    crashed += crash(id, code) ? 1 : 0;
  return crashed;
}

std::size_t sim_runtime::size() const {
  std::size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock{s.mu};
    n += s.containers.size();
  }
  return n;
}

sim_counts sim_runtime::counts() const {
  sim_counts n;
  for (const auto& s : shards_) {
    std::lock_guard lock{s.mu};
    for (const auto& [id, c] : s.containers) {
      switch (public_state(c.ph)) {
      case container_state::created:
        ++n.created;
        break;
      case container_state::running:
        ++n.running;
        break;
      case container_state::stopping:
        ++n.stopping;
        break;
      case container_state::exited:
        ++n.exited;
        break;
      case container_state::unknown:
        break;
      }
    }
  }
  return n;
}

void sim_runtime::become_running(const std::string& id, sim_container& c,
                                 sim_clock::time_point now) {
  c.ph = phase::running;
  c.running_since = now;
  c.pid = next_pid_++;
  caf::anon_send(c.exit_to, reply_ok(id, runtime_op::start, c.pid));
  if (!c.exit_after)
    return;
  if (*c.exit_after > duration::zero())
    schedule(now + *c.exit_after, c.gen, id, timer_kind::exit);
  else
    exit_now(id, c, c.exit_code_on_exit, 0);
}

void sim_runtime::exit_now(const std::string& id, sim_container& c, int32_t code, int signal) {
  bool was_stopping = c.ph == phase::stopping;
  c.ph = phase::exited;
  c.exit_code = code;
  if (signal != 0)
    c.signal = static_cast<uint8_t>(signal);
  caf::anon_send(c.exit_to, container_exited{id, code, signal});
  if (was_stopping)
    caf::anon_send(c.stop_to, reply_ok(id, runtime_op::stop));
}

void sim_runtime::schedule(sim_clock::time_point at, uint64_t gen, const std::string& id,
                           timer_kind kind) {
  bool earliest = false;
  {
    std::lock_guard lock{timer_mu_};
    earliest = timers_.empty() || at < timers_.front().at;
    timers_.push_back(timer{at, gen, id, kind});
    std::push_heap(timers_.begin(), timers_.end(), std::greater<>{});
  }
  // Only a new earliest deadline changes how long the timer thread sleeps.
  if (earliest)
    timer_cv_.notify_one();
}

void sim_runtime::timer_loop() {
  std::vector<timer> due;
  std::unique_lock lock{timer_mu_};
  while (!stopping_) {
    if (timers_.empty()) {
      timer_cv_.wait(lock);
      continue;
    }
    auto now = sim_clock::now();
    if (auto next = timers_.front().at; next > now) {
      timer_cv_.wait_until(lock, next);
      continue;
    }
    while (!timers_.empty() && timers_.front().at <= now) {
      std::pop_heap(timers_.begin(), timers_.end(), std::greater<>{});
      due.push_back(std::move(timers_.back()));
      timers_.pop_back();
    }
    // fire() takes shard locks, and callers take the timer lock while holding a shard lock.
    lock.unlock();
    for (const auto& t : due)
      fire(t);
    due.clear();
    lock.lock();
  }
}

void sim_runtime::fire(const timer& t) {
  auto& s = shard_of(t.id);
  std::lock_guard lock{s.mu};
  auto it = s.containers.find(t.id);
  if (it == s.containers.end() || it->second.gen != t.gen)
    return; // removed, or removed and created again
  auto& c = it->second;
  switch (t.kind) {
  case timer_kind::running:
    if (c.ph == phase::starting)
      become_running(t.id, c, t.at);
    break;
  case timer_kind::exit:
    if (alive(c))
      exit_now(t.id, c, c.exit_code_on_exit, 0);
    break;
  case timer_kind::kill:
    if (c.ph == phase::stopping)
      exit_now(t.id, c, kill_code, SIGKILL);
    break;
  }
}

} // namespace nv
