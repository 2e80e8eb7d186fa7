#include "trace/emit.hpp"

#include "trace/trace_sink.hpp"

namespace nv::trace {

namespace {

uint64_t put(trace_sink* sink, const std::string& actor, uint64_t cause, trace_data data) {
  return sink->emit(trace_event{actor, cause, std::move(data)});
}

} // namespace

uint64_t spawn(trace_sink* sink, const std::string& actor, const std::string& parent,
               uint64_t cause) {
  if (!sink)
    return 0;
  return put(sink, actor, cause, spawn_event{parent});
}

uint64_t exit(trace_sink* sink, const std::string& actor, exit_event::reason_kind reason,
              const AgentError* error, uint64_t cause) {
  if (!sink)
    return 0;
  exit_event ev{reason, std::nullopt};
  if (error)
    ev.error = *error;
  return put(sink, actor, cause, std::move(ev));
}

uint64_t state(trace_sink* sink, const std::string& actor, lifecycle from, lifecycle to,
               uint64_t cause, int32_t pid) {
  if (!sink)
    return 0;
  state_event ev{from, to, std::nullopt};
  if (pid > 0)
    ev.pid = pid;
  return put(sink, actor, cause, ev);
}

uint64_t failure(trace_sink* sink, const std::string& actor, const AgentError& error,
                 uint32_t attempt, uint64_t cause) {
  if (!sink)
    return 0;
  return put(sink, actor, cause, failure_event{error, attempt});
}

uint64_t restart(trace_sink* sink, const std::string& actor, const std::string& child,
                 const char* strategy, int64_t delay_ms, uint64_t cause) {
  if (!sink)
    return 0;
  return put(sink, actor, cause,
             restart_event{child, strategy, static_cast<uint64_t>(delay_ms < 0 ? 0 : delay_ms)});
}

uint64_t escalate(trace_sink* sink, const std::string& actor, const std::string& to,
                  const std::string& origin, const AgentError& error, uint64_t cause) {
  if (!sink)
    return 0;
  return put(sink, actor, cause, escalate_event{to, origin, error});
}

uint64_t wait(trace_sink* sink, const std::string& actor, const std::string& dependency,
              const std::string& condition, wait_event::outcome_kind outcome, uint64_t cause) {
  if (!sink)
    return 0;
  return put(sink, actor, cause, wait_event{dependency, condition, outcome});
}

uint64_t route(trace_sink* sink, const std::string& actor, const std::string& service,
               const std::string& required_os, const std::string& peer, uint64_t cause) {
  if (!sink)
    return 0;
  route_event ev{service, required_os, std::nullopt};
  if (!peer.empty())
    ev.peer = peer;
  return put(sink, actor, cause, std::move(ev));
}

uint64_t probe(trace_sink* sink, const std::string& actor, bool ok, uint64_t latency_us,
               const std::string& reason, uint64_t cause) {
  if (!sink)
    return 0;
  return put(sink, actor, cause, probe_event{ok, latency_us, reason});
}

uint64_t send(trace_sink* sink, const std::string& actor, const std::string& to, const char* msg,
              const std::string& summary, uint64_t cause) {
  if (!sink || !sink->messages())
    return 0;
  return put(sink, actor, cause, send_event{to, msg, summary});
}

uint64_t recv(trace_sink* sink, const std::string& actor, const std::string& from, const char* msg,
              const std::string& summary, uint64_t cause) {
  if (!sink || !sink->messages())
    return 0;
  return put(sink, actor, cause, recv_event{from, msg, summary});
}

} // namespace nv::trace
