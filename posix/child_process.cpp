#include "posix/child_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <optional>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace nv {

namespace {

std::string failure(std::string_view what, const std::string& subject, int err) {
  std::string out{what};
  out.append(" '").append(subject).append("': ").append(std::strerror(err));
  return out;
}

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const auto& s : strings)
    out.push_back(const_cast<char*>(s.c_str())); // posix_spawn's signature; never written
  out.push_back(nullptr);
  return out;
}

// The child starts from a clean slate whatever the daemon did to itself: no blocked signals
// (the runtime's I/O thread blocks all of them), no ignored ones (an ignored SIGPIPE would be
// inherited across exec), in a new process group.
void init_attributes(posix_spawnattr_t& attr) {
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t all;
  sigfillset(&all);
  posix_spawnattr_setsigdefault(&attr, &all);
}

// What a cloned child leaves in the memory it shares with its parent when it cannot exec.
struct child_failure {
  int step = -1; // index into child_steps; -1: none, it exec'd
  int err = 0;
};
constexpr const char* child_steps[] = {"exec",
                                       "set up descriptors for",
                                       "switch groups for",
                                       "switch group for",
                                       "switch user for",
                                       "chdir for",
                                       "join the cgroup for",
                                       "tie to its parent"};

// What the cloned child needs: it shares the parent's memory, so this lives on the parent's
// stack, and the child's failure comes back in it.
struct child_args {
  const spawn_request* request;
  pid_t parent;
  int output;
  char** argv;
  char** envp;
  bool borrowed_table; // CLONE_FILES: the parent's descriptor table until the child copies 0-2
  child_failure failed;
};

constexpr unsigned close_range_unshare = 1U << 1;
constexpr unsigned close_range_cloexec = 1U << 2;

// Everything but 0, 1 and 2 goes at the exec. Marking is cheap where closing a thousand pipes
// here is not; kernels before 5.11 can only close.
void close_all_but_stdio_at_exec() {
  auto first = static_cast<unsigned>(STDERR_FILENO + 1);
  if (::syscall(SYS_close_range, first, ~0u, close_range_cloexec) != 0)
    ::syscall(SYS_close_range, first, ~0u, 0);
}

// The cloned child: it shares the parent's memory (CLONE_VM) until its exec, so from here to the
// exec only async-signal-safe calls that write nothing the parent owns but `a.failed`, and raw
// set*id system calls, since glibc's wrappers would try to reach every thread of the process.
[[noreturn]] void become_child(child_args& a) {
  const auto& request = *a.request;
  auto fail = [&](int step) {
    a.failed = {step, errno};
    ::_exit(127);
  };
  // Handlers are the parent's until reset (the signal table is a copy); every signal stays
  // blocked, as the parent blocked them for the clone, until then.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig)
    ::sigaction(sig, &dfl, nullptr); // SIGKILL, SIGSTOP and glibc's own fail harmlessly
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::setpgid(0, 0);
  // Before anything it runs can fork, so that the cgroup holds all of it.
  if (request.cgroup_procs >= 0 && ::write(request.cgroup_procs, "0", 1) != 1)
    fail(6);
  if (request.die_with_parent &&
      (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != a.parent))
    fail(7); // the parent is gone already: nobody would watch this child
  if (::dup2(request.stdin_fd, STDIN_FILENO) < 0 || ::dup2(a.output, STDOUT_FILENO) < 0 ||
      ::dup2(a.output, STDERR_FILENO) < 0)
    fail(1);
  if (a.borrowed_table) {
    // The table is still the parent's (CLONE_FILES), and the parent puts its own 0, 1 and 2
    // back once this child has exec'd. Taking a copy of 0, 1 and 2 alone leaves the exec
    // nothing to close, where a copy of the whole table left it thousands.
    if (::syscall(SYS_close_range, STDERR_FILENO + 1, ~0u, close_range_unshare) != 0) {
      if (::unshare(CLONE_FILES) != 0) // before 5.9: the whole table after all
        fail(1);
      close_all_but_stdio_at_exec();
    }
  } else {
    close_all_but_stdio_at_exec();
  }
  if (const auto* who = request.as) {
    if (::syscall(SYS_setgroups, who->groups.size(), who->groups.data()) != 0)
      fail(2);
    if (::syscall(SYS_setresgid, who->gid, who->gid, who->gid) != 0)
      fail(3);
    if (::syscall(SYS_setresuid, who->uid, who->uid, who->uid) != 0)
      fail(4);
  }
  // As the user: a workdir it cannot enter is its failure, as with docker's --user.
  if (!request.workdir.empty() && ::chdir(request.workdir.c_str()) != 0)
    fail(5);
  ::execvpe(a.argv[0], a.argv, a.envp); // PATH lookup in the daemon's PATH, as posix_spawnp does
  fail(0);
  ::_exit(127); // not reached: fail exits
}

int child_main(void* args) {
  become_child(*static_cast<child_args*>(args));
}

// The caller's own 0, 1 and 2, kept aside while a child borrows its descriptor table. `ok` is
// false when one of them could not be kept (no descriptor left): the child must copy the table.
struct saved_stdio {
  int fd[3] = {-1, -1, -1};
  bool ok = true;
  saved_stdio() {
    for (int i = 0; i < 3; ++i) {
      fd[i] = ::fcntl(i, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
      if (fd[i] < 0 && errno != EBADF) // EBADF: it is not open, and has nothing to keep
        ok = false;
    }
  }
  // After the child: each put back, or closed where there was none. Not when !ok, as the table
  // was then the child's own copy and the caller's 0, 1 and 2 are as they were.
  void restore() {
    for (int i = 0; i < 3; ++i) {
      if (fd[i] >= 0)
        ::dup2(fd[i], i);
      else
        ::close(i);
    }
  }
  ~saved_stdio() {
    for (int d : fd)
      if (d >= 0)
        ::close(d);
  }
  saved_stdio(const saved_stdio&) = delete;
  saved_stdio& operator=(const saved_stdio&) = delete;
};

// posix_spawn cannot switch users, join a cgroup or set a parent-death signal, so a child that
// needs one of those is cloned the way posix_spawn clones its own: sharing the parent's memory
// and suspending it until the exec (CLONE_VM | CLONE_VFORK). A fork would copy the page tables
// and descriptors of a keeper that holds a thousand containers, which took 2.3 ms per start
// where this takes 0.5. Returns the pid, or -1 with `error` set; like posix_spawn it returns only
// once the child has exec'd or failed to.
pid_t clone_child(const spawn_request& request, int output, char** argv, char** envp,
                  std::string& error) {
  // The child's own stack: execvpe's PATH search and a script's argv live on it. Part of this
  // frame, which the parent does not touch until the child has exec'd, and which a sanitizer
  // knows as this thread's stack (on the heap, ASan warns at every noreturn call in the child).
  alignas(64) char stack[64 * 1024];
  std::optional<saved_stdio> stdio;
  if (request.sole_thread)
    stdio.emplace();
  const bool borrow = stdio && stdio->ok;
  child_args args{&request, ::getpid(), output, argv, envp, borrow, {}};
  const int flags = CLONE_VM | CLONE_VFORK | SIGCHLD | (borrow ? CLONE_FILES : 0);
  // A signal must not run one of the parent's handlers in the child, on the parent's memory.
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = ::clone(child_main, stack + sizeof stack, flags, &args);
  int clone_errno = errno;
#if defined(__SANITIZE_ADDRESS__)
  // The child's frames left their redzones in the shadow of this array: unmarked, a later, deeper
  // call of ours that reaches these bytes would be reported as an overflow.
  ASAN_UNPOISON_MEMORY_REGION(stack, sizeof stack);
#endif
  if (borrow && pid > 0)
    stdio->restore();
  stdio.reset();
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) {
    error = failure("clone for", request.argv[0], clone_errno);
    return -1;
  }
  if (args.failed.step >= 0) { // it exited rather than exec'd, and left why
    reap(pid, true);
    error = failure(child_steps[args.failed.step], request.argv[0], args.failed.err);
    if (args.failed.step == 5)
      error += " (workdir '" + request.workdir + "')";
    return -1;
  }
  return pid;
}

std::string posix_spawn_child(const spawn_request& request, int output, std::vector<char*>& argv,
                              std::vector<char*>& envp, pid_t& pid) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, request.stdin_fd, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, output, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, output, STDERR_FILENO);
  if (!request.workdir.empty())
    posix_spawn_file_actions_addchdir_np(&actions, request.workdir.c_str());
  // Descriptors that other parts of the daemon opened without O_CLOEXEC stay out too.
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  posix_spawnattr_t attr;
  init_attributes(attr);
  // glibc spawns with CLONE_VFORK and returns the exec's errno, so a missing binary fails here.
  int rc = ::posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    return failure("exec", request.argv[0], rc);
  return {};
}

} // namespace

spawn_outcome spawn_child(const spawn_request& request) {
  spawn_outcome out;
  if (request.argv.empty()) {
    out.error = "no command";
    return out;
  }
  // posix_spawn reports a failed chdir and a failed exec alike; checking first names the culprit.
  if (struct stat st; !request.workdir.empty()) {
    if (::stat(request.workdir.c_str(), &st) != 0) {
      out.error = failure("workdir", request.workdir, errno);
      return out;
    }
    if (!S_ISDIR(st.st_mode)) {
      out.error = failure("workdir", request.workdir, ENOTDIR);
      return out;
    }
  }
  int fds[2];
  // Close-on-exec, so that no other child inherits them; the dup2 into 1 and 2 clears the flag
  // for this one.
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    out.error = failure("pipe for", request.argv[0], errno);
    return out;
  }
  unique_fd read_end{fds[0]};
  unique_fd write_end{fds[1]};
  // Only our end: the child's stdout must stay blocking.
  ::fcntl(read_end.get(), F_SETFL, O_NONBLOCK);

  auto argv = c_strings(request.argv);
  auto envp = c_strings(request.env);
  pid_t pid = 0;
  if (request.as != nullptr || request.cgroup_procs >= 0 || request.die_with_parent) {
    pid = clone_child(request, write_end.get(), argv.data(), envp.data(), out.error);
    if (pid < 0)
      return out;
  } else if (auto error = posix_spawn_child(request, write_end.get(), argv, envp, pid);
             !error.empty()) {
    out.error = std::move(error);
    return out;
  }
  write_end.reset();
  // The raw syscall: glibc 2.36's <sys/pidfd.h> lacks the extern "C" that C++ needs.
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    // Without a pidfd its exit would go unnoticed: end it now rather than leave it unwatched.
    int err = errno;
    signal_group(pid, SIGKILL);
    reap(pid, true);
    out.error = failure("pidfd_open for", request.argv[0], err);
    return out;
  }
  out.child = child_process{pid, unique_fd{pidfd}, std::move(read_end)};
  return out;
}

exit_status decode_wait_status(int status) {
  if (WIFSIGNALED(status))
    return exit_status{128 + WTERMSIG(status), WTERMSIG(status)};
  return exit_status{WEXITSTATUS(status), 0};
}

void signal_group(pid_t pid, int signal) {
  ::kill(-pid, signal);
}

std::optional<exit_status> reap(pid_t pid, bool block) {
  int status = 0;
  pid_t rc = 0;
  do {
    rc = ::waitpid(pid, &status, block ? 0 : WNOHANG);
  } while (rc < 0 && errno == EINTR);
  if (rc == 0)
    return std::nullopt;
  if (rc < 0)
    return exit_status{-1, 0};
  return decode_wait_status(status);
}

} // namespace nv
