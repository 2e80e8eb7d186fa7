#include "trace/emit.hpp"

#include "trace/trace_sink.hpp"

namespace nv::trace {

namespace {

// The event of kind Data that this thread builds its events of that kind in. Reusing it keeps
// the strings' capacity, so that emitting copies the actor's path and the fields into buffers
// that already exist instead of allocating them, and freeing nothing afterwards.
template <class Data>
struct scratch_event {
  trace_event& ev;
  Data& data;
};

template <class Data>
scratch_event<Data> scratch(const std::string& actor, uint64_t cause) {
  thread_local trace_event mine{std::string{}, 0, Data{}};
  mine.actor.assign(actor);
  mine.cause = cause;
  return {mine, std::get<Data>(mine.data)};
}

} // namespace

uint64_t spawn(trace_sink* sink, const std::string& actor, const std::string& parent,
               uint64_t cause) {
  if (!sink)
    return 0;
  auto [ev, data] = scratch<spawn_event>(actor, cause);
  data.parent.assign(parent);
  return sink->emit(ev);
}

uint64_t exit(trace_sink* sink, const std::string& actor, exit_event::reason_kind reason,
              const AgentError* error, uint64_t cause) {
  if (!sink)
    return 0;
  auto [ev, data] = scratch<exit_event>(actor, cause);
  data.reason = reason;
  if (error)
    data.error = *error;
  else
    data.error.reset();
  return sink->emit(ev);
}

uint64_t state(trace_sink* sink, const std::string& actor, lifecycle from, lifecycle to,
               uint64_t cause, int32_t pid) {
  if (!sink)
    return 0;
  auto [ev, data] = scratch<state_event>(actor, cause);
  data.from = from;
  data.to = to;
  data.pid = pid > 0 ? std::optional<int32_t>{pid} : std::nullopt;
  return sink->emit(ev);
}

uint64_t failure(trace_sink* sink, const std::string& actor, const AgentError& error,
                 uint32_t attempt, uint64_t cause) {
  if (!sink)
    return 0;
  auto [ev, data] = scratch<failure_event>(actor, cause);
  data.error = error;
  data.attempt = attempt;
  return sink->emit(ev);
}

uint64_t restart(trace_sink* sink, const std::string& actor, const std::string& child,
                 const char* strategy, int64_t delay_ms, uint64_t cause) {
  if (!sink)
    return 0;
  auto [ev, data] = scratch<restart_event>(actor, cause);
  data.child.assign(child);
  data.strategy.assign(strategy);
  data.delay_ms = static_cast<uint64_t>(delay_ms < 0 ? 0 : delay_ms);
  return sink->emit(ev);
}

uint64_t escalate(trace_sink* sink, const std::string& actor, const std::string& to,
                  const std::string& origin, const AgentError& error, uint64_t cause) {
  if (!sink)
    return 0;
  auto [ev, data] = scratch<escalate_event>(actor, cause);
  data.to.assign(to);
  data.origin.assign(origin);
  data.error = error;
  return sink->emit(ev);
}

uint64_t wait(trace_sink* sink, const std::string& actor, const std::string& dependency,
              const std::string& condition, wait_event::outcome_kind outcome, uint64_t cause) {
  if (!sink)
    return 0;
  auto [ev, data] = scratch<wait_event>(actor, cause);
  data.dependency.assign(dependency);
  data.condition.assign(condition);
  data.outcome = outcome;
  return sink->emit(ev);
}

uint64_t route(trace_sink* sink, const std::string& actor, const std::string& service,
               const std::string& required_os, const std::string& peer, uint64_t cause) {
  if (!sink)
    return 0;
  auto [ev, data] = scratch<route_event>(actor, cause);
  data.service.assign(service);
  data.required_os.assign(required_os);
  data.peer = peer.empty() ? std::nullopt : std::optional<std::string>{peer};
  return sink->emit(ev);
}

uint64_t probe(trace_sink* sink, const std::string& actor, bool ok, uint64_t latency_us,
               const std::string& reason, uint64_t cause) {
  if (!sink)
    return 0;
  auto [ev, data] = scratch<probe_event>(actor, cause);
  data.ok = ok;
  data.latency_us = latency_us;
  data.reason.assign(reason);
  return sink->emit(ev);
}

uint64_t send(trace_sink* sink, const std::string& actor, std::string_view to, const char* msg,
              std::string_view summary, uint64_t cause) {
  if (!sink || !sink->messages())
    return 0;
  auto [ev, data] = scratch<send_event>(actor, cause);
  data.to.assign(to);
  data.msg.assign(msg);
  data.summary.assign(summary);
  return sink->emit(ev);
}

uint64_t recv(trace_sink* sink, const std::string& actor, std::string_view from, const char* msg,
              std::string_view summary, uint64_t cause) {
  if (!sink || !sink->messages())
    return 0;
  auto [ev, data] = scratch<recv_event>(actor, cause);
  data.from.assign(from);
  data.msg.assign(msg);
  data.summary.assign(summary);
  return sink->emit(ev);
}

} // namespace nv::trace
