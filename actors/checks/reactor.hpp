// One epoll loop on one thread: descriptors with their handlers, timers, and a wake-up that other
// threads use. Everything but wake() and stop() is for the loop's own thread (its handlers).
// Handlers are found by a registration id, never by descriptor: a descriptor closed and reused
// within one batch of events cannot reach the new owner's handler with the old owner's event.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>
#include <utility>

#include "actors/checks/check_bounds.hpp"
#include "posix/unique_fd.hpp"

namespace nv {

class reactor {
public:
  using fd_handler = std::function<void(uint32_t events)>;
  using timer = std::pair<check_clock::time_point, uint64_t>;

  // Throws std::system_error when the epoll set or its eventfd cannot be made.
  reactor();

  reactor(const reactor&) = delete;
  reactor& operator=(const reactor&) = delete;

  // Calls `handler` with the epoll events of `fd` (level-triggered) until unwatch. Returns the
  // registration's id, or 0 when epoll refused it (errno tells why).
  uint64_t watch(int fd, uint32_t events, fd_handler handler);
  void rewatch(uint64_t id, uint32_t events);
  // The handler is not called again, even for an event of the batch being handled.
  void unwatch(uint64_t id);

  // Calls `fn` once at `when` unless cancelled first.
  timer at(check_clock::time_point when, std::function<void()> fn);
  void cancel(const timer& t);

  // Loops until stop(): calls `turn` before each wait (and so after every wake()), then handles
  // the descriptors that are ready and the timers that are due.
  void run(const std::function<void()>& turn);

  // From any thread.
  void wake();
  void stop();

private:
  struct watched {
    int fd;
    std::shared_ptr<fd_handler> handler; // shared: a handler that unwatches itself still runs on
  };

  int wait_ms() const;
  void fire_due_timers();

  unique_fd epoll_;
  unique_fd wakeup_; // eventfd
  std::atomic<bool> stopping_{false};
  std::unordered_map<uint64_t, watched> watched_;
  uint64_t next_id_ = 1; // ids start at 1: the wake-up's epoll data is 0
  std::map<timer, std::function<void()>> timers_;
};

} // namespace nv
