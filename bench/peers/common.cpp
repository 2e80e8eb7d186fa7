#include "bench/peers/common.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>

extern char** environ;

namespace nv::bench::peers {

namespace {

bool all_digits(const char* s) {
  if (*s == '\0')
    return false;
  for (; *s; ++s)
    if (*s < '0' || *s > '9')
      return false;
  return true;
}

// Reads a /proc file relative to `dir` into `buf` (NUL-terminated); returns its length, or -1.
// Reads until the end: a seq_file hands out about a page per read(), and a list cut short
// (/proc/PID/task/TID/children of a supervisor with 1 000 children is ~6 kB) would make a pid
// shifted in from beyond the cut look like a new child.
long read_at(int dir, const char* path, char* buf, std::size_t size) {
  int fd = ::openat(dir, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  std::size_t len = 0;
  while (len + 1 < size) {
    auto n = ::read(fd, buf + len, size - 1 - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      ::close(fd);
      return -1;
    }
    if (n == 0)
      break;
    len += static_cast<std::size_t>(n);
  }
  ::close(fd);
  buf[len] = '\0';
  return static_cast<long>(len);
}

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const auto& s : strings)
    out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

} // namespace

std::vector<proc_entry> scan_proc() {
  std::vector<proc_entry> out;
  DIR* dir = ::opendir("/proc");
  if (!dir)
    return out;
  int dfd = ::dirfd(dir);
  char path[300]; // d_name holds up to 255 bytes (all digits here, so far fewer)
  char buf[512];
  while (auto* e = ::readdir(dir)) {
    if (!all_digits(e->d_name))
      continue;
    std::snprintf(path, sizeof path, "%s/stat", e->d_name);
    long n = read_at(dfd, path, buf, sizeof buf);
    if (n <= 0)
      continue;
    // "pid (comm) S ppid ...": comm may hold anything, so parse around the last ')'.
    char* open = std::strchr(buf, '(');
    char* close = std::strrchr(buf, ')');
    if (!open || !close || close < open || close + 4 > buf + n)
      continue;
    proc_entry p;
    p.pid = static_cast<pid_t>(std::atol(buf));
    p.comm.assign(open + 1, close);
    p.state = close[2];
    p.ppid = static_cast<pid_t>(std::atol(close + 4));
    out.push_back(std::move(p));
  }
  ::closedir(dir);
  return out;
}

std::vector<proc_entry> descendants(const std::vector<proc_entry>& all, pid_t root) {
  std::unordered_multimap<pid_t, const proc_entry*> by_parent;
  for (auto& p : all)
    by_parent.emplace(p.ppid, &p);
  std::vector<proc_entry> out;
  std::vector<pid_t> todo{root};
  while (!todo.empty()) {
    pid_t parent = todo.back();
    todo.pop_back();
    auto [lo, hi] = by_parent.equal_range(parent);
    for (auto it = lo; it != hi; ++it) {
      out.push_back(*it->second);
      todo.push_back(it->second->pid);
    }
  }
  return out;
}

std::string comm_of(pid_t pid) {
  char path[64];
  char buf[64];
  std::snprintf(path, sizeof path, "/proc/%d/comm", static_cast<int>(pid));
  long n = read_at(AT_FDCWD, path, buf, sizeof buf);
  if (n <= 0)
    return {};
  return trim(std::string(buf, static_cast<std::size_t>(n)));
}

void children_of(pid_t pid, std::vector<pid_t>& tasks, std::vector<pid_t>& out) {
  char path[96];
  if (tasks.empty()) {
    std::snprintf(path, sizeof path, "/proc/%d/task", static_cast<int>(pid));
    if (DIR* dir = ::opendir(path)) {
      while (auto* e = ::readdir(dir))
        if (all_digits(e->d_name))
          tasks.push_back(static_cast<pid_t>(std::atol(e->d_name)));
      ::closedir(dir);
    }
  }
  // Large enough for thousands of children: the supervisors with 1 000 children list them all.
  static thread_local std::vector<char> buf(256 * 1024);
  for (pid_t tid : tasks) {
    std::snprintf(path, sizeof path, "/proc/%d/task/%d/children", static_cast<int>(pid),
                  static_cast<int>(tid));
    long n = read_at(AT_FDCWD, path, buf.data(), buf.size());
    if (n <= 0)
      continue;
    const char* p = buf.data();
    const char* end = p + n;
    while (p < end) {
      while (p < end && *p == ' ')
        ++p;
      if (p >= end || *p < '0' || *p > '9')
        break;
      long v = 0;
      while (p < end && *p >= '0' && *p <= '9')
        v = v * 10 + (*p++ - '0');
      out.push_back(static_cast<pid_t>(v));
    }
  }
}

bool memory_of(pid_t pid, memory& out) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/smaps_rollup", static_cast<int>(pid));
  FILE* f = std::fopen(path, "re");
  if (!f)
    return false;
  char line[256];
  bool found = false;
  out = {};
  while (std::fgets(line, sizeof line, f)) {
    long v = 0;
    if (std::sscanf(line, "Pss: %ld kB", &v) == 1) {
      out.pss = v;
      found = true;
    } else if (std::sscanf(line, "Rss: %ld kB", &v) == 1) {
      out.rss = v;
    } else if (std::sscanf(line, "Private_Dirty: %ld kB", &v) == 1) {
      out.dirty = v;
    }
  }
  std::fclose(f);
  return found;
}

bool alive(pid_t pid) {
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

pid_t launch(const std::vector<std::string>& argv, const std::vector<std::string>& env,
             const std::string& log_path, int stdin_fd, std::string& error) {
  std::vector<std::string> envs;
  for (char** e = environ; e && *e; ++e) {
    std::string var = *e;
    auto name = var.substr(0, var.find('=') + 1);
    bool replaced = std::any_of(env.begin(), env.end(),
                                [&](const std::string& v) { return v.rfind(name, 0) == 0; });
    if (!replaced)
      envs.push_back(std::move(var));
  }
  envs.insert(envs.end(), env.begin(), env.end());
  int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) {
    error = "open " + log_path + ": " + std::strerror(errno);
    return -1;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (stdin_fd >= 0)
    posix_spawn_file_actions_adddup2(&actions, stdin_fd, STDIN_FILENO);
  else
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, log, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, log, STDERR_FILENO);
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own session, so that a stray terminal signal to the benchmark does not reach it, and a
  // clean signal mask and dispositions: the supervisors install their own.
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t all;
  sigfillset(&all);
  posix_spawnattr_setsigdefault(&attr, &all);
  auto args = c_strings(argv);
  auto envp = c_strings(envs);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, args[0], &actions, &attr, args.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  ::close(log);
  if (rc != 0) {
    error = "posix_spawn " + argv[0] + ": " + std::strerror(rc);
    return -1;
  }
  return pid;
}

std::string run_capture(const std::vector<std::string>& argv, std::chrono::seconds limit) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return "(pipe failed)";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  auto args = c_strings(argv);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return "(cannot run " + argv[0] + ": " + std::strerror(rc) + ")";
  }
  std::string out;
  auto deadline = clk::now() + limit;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clk::now());
    if (left.count() <= 0) {
      out += " (timed out)";
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      continue;
    auto n = ::read(fds[0], buf, sizeof buf);
    if (n > 0)
      out.append(buf, static_cast<std::size_t>(n));
    else if (n == 0 || errno != EINTR)
      break;
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::replace(out.begin(), out.end(), '\n', ' ');
  return trim(out);
}

int reap_exited() {
  int reaped = 0;
  int status = 0;
  while (::waitpid(-1, &status, WNOHANG) > 0)
    ++reaped;
  return reaped;
}

void remove_cgroup(const std::string& path) {
  std::error_code ec;
  std::vector<std::filesystem::path> dirs;
  for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    if (it->is_directory(ec))
      dirs.push_back(it->path());
  // Pre-order lists a cgroup before those below it, so the reverse is deepest first.
  for (auto d = dirs.rbegin(); d != dirs.rend(); ++d)
    ::rmdir(d->c_str());
  ::rmdir(path.c_str());
}

bool write_file(const std::string& path, const std::string& text, bool executable) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, executable ? 0755 : 0644);
  if (fd < 0)
    return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  return ::close(fd) == 0 && ok;
}

std::string read_file(const std::string& path) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return out;
  char buf[4096];
  ssize_t n = 0;
  while ((n = ::read(fd, buf, sizeof buf)) > 0)
    out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

bool make_service_dirs(const std::string& dir, std::size_t n, const std::string& run,
                       const std::vector<std::pair<std::string, std::string>>& extra,
                       std::string& error) {
  if (::mkdir(dir.c_str(), 0755) != 0) {
    error = "mkdir " + dir + ": " + std::strerror(errno);
    return false;
  }
  char name[32];
  for (std::size_t i = 1; i <= n; ++i) {
    std::snprintf(name, sizeof name, "/c%04zu", i);
    auto svc = dir + name;
    bool ok = ::mkdir(svc.c_str(), 0755) == 0 && write_file(svc + "/run", run, true);
    for (auto& [file, text] : extra)
      ok = ok && write_file(svc + "/" + file, text);
    if (!ok) {
      error = "cannot write " + svc + ": " + std::strerror(errno);
      return false;
    }
  }
  return true;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

std::string run_script(const std::vector<std::string>& argv, const std::string& before_exec) {
  std::string script = "#!/bin/sh\n" + before_exec + "exec";
  for (auto& a : argv)
    script += " " + shell_quote(a);
  return script + "\n";
}

double ms_since(clk::time_point t0, clk::time_point t1) {
  return std::chrono::duration<double, std::milli>(t1 - t0).count();
}

void sleep_ms(long ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds{ms});
}

} // namespace nv::bench::peers
