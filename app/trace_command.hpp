#pragma once

#include <CLI/CLI.hpp>

namespace nv {

// `nodevisor trace {summary|tree|why|tail|export} ...`: reads a trace written by
// `nodevisor run --trace`. 0 on success, 1 when `why` finds no failure, 2 on usage errors and
// unreadable files.
void add_trace_command(CLI::App& app);

} // namespace nv
