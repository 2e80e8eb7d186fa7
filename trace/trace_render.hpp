// One trace event as a line a person reads: shared by `trace why` and `trace tail` so both
// describe an event in the same words.
#pragma once

#include <cstdint>
#include <string>

#include "trace/trace_reader.hpp"

namespace nv {

// Seconds with millisecond precision, e.g. "12.345s"; negative times keep their sign.
std::string format_seconds(int64_t us);

// What happened, without the actor: "running → healthy (pid 4242)", "Container 'api-rep-1'
// exited unexpectedly with code 3 (attempt 2)", "restart /web-stack/api/api-rep-1 (one_for_one,
// after 100ms)". Errors print with their display text.
std::string event_detail(const trace_event& ev);

// "   12.345s  #42  /web-stack/api/api-rep-1  state  running → healthy": time relative to
// `origin_us`, seq, actor, kind and detail.
std::string render_record(const trace_record& rec, int64_t origin_us);

} // namespace nv
