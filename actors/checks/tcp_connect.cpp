#include "actors/checks/tcp_connect.hpp"

#include <atomic>
#include <cerrno>
#include <netdb.h>
#include <string>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <system_error>
#include <thread>

#include "actors/checks/check_bounds.hpp"
#include "posix/unique_fd.hpp"

namespace nv {

namespace {

// "tcp 127.0.0.1:5432: connection refused": what was probed, then the errno text, lower-cased
// to read as a reason.
std::string describe(int err, const std::string& target) {
  auto text = std::generic_category().message(err); // thread-safe, unlike strerror
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z')
    text[0] = static_cast<char>(text[0] - 'A' + 'a');
  return "tcp " + target + ": " + text;
}

using addresses = std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)>;

// A name lookup on its own thread. Shared with that thread, which may outlive the check (and
// the runner): getaddrinfo cannot be interrupted. `ready` becomes readable once it is done.
struct lookup {
  std::string host, service;
  unique_fd ready{::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
  int rc = 0;
  addresses found{nullptr, &::freeaddrinfo};
  std::atomic<bool> done{false}; // publishes rc and found to the reactor thread
};

addrinfo hints(int flags) {
  addrinfo h{};
  h.ai_socktype = SOCK_STREAM;
  h.ai_flags = AI_NUMERICSERV | flags;
  return h;
}

class tcp_attempt final : public running_check {
public:
  tcp_attempt(reactor& r, const tcp_check& check, check_finished done)
      : r_(r), host_(check.host), service_(std::to_string(check.port)),
        target_(check.host.find(':') == std::string::npos ? host_ + ":" + service_
                                                          : "[" + host_ + "]:" + service_),
        done_(std::move(done)) {}

  ~tcp_attempt() override { r_.unwatch(watch_); }

  void start() {
    // A literal address resolves without a lookup, so most checks (a replica's own 127.0.0.1)
    // never leave the reactor.
    auto h = hints(AI_NUMERICHOST);
    addrinfo* found = nullptr;
    int rc = ::getaddrinfo(host_.c_str(), service_.c_str(), &h, &found);
    if (rc == 0) {
      list_.reset(found);
      next_ = list_.get();
      try_next();
      return;
    }
    if (rc != EAI_NONAME) {
      resolve_failed(rc);
      return;
    }
    resolve_off_reactor();
  }

private:
  void resolve_off_reactor() {
    lookup_ = std::make_shared<lookup>();
    lookup_->host = host_;
    lookup_->service = service_;
    if (!lookup_->ready) {
      finish(failed("tcp " + target_ + ": cannot resolve '" + host_ +
                    "': " + std::generic_category().message(errno)));
      return;
    }
    watch_ = r_.watch(lookup_->ready.get(), EPOLLIN, [this](uint32_t) { resolved(); });
    if (watch_ == 0) {
      finish(failed("tcp " + target_ + ": cannot resolve '" + host_ +
                    "': " + std::generic_category().message(errno)));
      return;
    }
    try {
      std::thread{[l = lookup_] {
        auto h = hints(0);
        addrinfo* found = nullptr;
        l->rc = ::getaddrinfo(l->host.c_str(), l->service.c_str(), &h, &found);
        l->found.reset(found);
        l->done.store(true, std::memory_order_release);
        ::eventfd_write(l->ready.get(), 1);
      }}.detach();
    } catch (const std::system_error& e) {
      finish(failed("tcp " + target_ + ": cannot resolve '" + host_ + "': " + e.what()));
    }
  }

  void resolved() {
    if (!lookup_->done.load(std::memory_order_acquire))
      return;
    r_.unwatch(watch_);
    watch_ = 0;
    auto l = std::move(lookup_);
    if (l->rc != 0) {
      resolve_failed(l->rc);
      return;
    }
    list_ = std::move(l->found);
    next_ = list_.get();
    try_next();
  }

  void resolve_failed(int rc) {
    finish(failed("tcp " + target_ + ": cannot resolve '" + host_ + "': " + ::gai_strerror(rc)));
  }

  // Connects to the next address; finishes when one connects or none is left.
  void try_next() {
    for (; next_ != nullptr; next_ = next_->ai_next) {
      fd_.reset(::socket(next_->ai_family, next_->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                         next_->ai_protocol));
      if (!fd_) {
        reason_ = describe(errno, target_);
        continue;
      }
      if (::connect(fd_.get(), next_->ai_addr, next_->ai_addrlen) == 0) {
        finish(check_result{true, false, {}, {}});
        return;
      }
      if (errno != EINPROGRESS) {
        reason_ = describe(errno, target_);
        continue;
      }
      watch_ = r_.watch(fd_.get(), EPOLLOUT, [this](uint32_t) { connected(); });
      if (watch_ != 0)
        return;
      reason_ = describe(errno, target_);
    }
    finish(failed(std::move(reason_)));
  }

  void connected() {
    r_.unwatch(watch_);
    watch_ = 0;
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    fd_.reset();
    if (err == 0) {
      finish(check_result{true, false, {}, {}});
      return;
    }
    reason_ = describe(err, target_);
    next_ = next_->ai_next;
    try_next();
  }

  void finish(check_result result) {
    fd_.reset();
    done_(std::move(result));
  }

  reactor& r_;
  std::string host_, service_, target_;
  check_finished done_;
  std::shared_ptr<lookup> lookup_;
  addresses list_{nullptr, &::freeaddrinfo};
  addrinfo* next_ = nullptr; // the address being tried, in list_
  unique_fd fd_;
  uint64_t watch_ = 0;
  std::string reason_; // why the last address failed
};

} // namespace

std::unique_ptr<running_check> tcp_connect(reactor& r, const tcp_check& check,
                                           check_finished done) {
  auto attempt = std::make_unique<tcp_attempt>(r, check, std::move(done));
  attempt->start();
  return attempt;
}

} // namespace nv
