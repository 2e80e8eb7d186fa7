#include "app/run_signals.hpp"

#include <cerrno>
#include <csignal>
#include <pthread.h>
#include <sys/signalfd.h>
#include <system_error>

namespace nv {

namespace {

enum class taken { blocked_stop, blocked_ignored, ignored };

struct signal_rule {
  int signal;
  taken how;
};

// Every signal whose default action would end (or suspend) nodevisor while its children run,
// and what `run` does instead. Not here, on purpose: SIGKILL and SIGSTOP (cannot be caught);
// SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT (a fault of nodevisor's own: it
// must crash, not run on in an unknown state; a blocked fault signal kills anyway); SIGCHLD,
// SIGCONT, SIGURG, SIGWINCH (their default is to do nothing).
constexpr signal_rule rules[] = {
    // A person or a service manager asking to stop: Ctrl-C, `kill`, systemd, a closed
    // terminal or SSH session (SIGHUP), Ctrl-\ (SIGQUIT: no core dump, its children would
    // be orphaned). A second one skips the grace.
    {SIGINT, taken::blocked_stop},
    {SIGTERM, taken::blocked_stop},
    {SIGHUP, taken::blocked_stop},
    {SIGQUIT, taken::blocked_stop},
    // A write to a closed pipe or socket (stdout read by `head -1`, a gone trace reader):
    // the write fails with EPIPE and the writer handles that.
    {SIGPIPE, taken::ignored},
    // A write past RLIMIT_FSIZE (a log file): the write fails with EFBIG, likewise.
    {SIGXFSZ, taken::ignored},
    // Nothing of nodevisor's means anything by these: a stray `kill -USR1`, an alarm or
    // profiling timer someone else set, async I/O nobody asked for, the CPU soft limit, power
    // events, and the realtime signals below. Logged, then ignored.
    {SIGUSR1, taken::blocked_ignored},
    {SIGUSR2, taken::blocked_ignored},
    {SIGALRM, taken::blocked_ignored},
    {SIGVTALRM, taken::blocked_ignored},
    {SIGPROF, taken::blocked_ignored},
    {SIGPOLL, taken::blocked_ignored},
    {SIGXCPU, taken::blocked_ignored},
    {SIGPWR, taken::blocked_ignored},
    {SIGSTKFLT, taken::blocked_ignored},
    // Job control would suspend nodevisor while its children (each in a process group of its
    // own, so untouched by the terminal) run on unsupervised: Ctrl-Z is logged and ignored, as
    // are a background read or write of the terminal (a blocked SIGTTOU lets the write
    // through; a blocked SIGTTIN makes the read fail with EIO, and nodevisor never reads it).
    {SIGTSTP, taken::blocked_ignored},
    {SIGTTIN, taken::blocked_ignored},
    {SIGTTOU, taken::blocked_ignored},
};

} // namespace

unique_fd take_run_signals() {
  sigset_t blocked;
  sigemptyset(&blocked);
  for (const auto& r : rules) {
    if (r.how == taken::ignored)
      std::signal(r.signal, SIG_IGN);
    else
      sigaddset(&blocked, r.signal);
  }
  // The realtime signals end a process by default too. SIGRTMIN is above the ones glibc keeps
  // for itself (thread cancellation, setxid), which must stay deliverable.
  for (int s = SIGRTMIN; s <= SIGRTMAX; ++s)
    sigaddset(&blocked, s);
  pthread_sigmask(SIG_BLOCK, &blocked, nullptr);
  int fd = ::signalfd(-1, &blocked, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0)
    throw std::system_error{errno, std::generic_category(), "signalfd"};
  return unique_fd{fd};
}

signal_meaning meaning_of(int signal) {
  for (const auto& r : rules)
    if (r.signal == signal)
      return r.how == taken::blocked_stop ? signal_meaning::stop : signal_meaning::ignore;
  return signal_meaning::ignore;
}

} // namespace nv
