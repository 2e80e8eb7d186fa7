#pragma once

namespace nv {

// `nodevisor trace {summary|tree|why|tail|export} ...`: reads a trace written by
// `nodevisor run --trace`. 0 on success, 1 when `why` finds no failure, 2 on usage errors and
// unreadable files.
int trace_command(int argc, char** argv);

// The usage lines of `nodevisor trace`, for the program's usage text.
const char* trace_usage();

} // namespace nv
