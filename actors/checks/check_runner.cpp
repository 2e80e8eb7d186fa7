#include "actors/checks/check_runner.hpp"

#include <algorithm>
#include <sys/eventfd.h>

#include <caf/send.hpp>

#include "actors/checks/http_get.hpp"
#include "actors/checks/run_shell.hpp"
#include "actors/checks/tcp_connect.hpp"

namespace nv {

// A job holds a strong handle to its actor. Jobs are only ever destroyed outside mu_: dropping
// the last handle of an actor that has not exited yet runs its cleanup on this thread, and its
// state's destructor calls cancel(), which takes mu_.

namespace {

check_result run(const check_request& request, const check_bounds& bounds) {
  if (auto* tcp = std::get_if<tcp_request>(&request))
    return tcp_connect(tcp->host, tcp->port, bounds);
  if (auto* http = std::get_if<http_request>(&request))
    return http_get(http->url, http->expect_status, bounds);
  const auto& shell = std::get<shell_request>(request);
  return run_shell(shell.command, shell.env, shell.workdir, bounds);
}

void clear(const unique_fd& eventfd) {
  eventfd_t ignored;
  ::eventfd_read(eventfd.get(), &ignored); // non-blocking: fails harmlessly when already clear
}

} // namespace

check_runner::check_runner(std::size_t threads, std::size_t queue_limit)
    : queue_limit_(queue_limit) {
  for (std::size_t i = 0; i < threads; ++i) {
    auto w = std::make_unique<worker>();
    w->wake = unique_fd{::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
    w->thread = std::thread{[this, self = w.get()] { work(*self); }};
    workers_.push_back(std::move(w));
  }
}

check_runner::~check_runner() {
  std::deque<job> dropped;
  {
    std::lock_guard lock{mu_};
    stopping_ = true;
    dropped.swap(queue_);
    for (auto& w : workers_) {
      w->running = 0;
      ::eventfd_write(w->wake.get(), 1);
    }
  }
  work_cv_.notify_all();
  for (auto& w : workers_)
    w->thread.join();
}

uint64_t check_runner::submit(check_request request, duration timeout, caf::actor reply_to) {
  job j{0, std::move(request), check_bounds{timeout, check_clock::now() + timeout, -1},
        std::move(reply_to)};
  std::size_t queued = 0;
  {
    std::lock_guard lock{mu_};
    j.ticket = next_ticket_++;
    queued = queue_.size();
    if (queued < queue_limit_) {
      auto ticket = j.ticket;
      queue_.push_back(std::move(j));
      work_cv_.notify_one();
      return ticket;
    }
  }
  caf::anon_send(j.reply_to,
                 check_done{j.ticket, failed("check runner busy: " + std::to_string(queued) +
                                             " checks queued")});
  return j.ticket;
}

void check_runner::cancel(uint64_t ticket) {
  std::optional<job> dropped; // declared before the lock: destroyed after it is released
  std::lock_guard lock{mu_};
  auto queued = std::find_if(queue_.begin(), queue_.end(),
                             [ticket](const job& j) { return j.ticket == ticket; });
  if (queued != queue_.end()) {
    dropped = std::move(*queued);
    queue_.erase(queued);
    return;
  }
  for (auto& w : workers_) {
    if (w->running == ticket && ticket != 0) {
      w->running = 0;
      ::eventfd_write(w->wake.get(), 1);
      return;
    }
  }
}

void check_runner::work(worker& self) {
  for (;;) {
    job j;
    {
      std::unique_lock lock{mu_};
      work_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_)
        return;
      j = std::move(queue_.front());
      queue_.pop_front();
      self.running = j.ticket;
      clear(self.wake); // under the lock, so that no cancel of this ticket is lost
    }
    j.bounds.cancel_fd = self.wake.get();
    auto started = check_clock::now();
    auto result = run(j.request, j.bounds);
    result.latency = check_clock::now() - started;
    std::lock_guard lock{mu_};
    // Sent under the lock: a cancel() that returned first has reset `running`.
    if (self.running == j.ticket)
      caf::anon_send(j.reply_to, check_done{j.ticket, std::move(result)});
    self.running = 0;
    // `lock` is released before `j` is destroyed (declared later, destroyed first).
  }
}

} // namespace nv
