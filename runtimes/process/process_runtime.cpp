#include "runtimes/process/process_runtime.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <iterator>
#include <limits>
#include <pthread.h>
#include <stdexcept>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <system_error>
#include <unistd.h>
#include <utility>

#include <caf/send.hpp>

#include "posix/child_env.hpp"

namespace nv {

namespace {

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error{errno, std::generic_category(), what};
}

// Each running container holds two descriptors (its output pipe and its pidfd), three with a
// log dir; the usual soft limit of 1024 would stop the daemon at a few hundred replicas.
void raise_fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

// epoll keys: 0 is the eventfd; a child's token t has its output at 2t and its pidfd at 2t+1.
constexpr uint64_t wakeup_key = 0;

uint64_t output_key(uint64_t token) {
  return token << 1;
}

uint64_t pidfd_key(uint64_t token) {
  return (token << 1) | 1;
}

// 0 or the errno.
int add_to_epoll(int epoll, int fd, uint64_t key) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = key;
  return ::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : errno;
}

// While alive, the I/O thread takes no process-directed signals: they belong to whatever
// handles signals in the daemon. Children get their own mask at spawn.
struct all_signals_blocked {
  sigset_t old;
  all_signals_blocked() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
  }
  ~all_signals_blocked() { pthread_sigmask(SIG_SETMASK, &old, nullptr); }
};

} // namespace

process_runtime::process_runtime(process_runtime_options options)
    : options_(std::move(options)), buffer_(64 * 1024) {
  if (!options_.log_dir.empty()) {
    auto dir = open_log_dir(options_.log_dir);
    if (!dir.error.empty())
      throw std::runtime_error{dir.error};
    log_dir_ = std::move(dir.dir);
  }
  own_home_ = resolve_user("").home;
  raise_fd_limit();
  dev_null_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!dev_null_)
    throw_errno("open /dev/null");
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_)
    throw_errno("epoll_create1");
  wakeup_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wakeup_)
    throw_errno("eventfd");
  if (int err = add_to_epoll(epoll_.get(), wakeup_.get(), wakeup_key); err != 0)
    throw std::system_error{err, std::generic_category(), "epoll_ctl"};
  all_signals_blocked blocked; // inherited by the thread
  io_thread_ = std::thread{[this] { io_loop(); }};
}

process_runtime::~process_runtime() {
  {
    std::lock_guard lock{queue_mu_};
    quit_ = true;
  }
  ::eventfd_write(wakeup_.get(), 1);
  io_thread_.join();
}

bool process_runtime::runs_os(std::string_view os) const {
  // Built on Linux only (pidfd, epoll, eventfd).
  return os == "linux";
}

void process_runtime::pull(const container_spec& spec, caf::actor reply_to) {
  // No images: the command runs from the host's filesystem.
  caf::anon_send(reply_to, reply_ok(runtime_key(spec), runtime_op::pull));
}

void process_runtime::create(const container_spec& spec, caf::actor reply_to) {
  if (spec.command.empty()) {
    caf::anon_send(reply_to,
                   reply_failed(runtime_key(spec), runtime_op::create,
                                CreateFailed{spec.id, "no command: the process runtime needs "
                                                      "command.entrypoint"}));
    return;
  }
  container_spec env_source;
  env_source.deployment = spec.deployment;
  env_source.service = spec.service;
  env_source.replica = spec.replica;
  env_source.env = spec.env;
  auto how = std::make_shared<const launch>(
      launch{spec.command, std::move(env_source), spec.workdir, spec.user});
  std::lock_guard lock{mu_};
  auto [it, inserted] = containers_.try_emplace(
      runtime_key(spec), container{.how = std::move(how), .log = log_ring{options_.log_lines}});
  if (!inserted) {
    caf::anon_send(reply_to,
                   reply_failed(runtime_key(spec), runtime_op::create,
                                CreateFailed{spec.id, "a container with this id exists"}));
    return;
  }
  it->second.gen = next_gen_++;
  caf::anon_send(reply_to, reply_ok(runtime_key(spec), runtime_op::create));
}

void process_runtime::start(const std::string& id, caf::actor reply_to) {
  uint64_t gen = 0;
  {
    std::lock_guard lock{mu_};
    auto it = containers_.find(id);
    if (it == containers_.end()) {
      caf::anon_send(reply_to,
                     reply_failed(id, runtime_op::start, no_such_container(replica_of(id))));
      return;
    }
    auto& c = it->second;
    if (c.ph != phase::created) {
      caf::anon_send(reply_to,
                     reply_failed(id, runtime_op::start,
                                  StartFailed{replica_of(id), "container was started already"}));
      return;
    }
    c.ph = phase::starting;
    c.exit_to = reply_to;
    gen = c.gen;
  }
  enqueue(command{command::kind::start, id, gen, std::move(reply_to)});
}

void process_runtime::stop(const std::string& id, duration grace, int signal, caf::actor reply_to) {
  uint64_t gen = 0;
  {
    std::lock_guard lock{mu_};
    auto it = containers_.find(id);
    if (it == containers_.end()) {
      caf::anon_send(reply_to,
                     reply_failed(id, runtime_op::stop, no_such_container(replica_of(id))));
      return;
    }
    auto& c = it->second;
    if (c.ph == phase::created || c.ph == phase::exited) {
      // Nothing runs: like `docker stop`, a no-op that succeeds.
      caf::anon_send(reply_to, reply_ok(id, runtime_op::stop));
      return;
    }
    gen = c.gen;
  }
  // Queued behind a pending start, which the I/O thread runs first.
  enqueue(command{command::kind::stop, id, gen, std::move(reply_to), grace, signal});
}

void process_runtime::remove(const std::string& id, caf::actor reply_to) {
  // Declared before the lock, so the removed container (and the actor handles it holds) is
  // destroyed after the lock is released: the last reference to an actor can run its cleanup.
  decltype(containers_)::node_type removed;
  std::lock_guard lock{mu_};
  auto it = containers_.find(id);
  if (it == containers_.end()) {
    caf::anon_send(reply_to,
                   reply_failed(id, runtime_op::remove, no_such_container(replica_of(id))));
    return;
  }
  auto& c = it->second;
  switch (c.ph) {
  case phase::starting:
    // Every call gets its one answer; the I/O thread kills what it may be spawning right now.
    caf::anon_send(c.exit_to,
                   reply_failed(id, runtime_op::start,
                                StartFailed{replica_of(id), "removed before it was running"}));
    break;
  case phase::running:
  case phase::stopping:
    // Safe under the lock: the leader is not reaped yet, so the group id is still its own. The
    // I/O thread reaps it without telling anyone.
    signal_group(c.pid, SIGKILL);
    for (const auto& waiter : c.stop_waiters)
      caf::anon_send(waiter, reply_ok(id, runtime_op::stop));
    break;
  case phase::created:
  case phase::exited:
    break;
  }
  removed = containers_.extract(it);
  caf::anon_send(reply_to, reply_ok(id, runtime_op::remove));
}

void process_runtime::exec(const std::string& id, uint64_t exec_id, std::vector<std::string> cmd,
                           duration timeout, caf::actor reply_to) {
  command c{command::kind::exec, id, 0, std::move(reply_to), timeout};
  c.argv = std::move(cmd);
  c.exec_id = exec_id;
  enqueue(std::move(c));
}

container_status process_runtime::state(const std::string& id) const {
  std::lock_guard lock{mu_};
  auto it = containers_.find(id);
  if (it == containers_.end())
    return container_status{};
  const auto& c = it->second;
  auto st = container_state::unknown;
  switch (c.ph) {
  case phase::created:
  case phase::starting:
    st = container_state::created;
    break;
  case phase::running:
    st = container_state::running;
    break;
  case phase::stopping:
    st = container_state::stopping;
    break;
  case phase::exited:
    st = container_state::exited;
    break;
  }
  return container_status{st, c.exit_code, c.pid, true};
}

std::vector<std::string> process_runtime::logs(const std::string& id, std::size_t tail) const {
  std::lock_guard lock{mu_};
  auto it = containers_.find(id);
  if (it == containers_.end())
    return {};
  return it->second.log.tail(tail);
}

std::optional<int> process_runtime::pid(const std::string& id) const {
  std::lock_guard lock{mu_};
  auto it = containers_.find(id);
  if (it == containers_.end())
    return std::nullopt;
  const auto& c = it->second;
  if (c.ph != phase::running && c.ph != phase::stopping)
    return std::nullopt;
  return c.pid;
}

void process_runtime::enqueue(command cmd) {
  bool was_empty = false;
  {
    std::lock_guard lock{queue_mu_};
    was_empty = queue_.empty();
    queue_.push_back(std::move(cmd));
  }
  // The I/O thread takes the whole queue at once, so only the first command needs to wake it.
  if (was_empty)
    ::eventfd_write(wakeup_.get(), 1);
}

void process_runtime::io_loop() {
  // One command per turn, between epoll waits: while 1 000 starts are being spawned (about a
  // millisecond each), the exits, output and deadlines of running children are still handled
  // within a spawn's time. An epoll_wait that does not wait costs about a microsecond.
  std::vector<epoll_event> events(256);
  std::deque<command> pending;
  for (;;) {
    int timeout = pending.empty() ? epoll_timeout_ms(clock::now()) : 0;
    int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), timeout);
    for (int i = 0; i < n; ++i) {
      auto key = events[static_cast<std::size_t>(i)].data.u64;
      if (key == wakeup_key) {
        eventfd_t count = 0;
        ::eventfd_read(wakeup_.get(), &count);
        continue;
      }
      auto token = key >> 1;
      if ((key & 1) != 0) {
        on_exit(token);
        continue;
      }
      // The child may be gone already: its exit came earlier in this batch.
      if (auto it = children_.find(token); it != children_.end())
        on_output(it->second);
    }
    {
      std::lock_guard lock{queue_mu_};
      if (quit_)
        break;
      std::move(queue_.begin(), queue_.end(), std::back_inserter(pending));
      queue_.clear();
    }
    if (!pending.empty()) {
      run(pending.front());
      pending.pop_front();
    }
    fire_deadlines(clock::now());
  }
  kill_all_children();
}

void process_runtime::run(command& cmd) {
  switch (cmd.what) {
  case command::kind::start:
    run_start(cmd);
    break;
  case command::kind::stop:
    run_stop(cmd);
    break;
  case command::kind::exec:
    run_exec(cmd);
    break;
  }
}

void process_runtime::run_start(const command& cmd) {
  std::shared_ptr<const launch> how;
  {
    std::lock_guard lock{mu_};
    auto it = containers_.find(cmd.id);
    // Removed since: remove has answered the start.
    if (it == containers_.end() || it->second.gen != cmd.gen)
      return;
    how = it->second.how;
  }
  // Spawned without the lock: callers' snapshots do not wait for an exec.
  auto who = identity_of(*how);
  std::string error = who.error;
  log_file log;
  if (error.empty() && log_dir_) {
    auto name = replica_of(cmd.id);
    if (options_.qualified_log_names) {
      name = cmd.id;
      std::replace(name.begin(), name.end(), '/', '.');
    }
    log = log_file{log_dir_.get(), options_.log_dir, name};
    error = log.error();
  }
  spawn_outcome spawned;
  if (error.empty()) {
    auto env = child_environment(how->env_source, environ, who.home);
    spawned = spawn_child(
        {how->argv, env, how->workdir, dev_null_.get(), who.switch_to ? &*who.switch_to : nullptr});
    error = std::move(spawned.error);
  }
  auto& proc = spawned.child;
  uint64_t token = 0;
  if (error.empty()) {
    token = next_token_++;
    error = watch(token, proc);
  }

  std::lock_guard lock{mu_};
  auto it = containers_.find(cmd.id);
  bool current = it != containers_.end() && it->second.gen == cmd.gen;
  if (!error.empty()) {
    if (current) {
      it->second.ph = phase::created; // may be started again
      caf::anon_send(it->second.exit_to,
                     reply_failed(cmd.id, runtime_op::start,
                                  StartFailed{replica_of(cmd.id), std::move(error)}));
    }
    return;
  }
  if (current) {
    auto& c = it->second;
    c.ph = phase::running;
    c.pid = proc.pid;
    c.token = token;
    caf::anon_send(c.exit_to, reply_ok(cmd.id, runtime_op::start, proc.pid));
  } else {
    // Removed while it was being spawned; reaped silently like any removed container's process.
    signal_group(proc.pid, SIGKILL);
  }
  children_.emplace(token, child{std::move(proc), cmd.id, cmd.gen, false, std::move(log)});
}

void process_runtime::run_stop(const command& cmd) {
  std::lock_guard lock{mu_};
  auto it = containers_.find(cmd.id);
  if (it == containers_.end() || it->second.gen != cmd.gen) {
    // Removed since, which killed its process.
    caf::anon_send(cmd.reply_to, reply_ok(cmd.id, runtime_op::stop));
    return;
  }
  auto& c = it->second;
  switch (c.ph) {
  case phase::created:  // its start failed
  case phase::starting: // not here: the start was queued before this stop and has run
  case phase::exited:
    caf::anon_send(cmd.reply_to, reply_ok(cmd.id, runtime_op::stop));
    return;
  case phase::running:
    c.ph = phase::stopping;
    signal_group(c.pid, cmd.signal);
    // A stopped process (SIGSTOP, SIGTSTP) keeps the signal pending until it is continued, so
    // it would cost the whole grace; systemd sends SIGCONT after the stop signal too.
    signal_group(c.pid, SIGCONT);
    break;
  case phase::stopping:
    break;
  }
  c.stop_waiters.push_back(cmd.reply_to);
  deadlines_.push(deadline{clock::now() + std::max(cmd.time, duration::zero()), c.token});
}

void process_runtime::run_exec(command& cmd) {
  std::shared_ptr<const launch> how;
  {
    std::lock_guard lock{mu_};
    auto it = containers_.find(cmd.id);
    // exec_result carries no error, so failures to run at all are code -1 with the reason.
    if (it == containers_.end()) {
      caf::anon_send(cmd.reply_to,
                     exec_result{cmd.id, cmd.exec_id, -1,
                                 to_string(no_such_container(replica_of(cmd.id))), false});
      return;
    }
    if (it->second.ph != phase::running && it->second.ph != phase::stopping) {
      caf::anon_send(cmd.reply_to,
                     exec_result{cmd.id, cmd.exec_id, -1, "container is not running", false});
      return;
    }
    how = it->second.how;
  }
  auto who = identity_of(*how);
  if (!who.error.empty()) {
    caf::anon_send(cmd.reply_to, exec_result{cmd.id, cmd.exec_id, -1, std::move(who.error), false});
    return;
  }
  auto env = child_environment(how->env_source, environ, who.home);
  auto spawned = spawn_child(
      {cmd.argv, env, how->workdir, dev_null_.get(), who.switch_to ? &*who.switch_to : nullptr});
  if (!spawned.error.empty()) {
    caf::anon_send(cmd.reply_to,
                   exec_result{cmd.id, cmd.exec_id, -1, std::move(spawned.error), false});
    return;
  }
  auto& proc = spawned.child;
  auto token = next_token_++;
  if (auto error = watch(token, proc); !error.empty()) {
    caf::anon_send(cmd.reply_to, exec_result{cmd.id, cmd.exec_id, -1, std::move(error), false});
    return;
  }
  if (cmd.time > duration::zero())
    deadlines_.push(deadline{clock::now() + cmd.time, token});
  children_.emplace(
      token, child{std::move(proc), cmd.id, 0, true, {}, std::move(cmd.reply_to), cmd.exec_id});
}

std::string process_runtime::watch(uint64_t token, const child_process& proc) {
  int err = add_to_epoll(epoll_.get(), proc.pidfd.get(), pidfd_key(token));
  if (err == 0)
    err = add_to_epoll(epoll_.get(), proc.output.get(), output_key(token));
  if (err == 0)
    return {};
  // Unwatched, its exit would go unnoticed: end it now. Closing its descriptors (the caller's
  // child_process) takes them out of the epoll set.
  signal_group(proc.pid, SIGKILL);
  reap(proc.pid, true);
  return std::string{"epoll: "} + std::strerror(err);
}

resolved_user process_runtime::identity_of(const launch& how) const {
  if (how.user.empty())
    return resolved_user{std::nullopt, own_home_, {}};
  return resolve_user(how.user);
}

void process_runtime::on_output(child& ch) {
  auto n = ::read(ch.proc.output.get(), buffer_.data(), buffer_.size());
  if (n > 0) {
    consume(ch, std::string_view{buffer_.data(), static_cast<std::size_t>(n)});
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  // End of file (every writer is gone), or an error: either way nothing more to read, and a
  // level-triggered descriptor at EOF would wake us forever.
  close_output(ch);
}

void process_runtime::consume(child& ch, std::string_view bytes) {
  if (ch.is_exec) {
    auto room = exec_output_limit - ch.output.size();
    ch.output.append(bytes.substr(0, room));
    return;
  }
  ch.log.write(bytes);
  if (options_.on_line)
    pass_lines(ch, bytes);
  std::lock_guard lock{mu_};
  auto it = containers_.find(ch.id);
  if (it != containers_.end() && it->second.gen == ch.gen)
    it->second.log.append(bytes);
}

void process_runtime::pass_lines(child& ch, std::string_view bytes) {
  while (!bytes.empty()) {
    auto nl = bytes.find('\n');
    auto chunk = bytes.substr(0, nl);
    auto room = log_ring::max_line - ch.line.size();
    if (chunk.size() > room) { // cut like the log ring, so one endless line costs bounded memory
      ch.line.append(chunk.substr(0, room));
      options_.on_line(replica_of(ch.id), ch.line);
      ch.line.clear();
      bytes.remove_prefix(room);
      continue;
    }
    if (nl == std::string_view::npos) {
      ch.line.append(chunk);
      return;
    }
    if (ch.line.empty()) {
      options_.on_line(replica_of(ch.id), chunk);
    } else {
      ch.line.append(chunk);
      options_.on_line(replica_of(ch.id), ch.line);
      ch.line.clear();
    }
    bytes.remove_prefix(nl + 1);
  }
}

void process_runtime::close_output(child& ch) {
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, ch.proc.output.get(), nullptr);
  ch.proc.output.reset();
  if (!ch.is_exec && options_.on_line && !ch.line.empty()) {
    options_.on_line(replica_of(ch.id), ch.line);
    ch.line.clear();
  }
}

void process_runtime::on_exit(uint64_t token) {
  auto found = children_.find(token);
  if (found == children_.end())
    return;
  auto& ch = found->second;
  // A container ends with its main process (as in a PID namespace); what is left of its group
  // would otherwise run unsupervised and keep the pipe open. The zombie leader keeps the group
  // id valid until the reap below.
  signal_group(ch.proc.pid, SIGKILL);
  // What it wrote before exiting is in the pipe now. Bounded, in case a group member that has
  // not died yet keeps writing.
  for (int i = 0; i < 16 && ch.proc.output; ++i) {
    auto n = ::read(ch.proc.output.get(), buffer_.data(), buffer_.size());
    if (n > 0)
      consume(ch, std::string_view{buffer_.data(), static_cast<std::size_t>(n)});
    else if (n < 0 && errno == EINTR)
      continue;
    else if (n < 0 && errno == EAGAIN)
      break;
    else
      close_output(ch);
  }

  // Moved out under the lock, destroyed after it (see remove).
  caf::actor exit_to;
  std::vector<caf::actor> stop_waiters;
  {
    std::unique_lock lock{mu_, std::defer_lock};
    if (!ch.is_exec)
      lock.lock(); // reaping under the lock: remove signals only unreaped groups
    auto status = reap(ch.proc.pid, false);
    // A readable pidfd means it can be reaped; if not yet, the level-triggered pidfd says so again.
    if (!status)
      return;
    if (ch.is_exec) {
      caf::anon_send(ch.exec_to, exec_result{ch.id, ch.exec_id, status->code, std::move(ch.output),
                                             ch.timed_out});
    } else if (auto it = containers_.find(ch.id);
               it != containers_.end() && it->second.gen == ch.gen) {
      auto& c = it->second;
      c.log.finish();
      c.ph = phase::exited;
      c.exit_code = status->code;
      exit_to = std::move(c.exit_to);
      stop_waiters = std::move(c.stop_waiters);
      caf::anon_send(exit_to, container_exited{ch.id, status->code, status->signal});
      for (const auto& waiter : stop_waiters)
        caf::anon_send(waiter, reply_ok(ch.id, runtime_op::stop));
    }
  }
  if (ch.proc.output)
    close_output(ch);
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, ch.proc.pidfd.get(), nullptr);
  children_.erase(found);
}

void process_runtime::fire_deadlines(clock::time_point now) {
  while (!deadlines_.empty() && deadlines_.top().at <= now) {
    auto token = deadlines_.top().token;
    deadlines_.pop();
    // A child that is gone left its deadline behind; tokens are never reused.
    auto it = children_.find(token);
    if (it == children_.end())
      continue;
    it->second.timed_out = it->second.is_exec;
    // Unreaped (still in children_), so its group id is still its own.
    signal_group(it->second.proc.pid, SIGKILL);
  }
}

int process_runtime::epoll_timeout_ms(clock::time_point now) const {
  if (deadlines_.empty())
    return -1;
  auto left = deadlines_.top().at - now;
  if (left <= clock::duration::zero())
    return 0;
  // Rounded up: waking early would only loop once more before the deadline.
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return static_cast<int>(std::min<decltype(ms)>(ms, std::numeric_limits<int>::max()));
}

void process_runtime::kill_all_children() {
  for (const auto& [token, ch] : children_)
    signal_group(ch.proc.pid, SIGKILL);
  std::lock_guard lock{mu_};
  for (const auto& [token, ch] : children_)
    reap(ch.proc.pid, true);
  children_.clear();
}

} // namespace nv
