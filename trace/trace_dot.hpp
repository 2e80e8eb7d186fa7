// `nodevisor trace export --dot`: the supervision tree as a Graphviz digraph, each actor a box
// coloured by its state at the end of the trace.
#pragma once

#include <cstdio>
#include <string_view>

#include "trace/trace_tree.hpp"

namespace nv {

// The fill colour of an actor's box: green healthy/running, pale green completed, grey while
// it starts, orange when it struggles (unhealthy, crash_loop_backoff, degraded), red failed,
// light grey stopped or exited, white with no state event.
std::string_view dot_color(const tree_actor& actor);

void print_dot(std::FILE* out, const actor_tree& tree);

} // namespace nv
