// Durations as ZLayer's specs write them (the humantime crate's format), plus decimals.
#pragma once

#include <optional>
#include <string_view>

#include "messages/agent_error.hpp"

namespace nv::spec {

// "500ms", "30s", "1m", "1h", "2m30s", "1h 30m", "1.5s", "0". Units: ns, us/µs, ms, s, m, h,
// d, w, and humantime's long names (sec, secs, seconds, min, minutes, hr, hours, days, ...).
// Every number needs a unit, except a lone "0". nullopt: not a duration, or longer than
// nv::duration can hold (about 292 years).
std::optional<duration> parse_duration(std::string_view text);

} // namespace nv::spec
