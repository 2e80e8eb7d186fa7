#include "actors/checks/check_runner.hpp"

#include <csignal>
#include <pthread.h>

#include <caf/send.hpp>

#include "actors/checks/tcp_connect.hpp"

namespace nv {

check_runner::check_runner() {
  thread_ = std::thread{[this] {
    // Signals are for the daemon's main thread; spawn_child gives each command a clean mask.
    sigset_t all;
    sigfillset(&all);
    ::pthread_sigmask(SIG_BLOCK, &all, nullptr);
    reactor_.run([this] { turn(); });
  }};
}

check_runner::~check_runner() {
  reactor_.stop();
  thread_.join();
  // The members go next, in the order their declaration explains.
}

uint64_t check_runner::submit(check_request request, duration timeout, caf::actor reply_to) {
  uint64_t ticket = 0;
  {
    std::lock_guard lock{mu_};
    ticket = next_ticket_++;
    live_.insert(ticket);
    submitted_.push_back(job{ticket, std::move(request), timeout, std::move(reply_to)});
  }
  reactor_.wake();
  return ticket;
}

void check_runner::cancel(uint64_t ticket) {
  {
    std::lock_guard lock{mu_};
    if (live_.erase(ticket) == 0)
      return;
    cancelled_.push_back(ticket);
  }
  reactor_.wake();
}

void check_runner::turn() {
  ended_.clear();
  std::vector<job> jobs;
  std::vector<job> dropped; // cancelled before they started: destroyed after the lock
  std::vector<uint64_t> stops;
  {
    std::lock_guard lock{mu_};
    for (auto& j : submitted_)
      (live_.contains(j.ticket) ? jobs : dropped).push_back(std::move(j));
    submitted_.clear();
    stops.swap(cancelled_);
  }
  for (auto ticket : stops) {
    if (auto it = running_.find(ticket); it != running_.end()) {
      reactor_.cancel(it->second.deadline);
      running_.erase(it); // destroying the check stops it
    }
  }
  for (auto& j : jobs)
    start(std::move(j));
}

std::string probed(const check_request& request) {
  if (const auto* shell = std::get_if<shell_request>(&request))
    return probed_command(shell->command);
  if (const auto* tcp = std::get_if<tcp_check>(&request))
    return probed(check{*tcp});
  return probed(check{std::get<http_check>(request)});
}

void check_runner::start(job j) {
  auto ticket = j.ticket;
  auto now = check_clock::now();
  auto& s = running_[ticket];
  s.reply_to = std::move(j.reply_to);
  s.timeout = j.timeout;
  s.what = probed(j.request);
  s.at = now;
  s.deadline = reactor_.at(now + j.timeout, [this, ticket] {
    auto it = running_.find(ticket);
    // Stopped before the answer, which does not wait for a killed command to be reaped.
    it->second.check.reset();
    finish(ticket, timed_out(it->second.what, it->second.timeout));
  });
  auto check = launch(ticket, j.request);
  if (auto it = running_.find(ticket); it != running_.end())
    it->second.check = std::move(check);
  else
    ended_.push_back(std::move(check)); // it finished while it started
}

std::unique_ptr<running_check> check_runner::launch(uint64_t ticket, const check_request& request) {
  auto done = [this, ticket](check_result result) { finish(ticket, std::move(result)); };
  if (const auto* tcp = std::get_if<tcp_check>(&request))
    return tcp_connect(reactor_, *tcp, std::move(done));
  if (const auto* http = std::get_if<http_check>(&request)) {
    if (!http_)
      http_ = std::make_unique<http_getter>(reactor_);
    return http_->get(*http, std::move(done));
  }
  return run_shell(reactor_, std::get<shell_request>(request), std::move(done));
}

void check_runner::finish(uint64_t ticket, check_result result) {
  auto it = running_.find(ticket);
  if (it == running_.end())
    return;
  started s = std::move(it->second); // destroyed last, after the lock: it holds reply_to
  running_.erase(it);
  reactor_.cancel(s.deadline);
  result.latency = check_clock::now() - s.at;
  if (s.check)
    ended_.push_back(std::move(s.check)); // its own callback may be what called finish
  std::lock_guard lock{mu_};
  // Sent under the lock: a cancel() that returned first has taken the ticket out of live_.
  if (live_.erase(ticket) != 0)
    caf::anon_send(s.reply_to, check_done{ticket, std::move(result)});
}

} // namespace nv
