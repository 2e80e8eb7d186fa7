#include "actors/checks/run_shell.hpp"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <sys/epoll.h>
#include <system_error>
#include <unistd.h>

#include "actors/checks/check_bounds.hpp"
#include "posix/child_process.hpp"

namespace nv {

namespace {

// Enough for the last line of any sensible diagnostic, small enough to keep per command.
constexpr std::size_t output_tail = 4096;

// Appends what `fd` (non-blocking) has to `tail`, keeping its last output_tail bytes. False once
// the writers have all closed it (or it failed): nothing more will come.
bool drain(int fd, std::string& tail) {
  char buf[4096];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      tail.append(buf, static_cast<std::size_t>(n));
      if (tail.size() > output_tail)
        tail.erase(0, tail.size() - output_tail);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    return n < 0 && errno == EAGAIN;
  }
}

// A killed process not reaped yet. Its handler reaps it once its pidfd says it is dead; if the
// reactor goes first, the destructor reaps it, which after a SIGKILL waits only moments.
struct killed_child {
  pid_t pid;
  unique_fd pidfd;
  bool reaped = false;
  ~killed_child() {
    if (!reaped)
      reap(pid, true);
  }
};

void reap_once_dead(reactor& r, pid_t pid, unique_fd pidfd) {
  auto child = std::make_shared<killed_child>(pid, std::move(pidfd));
  auto id = std::make_shared<uint64_t>(0);
  *id = r.watch(child->pidfd.get(), EPOLLIN, [&r, child, id](uint32_t) {
    child->reaped = reap(child->pid, false).has_value();
    if (child->reaped)
      r.unwatch(*id);
  });
  // Unwatched (epoll refused it), `child` goes here and reaps with a wait: the last resort.
}

class shell_run final : public running_check {
public:
  shell_run(reactor& r, check_finished done) : r_(r), done_(std::move(done)) {}

  ~shell_run() override {
    r_.unwatch(output_watch_);
    r_.unwatch(exit_watch_);
    if (!child_.pidfd)
      return;                          // never started, or reaped
    signal_group(child_.pid, SIGKILL); // before the reap: the zombie keeps the group id ours
    if (!reap(child_.pid, false))
      reap_once_dead(r_, child_.pid, std::move(child_.pidfd));
  }

  void start(const shell_request& request) {
    command_ = request.command;
    unique_fd devnull{::open("/dev/null", O_RDONLY | O_CLOEXEC)};
    if (!devnull) {
      done_(failed(probed_command(command_) +
                   ": open /dev/null: " + std::generic_category().message(errno)));
      return;
    }
    const std::vector<std::string> argv{"sh", "-c", request.command};
    // posix_spawn pauses this thread only until the child has exec'd (glibc uses CLONE_VFORK).
    auto spawned = spawn_child(spawn_request{argv, request.env, request.workdir, devnull.get()});
    if (!spawned.error.empty()) {
      done_(failed(probed_command(command_) + ": " + spawned.error));
      return;
    }
    child_ = std::move(spawned.child);
    output_watch_ = r_.watch(child_.output.get(), EPOLLIN, [this](uint32_t) { read_output(); });
    exit_watch_ = r_.watch(child_.pidfd.get(), EPOLLIN, [this](uint32_t) { exited(); });
    if (output_watch_ == 0 || exit_watch_ == 0)
      done_(failed(probed_command(command_) +
                   ": watch sh: " + std::generic_category().message(errno))); // killed when dropped
  }

private:
  void read_output() {
    if (drain(child_.output.get(), tail_))
      return;
    r_.unwatch(output_watch_); // at its end: level-triggered, it would fire for ever
    output_watch_ = 0;
    child_.output.reset();
  }

  void exited() {
    auto status = reap(child_.pid, false); // a readable pidfd means it has exited: never nullopt
    if (!status)
      return;
    r_.unwatch(exit_watch_);
    exit_watch_ = 0;
    child_.pidfd.reset();
    if (child_.output)
      drain(child_.output.get(), tail_); // what it wrote just before exiting
    if (status->code == 0)
      done_(check_result{true, false, {}, {}});
    else
      done_(failed(exit_code_reason(command_, status->code, tail_)));
  }

  reactor& r_;
  check_finished done_;
  std::string command_; // as its failures name it
  child_process child_;
  std::string tail_;
  uint64_t output_watch_ = 0;
  uint64_t exit_watch_ = 0;
};

} // namespace

std::unique_ptr<running_check> run_shell(reactor& r, const shell_request& request,
                                         check_finished done) {
  auto run = std::make_unique<shell_run>(r, std::move(done));
  run->start(request);
  return run;
}

std::string exit_code_reason(const std::string& command, int32_t code, std::string_view output) {
  auto end = output.find_last_not_of(" \t\r\n");
  std::string reason = probed_command(command) + " exited " + std::to_string(code);
  if (end == std::string_view::npos)
    return reason;
  output = output.substr(0, end + 1);
  auto start = output.find_last_of('\n');
  auto line = start == std::string_view::npos ? output : output.substr(start + 1);
  return reason.append(": ").append(line);
}

} // namespace nv
