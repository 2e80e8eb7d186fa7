// `stop_signal` as Docker and ZLayer write it.
#pragma once

#include <optional>
#include <string_view>

namespace nv::spec {

// "SIGTERM", "TERM" (any case) or "15" -> the signal number; nullopt for anything else.
std::optional<int> parse_signal(std::string_view text);

} // namespace nv::spec
