// `nodevisor trace tail`: prints a trace's events as one readable line each, then, like
// `tail -f`, the events a run appends, until asked to stop.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "trace/trace_reader.hpp"

namespace nv {

struct tail_options {
  std::string actor_prefix;      // only actors whose path starts with this
  std::vector<trace_kind> kinds; // only these kinds; empty: all
  bool follow = true;            // false: stop at the end of the file
  std::chrono::milliseconds poll{100};
};

bool tail_matches(const tail_options& opts, const trace_event& ev);

// Prints the matching events of `path` to `out` (flushed at each pause), waiting for new ones
// while following. A line is printed once its newline is written; a file that shrinks or is
// replaced (a new run) is read again from its start. Returns when `stop` becomes non-zero,
// or at the end of the file without `follow`; false with `error` when the file cannot be read
// (while following, a file that does not exist yet is waited for, with a note on stderr).
bool tail_trace(const std::string& path, const tail_options& opts,
                const volatile std::sig_atomic_t& stop, std::FILE* out, read_stats& stats,
                std::string& error);

} // namespace nv
