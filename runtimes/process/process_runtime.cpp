#include "runtimes/process/process_runtime.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <pthread.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>
#include <utility>

#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include "keeper/log_file.hpp"
#include "messages/digest.hpp"
#include "posix/port_holder.hpp"

namespace nv {

namespace {

constexpr uint64_t key_wakeup = 0;
constexpr uint64_t key_keeper = 1;
constexpr std::size_t max_line = 4096; // as keeper/log_ring.hpp cuts lines

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error{what};
}

std::string errno_text() {
  return std::strerror(errno);
}

// While alive, the I/O thread takes no process-directed signals: they belong to whatever
// handles signals in the daemon.
struct all_signals_blocked {
  sigset_t old;
  all_signals_blocked() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
  }
  ~all_signals_blocked() { pthread_sigmask(SIG_SETMASK, &old, nullptr); }
};

std::string program_beside_me() {
  if (const char* env = std::getenv("NODEVISOR_KEEPER"); env != nullptr && *env != '\0')
    return env;
  char self[4096];
  auto n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0)
    return "nodevisor-keeper";
  std::string path{self, static_cast<std::size_t>(n)};
  return path.substr(0, path.rfind('/') + 1) + "nodevisor-keeper";
}

// What decides whether a held container is the one a create asks for.
std::string fingerprint_of(const keeper::spawn& s) {
  std::string out;
  auto add = [&out](std::string_view part) {
    out.append(part);
    out.push_back('\x1f');
  };
  for (const auto& a : s.argv)
    add(a);
  out.push_back('\x1e');
  for (const auto& [k, v] : s.env)
    add(k + "=" + v);
  add(s.workdir);
  add(s.user);
  add(s.launched_by.pid_file);
  for (const auto& a : s.launched_by.start)
    add(a);
  return text_digest(out);
}

// Blocking receive of one message (at set-up, off the CAF threads).
std::optional<keeper::event> receive_event(int fd, keeper::message_buffer& buffer,
                                           std::string& error) {
  ssize_t n = 0;
  do {
    n = ::recv(fd, buffer.data(), buffer.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    error = n == 0 ? "it closed the connection" : errno_text();
    return std::nullopt;
  }
  return keeper::decode_event({buffer.data(), static_cast<std::size_t>(n)}, error);
}

int64_t to_ms(duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::max(d, duration::zero()))
      .count();
}

} // namespace

process_runtime::process_runtime(process_runtime_options options) : options_(std::move(options)) {
  program_ = options_.keeper_program.empty() ? program_beside_me() : options_.keeper_program;
  // Checked here too, so that a refused directory is named in the exception, not only in the
  // keeper's stderr.
  if (!options_.log_dir.empty()) {
    auto dir = open_log_dir(options_.log_dir);
    if (!dir.error.empty())
      fail(dir.error);
  }
  if (options_.cgroup_name.empty())
    options_.cgroup_name = options_.keeper_socket.empty()
                               ? "run-" + std::to_string(::getpid())
                               : "node-" + text_digest(options_.keeper_socket);
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  wakeup_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!epoll_ || !wakeup_)
    fail("process runtime: " + errno_text());
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = key_wakeup;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wakeup_.get(), &ev);
  connect_or_start_keeper();
  all_signals_blocked blocked; // inherited by the thread
  io_thread_ = std::thread{[this] { io_loop(); }};
}

process_runtime::~process_runtime() {
  {
    std::lock_guard lock{mu_};
    quit_ = true;
  }
  ::eventfd_write(wakeup_.get(), 1);
  if (io_thread_.joinable())
    io_thread_.join();
  // Attached: the end of the connection ends the keeper, which kills and reaps every container
  // first. Shared: the keeper goes on, for the next daemon.
  keeper_.reset();
  if (keeper_child_ > 0 && options_.keeper_socket.empty())
    ::waitpid(keeper_child_, nullptr, 0);
}

void process_runtime::connect_or_start_keeper() {
  std::string error;
  if (!options_.keeper_socket.empty()) {
    unique_fd fd{::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)};
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (options_.keeper_socket.size() >= sizeof addr.sun_path)
      fail("keeper socket path too long: " + options_.keeper_socket);
    std::strcpy(addr.sun_path, options_.keeper_socket.c_str());
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      keeper::size_socket_buffers(fd.get());
      auto hello = receive_event(fd.get(), buffer_, error);
      auto* h = hello ? std::get_if<keeper::hello>(&*hello) : nullptr;
      if (h != nullptr && h->version == keeper::protocol_version) {
        keeper_ = std::move(fd);
        take_hello(*h);
        return;
      }
      if (h != nullptr && error.empty())
        error = "version " + std::to_string(h->version);
      // Not one we can speak to (another version, after an upgrade): it ends with what it
      // holds, and a keeper of ours starts them anew.
      spdlog::warn("[/_keeper] the keeper on {} speaks another protocol ({}); ending it",
                   options_.keeper_socket, error);
      auto bye = keeper::encode(keeper::request{keeper::shutdown{}});
      ::send(fd.get(), bye.data(), bye.size(), MSG_NOSIGNAL);
      while (::recv(fd.get(), buffer_.data(), buffer_.size(), 0) > 0) {
      }
    }
  }
  start_keeper();
}

void process_runtime::start_keeper() {
  bool attached = options_.keeper_socket.empty();
  int pair[2] = {-1, -1};
  int ready[2] = {-1, -1};
  if (attached ? ::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0
               : ::pipe2(ready, O_CLOEXEC) != 0)
    fail("keeper: " + errno_text());
  unique_fd ours{attached ? pair[0] : -1}, theirs{attached ? pair[1] : -1};
  unique_fd ready_read{ready[0]}, ready_write{ready[1]};
  std::vector<std::string> args{program_, "--cgroup", options_.cgroup_name};
  if (attached) {
    args.insert(args.end(), {"--attach", "3"});
  } else {
    args.insert(args.end(), {"--listen", options_.keeper_socket});
  }
  if (!options_.log_dir.empty())
    args.insert(args.end(), {"--log-dir", options_.log_dir});
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  // Its stdout says when it listens (shared); its stderr is ours, for its few log lines.
  if (attached)
    posix_spawn_file_actions_adddup2(&actions, theirs.get(), 3);
  else
    posix_spawn_file_actions_adddup2(&actions, ready_write.get(), STDOUT_FILENO);
  posix_spawn_file_actions_addclosefrom_np(&actions, attached ? 4 : 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, program_.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    fail("keeper '" + program_ + "': " + std::strerror(rc) +
         " (it is installed beside nodevisor; NODEVISOR_KEEPER names another)");
  keeper_child_ = pid;
  std::string error;
  if (attached) {
    theirs.reset();
    keeper_ = std::move(ours);
  } else {
    ready_write.reset();
    char byte = 0;
    ssize_t n = 0;
    do {
      n = ::read(ready_read.get(), &byte, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1) {
      ::waitpid(pid, nullptr, 0);
      fail("keeper '" + program_ + "' did not start (its reason is on stderr)");
    }
    unique_fd fd{::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)};
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, options_.keeper_socket.c_str());
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      fail("keeper socket " + options_.keeper_socket + ": " + errno_text());
    keeper_ = std::move(fd);
  }
  keeper::size_socket_buffers(keeper_.get());
  auto hello = receive_event(keeper_.get(), buffer_, error);
  auto* h = hello ? std::get_if<keeper::hello>(&*hello) : nullptr;
  if (h == nullptr)
    fail("keeper '" + program_ + "' did not say hello: " + error);
  take_hello(*h);
}

void process_runtime::take_hello(const keeper::hello& h) {
  keeper_pid_ = h.keeper_pid;
  // What it holds follows, a message each.
  for (std::size_t i = 0; i < h.containers + h.notes; ++i) {
    std::string error;
    auto e = receive_event(keeper_.get(), buffer_, error);
    if (!e)
      fail("keeper pid " + std::to_string(h.keeper_pid) + ": " + error);
    if (auto* c = std::get_if<keeper::held>(&*e)) {
      next_gen_ = std::max(next_gen_, c->gen + 1);
      held_.emplace(c->id, std::move(*c));
    } else if (auto* n = std::get_if<keeper::note>(&*e)) {
      recalled_.emplace(std::move(n->key), std::move(n->text));
    }
  }
  ::fcntl(keeper_.get(), F_SETFL, ::fcntl(keeper_.get(), F_GETFL) | O_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = key_keeper;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, keeper_.get(), &ev);
  adoptable_at_connect_ = held_.size();
  claim_deadline_ = clock::now() + options_.adopt_window;
  if (!held_.empty())
    spdlog::info("[/_keeper] keeper pid {} holds {} containers; each is adopted by the replica "
                 "it belongs to",
                 keeper_pid_, held_.size());
}

int process_runtime::keeper_pid() const {
  std::lock_guard lock{mu_};
  return keeper_pid_;
}

void process_runtime::shut_down_keeper() {
  {
    std::lock_guard lock{mu_};
    quit_ = true;
  }
  ::eventfd_write(wakeup_.get(), 1);
  if (io_thread_.joinable())
    io_thread_.join();
  if (!keeper_)
    return;
  ::fcntl(keeper_.get(), F_SETFL, ::fcntl(keeper_.get(), F_GETFL) & ~O_NONBLOCK);
  for (auto& text : backlog_)
    ::send(keeper_.get(), text.data(), text.size(), MSG_NOSIGNAL);
  backlog_.clear();
  auto bye = keeper::encode(keeper::request{keeper::shutdown{}});
  ::send(keeper_.get(), bye.data(), bye.size(), MSG_NOSIGNAL);
  // It closes the connection when it exits, after killing and reaping everything it held.
  while (::recv(keeper_.get(), buffer_.data(), buffer_.size(), 0) > 0) {
  }
  keeper_.reset();
  if (keeper_child_ > 0)
    ::waitpid(keeper_child_, nullptr, 0);
  keeper_child_ = 0;
}

// --- the supervisors' memory ---

void process_runtime::annotate_exits(
    std::function<void(const std::string& id, container_exited&)> annotate) {
  std::lock_guard lock{mu_};
  annotate_ = std::move(annotate);
}

void process_runtime::remember(const std::string& key, std::string text) {
  std::lock_guard lock{mu_};
  send(keeper::note{key, std::move(text)});
}

void process_runtime::forget(const std::string& prefix) {
  std::lock_guard lock{mu_};
  send(keeper::forget{prefix});
}

// --- the runtime interface ---

bool process_runtime::runs_os(std::string_view os) const {
  return os == "linux";
}

void process_runtime::pull(const container_spec& spec, caf::actor reply_to) {
  // No images: the command runs from the host's filesystem.
  caf::anon_send(reply_to, reply_ok(runtime_key(spec), runtime_op::pull));
}

void process_runtime::create(const container_spec& spec, caf::actor reply_to) {
  auto id = runtime_key(spec);
  if (spec.command.empty()) {
    caf::anon_send(reply_to, reply_failed(id, runtime_op::create,
                                          CreateFailed{spec.id, "no command: the process runtime "
                                                                "needs command.entrypoint"}));
    return;
  }
  if (spec.gpu) {
    caf::anon_send(reply_to,
                   reply_failed(id, runtime_op::create,
                                Unsupported{"'" + spec.id +
                                            "' asks for a GPU (resources.gpu), and a process of "
                                            "the process runtime gets no devices of its own: "
                                            "run it with the oci runtime"}));
    return;
  }
  if (auto held = held_endpoint(spec)) {
    caf::anon_send(reply_to, reply_failed(id, runtime_op::create, std::move(*held)));
    return;
  }
  keeper::spawn how;
  how.id = id;
  how.argv = spec.command;
  how.deployment = spec.deployment;
  how.service = spec.service;
  how.replica = spec.replica;
  how.env = spec.env;
  how.workdir = spec.workdir;
  how.user = spec.user;
  if (!options_.log_dir.empty()) {
    auto name = options_.qualified_log_names ? id : spec.id;
    std::replace(name.begin(), name.end(), '/', '.');
    how.log = keeper::log_target{name + ".log", options_.log_max_size, options_.log_max_files};
  }
  how.forward = static_cast<bool>(options_.on_line);
  how.fingerprint = fingerprint_of(how);
  if (const auto* launched = std::any_cast<process_launch>(&spec.options)) {
    how.launched_by = launched->launch;
    how.fingerprint = text_digest(fingerprint_of(how) + launched->identity);
  }

  std::lock_guard lock{mu_};
  if (containers_.count(id) != 0) {
    caf::anon_send(reply_to,
                   reply_failed(id, runtime_op::create,
                                CreateFailed{spec.id, "a container with this id exists"}));
    return;
  }
  container c;
  if (auto h = held_.find(id); h != held_.end()) {
    if (h->second.fingerprint == how.fingerprint) {
      c.adopted = std::make_unique<keeper::held>(std::move(h->second));
      how.gen = c.adopted->gen;
    } else {
      spdlog::info("[/_keeper] {}: the container the keeper holds runs another command or "
                   "environment; it is killed and this one started",
                   id);
      send(keeper::kill{id, h->second.gen});
    }
    held_.erase(h);
  }
  if (how.gen == 0)
    how.gen = next_gen_++;
  c.gen = how.gen;
  c.tail = log_ring{tail_share_}; // share_tails() changes it with the others, if one more does
  c.how = std::make_shared<const keeper::spawn>(std::move(how));
  containers_.emplace(id, std::move(c));
  share_tails();
  caf::anon_send(reply_to, reply_ok(id, runtime_op::create));
}

void process_runtime::start(const std::string& id, caf::actor reply_to) {
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
  c.exit_to = reply_to;
  if (c.adopted) {
    // Running since before this runtime: its start is the adoption.
    auto held = std::move(*c.adopted);
    c.adopted.reset();
    c.pid = held.pid;
    caf::anon_send(reply_to, reply_ok(id, runtime_op::start, held.pid));
    if (!held.exited) {
      c.ph = phase::running;
      return;
    }
    // It exited while nobody was connected: that exit is reported now, like any other.
    c.ph = phase::exited;
    c.exit_code = held.code;
    for (const auto& line : held.tail)
      c.tail.append(line + "\n");
    caf::anon_send(reply_to, container_exited{id, held.code, held.signo});
    return;
  }
  c.ph = phase::starting;
  send(keeper::request{*c.how});
}

void process_runtime::stop(const std::string& id, duration grace, int signal, caf::actor reply_to) {
  std::lock_guard lock{mu_};
  auto it = containers_.find(id);
  if (it == containers_.end()) {
    caf::anon_send(reply_to, reply_failed(id, runtime_op::stop, no_such_container(replica_of(id))));
    return;
  }
  auto& c = it->second;
  if (c.ph == phase::created || c.ph == phase::exited) {
    // Nothing runs: like `docker stop`, a no-op that succeeds.
    caf::anon_send(reply_to, reply_ok(id, runtime_op::stop));
    return;
  }
  if (c.ph == phase::running)
    c.ph = phase::stopping;
  c.stop_waiters.push_back(std::move(reply_to));
  // Behind a pending spawn on the socket, so the keeper has the process by then.
  send(keeper::signal{id, c.gen, signal, to_ms(grace)});
}

void process_runtime::remove(const std::string& id, caf::actor reply_to) {
  // Destroyed after the lock is released: the last reference to an actor can run its cleanup.
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
    caf::anon_send(c.exit_to,
                   reply_failed(id, runtime_op::start,
                                StartFailed{replica_of(id), "removed before it was running"}));
    break;
  case phase::running:
  case phase::stopping:
    for (const auto& waiter : c.stop_waiters)
      caf::anon_send(waiter, reply_ok(id, runtime_op::stop));
    break;
  case phase::created:
  case phase::exited:
    break;
  }
  if (c.adopted)
    send(keeper::kill{id, c.adopted->gen});
  else if (c.ph != phase::created)
    send(keeper::kill{id, c.gen});
  removed = containers_.extract(it);
  share_tails();
  caf::anon_send(reply_to, reply_ok(id, runtime_op::remove));
}

void process_runtime::exec(const std::string& id, uint64_t exec_id, std::vector<std::string> cmd,
                           duration timeout, caf::actor reply_to) {
  std::lock_guard lock{mu_};
  auto it = containers_.find(id);
  // exec_result carries no error, so failures to run at all are code -1 with the reason.
  if (it == containers_.end()) {
    caf::anon_send(reply_to, exec_result{id, exec_id, -1,
                                         to_string(no_such_container(replica_of(id))), false});
    return;
  }
  if (it->second.ph != phase::running && it->second.ph != phase::stopping) {
    caf::anon_send(reply_to, exec_result{id, exec_id, -1, "container is not running", false});
    return;
  }
  // Our own ids on the wire: the callers' are unique only among each caller's execs.
  auto ours = next_exec_++;
  execs_.emplace(ours, pending_exec{id, exec_id, std::move(reply_to)});
  auto ms = timeout > duration::zero() ? std::max<int64_t>(to_ms(timeout), 1) : 0;
  send(keeper::exec{id, it->second.gen, ours, std::move(cmd), ms});
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
  return it->second.tail.tail(tail);
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

bool process_runtime::adoptable(const std::string& id) const {
  std::lock_guard lock{mu_};
  auto it = held_.find(id);
  return it != held_.end() && !it->second.exited;
}

// --- the connection ---

void process_runtime::send(const keeper::request& r) {
  auto text = keeper::encode(r);
  if (backlog_.empty() && keeper_) {
    auto n = ::send(keeper_.get(), text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(text.size()))
      return;
    // A full socket waits in the backlog; a broken one too, until the I/O thread has a new keeper.
  }
  bool was_empty = backlog_.empty();
  backlog_.push_back(std::move(text));
  if (was_empty)
    ::eventfd_write(wakeup_.get(), 1); // to watch for room on the socket
}

void process_runtime::flush() {
  while (!backlog_.empty() && keeper_) {
    auto& text = backlog_.front();
    auto n = ::send(keeper_.get(), text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n != static_cast<ssize_t>(text.size()))
      break;
    backlog_.pop_front();
  }
  epoll_event ev{};
  ev.events = EPOLLIN | (backlog_.empty() ? 0u : static_cast<uint32_t>(EPOLLOUT));
  ev.data.u64 = key_keeper;
  if (keeper_)
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, keeper_.get(), &ev);
}

void process_runtime::io_loop() {
  std::vector<epoll_event> events(64);
  for (;;) {
    int timeout = -1;
    {
      std::lock_guard lock{mu_};
      if (quit_)
        return;
      flush();
      if (!held_.empty()) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(claim_deadline_ - clock::now());
        timeout = static_cast<int>(std::clamp<int64_t>(left.count(), 0, 1 << 30));
      }
    }
    int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), timeout);
    if (n == 0)
      kill_unclaimed();
    for (int i = 0; i < n; ++i) {
      const auto& ev = events[static_cast<std::size_t>(i)];
      if (ev.data.u64 == key_wakeup) {
        eventfd_t count = 0;
        ::eventfd_read(wakeup_.get(), &count);
        continue;
      }
      if ((ev.events & EPOLLIN) == 0 && (ev.events & (EPOLLHUP | EPOLLERR)) == 0)
        continue; // room to send: the flush at the top of the loop
      for (;;) {
        auto got = ::recv(keeper_.get(), buffer_.data(), buffer_.size(), MSG_DONTWAIT);
        if (got < 0 && errno == EINTR)
          continue;
        if (got < 0 && errno == EAGAIN)
          break;
        if (got <= 0) {
          on_keeper_lost(got == 0 ? "it closed the connection" : errno_text());
          break;
        }
        std::string error;
        auto e = keeper::decode_event({buffer_.data(), static_cast<std::size_t>(got)}, error);
        if (!e) {
          spdlog::error("[/_keeper] a message from the keeper was not understood: {}", error);
          continue;
        }
        on_event(*e);
      }
    }
  }
}

void process_runtime::on_event(keeper::event& e) {
  // The container an event is about, if it is still the incarnation the event names (one
  // removed or started again since is not).
  auto current = [this](const std::string& id, uint64_t gen) -> container* {
    auto it = containers_.find(id);
    return it != containers_.end() && it->second.gen == gen ? &it->second : nullptr;
  };
  if (auto* out = std::get_if<keeper::output>(&e)) {
    if (options_.on_line)
      pass_lines(out->id, out->bytes);
    std::lock_guard lock{mu_};
    if (auto* c = current(out->id, out->gen))
      c->tail.append(out->bytes);
    return;
  }
  // Moved out under the lock, destroyed after it (see remove).
  caf::actor exit_to;
  std::vector<caf::actor> stop_waiters;
  if (auto* ex = std::get_if<keeper::exited>(&e))
    end_lines(ex->id);
  std::lock_guard lock{mu_};
  std::visit(
      [&](auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, keeper::spawned>) {
          auto* found = current(m.id, m.gen);
          if (!found || found->ph != phase::starting)
            return; // removed since: remove sent the kill
          auto& c = *found;
          c.ph = phase::running;
          c.pid = m.pid;
          caf::anon_send(c.exit_to, reply_ok(m.id, runtime_op::start, m.pid));
        } else if constexpr (std::is_same_v<T, keeper::spawn_failed>) {
          auto* found = current(m.id, m.gen);
          if (!found || found->ph != phase::starting)
            return;
          auto& c = *found;
          c.ph = phase::created; // may be started again
          // A stop that came meanwhile has nothing to wait for.
          for (const auto& waiter : c.stop_waiters)
            caf::anon_send(waiter, reply_ok(m.id, runtime_op::stop));
          c.stop_waiters.clear();
          auto error = m.stage == keeper::spawn_stage::create
                           ? AgentError{CreateFailed{replica_of(m.id), std::move(m.error)}}
                           : AgentError{StartFailed{replica_of(m.id), std::move(m.error)}};
          caf::anon_send(c.exit_to, reply_failed(m.id, runtime_op::start, std::move(error)));
        } else if constexpr (std::is_same_v<T, keeper::exited>) {
          auto* found = current(m.id, m.gen);
          if (!found)
            return;
          auto& c = *found;
          c.ph = phase::exited;
          c.exit_code = m.code;
          if (c.how->forward) {
            c.tail.finish(); // it saw every line as it came
          } else {
            for (const auto& line : m.tail)
              c.tail.append(line + "\n");
          }
          exit_to = std::move(c.exit_to);
          stop_waiters = std::move(c.stop_waiters);
          container_exited news{m.id, m.code, m.signo};
          if (annotate_)
            annotate_(m.id, news);
          caf::anon_send(exit_to, std::move(news));
          for (const auto& waiter : stop_waiters)
            caf::anon_send(waiter, reply_ok(m.id, runtime_op::stop));
        } else if constexpr (std::is_same_v<T, keeper::exec_done>) {
          auto it = execs_.find(m.exec_id);
          if (it == execs_.end())
            return;
          caf::anon_send(it->second.reply_to,
                         exec_result{it->second.id, it->second.caller_id, m.code,
                                     std::move(m.output), m.timed_out});
          execs_.erase(it);
        }
        // A hello comes only at connect, taken there.
      },
      e);
}

void process_runtime::on_keeper_lost(const std::string& why) {
  std::vector<caf::actor> to_release; // destroyed after the lock
  std::size_t lost = 0;
  {
    std::lock_guard lock{mu_};
    spdlog::error("[/_keeper] the keeper (pid {}) is gone ({}): every container it held is "
                  "treated as killed, and a new keeper starts",
                  keeper_pid_, why);
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, keeper_.get(), nullptr);
    keeper_.reset();
    if (keeper_child_ > 0)
      ::waitpid(keeper_child_, nullptr, 0);
    keeper_child_ = 0;
    // What was queued for the dead keeper is answered below; none of it may reach the next one.
    backlog_.clear();
    held_.clear();
    for (auto& [id, c] : containers_) {
      switch (c.ph) {
      case phase::starting:
        c.ph = phase::created;
        caf::anon_send(
            c.exit_to,
            reply_failed(id, runtime_op::start,
                         StartFailed{replica_of(id), "the keeper died while starting it: " + why}));
        break;
      case phase::running:
      case phase::stopping:
        // Its main process had the keeper's death as its parent-death signal.
        c.ph = phase::exited;
        c.exit_code = 128 + SIGKILL;
        caf::anon_send(c.exit_to, container_exited{id, 128 + SIGKILL, SIGKILL});
        for (const auto& waiter : c.stop_waiters)
          caf::anon_send(waiter, reply_ok(id, runtime_op::stop));
        to_release.push_back(std::move(c.exit_to));
        c.stop_waiters.clear();
        ++lost;
        break;
      case phase::created:
        c.adopted.reset();
        break;
      case phase::exited:
        break;
      }
    }
    for (auto& [ours, pending] : execs_)
      caf::anon_send(pending.reply_to, exec_result{pending.id, pending.caller_id, -1,
                                                   "the keeper died: " + why, false});
    execs_.clear();
  }
  partial_lines_.clear();
  try {
    std::lock_guard lock{mu_};
    start_keeper();
    spdlog::warn("[/_keeper] {} containers lost with it; a new keeper, pid {}, holds what starts "
                 "from now on",
                 lost, keeper_pid_);
  } catch (const std::exception& e) {
    spdlog::critical("[/_keeper] no keeper could be started: {}; every start fails until one can",
                     e.what());
  }
}

void process_runtime::kill_unclaimed() {
  std::lock_guard lock{mu_};
  if (held_.empty() || clock::now() < claim_deadline_)
    return;
  for (auto& [id, h] : held_) {
    spdlog::warn("[/_keeper] {} (pid {}) was held by the keeper but belongs to no replica of the "
                 "desired state: killed",
                 id, h.pid);
    send(keeper::kill{id, h.gen});
  }
  held_.clear();
}

void process_runtime::share_tails() {
  auto share = ring_share(options_.tail_bytes, options_.tail_total, containers_.size());
  if (share == tail_share_)
    return;
  tail_share_ = share;
  for (auto& [id, c] : containers_)
    c.tail.set_capacity(share);
}

void process_runtime::pass_lines(const std::string& id, std::string_view bytes) {
  auto& line = partial_lines_[id];
  auto name = replica_of(id);
  while (!bytes.empty()) {
    auto nl = bytes.find('\n');
    auto chunk = bytes.substr(0, nl);
    auto room = max_line - line.size();
    if (chunk.size() > room) { // cut like the log ring, so one endless line costs bounded memory
      line.append(chunk.substr(0, room));
      options_.on_line(name, line);
      line.clear();
      bytes.remove_prefix(room);
      continue;
    }
    if (nl == std::string_view::npos) {
      line.append(chunk);
      return;
    }
    if (line.empty()) {
      options_.on_line(name, chunk);
    } else {
      line.append(chunk);
      options_.on_line(name, line);
      line.clear();
    }
    bytes.remove_prefix(nl + 1);
  }
}

void process_runtime::end_lines(const std::string& id) {
  auto it = partial_lines_.find(id);
  if (it == partial_lines_.end())
    return;
  if (!it->second.empty() && options_.on_line)
    options_.on_line(replica_of(id), it->second);
  partial_lines_.erase(it);
}

} // namespace nv
