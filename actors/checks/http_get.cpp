#include "actors/checks/http_get.hpp"

#include <dlfcn.h>
#include <memory>
#include <string>
#include <type_traits>

#include <curl/curl.h>

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
  decltype(&::curl_easy_perform) easy_perform = nullptr;
  decltype(&::curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&::curl_easy_strerror) easy_strerror = nullptr;
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
  resolve(lib.easy_perform, "curl_easy_perform");
  resolve(lib.easy_getinfo, "curl_easy_getinfo");
  resolve(lib.easy_strerror, "curl_easy_strerror");
  // curl_global_init must run once before any other call; never cleaned up, the library stays
  // loaded for the life of the process.
  if (lib.error.empty() && lib.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    lib.error = "curl_global_init failed";
  return lib;
}

// Loaded once, thread-safely (a function-local static), by whichever check runner worker needs
// it first.
const curl_library& curl() {
  static const curl_library lib = load_curl();
  return lib;
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
  const curl_library& api = curl();
  if (!api.error.empty())
    return failed("GET " + url + ": " + api.error);
  auto left = std::chrono::ceil<std::chrono::milliseconds>(bounds.deadline - check_clock::now());
  if (left.count() <= 0)
    return timed_out(bounds);
  std::unique_ptr<CURL, decltype(&::curl_easy_cleanup)> handle{api.easy_init(), api.easy_cleanup};
  if (!handle)
    return failed("GET " + url + ": cannot create a curl handle");
  char error[CURL_ERROR_SIZE] = "";
  auto* h = handle.get();
  api.easy_setopt(h, CURLOPT_URL, url.c_str());
  api.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  api.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  api.easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  api.easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  // A check targets a service of this node: through a proxy it would test the proxy.
  api.easy_setopt(h, CURLOPT_NOPROXY, "*");
  // No signals: SIGALRM-based DNS timeouts are not thread-safe.
  api.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  api.easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(left.count()));
  api.easy_setopt(h, CURLOPT_WRITEFUNCTION, &discard_body);
  api.easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  api.easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &on_progress);
  api.easy_setopt(h, CURLOPT_XFERINFODATA, &bounds);
  api.easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  CURLcode rc = api.easy_perform(h);
  if (rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_ABORTED_BY_CALLBACK)
    return timed_out(bounds);
  if (rc != CURLE_OK)
    return failed("GET " + url + ": " + (error[0] != '\0' ? error : api.easy_strerror(rc)));
  long status = 0;
  api.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  bool ok = expect_status ? status == *expect_status : status >= 200 && status < 300;
  if (ok)
    return check_result{true, false, {}, {}};
  return failed("HTTP " + std::to_string(status) + " from " + url + ", expected " +
                (expect_status ? std::to_string(*expect_status) : std::string{"2xx"}));
}

} // namespace nv
