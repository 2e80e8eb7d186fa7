#include "actors/checks/reactor.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <system_error>

namespace nv {

reactor::reactor()
    : epoll_(::epoll_create1(EPOLL_CLOEXEC)), wakeup_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (!epoll_ || !wakeup_)
    throw std::system_error(errno, std::generic_category(), "check reactor");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wakeup_.get(), &ev) != 0)
    throw std::system_error(errno, std::generic_category(), "check reactor");
}

uint64_t reactor::watch(int fd, uint32_t events, fd_handler handler) {
  auto id = next_id_++;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = id;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0)
    return 0;
  watched_.emplace(id, watched{fd, std::make_shared<fd_handler>(std::move(handler))});
  return id;
}

void reactor::rewatch(uint64_t id, uint32_t events) {
  auto it = watched_.find(id);
  if (it == watched_.end())
    return;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = id;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, it->second.fd, &ev);
}

void reactor::unwatch(uint64_t id) {
  auto it = watched_.find(id);
  if (it == watched_.end())
    return;
  // Fails harmlessly for a descriptor closed already: closing removed it from the set.
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second.fd, nullptr);
  watched_.erase(it);
}

reactor::timer reactor::at(check_clock::time_point when, std::function<void()> fn) {
  timer t{when, next_id_++};
  timers_.emplace(t, std::move(fn));
  return t;
}

void reactor::cancel(const timer& t) {
  timers_.erase(t);
}

void reactor::wake() {
  ::eventfd_write(wakeup_.get(), 1);
}

void reactor::stop() {
  stopping_ = true;
  wake();
}

int reactor::wait_ms() const {
  if (timers_.empty())
    return -1;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(timers_.begin()->first.first -
                                                           check_clock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 0, INT_MAX));
}

void reactor::fire_due_timers() {
  // One at a time from the front: a timer's function may add or cancel others.
  while (!timers_.empty() && timers_.begin()->first.first <= check_clock::now()) {
    auto fn = std::move(timers_.begin()->second);
    timers_.erase(timers_.begin());
    fn();
  }
}

void reactor::run(const std::function<void()>& turn) {
  std::array<epoll_event, 64> events;
  for (;;) {
    turn();
    if (stopping_)
      return;
    int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), wait_ms());
    for (int i = 0; i < n; ++i) {
      auto id = events[static_cast<std::size_t>(i)].data.u64;
      if (id == 0) {
        eventfd_t ignored;
        ::eventfd_read(wakeup_.get(), &ignored);
        continue;
      }
      auto it = watched_.find(id);
      if (it == watched_.end())
        continue; // unwatched by a handler earlier in this batch
      auto handler = it->second.handler;
      (*handler)(events[static_cast<std::size_t>(i)].events);
    }
    fire_due_timers();
  }
}

} // namespace nv
