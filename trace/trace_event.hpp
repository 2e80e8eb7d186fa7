// One trace event (design §7): what an actor emits and what the trace readers parse a line
// into. Plain data with typed fields; trace/trace_line.hpp writes it as its JSON line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "messages/agent_error.hpp"
#include "messages/lifecycle.hpp"

namespace nv {

struct spawn_event {
  std::string parent; // path of the spawning actor
};

struct exit_event {
  enum class reason_kind : uint8_t { normal, shutdown, failure };
  reason_kind reason = reason_kind::normal;
  std::optional<AgentError> error; // set when reason is failure
  // A container's exit: its exit code, and the signal that killed it ("SIGKILL"; empty: none).
  std::optional<int32_t> code;
  std::string signal;
  bool oom_killed = false; // the kernel's OOM killer ended it
};

struct state_event {
  lifecycle from = lifecycle::pending;
  lifecycle to = lifecycle::pending;
  std::optional<int32_t> pid; // the container's main process, once known
};

struct failure_event {
  AgentError error;
  uint32_t attempt = 0; // restarts of the failing child before this failure
};

struct restart_event {
  std::string child;    // path of the restarted child
  std::string strategy; // one_for_one | one_for_all | rest_for_one
  uint64_t delay_ms = 0;
};

struct escalate_event {
  std::string to;     // path of the parent the error goes to
  std::string origin; // path of the actor that failed first
  AgentError error;
};

struct probe_event {
  bool ok = false;
  uint64_t latency_us = 0;
  std::string reason; // why the check failed; empty when ok
};

struct wait_event {
  enum class outcome_kind : uint8_t { satisfied, timeout_fail, timeout_warn, timeout_continue };
  std::string dependency;
  std::string condition; // the spec's word: started | healthy | ready
  outcome_kind outcome = outcome_kind::satisfied;
};

struct route_event {
  std::string service;
  std::string required_os;
  std::optional<std::string> peer; // none: no peer runs that OS
};

// Written by the sink itself when its queue overflowed; actors do not emit it.
struct dropped_event {
  uint64_t count = 0;
};

// Message tracing (--trace-messages): one event when an actor sends a message to another and
// one when the receiver takes it. `msg` is the message type, `summary` a short rendering of its
// content (the child's path, the error's kind) for a reader, not a full dump.
struct send_event {
  std::string to; // path of the receiver
  std::string msg;
  std::string summary;
};

struct recv_event {
  std::string from; // path of the sender
  std::string msg;
  std::string summary;
};

// The alternatives are in trace_kind order, so the variant index is the kind.
using trace_data =
    std::variant<spawn_event, exit_event, state_event, failure_event, restart_event, escalate_event,
                 probe_event, wait_event, route_event, dropped_event, send_event, recv_event>;

enum class trace_kind : uint8_t {
  spawn,
  exit,
  state,
  failure,
  restart,
  escalate,
  probe,
  wait,
  route,
  dropped,
  send,
  recv
};

struct trace_event {
  std::string actor;  // path of the actor the event is about
  uint64_t cause = 0; // seq of the event that led to this one; 0: none
  trace_data data;
};

inline trace_kind kind(const trace_event& ev) {
  return static_cast<trace_kind>(ev.data.index());
}

// The JSON words: "failure", "shutdown", "timeout_warn", ...
std::string_view to_string(trace_kind k);
std::string_view to_string(exit_event::reason_kind r);
std::string_view to_string(wait_event::outcome_kind o);

} // namespace nv
