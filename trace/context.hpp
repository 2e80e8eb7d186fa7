// The trace context of the work running on this thread: which sink events go to, which actor is
// handling a message, and which event caused what it does. An actor's handler sets it once
// (trace/traced_actor.hpp does, for every message), and whatever emits reads it, so no cause is
// threaded through the functions that make the decisions.
//
// Each event emitted becomes the cause of the next one in the same handler: a failure causes
// the restart, the restart the stops it implies. Where one decision fans out to several
// children, a cause_scope gives each of them that decision as its cause, not its sibling's.
#pragma once

#include <cstdint>
#include <string>

namespace nv {

class trace_sink;

namespace trace {

struct context {
  trace_sink* sink = nullptr;         // null: tracing off
  const std::string* actor = nullptr; // the actor handling a message, for message tracing
  uint64_t cause = 0;                 // seq of the event that led to the work in hand
};

// This thread's context; inline, as every message an actor handles reads it.
inline context& current() {
  thread_local context here;
  return here;
}

// What follows was caused by event `seq` (an event a message names, or one kept from an earlier
// handler); 0 changes nothing.
inline void because(uint64_t seq) {
  if (seq)
    current().cause = seq;
}

inline uint64_t current_cause() {
  return current().cause;
}

// Restores the cause when it ends: each child of a fan-out is caused by the decision itself.
class cause_scope {
public:
  cause_scope() : saved_{current().cause} {}
  ~cause_scope() { current().cause = saved_; }
  cause_scope(const cause_scope&) = delete;
  cause_scope& operator=(const cause_scope&) = delete;

private:
  uint64_t saved_;
};

// Installs a context for the length of a scope and puts back the one before: an actor's handler,
// or code outside any actor (the CLI writing the node's last event, a benchmark).
class context_scope {
public:
  explicit context_scope(trace_sink* sink, const std::string* actor = nullptr, uint64_t cause = 0)
      : saved_{current()} {
    current() = context{sink, actor, cause};
  }
  ~context_scope() { current() = saved_; }
  context_scope(const context_scope&) = delete;
  context_scope& operator=(const context_scope&) = delete;

private:
  context saved_;
};

} // namespace trace
} // namespace nv
