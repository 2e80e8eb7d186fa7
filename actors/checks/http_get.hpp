// The http check: does a GET of the url answer with the expected status within the timeout?
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "actors/checks/check_bounds.hpp"

namespace nv {

// GET `url` with libcurl. Passes when the status equals `expect_status`, or with none when it is
// any 2xx. Fails with e.g. "HTTP 404 from http://127.0.0.1:8080/health, expected 200", a
// transfer error ("GET http://…: Failed to connect to …"), or `Timeout after <timeout>` at the
// deadline. Follows redirects, as ZLayer's HTTP client does; never uses a proxy. Blocks its
// thread: for check_runner's workers.
check_result http_get(const std::string& url, std::optional<uint16_t> expect_status,
                      const check_bounds& bounds);

} // namespace nv
