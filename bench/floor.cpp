#include "bench/floor.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <system_error>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace nv::bench {

namespace {

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const auto& s : strings)
    out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

std::string errno_text(const char* what, int err) {
  return std::string{what} + ": " + std::strerror(err);
}

void reap_blocking(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

// Parses a decimal number at `p`; advances `p` past it.
long parse_long(const char*& p, const char* end) {
  long v = 0;
  bool neg = false;
  if (p < end && *p == '-') {
    neg = true;
    ++p;
  }
  while (p < end && *p >= '0' && *p <= '9')
    v = v * 10 + (*p++ - '0');
  return neg ? -v : v;
}

// Writes "/proc/<name>/stat" into `out` (size >= 64); false when `name` is not a pid.
bool stat_path(const char* name, char* out) {
  const char prefix[] = "/proc/";
  std::size_t len = 0;
  for (const char* c = prefix; *c; ++c)
    out[len++] = *c;
  if (*name == '\0')
    return false;
  for (const char* c = name; *c; ++c) {
    if (*c < '0' || *c > '9' || len > 40)
      return false;
    out[len++] = *c;
  }
  const char suffix[] = "/stat";
  for (const char* c = suffix; *c; ++c)
    out[len++] = *c;
  out[len] = '\0';
  return true;
}

// Calls fn(pid, pgrp) for every child of this process; async-signal-safe.
template <class Fn>
int for_each_own_child(Fn fn) {
  pid_t me = ::getpid();
  int dir = ::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0)
    return -1;
  alignas(8) char buf[16384];
  int found = 0;
  for (;;) {
    long n = ::syscall(SYS_getdents64, dir, buf, sizeof buf);
    if (n <= 0)
      break;
    for (long off = 0; off < n;) {
      // struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, char name[]
      uint16_t reclen = 0;
      std::memcpy(&reclen, buf + off + 16, sizeof reclen);
      const char* name = buf + off + 19;
      off += reclen;
      char path[64];
      if (!stat_path(name, path))
        continue;
      int fd = ::open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        continue;
      char stat[512];
      auto len = ::read(fd, stat, sizeof stat);
      ::close(fd);
      if (len <= 0)
        continue;
      // "pid (comm) S ppid pgrp ...": comm may hold anything, so parse after the last ')'.
      const char* end = stat + len;
      const char* p = end;
      while (p > stat && p[-1] != ')')
        --p;
      if (p == stat || end - p < 4)
        continue;
      p += 3; // ") S"
      while (p < end && *p == ' ')
        ++p;
      long ppid = parse_long(p, end);
      while (p < end && *p == ' ')
        ++p;
      long pgrp = parse_long(p, end);
      if (ppid != me)
        continue;
      const char* q = name;
      long pid = parse_long(q, q + 32);
      ++found;
      fn(static_cast<pid_t>(pid), static_cast<pid_t>(pgrp));
    }
  }
  ::close(dir);
  return found;
}

} // namespace

const char* to_cstr(floor_mode m) {
  return m == floor_mode::bare ? "bare" : "full";
}

floor_pool::floor_pool(floor_mode mode, std::vector<std::string> argv)
    : mode_(mode), argv_(std::move(argv)) {
  for (char** e = environ; e && *e; ++e)
    env_.emplace_back(*e);
  // As the runtime does: two descriptors per child need more than the usual 1024.
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
  dev_null_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (dev_null_ < 0)
    throw std::system_error{errno, std::generic_category(), "open /dev/null"};
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_ < 0) {
    int err = errno;
    ::close(dev_null_);
    throw std::system_error{err, std::generic_category(), "epoll_create1"};
  }
}

floor_pool::~floor_pool() {
  for (auto& c : children_) {
    if (c.pid > 0) {
      ::kill(-c.pid, SIGKILL);
      reap_blocking(c.pid);
    }
    close_fds(c);
  }
  ::close(epoll_);
  ::close(dev_null_);
}

void floor_pool::close_fds(child& c) {
  if (c.pidfd >= 0)
    ::close(c.pidfd); // closing takes it out of the epoll set
  if (c.output >= 0)
    ::close(c.output);
  c.pidfd = c.output = -1;
}

bool floor_pool::spawn(child& c, std::string& error) {
  auto argv = c_strings(argv_);
  auto envp = c_strings(env_);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  pid_t pid = 0;
  int rc = 0;
  if (mode_ == floor_mode::bare) {
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    rc = ::posix_spawnp(&pid, argv[0], nullptr, &attr, argv.data(), envp.data());
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
      error = errno_text("posix_spawnp", rc);
      return false;
    }
    c = child{pid, -1, -1};
    return true;
  }

  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t all;
  sigfillset(&all);
  posix_spawnattr_setsigdefault(&attr, &all);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    error = errno_text("pipe2", errno);
    posix_spawnattr_destroy(&attr);
    return false;
  }
  ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, dev_null_, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  rc = ::posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    error = errno_text("posix_spawnp", rc);
    return false;
  }
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    int err = errno;
    ::kill(-pid, SIGKILL);
    reap_blocking(pid);
    ::close(fds[0]);
    error = errno_text("pidfd_open", err);
    return false;
  }
  c = child{pid, pidfd, fds[0]};
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = static_cast<uint64_t>(pid) << 1 | 1;
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, pidfd, &ev);
  ev.data.u64 = static_cast<uint64_t>(pid) << 1;
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fds[0], &ev);
  return true;
}

bool floor_pool::start(std::size_t n, std::string& error) {
  children_.reserve(children_.size() + n);
  for (std::size_t i = 0; i < n; ++i) {
    child c;
    if (!spawn(c, error))
      return false;
    children_.push_back(c);
  }
  return true;
}

bool floor_pool::restart(std::size_t i, std::string& error) {
  auto& c = children_[i];
  ::kill(c.pid, SIGKILL);
  reap_blocking(c.pid);
  close_fds(c);
  c.pid = -1;
  return spawn(c, error);
}

void floor_pool::stop_all() {
  for (auto& c : children_)
    if (c.pid > 0)
      ::kill(-c.pid, SIGTERM);
  for (auto& c : children_) {
    if (c.pid > 0)
      reap_blocking(c.pid);
    close_fds(c);
  }
  children_.clear();
}

int kill_own_children() {
  return for_each_own_child([](pid_t pid, pid_t pgrp) {
    // The group too when it leads one (the runtime's and the floor's children do), so that
    // whatever it started goes with it.
    ::kill(pgrp == pid ? -pid : pid, SIGKILL);
  });
}

int count_own_children() {
  return for_each_own_child([](pid_t, pid_t) {});
}

int reap_own_children(int timeout_ms) {
  int reaped = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds{timeout_ms};
  for (;;) {
    int status = 0;
    pid_t rc = ::waitpid(-1, &status, WNOHANG);
    if (rc > 0) {
      ++reaped;
      continue;
    }
    if (rc < 0 && errno == EINTR)
      continue;
    if (rc < 0) // ECHILD: none left
      return reaped;
    if (std::chrono::steady_clock::now() > deadline)
      return reaped;
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
}

namespace {
volatile sig_atomic_t self_pid = 0;
volatile sig_atomic_t guarded_pid = 0;

extern "C" void forward_signal(int sig) {
  if (guarded_pid > 0)
    ::kill(static_cast<pid_t>(guarded_pid), sig);
}
} // namespace

int guard_children() {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
    return -1; // no guardian: run unguarded
  pid_t pid = ::fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    ::prctl(PR_SET_CHILD_SUBREAPER, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM); // the guardian gone: stop (and clean up) too
    return -1;
  }
  guarded_pid = pid;
  struct sigaction sa {};
  sa.sa_handler = forward_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP})
    ::sigaction(sig, &sa, nullptr);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  guarded_pid = 0;
  // Nothing spawns any more: a few passes kill and reap whatever was left behind.
  int left = 0;
  for (int pass = 0; pass < 50; ++pass) {
    left = kill_own_children();
    reap_own_children(100);
    if (left <= 0)
      break;
  }
  if (left > 0)
    return 3;
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

pid_t running_self() {
  return static_cast<pid_t>(self_pid);
}

int run_self(const std::vector<std::string>& args, std::chrono::seconds limit, std::string& out) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  auto argv = c_strings(args);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return -1;
  }
  self_pid = pid;
  auto deadline = std::chrono::steady_clock::now() + limit;
  char buf[4096];
  bool open = true;
  while (open) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0)
      break;
    pollfd p{fds[0], POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (n <= 0)
      continue;
    auto got = ::read(fds[0], buf, sizeof buf);
    if (got > 0)
      out.append(buf, static_cast<std::size_t>(got));
    else if (got == 0 || errno != EINTR)
      open = false;
  }
  ::close(fds[0]);
  int status = 0;
  bool reaped = false;
  if (open) { // out of time: ask (its handler kills its children), then force
    ::kill(pid, SIGTERM);
    for (int i = 0; i < 50 && !reaped; ++i) {
      reaped = ::waitpid(pid, &status, WNOHANG) == pid;
      if (!reaped)
        std::this_thread::sleep_for(std::chrono::milliseconds{100});
    }
    if (!reaped)
      ::kill(pid, SIGKILL);
  }
  // Its stdout closed when it exited, or it was killed above: this wait is short.
  while (!reaped) {
    pid_t r = ::waitpid(pid, &status, 0);
    reaped = r == pid || (r < 0 && errno != EINTR);
  }
  self_pid = 0;
  if (open || !WIFEXITED(status))
    return -1;
  return WEXITSTATUS(status);
}

} // namespace nv::bench
