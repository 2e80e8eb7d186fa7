// Runs the checks of a node's probes and init steps (tcp connect, HTTP GET, shell command) off
// the CAF scheduler, all at once on one reactor thread: tcp and http checks are non-blocking I/O,
// commands are child processes watched through a pidfd. No check waits behind another, and a
// check's timeout runs from the moment it starts (the connect, the spawn), which is as soon as
// the reactor sees it. Created once and shared: the program owns one, like its runtime, and
// hands actors a pointer to it.
//
// An actor submits a check with itself as `reply_to` and gets exactly one check_done{ticket,
// result} back, unless it cancels the ticket first. Lifetime: the runner must outlive every
// actor that holds a ticket (actors cancel theirs when they exit), so create it before the
// actor_system and destroy it after.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include <caf/actor.hpp>

#include "actors/checks/check_bounds.hpp"
#include "actors/checks/http_get.hpp"
#include "actors/checks/reactor.hpp"
#include "actors/checks/run_shell.hpp"
#include "messages/caf/inspect.hpp"
#include "messages/check.hpp"

namespace nv {

using check_request = std::variant<tcp_check, http_check, shell_request>;

// What a request probes, as its failures begin (probed() of the check it runs).
std::string probed(const check_request& request);

class check_runner {
public:
  // Starts the reactor thread; throws std::system_error when it cannot.
  check_runner();
  // Stops the reactor, kills the process group of every command still running and reaps it;
  // answers nothing.
  ~check_runner();

  check_runner(const check_runner&) = delete;
  check_runner& operator=(const check_runner&) = delete;

  // Starts `request` on the reactor; its check_done goes to `reply_to` by anon_send, at the
  // latest `timeout` after it started (then as `<probed(request)>: Timeout after <timeout>`). Never
  // blocks. Returns the check's ticket, unique for the runner's lifetime and never 0.
  uint64_t submit(check_request request, duration timeout, caf::actor reply_to);

  // Abandons a check: a running one is stopped (a command's process group is killed). Once
  // cancel returns, no check_done for `ticket` will be sent. Unknown and finished tickets are
  // ignored.
  void cancel(uint64_t ticket);

private:
  struct job {
    uint64_t ticket = 0;
    check_request request;
    duration timeout{0};
    caf::actor reply_to;
  };

  // A job the reactor started. Owned by the reactor thread.
  struct started {
    caf::actor reply_to;
    duration timeout{0};
    std::string what; // probed(): its timeout names it
    check_clock::time_point at;
    reactor::timer deadline;
    std::unique_ptr<running_check> check; // null while it starts, or when it ended at once
  };

  // On the reactor thread.
  void turn();
  void start(job j);
  std::unique_ptr<running_check> launch(uint64_t ticket, const check_request& request);
  void finish(uint64_t ticket, check_result result);

  // Shared with the threads that submit and cancel. caf::actor handles are only ever dropped
  // outside mu_: dropping an actor's last handle can run its cleanup on this thread, and its
  // state's destructor calls cancel(), which takes mu_.
  std::mutex mu_;
  uint64_t next_ticket_ = 1;
  std::unordered_set<uint64_t> live_; // submitted, neither answered nor cancelled
  std::vector<job> submitted_;        // not seen by the reactor yet
  std::vector<uint64_t> cancelled_;   // live_ no more: to stop if running

  // The reactor thread's. Declared in this order so that the checks are destroyed first (a
  // transfer leaves curl's multi handle, a command hands its killed process to the reactor to
  // be reaped), then http_, then the reactor, which reaps what is left.
  reactor reactor_;
  std::unique_ptr<http_getter> http_; // made on the first http check: it loads libcurl
  std::unordered_map<uint64_t, started> running_;
  std::vector<std::unique_ptr<running_check>> ended_; // destroyed at the next turn

  std::thread thread_; // last: starts once everything above exists
};

} // namespace nv
