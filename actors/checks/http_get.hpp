// The http check: does a GET of the url answer with the expected status? All of a runner's
// transfers share one curl multi handle driven by its reactor: curl reports the sockets to watch
// and the timeout it wants (CURLMOPT_SOCKETFUNCTION, CURLMOPT_TIMERFUNCTION) and the reactor
// calls curl_multi_socket_action when one is due, so a transfer waits on nothing but its own
// socket and the checks of every kind share one epoll wait. curl resolves names on a thread of
// its own (the threaded resolver), never on the reactor.
#pragma once

#include <map>
#include <memory>
#include <optional>

#include "actors/checks/reactor.hpp"
#include "actors/checks/running_check.hpp"
#include "messages/check.hpp"

namespace nv {

class http_getter {
public:
  explicit http_getter(reactor& r);
  // After every transfer it started has been destroyed.
  ~http_getter();

  http_getter(const http_getter&) = delete;
  http_getter& operator=(const http_getter&) = delete;

  // GETs `check.url` (http or https, never through a proxy, on a connection of its own). Passes
  // when the status equals `check.expect_status`, or with none when it is any 2xx. Fails with
  // e.g. "HTTP 404 from http://127.0.0.1:8080/health, expected 200" or a transfer error
  // ("GET http://…: Failed to connect to …"). Redirects are handled as Kubernetes probes handle
  // them: one to the same host is followed (the 10th fails the check, "stopped after 10
  // redirects"); one to another host is not followed and the check passes, with a warning in the
  // log. libcurl is loaded on the first call; returns null when the check ended at once.
  std::unique_ptr<running_check> get(const http_check& check, check_finished done);

private:
  class transfer;

  static int on_socket(void* easy, int s, int what, void* self, void* socketp);
  static int on_timer(void* multi, long timeout_ms, void* self);
  // curl_multi_socket_action for `s` (or its timeout), then the transfers that completed.
  void act(int s, int curl_events);

  reactor& r_;
  void* multi_ = nullptr;               // CURLM, made on the first transfer
  std::map<int, uint64_t> sockets_;     // curl's sockets, by their reactor watch
  std::optional<reactor::timer> timer_; // when curl wants socket_action(CURL_SOCKET_TIMEOUT)
};

} // namespace nv
