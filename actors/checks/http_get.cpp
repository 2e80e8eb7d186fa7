#include "actors/checks/http_get.hpp"

#include <memory>

#include <curl/curl.h>

namespace nv {

namespace {

// curl_global_init must run once before any other curl call; a function-local static makes that
// thread-safe. Never cleaned up: the process ends with the library still usable.
void init_curl() {
  static const CURLcode rc = ::curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)rc; // a failed init makes curl_easy_init fail, which http_get reports
}

std::size_t discard_body(char*, std::size_t size, std::size_t count, void*) {
  return size * count;
}

// Called by curl while it waits; a non-zero answer aborts the transfer.
int on_progress(void* bounds, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return cancelled(*static_cast<const check_bounds*>(bounds)) ? 1 : 0;
}

} // namespace

check_result http_get(const std::string& url, std::optional<uint16_t> expect_status,
                      const check_bounds& bounds) {
  init_curl();
  auto left = std::chrono::ceil<std::chrono::milliseconds>(bounds.deadline - check_clock::now());
  if (left.count() <= 0)
    return timed_out(bounds);
  std::unique_ptr<CURL, decltype(&::curl_easy_cleanup)> curl{::curl_easy_init(),
                                                             &::curl_easy_cleanup};
  if (!curl)
    return failed("GET " + url + ": cannot create a curl handle");
  char error[CURL_ERROR_SIZE] = "";
  auto* h = curl.get();
  ::curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  ::curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  ::curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  ::curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  ::curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  // A check targets a service of this node: through a proxy it would test the proxy.
  ::curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  // No signals: SIGALRM-based DNS timeouts are not thread-safe.
  ::curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  ::curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(left.count()));
  ::curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &discard_body);
  ::curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  ::curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &on_progress);
  ::curl_easy_setopt(h, CURLOPT_XFERINFODATA, &bounds);
  ::curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  CURLcode rc = ::curl_easy_perform(h);
  if (rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_ABORTED_BY_CALLBACK)
    return timed_out(bounds);
  if (rc != CURLE_OK)
    return failed("GET " + url + ": " + (error[0] != '\0' ? error : ::curl_easy_strerror(rc)));
  long status = 0;
  ::curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  bool ok = expect_status ? status == *expect_status : status >= 200 && status < 300;
  if (ok)
    return check_result{true, false, {}, {}};
  return failed("HTTP " + std::to_string(status) + " from " + url + ", expected " +
                (expect_status ? std::to_string(*expect_status) : std::string{"2xx"}));
}

} // namespace nv
