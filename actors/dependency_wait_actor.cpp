#include "actors/dependency_wait_actor.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/node_services.hpp"
#include "messages/caf/atoms.hpp"
#include "supervisor/supervisor.hpp"
#include "trace/emit.hpp"

namespace nv {

namespace {

void finish(dependency_wait_actor_t* self, wait_event::outcome_kind outcome) {
  auto& st = self->state;
  st.done = true;
  trace::wait(st.ctx.path, st.dep.service, std::string{to_string(st.dep.condition)}, outcome);
  self->quit();
}

// The timeout is a symptom when the dependency failed: its failure event is the trace cause,
// and the first cause (the dependency's own, or what that one named) goes with the report.
void fail_on_timeout(dependency_wait_actor_t* self, AgentError error) {
  auto& st = self->state;
  if (!st.dep_failure) {
    fail_child(self, st.ctx, std::move(error));
    return;
  }
  auto& dep = *st.dep_failure;
  trace::because(dep.cause);
  auto seq = trace::failure(st.ctx.path, error, st.ctx.attempt);
  failure report{st.ctx.path,
                 std::move(error),
                 st.ctx.attempt,
                 now_us(),
                 seq,
                 dep.because_path.empty() ? dep.path : dep.because_path,
                 dep.because_path.empty() ? dep.error : dep.because_error};
  send_failure(self, st.ctx, std::move(report));
}

void on_deadline(dependency_wait_actor_t* self) {
  auto& st = self->state;
  if (st.done)
    return;
  auto condition = std::string{to_string(st.dep.condition)};
  switch (st.dep.on_timeout) {
  case failure_action::fail:
    st.done = true;
    trace::wait(st.ctx.path, st.dep.service, condition, wait_event::outcome_kind::timeout_fail);
    fail_on_timeout(self, DependencyTimeout{st.service, st.dep.service, condition, st.dep.timeout});
    return;
  case failure_action::warn:
    spdlog::warn("[{}] '{}' is not {} after {}; starting '{}' anyway (on_timeout: warn)",
                 st.ctx.path, st.dep.service, condition, format_duration(st.dep.timeout),
                 st.service);
    finish(self, wait_event::outcome_kind::timeout_warn);
    return;
  case failure_action::proceed:
    finish(self, wait_event::outcome_kind::timeout_continue);
    return;
  }
}

} // namespace

caf::behavior dependency_wait_actor(dependency_wait_actor_t* self, child_context ctx,
                                    std::string service, dependency dep, caf::actor_addr broker) {
  self->trace_as(ctx.path, ctx.services->trace);
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.service = std::move(service);
  st.dep = std::move(dep);
  st.broker = std::move(broker);
  if (auto b = caf::actor_cast<caf::actor>(st.broker))
    self->send(b, subscribe_atom::value, st.dep.service);
  self->delayed_send(self, st.dep.timeout, deadline_atom::value);
  return {
      [self](state_change& change) {
        auto& st = self->state;
        if (!st.done && satisfies(change.to, st.dep.condition))
          finish(self, wait_event::outcome_kind::satisfied);
      },
      [self](last_failure_atom, failure& f) { self->state.dep_failure = std::move(f); },
      [self](deadline_atom) { on_deadline(self); },
  };
}

child_spec dependency_wait_child(std::string service, dependency dep, caf::actor_addr broker) {
  child_spec spec;
  spec.id = "wait:" + dep.service;
  spec.restart = restart_type::temporary;
  spec.shutdown.grace = std::chrono::seconds{1};
  spec.start = [service = std::move(service), dep = std::move(dep),
                broker = std::move(broker)](caf::local_actor* self, const child_context& ctx) {
    return self->spawn(dependency_wait_actor, ctx, service, dep, broker);
  };
  return spec;
}

} // namespace nv
