// A small pool of blocking worker threads that run checks (tcp connect, HTTP GET, shell
// command) off the CAF scheduler, so that no actor ever blocks a scheduler thread. Created once
// and shared: the program owns one, like its runtime, and hands actors a pointer to it.
//
// An actor submits a check with itself as `reply_to` and gets exactly one check_done{ticket,
// result} back, unless it cancels the ticket first. A check's timeout runs from submission, so
// time spent queued behind other checks counts. Lifetime: the runner must outlive every actor
// that holds a ticket (actors cancel theirs when they exit), so create it before the
// actor_system and destroy it after.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <caf/actor.hpp>

#include "actors/checks/check_bounds.hpp"
#include "posix/unique_fd.hpp"

namespace nv {

struct tcp_request {
  std::string host;
  uint16_t port = 0;
};

struct http_request {
  std::string url;
  std::optional<uint16_t> expect_status; // none: any 2xx
};

struct shell_request {
  std::string command;          // run with `sh -c`
  std::vector<std::string> env; // the complete environment, "NAME=value"
  std::string workdir;          // empty: the daemon's
};

using check_request = std::variant<tcp_request, http_request, shell_request>;

class check_runner {
public:
  static constexpr std::size_t default_threads = 4;
  // Far more than a node's probes and init steps have in flight at once; past it, submit
  // fails checks at once instead of letting the queue (and every check's wait) grow.
  static constexpr std::size_t default_queue_limit = 1024;

  explicit check_runner(std::size_t threads = default_threads,
                        std::size_t queue_limit = default_queue_limit);
  // Drops queued checks, stops running ones (a shell check's process group is killed) and
  // joins the workers; none of them answers.
  ~check_runner();

  check_runner(const check_runner&) = delete;
  check_runner& operator=(const check_runner&) = delete;

  // Queues `request`; its check_done goes to `reply_to` by anon_send. Never blocks: with the
  // queue full the check fails at once ("check runner busy: …"). Returns the check's ticket,
  // unique for the runner's lifetime and never 0.
  uint64_t submit(check_request request, duration timeout, caf::actor reply_to);

  // Abandons a check: a queued one is dropped, a running one is stopped early (a shell check's
  // process group is killed). Once cancel returns, no check_done for `ticket` will be sent.
  // Unknown and finished tickets are ignored.
  void cancel(uint64_t ticket);

private:
  struct job {
    uint64_t ticket = 0;
    check_request request;
    check_bounds bounds; // cancel_fd is set by the worker that runs it
    caf::actor reply_to;
  };

  struct worker {
    unique_fd wake;       // eventfd: written to cancel the check this worker runs
    uint64_t running = 0; // ticket of that check; 0 when idle or when it was cancelled
    std::thread thread;
  };

  void work(worker& self);

  const std::size_t queue_limit_;
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::deque<job> queue_;
  uint64_t next_ticket_ = 1;
  bool stopping_ = false;
  // Last: its threads start once everything above exists.
  std::vector<std::unique_ptr<worker>> workers_;
};

} // namespace nv
