#include "trace/emit.hpp"

#include "messages/signal_name.hpp"
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

uint64_t spawn(const std::string& actor, const std::string& parent) {
  auto& ctx = current();
  auto* sink = ctx.sink;
  if (!sink)
    return 0;
  auto [ev, data] = scratch<spawn_event>(actor, ctx.cause);
  data.parent.assign(parent);
  return ctx.cause = sink->emit(ev);
}

uint64_t exit(const std::string& actor, exit_event::reason_kind reason, const AgentError* error) {
  auto& ctx = current();
  auto* sink = ctx.sink;
  if (!sink)
    return 0;
  auto [ev, data] = scratch<exit_event>(actor, ctx.cause);
  data.reason = reason;
  if (error)
    data.error = *error;
  else
    data.error.reset();
  data.code.reset();
  data.signal.clear();
  data.oom_killed = false;
  if (const auto* exited = error ? std::get_if<UnexpectedExit>(error) : nullptr) {
    data.code = exited->code;
    data.oom_killed = exited->oom_killed;
    if (exited->signal != 0)
      data.signal = signal_name(exited->signal);
  }
  return ctx.cause = sink->emit(ev);
}

uint64_t state(const std::string& actor, lifecycle from, lifecycle to, int32_t pid) {
  auto& ctx = current();
  auto* sink = ctx.sink;
  if (!sink)
    return 0;
  auto [ev, data] = scratch<state_event>(actor, ctx.cause);
  data.from = from;
  data.to = to;
  data.pid = pid > 0 ? std::optional<int32_t>{pid} : std::nullopt;
  return ctx.cause = sink->emit(ev);
}

uint64_t failure(const std::string& actor, const AgentError& error, uint32_t attempt) {
  auto& ctx = current();
  auto* sink = ctx.sink;
  if (!sink)
    return 0;
  auto [ev, data] = scratch<failure_event>(actor, ctx.cause);
  data.error = error;
  data.attempt = attempt;
  return ctx.cause = sink->emit(ev);
}

uint64_t restart(const std::string& actor, const std::string& child, const char* strategy,
                 int64_t delay_ms) {
  auto& ctx = current();
  auto* sink = ctx.sink;
  if (!sink)
    return 0;
  auto [ev, data] = scratch<restart_event>(actor, ctx.cause);
  data.child.assign(child);
  data.strategy.assign(strategy);
  data.delay_ms = static_cast<uint64_t>(delay_ms < 0 ? 0 : delay_ms);
  return ctx.cause = sink->emit(ev);
}

uint64_t escalate(const std::string& actor, const std::string& to, const std::string& origin,
                  const AgentError& error) {
  auto& ctx = current();
  auto* sink = ctx.sink;
  if (!sink)
    return 0;
  auto [ev, data] = scratch<escalate_event>(actor, ctx.cause);
  data.to.assign(to);
  data.origin.assign(origin);
  data.error = error;
  return ctx.cause = sink->emit(ev);
}

uint64_t wait(const std::string& actor, const std::string& dependency, const std::string& condition,
              wait_event::outcome_kind outcome) {
  auto& ctx = current();
  auto* sink = ctx.sink;
  if (!sink)
    return 0;
  auto [ev, data] = scratch<wait_event>(actor, ctx.cause);
  data.dependency.assign(dependency);
  data.condition.assign(condition);
  data.outcome = outcome;
  return ctx.cause = sink->emit(ev);
}

uint64_t route(const std::string& actor, const std::string& service, const std::string& required_os,
               const std::string& peer) {
  auto& ctx = current();
  auto* sink = ctx.sink;
  if (!sink)
    return 0;
  auto [ev, data] = scratch<route_event>(actor, ctx.cause);
  data.service.assign(service);
  data.required_os.assign(required_os);
  data.peer = peer.empty() ? std::nullopt : std::optional<std::string>{peer};
  return ctx.cause = sink->emit(ev);
}

uint64_t probe(const std::string& actor, bool ok, uint64_t latency_us, const std::string& reason) {
  auto& ctx = current();
  auto* sink = ctx.sink;
  if (!sink)
    return 0;
  auto [ev, data] = scratch<probe_event>(actor, ctx.cause);
  data.ok = ok;
  data.latency_us = latency_us;
  data.reason.assign(reason);
  return ctx.cause = sink->emit(ev);
}

uint64_t send(const std::string& actor, std::string_view to, const char* msg,
              std::string_view summary) {
  auto& ctx = current();
  auto* sink = ctx.sink;
  if (!sink || !sink->messages())
    return 0;
  auto [ev, data] = scratch<send_event>(actor, ctx.cause);
  data.to.assign(to);
  data.msg.assign(msg);
  data.summary.assign(summary);
  return sink->emit(ev);
}

uint64_t recv(const std::string& actor, std::string_view from, const char* msg,
              std::string_view summary) {
  auto& ctx = current();
  auto* sink = ctx.sink;
  if (!sink || !sink->messages())
    return 0;
  auto [ev, data] = scratch<recv_event>(actor, ctx.cause);
  data.from.assign(from);
  data.msg.assign(msg);
  data.summary.assign(summary);
  return ctx.cause = sink->emit(ev);
}

} // namespace nv::trace
