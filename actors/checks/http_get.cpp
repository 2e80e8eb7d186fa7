#include "actors/checks/http_get.hpp"

#include <dlfcn.h>
#include <string>
#include <strings.h>
#include <sys/epoll.h>
#include <type_traits>

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include "actors/checks/check_bounds.hpp"

namespace nv {

namespace {

// libcurl is loaded on the first http check, not linked: with the TLS, Kerberos and LDAP
// libraries it brings it maps some 5 MiB into the daemon, which a node without an http check
// should not carry (it is most of the daemon's memory beyond CAF's).
struct curl_library {
  decltype(&::curl_global_init) global_init = nullptr;
  decltype(&::curl_easy_init) easy_init = nullptr;
  decltype(&::curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&::curl_easy_setopt) easy_setopt = nullptr;
  decltype(&::curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&::curl_easy_strerror) easy_strerror = nullptr;
  decltype(&::curl_multi_init) multi_init = nullptr;
  decltype(&::curl_multi_cleanup) multi_cleanup = nullptr;
  decltype(&::curl_multi_setopt) multi_setopt = nullptr;
  decltype(&::curl_multi_add_handle) multi_add_handle = nullptr;
  decltype(&::curl_multi_remove_handle) multi_remove_handle = nullptr;
  decltype(&::curl_multi_socket_action) multi_socket_action = nullptr;
  decltype(&::curl_multi_info_read) multi_info_read = nullptr;
  decltype(&::curl_url) url = nullptr;
  decltype(&::curl_url_set) url_set = nullptr;
  decltype(&::curl_url_get) url_get = nullptr;
  decltype(&::curl_url_cleanup) url_cleanup = nullptr;
  decltype(&::curl_free) free = nullptr;
  std::string error; // why it could not be used; empty when it can
};

curl_library load_curl() {
  curl_library lib;
  void* handle = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    lib.error = std::string{"cannot load libcurl: "} + ::dlerror();
    return lib;
  }
  auto resolve = [&](auto& fn, const char* name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(handle, name));
    if (!fn && lib.error.empty())
      lib.error = std::string{"libcurl has no "} + name;
  };
  resolve(lib.global_init, "curl_global_init");
  resolve(lib.easy_init, "curl_easy_init");
  resolve(lib.easy_cleanup, "curl_easy_cleanup");
  resolve(lib.easy_setopt, "curl_easy_setopt");
  resolve(lib.easy_getinfo, "curl_easy_getinfo");
  resolve(lib.easy_strerror, "curl_easy_strerror");
  resolve(lib.multi_init, "curl_multi_init");
  resolve(lib.multi_cleanup, "curl_multi_cleanup");
  resolve(lib.multi_setopt, "curl_multi_setopt");
  resolve(lib.multi_add_handle, "curl_multi_add_handle");
  resolve(lib.multi_remove_handle, "curl_multi_remove_handle");
  resolve(lib.multi_socket_action, "curl_multi_socket_action");
  resolve(lib.multi_info_read, "curl_multi_info_read");
  resolve(lib.url, "curl_url");
  resolve(lib.url_set, "curl_url_set");
  resolve(lib.url_get, "curl_url_get");
  resolve(lib.url_cleanup, "curl_url_cleanup");
  resolve(lib.free, "curl_free");
  // curl_global_init must run once before any other call; never cleaned up, the library stays
  // loaded for the life of the process.
  if (lib.error.empty() && lib.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    lib.error = "curl_global_init failed";
  return lib;
}

// Loaded once, thread-safely (a function-local static): runners' reactors are its only users.
const curl_library& curl() {
  static const curl_library lib = load_curl();
  return lib;
}

// As Kubernetes probes: the redirect that would make this many ends the check, a failure.
constexpr int max_redirects = 10;

std::size_t discard_body(char*, std::size_t size, std::size_t count, void*) {
  return size * count;
}

// The host part of `url` (no port, lower case as curl normalises it); empty when it has none.
std::string host_of(const std::string& url) {
  const auto& api = curl();
  std::string host;
  CURLU* u = api.url();
  char* part = nullptr;
  if (u && api.url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
      api.url_get(u, CURLUPART_HOST, &part, 0) == CURLUE_OK) {
    host = part;
    api.free(part);
  }
  api.url_cleanup(u);
  return host;
}

bool same_host(const std::string& a, const std::string& b) {
  auto ha = host_of(a);
  return !ha.empty() && ::strcasecmp(ha.c_str(), host_of(b).c_str()) == 0;
}

int curl_events(uint32_t epoll_events) {
  return (epoll_events & EPOLLIN ? CURL_CSELECT_IN : 0) |
         (epoll_events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
         (epoll_events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
}

} // namespace

class http_getter::transfer final : public running_check {
public:
  transfer(void* multi, const http_check& check, check_finished done)
      : multi_(multi), url_(check.url), expect_(check.expect_status), done_(std::move(done)) {}

  ~transfer() override {
    if (!easy_)
      return;
    curl().multi_remove_handle(multi_, easy_); // closes its sockets: it never reuses them
    curl().easy_cleanup(easy_);
  }

  void start() {
    const auto& api = curl();
    easy_ = api.easy_init();
    if (!easy_) {
      done_(failed(url_ + ": cannot create a curl handle"));
      return;
    }
    api.easy_setopt(easy_, CURLOPT_PRIVATE, this);
    api.easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
    // A check targets a service of this node: through a proxy it would test the proxy.
    api.easy_setopt(easy_, CURLOPT_NOPROXY, "*");
    // Each check on a fresh connection, closed after it, as Kubernetes probes (no keep-alive):
    // a pooled connection would pass for a server that no longer accepts new ones.
    api.easy_setopt(easy_, CURLOPT_FRESH_CONNECT, 1L);
    api.easy_setopt(easy_, CURLOPT_FORBID_REUSE, 1L);
    // No signals: SIGALRM-based DNS timeouts are not thread-safe.
    api.easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
    api.easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &discard_body);
    api.easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_);
    request();
  }

  // curl is done with the current request.
  void completed(CURLcode rc) {
    const auto& api = curl();
    if (rc != CURLE_OK) {
      done_(failed(url_ + ": " + (error_[0] != '\0' ? error_ : api.easy_strerror(rc))));
      return;
    }
    long status = 0;
    api.easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
    char* location = nullptr;
    if (status >= 300 && status < 400 &&
        api.easy_getinfo(easy_, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location) {
      redirected(location);
      return;
    }
    bool ok = expect_ ? status == *expect_ : status >= 200 && status < 300;
    if (ok) {
      done_(check_result{true, false, {}, {}});
      return;
    }
    // "http://127.0.0.1:17011/health → 404"; the expectation too when the status alone would
    // not say why it failed (an unusual one, or a 2xx other than the one expected).
    auto reason = url_ + " → " + std::to_string(status);
    if (expect_ && (*expect_ != 200 || (status >= 200 && status < 300)))
      reason += ", expected " + std::to_string(*expect_);
    done_(failed(std::move(reason)));
  }

private:
  void request() {
    error_[0] = '\0';
    curl().easy_setopt(easy_, CURLOPT_URL, url_.c_str());
    if (curl().multi_add_handle(multi_, easy_) != CURLM_OK)
      done_(failed(url_ + ": cannot start the transfer"));
  }

  // Kubernetes' rule (pkg/probe/http): a redirect to another host ends the probe with the
  // redirect as its answer, a success with a warning; one to the same host is followed.
  void redirected(const std::string& location) {
    if (!same_host(url_, location)) {
      spdlog::warn("GET {}: redirect to {} not followed (another host); the check passes, as a "
                   "Kubernetes probe does",
                   url_, location);
      done_(check_result{true, false, {}, {}});
      return;
    }
    if (++redirects_ >= max_redirects) { // Go's client, which Kubernetes uses, counts so
      done_(failed(url_ + ": stopped after " + std::to_string(max_redirects) + " redirects"));
      return;
    }
    curl().multi_remove_handle(multi_, easy_);
    url_ = location;
    request();
  }

  void* multi_;
  CURL* easy_ = nullptr;
  std::string url_; // the one being fetched: the check's, or where a redirect sent it
  std::optional<uint16_t> expect_;
  check_finished done_;
  int redirects_ = 0;
  char error_[CURL_ERROR_SIZE] = "";
};

http_getter::http_getter(reactor& r) : r_(r) {}

http_getter::~http_getter() {
  if (multi_)
    curl().multi_cleanup(multi_);
  if (timer_)
    r_.cancel(*timer_);
}

std::unique_ptr<running_check> http_getter::get(const http_check& check, check_finished done) {
  const auto& api = curl();
  if (!api.error.empty()) {
    done(failed(check.url + ": " + api.error));
    return nullptr;
  }
  if (!multi_) {
    multi_ = api.multi_init();
    if (!multi_) {
      done(failed(check.url + ": cannot create a curl multi handle"));
      return nullptr;
    }
    api.multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &http_getter::on_socket);
    api.multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    api.multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &http_getter::on_timer);
    api.multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  }
  auto t = std::make_unique<transfer>(multi_, check, std::move(done));
  t->start();
  return t;
}

int http_getter::on_socket(void*, int s, int what, void* self, void*) {
  auto* g = static_cast<http_getter*>(self);
  auto known = g->sockets_.find(s);
  if (what == CURL_POLL_REMOVE) {
    if (known != g->sockets_.end()) {
      g->r_.unwatch(known->second);
      g->sockets_.erase(known);
    }
    return 0;
  }
  uint32_t events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
  if (known != g->sockets_.end()) {
    g->r_.rewatch(known->second, events);
    return 0;
  }
  // Refused by epoll (no memory), the socket is never served: its check ends at its timeout.
  if (auto id = g->r_.watch(s, events, [g, s](uint32_t e) { g->act(s, curl_events(e)); }))
    g->sockets_.emplace(s, id);
  return 0;
}

int http_getter::on_timer(void*, long timeout_ms, void* self) {
  auto* g = static_cast<http_getter*>(self);
  if (g->timer_)
    g->r_.cancel(*g->timer_);
  g->timer_.reset();
  if (timeout_ms >= 0)
    g->timer_ = g->r_.at(check_clock::now() + std::chrono::milliseconds{timeout_ms}, [g] {
      g->timer_.reset(); // before the action, which may set it again
      g->act(CURL_SOCKET_TIMEOUT, 0);
    });
  return 0;
}

void http_getter::act(int s, int events) {
  const auto& api = curl();
  int running = 0;
  api.multi_socket_action(multi_, s, events, &running);
  int left = 0;
  while (CURLMsg* msg = api.multi_info_read(multi_, &left)) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    auto rc = msg->data.result; // read before anything removes the handle: msg dies with it
    char* t = nullptr;
    api.easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
    reinterpret_cast<transfer*>(t)->completed(rc);
  }
}

} // namespace nv
