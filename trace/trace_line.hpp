// One trace event as one line of the trace file (design §7).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "trace/trace_event.hpp"

namespace nv {

// Appends `{"seq":..,"ts_us":..,"node":..,"actor":..,"event":..,"cause":..,<fields>}\n`; cause
// only when non-zero. Strings need not be UTF-8 (reasons carry process output): invalid bytes
// become U+FFFD, so every line parses as JSON.
void append_trace_line(std::string& out, uint64_t seq, int64_t ts_us, std::string_view node,
                       const trace_event& ev);

// The same line in two parts, so that the sink can format the body on the emitting thread and
// the head, once the line's place is known, on the writer: the head is `{"seq":..,"ts_us":..,
// "node":..`, the body `,"actor":..` to the end, newline included.
// The node's part of every head, `,"node":"n1"`, escaped once rather than once per line.
struct node_field {
  explicit node_field(std::string_view node);
  std::string text;
};
void append_trace_head(std::string& out, uint64_t seq, int64_t ts_us, const node_field& node);
void append_trace_body(std::string& out, const trace_event& ev);

} // namespace nv
