// One function per trace event kind of design.md §7, so that actors emit events in one line
// and tracing off costs a branch. The sink and the cause come from this thread's trace context
// (trace/context.hpp); each event then becomes the context's cause, and its seq is returned
// (0 when off) for what a later handler must name.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "messages/agent_error.hpp"
#include "messages/lifecycle.hpp"
#include "trace/context.hpp"
#include "trace/trace_event.hpp"

namespace nv {

namespace trace {

uint64_t spawn(const std::string& actor, const std::string& parent);
// error only when it failed.
uint64_t exit(const std::string& actor, exit_event::reason_kind reason, const AgentError* error);
uint64_t state(const std::string& actor, lifecycle from, lifecycle to, int32_t pid = 0);
uint64_t failure(const std::string& actor, const AgentError& error, uint32_t attempt);
uint64_t restart(const std::string& actor, const std::string& child, const char* strategy,
                 int64_t delay_ms);
uint64_t escalate(const std::string& actor, const std::string& to, const std::string& origin,
                  const AgentError& error);

uint64_t wait(const std::string& actor, const std::string& dependency, const std::string& condition,
              wait_event::outcome_kind outcome);
// peer: empty when no peer runs that OS.
uint64_t route(const std::string& actor, const std::string& service, const std::string& required_os,
               const std::string& peer);
uint64_t probe(const std::string& actor, bool ok, uint64_t latency_us, const std::string& reason);

// Message tracing: no-ops unless the sink has messages on. trace/traced_actor.hpp calls them
// for every message between actors. A send is a record on the side and leaves the context's
// cause alone; a recv starts a handler and becomes its cause.
uint64_t send(const std::string& actor, std::string_view to, const char* msg,
              std::string_view summary);
uint64_t recv(const std::string& actor, std::string_view from, const char* msg,
              std::string_view summary);

} // namespace trace
} // namespace nv
