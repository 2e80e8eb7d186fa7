#include "keeper/keeper.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <unordered_map>
#include <vector>

#include "keeper/cgroup.hpp"
#include "keeper/log_file.hpp"
#include "keeper/log_ring.hpp"
#include "keeper/protocol.hpp"
#include "messages/container_spec.hpp"
#include "posix/child_env.hpp"
#include "posix/child_process.hpp"
#include "posix/unique_fd.hpp"
#include "posix/user.hpp"

namespace nv::keeper {

namespace {

using clock = std::chrono::steady_clock;

constexpr std::size_t exec_output_limit = 64 * 1024;
// Forwarded output waiting for a slow reader beyond this is dropped (and counted), so that the
// keeper's memory stays bounded and no container waits for its reader.
constexpr std::size_t forward_backlog_limit = 4 << 20;
constexpr std::size_t tail_lines = 40;
// What any socket buffer takes in one message (the default is 208 KiB).
constexpr std::size_t safe_message = 192 * 1024;

// epoll keys: a few fixed ones, then a process's token is the key of its output.
constexpr uint64_t key_signals = 1;
constexpr uint64_t key_listen = 2;
constexpr uint64_t key_client = 3;
constexpr uint64_t first_token = 4;

void say(const char* fmt, auto... args) {
  std::fprintf(stderr, "[keeper %d] ", static_cast<int>(::getpid()));
  std::fprintf(stderr, fmt, args...);
  std::fputc('\n', stderr);
}

// Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot. A pid is
// reused, a (pid, start time) pair is not.
uint64_t start_time_of(pid_t pid) {
  char path[32];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  unique_fd fd{::open(path, O_RDONLY | O_CLOEXEC)};
  char text[1024];
  auto n = fd ? ::read(fd.get(), text, sizeof text - 1) : -1;
  if (n <= 0)
    return 0;
  text[n] = '\0';
  // After the command's closing parenthesis (the command may hold any character): field 3 on.
  const char* at = std::strrchr(text, ')');
  for (int field = 2; at != nullptr && field < 22; ++field)
    at = std::strchr(at + 1, ' ');
  return at != nullptr ? std::strtoull(at + 1, nullptr, 10) : 0;
}

// The children the kernel lists for this process: with no cgroups, the orphans it adopted as a
// subreaper are found this way.
std::vector<pid_t> own_children() {
  std::vector<pid_t> out;
  std::ifstream in{"/proc/self/task/" + std::to_string(::getpid()) + "/children"};
  pid_t pid = 0;
  while (in >> pid)
    out.push_back(pid);
  return out;
}

int add(int epoll, int fd, uint64_t key, uint32_t events = EPOLLIN) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = key;
  return ::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : errno;
}

std::string cgroup_name_of(const std::string& id, uint64_t gen) {
  std::string name = id;
  for (auto& c : name)
    if (c == '/')
      c = '.';
  return name + "." + std::to_string(gen);
}

// What a live process is to its container: its main process, an exec, or one of the two steps
// of a launched start (keeper::launch): the launcher, whose process becomes the main one once it
// succeeded, and the start command.
enum class role : uint8_t { main, exec, launcher, starter };

struct proc {
  child_process child;
  std::string id;
  uint64_t gen = 0;
  role is = role::main;
  uint64_t exec_id = 0;
  std::string output; // exec, starter: the first exec_output_limit bytes
  bool timed_out = false;
  uint64_t main_token = 0; // starter: the main process it releases

  bool collects_output() const { return is == role::exec || is == role::starter; }
};

// A container the keeper holds, running or exited (until the runtime removes it).
struct box {
  uint64_t gen = 0;
  uint64_t token = 0; // of its main process while it runs
  pid_t pid = 0;
  uint64_t start_time = 0;
  std::shared_ptr<const spawn> how;
  log_file log;
  log_ring tail{0};
  std::string cgroup; // its directory; empty: none
  bool exited = false;
  bool launching = false; // its launch has not succeeded yet: no spawned was sent
  int32_t code = 0;
  int32_t signo = 0;
};

struct deadline {
  clock::time_point at;
  uint64_t token;
  bool operator>(const deadline& other) const { return at > other.at; }
};

class keeper {
public:
  explicit keeper(const options& opts) : opts_(opts) {}
  int run();

private:
  bool set_up(std::string& error);
  void loop();

  // The connection to the runtime.
  void accept_client();
  void attach(unique_fd fd);
  void drop_client(const char* why);
  void on_client_readable();
  void flush();
  void send(const event& e, bool droppable = false);
  void greet();

  void on(const request& r);
  void on_spawn(const spawn& s);
  void on_signal(const signal& s);
  void on_kill(const kill& k);
  void on_exec(const exec& e);

  // Its children.
  // `join`: the cgroup's join_fd, or -1.
  std::string start_process(const spawn& how, int join, const std::vector<std::string>& argv,
                            child_process& out);
  uint64_t watch(child_process child, std::string id, uint64_t gen, role is);
  void on_launched(proc& launcher, const exit_status& status);
  void on_started(proc& starter, const exit_status& status);
  void fail_launch(box& b, spawn_stage stage, std::string error);
  void on_output(uint64_t token);
  void consume(proc& p, std::string_view bytes);
  void on_exit(uint64_t token);
  void reap_child(pid_t named); // on SIGCHLD
  bool reap_exited(pid_t pid);
  void reap_children();
  void fire_deadlines();
  int timeout_ms() const;
  void end_container(box& b); // kills what it runs, its cgroup included
  void retire_cgroup(const std::string& dir);
  void kill_everything();
  void update_tail_share();

  box* find(const std::string& id, uint64_t gen);
  std::string pid_file() const;

  const options& opts_;
  std::optional<cgroup_tree> cgroups_;
  unique_fd log_dir_;
  unique_fd epoll_, signals_, listen_, client_;
  std::deque<std::string> backlog_; // to the client, once it can take more
  std::size_t backlog_bytes_ = 0;
  std::size_t dropped_bytes_ = 0;
  unique_fd dev_null_;
  std::string own_home_;
  std::unordered_map<std::string, box> boxes_;
  std::map<std::string, std::string> notes_; // the runtime's, kept for the next one
  std::unordered_map<uint64_t, proc> procs_;
  std::unordered_map<pid_t, uint64_t> tokens_; // pid -> its token, for SIGCHLD
  std::priority_queue<deadline, std::vector<deadline>, std::greater<>> deadlines_;
  std::vector<std::string> cgroups_to_remove_; // still emptying when last tried
  uint64_t next_token_ = first_token;
  std::size_t running_ = 0;
  std::size_t tail_share_ = 0; // each running container's bytes of last lines
  bool quit_ = false;
  bool scan_due_ = false; // for exits a SIGCHLD did not name
  message_buffer buffer_;
};

bool keeper::set_up(std::string& error) {
  ::setsid(); // fails only for a group leader, which the runtime never makes it
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  std::signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD})
    sigaddset(&set, s);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  signals_.reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  dev_null_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!signals_ || !epoll_ || !dev_null_) {
    error = std::string{"set-up: "} + std::strerror(errno);
    return false;
  }
  add(epoll_.get(), signals_.get(), key_signals);
  update_tail_share();
  own_home_ = resolve_user("").home;
  if (!opts_.log_dir.empty()) {
    auto dir = open_log_dir(opts_.log_dir);
    if (!dir.error.empty()) {
      error = dir.error;
      return false;
    }
    log_dir_ = std::move(dir.dir);
  }
  std::string why;
  cgroups_ = cgroup_tree::open(opts_.cgroup_name, why);
  if (cgroups_) {
    // An earlier keeper of this node died: what its containers left behind has no one to watch it.
    for (const auto& dir : cgroups_->children()) {
      if (auto n = kill_cgroup(dir); n > 0)
        say("killed %zu processes left in %s by an earlier keeper", n, dir.c_str());
      retire_cgroup(dir);
    }
  } else {
    say("no cgroups (%s): a container's processes are found through its process group and, "
        "once orphaned, as the keeper's children",
        why.c_str());
  }
  if (opts_.attach_fd >= 0) {
    attach(unique_fd{opts_.attach_fd});
    return true;
  }
  listen_.reset(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (opts_.listen_path.size() >= sizeof addr.sun_path) {
    error = "socket path too long: " + opts_.listen_path;
    return false;
  }
  std::strcpy(addr.sun_path, opts_.listen_path.c_str());
  ::unlink(opts_.listen_path.c_str()); // the runtime starts a keeper only when none answers
  auto old_mask = ::umask(0177);
  int rc = ::bind(listen_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old_mask);
  if (rc != 0 || ::listen(listen_.get(), 4) != 0) {
    error = opts_.listen_path + ": " + std::strerror(errno);
    return false;
  }
  add(epoll_.get(), listen_.get(), key_listen);
  // For the operator (and the tests): which process holds this node's containers.
  std::ofstream{pid_file()} << ::getpid() << "\n";
  // The runtime that started us waits for this byte before it connects; then stdout is done.
  [[maybe_unused]] auto n = ::write(STDOUT_FILENO, "R", 1);
  ::dup2(dev_null_.get(), STDOUT_FILENO);
  return true;
}

int keeper::run() {
  std::string error;
  if (!set_up(error)) {
    say("cannot start: %s", error.c_str());
    return 2;
  }
  loop();
  kill_everything();
  if (!opts_.listen_path.empty()) {
    ::unlink(opts_.listen_path.c_str());
    ::unlink(pid_file().c_str());
  }
  if (cgroups_)
    remove_cgroup(cgroups_->path());
  return 0;
}

void keeper::loop() {
  std::vector<epoll_event> events(256);
  while (!quit_) {
    int n =
        ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), timeout_ms());
    for (int i = 0; i < n && !quit_; ++i) {
      auto& ev = events[static_cast<std::size_t>(i)];
      switch (ev.data.u64) {
      case key_signals: {
        signalfd_siginfo info;
        while (::read(signals_.get(), &info, sizeof info) == sizeof info) {
          if (info.ssi_signo == SIGCHLD)
            reap_child(static_cast<pid_t>(info.ssi_pid));
          else if (info.ssi_signo == SIGTERM)
            quit_ = true;
          // INT, HUP, QUIT: meant for a terminal's foreground job or the daemon, not for us.
        }
        break;
      }
      case key_listen:
        accept_client();
        break;
      case key_client:
        if ((ev.events & EPOLLOUT) != 0)
          flush();
        if ((ev.events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0)
          on_client_readable();
        break;
      default:
        on_output(ev.data.u64);
      }
    }
    if (scan_due_) {
      scan_due_ = false;
      reap_children();
    }
    fire_deadlines();
  }
}

// --- the connection ---

void keeper::accept_client() {
  unique_fd fd{::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK)};
  if (!fd)
    return;
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
      (cred.uid != ::geteuid() && cred.uid != 0)) {
    say("refused a connection from uid %d", static_cast<int>(cred.uid));
    return;
  }
  if (client_)
    drop_client("a new runtime connected");
  attach(std::move(fd));
}

void keeper::attach(unique_fd fd) {
  size_socket_buffers(fd.get());
  ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK);
  client_ = std::move(fd);
  add(epoll_.get(), client_.get(), key_client);
  greet();
}

void keeper::drop_client(const char* why) {
  if (opts_.attach_fd < 0)
    say("runtime disconnected (%s); %zu containers run on", why, running_);
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, client_.get(), nullptr);
  client_.reset();
  backlog_.clear();
  backlog_bytes_ = 0;
  // Their results have no one to go to.
  for (auto& [token, p] : procs_)
    if (p.is == role::exec)
      signal_group(p.child.pid, SIGKILL);
  if (opts_.attach_fd >= 0)
    quit_ = true; // attached: the runtime is gone, and so must its containers be
}

void keeper::on_client_readable() {
  for (;;) {
    auto n = ::recv(client_.get(), buffer_.data(), buffer_.size(), MSG_DONTWAIT);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      return;
    if (n <= 0) {
      drop_client(n == 0 ? "end of connection" : std::strerror(errno));
      return;
    }
    std::string error;
    auto r = decode_request({buffer_.data(), static_cast<std::size_t>(n)}, error);
    if (!r) {
      say("ignored a message: %s", error.c_str());
      continue;
    }
    on(*r);
    if (!client_ || quit_)
      return;
  }
}

void keeper::send(const event& e, bool droppable) {
  if (!client_)
    return;
  if (droppable && backlog_bytes_ > forward_backlog_limit) {
    dropped_bytes_ += std::get<output>(e).bytes.size();
    return;
  }
  auto text = encode(e);
  if (text.size() > safe_message) {
    // Only an exec's output escapes that much (control bytes take six each): cut it.
    auto done = std::get<exec_done>(e);
    done.output.resize(done.output.size() / 8);
    send(done);
    return;
  }
  if (backlog_.empty()) {
    auto n = ::send(client_.get(), text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(text.size()))
      return;
    if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
      drop_client(std::strerror(errno));
      return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = key_client;
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, client_.get(), &ev);
  }
  backlog_bytes_ += text.size();
  backlog_.push_back(std::move(text));
}

void keeper::flush() {
  while (!backlog_.empty()) {
    auto& text = backlog_.front();
    auto n = ::send(client_.get(), text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    if (n != static_cast<ssize_t>(text.size())) {
      drop_client(std::strerror(errno));
      return;
    }
    backlog_bytes_ -= text.size();
    backlog_.pop_front();
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = key_client;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, client_.get(), &ev);
  if (dropped_bytes_ > 0) {
    say("%zu bytes of output were not forwarded: the runtime read too slowly", dropped_bytes_);
    dropped_bytes_ = 0;
  }
}

void keeper::greet() {
  hello h;
  h.keeper_pid = ::getpid();
  h.cgroups = cgroups_.has_value();
  h.containers = boxes_.size();
  h.notes = notes_.size();
  send(h);
  for (const auto& [id, b] : boxes_) {
    // A running one's last lines are in its file; an exit's go with it.
    auto tail = b.exited ? b.tail.tail(tail_lines) : std::vector<std::string>{};
    send(held{id, b.gen, b.pid, b.start_time, b.how->fingerprint, b.exited, b.code, b.signo,
              std::move(tail)});
  }
  for (const auto& [key, text] : notes_)
    send(note{key, text});
}

// --- requests ---

void keeper::on(const request& r) {
  std::visit(
      [this](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, spawn>)
          on_spawn(m);
        else if constexpr (std::is_same_v<T, signal>)
          on_signal(m);
        else if constexpr (std::is_same_v<T, kill>)
          on_kill(m);
        else if constexpr (std::is_same_v<T, exec>)
          on_exec(m);
        else if constexpr (std::is_same_v<T, note>)
          m.text.empty() ? void(notes_.erase(m.key)) : void(notes_[m.key] = m.text);
        else if constexpr (std::is_same_v<T, forget>)
          std::erase_if(notes_, [&m](const auto& n) { return n.first.starts_with(m.prefix); });
        else
          quit_ = true;
      },
      r);
}

std::string keeper::pid_file() const {
  return opts_.listen_path.substr(0, opts_.listen_path.rfind('/') + 1) + "keeper.pid";
}

box* keeper::find(const std::string& id, uint64_t gen) {
  auto it = boxes_.find(id);
  return it != boxes_.end() && it->second.gen == gen ? &it->second : nullptr;
}

void keeper::on_spawn(const spawn& s) {
  if (auto it = boxes_.find(s.id); it != boxes_.end()) {
    // The runtime removes a container before it makes its namesake; one still here was left by
    // a runtime that died in between.
    end_container(it->second);
    boxes_.erase(it);
  }
  auto how = std::make_shared<const spawn>(s);
  box b;
  b.gen = s.gen;
  b.how = how;
  b.tail = log_ring{tail_share_};
  std::string error;
  unique_fd join;
  // A launched container gets cgroups of its own from its launcher (runc): one of ours would only
  // cost its making and a move out of it.
  if (cgroups_ && s.launched_by.pid_file.empty()) {
    auto name = cgroup_name_of(s.id, s.gen);
    join = cgroups_->create(name, error);
    if (join)
      b.cgroup = cgroups_->path_of(name);
  }
  if (error.empty() && log_dir_ && !s.log.name.empty()) {
    b.log = log_file{log_dir_.get(),   opts_.log_dir,  s.log.name,
                     replica_of(s.id), s.log.max_size, s.log.max_files};
    error = b.log.error();
  }
  child_process child;
  if (!s.launched_by.pid_file.empty())
    ::unlink(s.launched_by.pid_file.c_str()); // a stale one would name another process
  if (error.empty())
    error = start_process(s, join ? join.get() : -1, s.argv, child);
  if (!error.empty()) {
    if (!b.cgroup.empty())
      retire_cgroup(b.cgroup);
    send(spawn_failed{s.id, s.gen, std::move(error)});
    return;
  }
  b.pid = child.pid;
  b.launching = !s.launched_by.pid_file.empty();
  b.token = watch(std::move(child), s.id, s.gen, b.launching ? role::launcher : role::main);
  if (!b.launching) {
    b.start_time = start_time_of(b.pid);
    send(spawned{s.id, s.gen, b.pid, b.start_time});
  }
  boxes_.emplace(s.id, std::move(b));
  ++running_;
  update_tail_share();
}

std::string keeper::start_process(const spawn& how, int join, const std::vector<std::string>& argv,
                                  child_process& out) {
  auto who = how.user.empty() ? resolved_user{std::nullopt, own_home_, {}} : resolve_user(how.user);
  if (!who.error.empty())
    return who.error;
  container_spec env_of;
  env_of.deployment = how.deployment;
  env_of.service = how.service;
  env_of.replica = how.replica;
  env_of.env = how.env;
  auto env = child_environment(env_of, environ, who.home);
  spawn_request req{.argv = argv,
                    .env = env,
                    .workdir = how.workdir,
                    .stdin_fd = dev_null_.get(),
                    .as = who.switch_to ? &*who.switch_to : nullptr,
                    .cgroup_procs = join,
                    .die_with_parent = true,
                    .sole_thread = true};
  auto spawned = spawn_child(req);
  if (!spawned.error.empty())
    return std::move(spawned.error);
  out = std::move(spawned.child);
  return {};
}

// Exits come with SIGCHLD, which names the child (reap_child), not through the pidfd: one
// descriptor fewer per container, and a subreaper scans for its adopted orphans all the same.
uint64_t keeper::watch(child_process child, std::string id, uint64_t gen, role is) {
  auto token = next_token_++;
  child.pidfd.reset();
  add(epoll_.get(), child.output.get(), token);
  tokens_.emplace(child.pid, token);
  procs_.emplace(token, proc{std::move(child), std::move(id), gen, is, 0, {}, false, 0});
  return token;
}

void keeper::on_signal(const signal& s) {
  auto* b = find(s.id, s.gen);
  if (b == nullptr || b->exited)
    return;
  // The leader is not reaped yet (its exit would have marked the box), so its group id is its own.
  signal_group(b->pid, s.signo);
  if (s.grace_ms >= 0) {
    // A stopped group keeps the signal pending until continued: it would cost the whole grace.
    signal_group(b->pid, SIGCONT);
    deadlines_.push(deadline{clock::now() + std::chrono::milliseconds{s.grace_ms}, b->token});
  }
}

void keeper::on_kill(const kill& k) {
  auto it = boxes_.find(k.id);
  if (it == boxes_.end() || it->second.gen != k.gen)
    return;
  end_container(it->second);
  boxes_.erase(it);
}

void keeper::end_container(box& b) {
  if (!b.exited) {
    signal_group(b.pid, SIGKILL);
    // Its main process is reaped as a stray: with the box gone, nobody is told.
    if (auto p = procs_.find(b.token); p != procs_.end())
      p->second.id.clear();
    --running_;
  }
  if (!b.cgroup.empty()) {
    kill_cgroup(b.cgroup);
    retire_cgroup(b.cgroup);
  }
}

void keeper::on_exec(const exec& e) {
  auto* b = find(e.id, e.gen);
  if (b == nullptr || b->exited) {
    send(exec_done{e.id, e.exec_id, -1, "container is not running", false});
    return;
  }
  std::string error;
  unique_fd join;
  if (!b->cgroup.empty() && !(join = join_fd(b->cgroup, error))) {
    send(exec_done{e.id, e.exec_id, -1, std::move(error), false});
    return;
  }
  child_process child;
  if (error = start_process(*b->how, join ? join.get() : -1, e.argv, child); !error.empty()) {
    send(exec_done{e.id, e.exec_id, -1, std::move(error), false});
    return;
  }
  auto token = watch(std::move(child), e.id, e.gen, role::exec);
  procs_.at(token).exec_id = e.exec_id;
  if (e.timeout_ms > 0)
    deadlines_.push(deadline{clock::now() + std::chrono::milliseconds{e.timeout_ms}, token});
}

// --- children ---

void keeper::on_output(uint64_t token) {
  auto it = procs_.find(token);
  if (it == procs_.end())
    return;
  auto& p = it->second;
  auto n = ::read(p.child.output.get(), buffer_.data(), 64 * 1024);
  if (n > 0) {
    consume(p, {buffer_.data(), static_cast<std::size_t>(n)});
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  // End of file or an error: nothing more to read, and a level-triggered EOF would wake us forever.
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, p.child.output.get(), nullptr);
  p.child.output.reset();
}

void keeper::consume(proc& p, std::string_view bytes) {
  if (p.collects_output()) {
    p.output.append(bytes.substr(0, exec_output_limit - p.output.size()));
    return;
  }
  auto* b = find(p.id, p.gen);
  if (b == nullptr)
    return;
  b->log.write(bytes);
  b->tail.append(bytes);
  if (b->how->forward)
    for (std::size_t at = 0; at < bytes.size(); at += forward_chunk)
      send(output{p.id, p.gen, std::string{bytes.substr(at, forward_chunk)}}, true);
}

void keeper::on_exit(uint64_t token) {
  auto it = procs_.find(token);
  if (it == procs_.end())
    return;
  auto& p = it->second;
  auto* b = p.is != role::main || p.id.empty() ? nullptr : find(p.id, p.gen);
  if (p.is == role::main) {
    // A container ends with its main process, as in a PID namespace: what is left of its group
    // (and, below, of its cgroup) would run unsupervised. The zombie leader keeps the group id
    // valid.
    signal_group(p.child.pid, SIGKILL);
  }
  // What it wrote before exiting is in the pipe now; bounded, in case a dying member still writes.
  for (int i = 0; i < 16 && p.child.output; ++i) {
    auto n = ::read(p.child.output.get(), buffer_.data(), 64 * 1024);
    if (n > 0)
      consume(p, {buffer_.data(), static_cast<std::size_t>(n)});
    else if (n < 0 && errno == EINTR)
      continue;
    else
      break;
  }
  auto status = reap(p.child.pid, false);
  if (!status)
    return; // not reapable yet: its SIGCHLD is still to come
  tokens_.erase(p.child.pid);
  if (p.is == role::launcher) {
    on_launched(p, *status);
    if (p.is == role::main)
      return; // it is the container's main process now, under the same token
  } else if (p.is == role::starter) {
    on_started(p, *status);
  } else if (p.is == role::exec) {
    send(exec_done{p.id, p.exec_id, status->code, std::move(p.output), p.timed_out});
  } else if (b != nullptr) {
    b->exited = true;
    b->code = status->code;
    b->signo = status->signal;
    b->token = 0;
    b->log.close();
    b->tail.finish();
    --running_;
    send(exited{p.id, p.gen, b->code, b->signo, b->tail.tail(tail_lines)});
    // After the news, so that the runtime decides sooner; nothing it asks is handled before this.
    if (!b->cgroup.empty()) {
      kill_cgroup(b->cgroup);
      retire_cgroup(b->cgroup);
      b->cgroup.clear(); // a kill of the exited box has nothing left to do
    }
    update_tail_share();
  }
  if (p.child.output)
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, p.child.output.get(), nullptr);
  procs_.erase(it);
}

// The launcher exited: the process it left in its pid file is the container's main process
// from now on, a child of ours (we are a subreaper) that kept the launcher's output pipe, so the
// same proc and token go on with it. The launcher's own output is the container's first lines:
// where it failed, they say why.
void keeper::on_launched(proc& p, const exit_status& status) {
  auto* b = p.id.empty() ? nullptr : find(p.id, p.gen);
  pid_t main = 0;
  if (b != nullptr) {
    std::ifstream{b->how->launched_by.pid_file} >> main;
  }
  if (b == nullptr || !b->launching) {
    if (main > 0)
      ::kill(main, SIGKILL); // killed while it launched: what it made goes too
    return;
  }
  if (status.code != 0 || main <= 0) {
    if (main > 0)
      ::kill(main, SIGKILL);
    auto why = status.code != 0 ? "exited with code " + std::to_string(status.code)
                                : std::string{"left no pid in "} + b->how->launched_by.pid_file;
    const auto& marker = b->how->launched_by.start_failure;
    bool started = false;
    for (const auto& line : b->tail.tail(tail_lines))
      started = started || (!marker.empty() && line.find(marker) != std::string::npos);
    fail_launch(*b, started ? spawn_stage::start : spawn_stage::create,
                b->how->argv.front() + " " + why);
    return;
  }
  p.is = role::main;
  p.child.pid = main;
  tokens_.emplace(main, b->token);
  b->pid = main;
  b->start_time = start_time_of(main);
  const auto& start = b->how->launched_by.start;
  if (start.empty()) {
    b->launching = false;
    send(spawned{p.id, p.gen, b->pid, b->start_time});
    return;
  }
  child_process starter;
  if (auto error = start_process(*b->how, -1, start, starter); !error.empty()) {
    fail_launch(*b, spawn_stage::start, std::move(error));
    return;
  }
  auto token = watch(std::move(starter), p.id, p.gen, role::starter);
  procs_.at(token).main_token = b->token;
}

void keeper::on_started(proc& p, const exit_status& status) {
  auto* b = find(p.id, p.gen);
  if (b == nullptr || !b->launching || b->token != p.main_token)
    return;
  if (status.code != 0) {
    auto why = p.output.empty() ? "exited with code " + std::to_string(status.code) : p.output;
    while (!why.empty() && why.back() == '\n')
      why.pop_back();
    fail_launch(*b, spawn_stage::start, b->how->launched_by.start.front() + ": " + why);
    return;
  }
  b->launching = false;
  send(spawned{p.id, p.gen, b->pid, b->start_time});
}

// Ends a box whose launch failed: what it started goes, and nobody hears of its exit.
void keeper::fail_launch(box& b, spawn_stage stage, std::string error) {
  for (const auto& line : b.tail.tail(5))
    error += "\n" + line;
  auto id = b.how->id;
  auto gen = b.gen;
  if (auto p = procs_.find(b.token); p != procs_.end() && p->second.is == role::main)
    signal_group(p->second.child.pid, SIGKILL);
  end_container(b);
  boxes_.erase(id);
  update_tail_share();
  send(spawn_failed{id, gen, std::move(error), stage});
}

// SIGCHLD: the children that exited. Ours go through on_exit, which keeps their status; the
// others are orphans of a container, adopted as its subreaper.
// The signal names a child: when that one has exited, its report goes out at once. A scan of
// every child, which with a thousand of them takes a tenth of a millisecond, follows once the
// events at hand are handled (a spawn that came with them first): the signals of children that
// exit together merge into one, so the one named may not be the only one.
void keeper::reap_child(pid_t named) {
  scan_due_ = true;
  siginfo_t info{};
  if (named > 0 &&
      ::waitid(P_PID, static_cast<id_t>(named), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
      info.si_pid == named)
    reap_exited(named);
}

// Returns false when `pid` was seen to exit but is still not reaped.
bool keeper::reap_exited(pid_t pid) {
  if (auto t = tokens_.find(pid); t != tokens_.end()) {
    auto before = procs_.size();
    on_exit(t->second);
    return procs_.size() != before;
  }
  ::waitpid(pid, nullptr, WNOHANG); // an orphan it adopted as subreaper
  return true;
}

void keeper::reap_children() {
  for (;;) {
    siginfo_t info{};
    if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0)
      break;
    if (!reap_exited(info.si_pid))
      break; // not reaped although waitid saw it exit: stop rather than spin
  }
  for (auto it = cgroups_to_remove_.begin(); it != cgroups_to_remove_.end();)
    it = remove_cgroup(*it) ? cgroups_to_remove_.erase(it) : it + 1;
}

void keeper::fire_deadlines() {
  auto now = clock::now();
  while (!deadlines_.empty() && deadlines_.top().at <= now) {
    auto token = deadlines_.top().token;
    deadlines_.pop();
    auto it = procs_.find(token);
    if (it == procs_.end())
      continue; // gone already; tokens are never reused
    auto& p = it->second;
    p.timed_out = p.is == role::exec;
    signal_group(p.child.pid, SIGKILL);
    if (auto* b = p.is == role::exec ? nullptr : find(p.id, p.gen); b && !b->cgroup.empty())
      kill_cgroup(b->cgroup);
  }
}

int keeper::timeout_ms() const {
  if (deadlines_.empty())
    return -1;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadlines_.top().at - clock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 0, 1 << 30));
}

void keeper::retire_cgroup(const std::string& dir) {
  if (!remove_cgroup(dir))
    cgroups_to_remove_.push_back(dir); // its killed processes are still on their way out
}

void keeper::update_tail_share() {
  auto share = ring_share(opts_.tail_bytes, opts_.tail_total, running_);
  if (share == tail_share_)
    return;
  tail_share_ = share;
  for (auto& [id, b] : boxes_)
    b.tail.set_capacity(share);
}

void keeper::kill_everything() {
  for (auto& [id, b] : boxes_)
    end_container(b);
  for (auto& [token, p] : procs_)
    signal_group(p.child.pid, SIGKILL);
  for (pid_t orphan : own_children())
    ::kill(orphan, SIGKILL);
  procs_.clear();
  boxes_.clear();
  // Every child, in whatever order they end: a container's PID 1 does not finish exiting before
  // the zombies of its PID namespace that were handed to us (what a killed `runc exec` ran) are
  // reaped, so waiting for one pid after the other could wait forever.
  for (;;) {
    if (::waitpid(-1, nullptr, 0) < 0 && errno != EINTR)
      break;
  }
  for (const auto& dir : cgroups_to_remove_)
    for (int i = 0; i < 100 && !remove_cgroup(dir); ++i)
      ::usleep(1000); // at the very end only: the killed processes need a moment to leave
}

} // namespace

int run(const options& opts) {
  keeper k{opts};
  return k.run();
}

} // namespace nv::keeper
