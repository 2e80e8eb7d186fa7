#include "messages/lifecycle.hpp"

#include <array>

namespace nv {

namespace {
constexpr std::array<std::string_view, 14> names = {
    "pending", "waiting",   "initializing",       "creating", "starting", "running",
    "healthy", "unhealthy", "crash_loop_backoff", "stopping", "stopped",  "completed",
    "failed",  "degraded"};
} // namespace

std::string_view to_string(lifecycle s) {
  auto i = static_cast<std::size_t>(s);
  return i < names.size() ? names[i] : "unknown";
}

bool from_string(std::string_view name, lifecycle& out) {
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) {
      out = static_cast<lifecycle>(i);
      return true;
    }
  return false;
}

} // namespace nv
