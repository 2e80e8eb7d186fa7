// What the node provides to every actor of its tree: one channel, the child context, hands it
// down (supervisor/child_spec.hpp). All of them outlive every actor.
#pragma once

namespace nv {

class runtime;
class check_runner;
class trace_sink;
class supervision_memory;

struct node_services {
  runtime* rt = nullptr;          // the node's runtime (the composite, in `run` and the daemon)
  check_runner* checks = nullptr; // tcp, http and command checks of probes and init steps
  trace_sink* trace = nullptr;    // null: tracing off
  supervision_memory* memory = nullptr; // null: nothing outlives the process (`run`)
};

} // namespace nv
