// `nodevisor trace export --chrome`: the Chrome Trace Event Format (object form), which
// Perfetto (ui.perfetto.dev) and chrome://tracing open. One process per service (or top-level
// actor), one thread per actor in tree order; a complete ("X") slice per lifecycle state
// interval, an instant ("i") per spawn, exit, failure, restart, probe, escalation, wait and
// route, and a flow arrow ("s" to "f") from each event's cause to the event.
#pragma once

#include <cstdio>
#include <string>

#include "trace/trace_reader.hpp"

namespace nv {

// Reads `path` twice (the first pass finds the actors and cause links) and streams the JSON to
// `out`. Memory: the actors, plus 16 bytes per event that names a cause.
bool export_chrome(const std::string& path, std::FILE* out, read_stats& stats, std::string& error);

} // namespace nv
