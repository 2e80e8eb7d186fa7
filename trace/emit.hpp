// One function per trace event kind of design.md §7, so that actors emit events in one line
// and a null sink (tracing off) costs a branch. Each returns the event's seq (0 when off),
// which later events name as their `cause`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "messages/agent_error.hpp"
#include "messages/lifecycle.hpp"
#include "trace/trace_event.hpp"

namespace nv {

class trace_sink;

namespace trace {

uint64_t spawn(trace_sink* sink, const std::string& actor, const std::string& parent,
               uint64_t cause = 0);
// error only when it failed.
uint64_t exit(trace_sink* sink, const std::string& actor, exit_event::reason_kind reason,
              const AgentError* error, uint64_t cause = 0);
uint64_t state(trace_sink* sink, const std::string& actor, lifecycle from, lifecycle to,
               uint64_t cause = 0, int32_t pid = 0);
uint64_t failure(trace_sink* sink, const std::string& actor, const AgentError& error,
                 uint32_t attempt, uint64_t cause = 0);
uint64_t restart(trace_sink* sink, const std::string& actor, const std::string& child,
                 const char* strategy, int64_t delay_ms, uint64_t cause = 0);
uint64_t escalate(trace_sink* sink, const std::string& actor, const std::string& to,
                  const std::string& origin, const AgentError& error, uint64_t cause = 0);

uint64_t wait(trace_sink* sink, const std::string& actor, const std::string& dependency,
              const std::string& condition, wait_event::outcome_kind outcome, uint64_t cause = 0);
// peer: empty when no peer runs that OS.
uint64_t route(trace_sink* sink, const std::string& actor, const std::string& service,
               const std::string& required_os, const std::string& peer, uint64_t cause = 0);
uint64_t probe(trace_sink* sink, const std::string& actor, bool ok, uint64_t latency_us,
               const std::string& reason, uint64_t cause = 0);

// Message tracing: no-ops unless the sink has messages on. Actors call them through
// trace/message_trace.hpp, which tests the switch before building a summary.
uint64_t send(trace_sink* sink, const std::string& actor, std::string_view to, const char* msg,
              std::string_view summary, uint64_t cause = 0);
uint64_t recv(trace_sink* sink, const std::string& actor, std::string_view from, const char* msg,
              std::string_view summary, uint64_t cause = 0);

} // namespace trace
} // namespace nv
