#include "actors/container_actor.hpp"

#include <csignal>
#include <iterator>
#include <optional>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/node_services.hpp"
#include "messages/caf/atoms.hpp"
#include "supervisor/supervisor.hpp"
#include "trace/emit.hpp"

namespace nv {

namespace {

// Time the container actor needs on top of the container's grace to kill and reap it.
constexpr auto stop_margin = std::chrono::seconds{5};

runtime& rt(const container_actor_state& st) {
  return *st.ctx.services->rt;
}

void set_state(container_actor_t* self, lifecycle to) {
  auto& st = self->state;
  if (st.state == to)
    return;
  auto from = st.state;
  st.state = to;
  trace::state(st.ctx.path, from, to, st.pid);
  if (auto parent = caf::actor_cast<caf::actor>(st.ctx.parent))
    self->send(parent, state_change{st.ctx.path, from, to, st.pid});
}

// Worked out only where a trace event needs it: tracing off builds no string.
std::string probe_path(const container_actor_state& st) {
  return child_path(st.ctx.path, "probe");
}

// The call whose answer a phase waits for. An answer to any other is stale (a start that a stop
// request overtook) and is dropped.
std::optional<runtime_op> awaited(container_phase phase) {
  switch (phase) {
  case container_phase::pulling:
  case container_phase::abandoning_pull:
    return runtime_op::pull;
  case container_phase::creating:
  case container_phase::abandoning_create:
    return runtime_op::create;
  case container_phase::starting:
    return runtime_op::start;
  case container_phase::stopping:
  case container_phase::failing:
    return runtime_op::stop;
  case container_phase::running:
  case container_phase::done:
    break;
  }
  return std::nullopt;
}

// The runtime holds a container for us, which we must remove when done.
bool holds_container(container_phase phase) {
  return phase == container_phase::starting || phase == container_phase::running ||
         phase == container_phase::stopping || phase == container_phase::failing;
}

// Fire and forget: nobody waits for the answer. Once only: the id may be reused by the
// replacement replica right after.
void release(container_actor_state& st) {
  if (holds_container(st.phase))
    rt(st).remove(runtime_key(st.cfg->spec), caf::actor{});
  st.phase = container_phase::done;
}

caf::actor me(container_actor_t* self) {
  return caf::actor_cast<caf::actor>(self);
}

void call_stop(container_actor_t* self) {
  auto& st = self->state;
  trace::because(st.stopped_by);
  set_state(self, lifecycle::stopping);
  st.stopped_by = trace::current_cause();
  if (st.hurried)
    rt(st).stop(runtime_key(st.cfg->spec), duration::zero(), SIGKILL, me(self));
  else
    rt(st).stop(runtime_key(st.cfg->spec), st.cfg->stop_grace, st.cfg->spec.stop_signal, me(self));
}

// Skip the rest of the grace. A stop in flight gets a second one that kills at once (the
// runtime answers both once the container is gone); a stop still to come will kill.
void hurry(container_actor_t* self) {
  auto& st = self->state;
  if (st.hurried)
    return;
  st.hurried = true;
  if (st.phase == container_phase::stopping || st.phase == container_phase::failing) {
    spdlog::info("[{}] killing it now rather than waiting out its grace", st.ctx.path);
    rt(st).stop(runtime_key(st.cfg->spec), duration::zero(), SIGKILL, me(self));
  }
}

// Leaves the runtime clean, then exits.
void finish(container_actor_t* self, caf::error reason) {
  auto& st = self->state;
  release(st);
  trace::because(st.stopped_by);
  set_state(self, reason ? lifecycle::stopped : lifecycle::completed);
  self->quit(std::move(reason));
}

// The probe is not a supervised child (it lives and dies with the container's run), so its
// spawn and exit are traced here.
void stop_probe(container_actor_t* self) {
  auto& st = self->state;
  if (st.probe) {
    // A record on the side: what the handler does next follows from its own cause, not from this.
    trace::cause_scope side;
    trace::because(st.stopped_by);
    self->send_exit(st.probe, caf::exit_reason::user_shutdown);
    trace::exit(probe_path(st), exit_event::reason_kind::shutdown, nullptr);
  }
  st.probe = nullptr;
}

// The failure event comes first, so that a reader walking causes back from the replica's exit
// reaches the error itself (or what led to it), not the bookkeeping after it.
void fail(container_actor_t* self, AgentError error) {
  auto& st = self->state;
  stop_probe(self);
  spdlog::warn("[{}] {}", st.ctx.path, to_string(error));
  release(st);
  if (trace::current_cause() == 0)
    trace::because(st.ctx.restarted_by);
  auto seq = trace::failure(st.ctx.path, error, st.ctx.attempt);
  set_state(self, lifecycle::failed);
  send_failure(self, st.ctx,
               failure{st.ctx.path, std::move(error), st.ctx.attempt, now_us(), seq, {}, {}});
}

// A start that failed says why in the container's own words: its last 40 log lines.
void with_log_tail(const container_actor_state& st, StartFailed& err) {
  auto lines = rt(st).logs(runtime_key(st.cfg->spec), 40);
  if (lines.empty())
    return;
  err.reason += "\n";
  for (auto& line : lines)
    err.reason += line + "\n";
}

// The actions, one per cell of the table below.

template <class Event>
void ignore(container_actor_t*, Event&) {}

void create(container_actor_t* self, runtime_reply&) {
  auto& st = self->state;
  st.phase = container_phase::creating;
  set_state(self, lifecycle::creating);
  rt(st).create(st.cfg->spec, me(self));
}

void start(container_actor_t* self, runtime_reply&) {
  auto& st = self->state;
  st.phase = container_phase::starting;
  set_state(self, lifecycle::starting);
  rt(st).start(runtime_key(st.cfg->spec), me(self));
}

void run(container_actor_t* self, runtime_reply& reply) {
  auto& st = self->state;
  st.phase = container_phase::running;
  st.pid = reply.pid;
  spdlog::info("[{}] running, pid {}", st.ctx.path, st.pid);
  set_state(self, lifecycle::running);
  if (st.cfg->health) {
    auto ctx = probe_context(st.ctx, self->address());
    trace::spawn_name name{ctx.path};
    auto probe = *st.cfg->health;
    probe.container = runtime_key(st.cfg->spec);
    st.probe = self->spawn(probe_actor, ctx, std::move(probe));
    trace::spawn(ctx.path, st.ctx.path);
    return;
  }
  if (!st.cfg->job)
    set_state(self, lifecycle::healthy); // a job counts only once it has completed
}

void fail_answer(container_actor_t* self, runtime_reply& reply) {
  fail(self, std::move(reply.error));
}

void fail_start(container_actor_t* self, runtime_reply& reply) {
  if (auto* start = std::get_if<StartFailed>(&reply.error))
    with_log_tail(self->state, *start);
  fail(self, std::move(reply.error));
}

// Whatever the runtime answered, there is nothing left to do but what the parent asked for.
void exit_as_asked(container_actor_t* self, runtime_reply&) {
  finish(self, self->state.quit_reason);
}

// The create went through after all: what it made goes too.
void remove_then_exit(container_actor_t* self, runtime_reply&) {
  auto& st = self->state;
  rt(st).remove(runtime_key(st.cfg->spec), caf::actor{});
  finish(self, st.quit_reason);
}

// Stopped because its probe gave up: now fail with the probe's error. A stop that failed changes
// nothing: remove kills what is left, and the replica failed its health check all the same.
void fail_unhealthy(container_actor_t* self, runtime_reply&) {
  auto& st = self->state;
  trace::because(st.stopped_by);
  fail(self, std::move(*st.probe_error));
}

void end_run(container_actor_t* self, container_exited& ev) {
  auto& st = self->state;
  if (st.cfg->job && ev.code == 0) {
    finish(self, caf::error{});
    return;
  }
  fail(self, UnexpectedExit{st.cfg->spec.id, ev.code, ev.signal, ev.oom_killed});
}

// From the probe: healthy after a pass, unhealthy after a failing check.
void follow_health(container_actor_t* self, state_change& health) {
  if (health.to == lifecycle::healthy || health.to == lifecycle::unhealthy)
    set_state(self, health.to);
}

// The probe gave up (HealthCheckFailed): stop the container (grace, then kill), then fail.
void stop_unhealthy(container_actor_t* self, failure& report) {
  auto& st = self->state;
  st.probe = nullptr; // it exits after reporting
  trace::because(report.cause);
  trace::exit(probe_path(st), exit_event::reason_kind::failure, &report.error);
  spdlog::warn("[{}] {}; stopping the container", st.ctx.path, to_string(report.error));
  st.stopped_by = report.cause;
  st.probe_error = std::make_unique<AgentError>(std::move(report.error));
  st.phase = container_phase::failing;
  call_stop(self);
}

// A start in flight is not waited out either: a slow start-up can take long.
void stop_now(container_actor_t* self, caf::exit_msg& msg) {
  auto& st = self->state;
  st.stopped_by = trace::current_cause();
  stop_probe(self);
  st.quit_reason = std::move(msg.reason);
  st.phase = container_phase::stopping;
  call_stop(self);
}

// A pull or create answers soon, and that answer decides what is left to undo.
void abandon_pull(container_actor_t* self, caf::exit_msg& msg) {
  auto& st = self->state;
  st.stopped_by = trace::current_cause();
  st.quit_reason = std::move(msg.reason);
  st.phase = container_phase::abandoning_pull;
}

void abandon_create(container_actor_t* self, caf::exit_msg& msg) {
  auto& st = self->state;
  st.stopped_by = trace::current_cause();
  st.quit_reason = std::move(msg.reason);
  st.phase = container_phase::abandoning_create;
}

// The stop under way goes on, but ends as the parent asked: stopped, not failed.
void take_over(container_actor_t* self, caf::exit_msg& msg) {
  auto& st = self->state;
  st.stopped_by = trace::current_cause();
  st.quit_reason = std::move(msg.reason);
  st.phase = container_phase::stopping;
}

template <class Event>
using action = void (*)(container_actor_t*, Event&);

// What each event does in one phase.
struct row {
  action<runtime_reply> ok;      // the call the phase waits for answered ok
  action<runtime_reply> error;   // ... answered with an error
  action<container_exited> exit; // the container exited
  action<state_change> health;   // the probe's verdict changed
  action<failure> gave_up;       // the probe gave up
  action<caf::exit_msg> stop;    // the parent asks us to stop
};

// One row per container_phase, in its order. No phase but running has a probe (health and
// gave_up are stale anywhere else), and once a stop is under way an exit is the stop's own: its
// answer follows.
// clang-format off
constexpr row table[] = {
  //                       ok                error           exit     health         gave_up         stop
  /* pulling */           {create,           fail_answer,    ignore,  ignore,        ignore,         abandon_pull},
  /* creating */          {start,            fail_answer,    ignore,  ignore,        ignore,         abandon_create},
  /* starting */          {run,              fail_start,     end_run, ignore,        ignore,         stop_now},
  /* running */           {ignore,           ignore,         end_run, follow_health, stop_unhealthy, stop_now},
  /* stopping */          {exit_as_asked,    exit_as_asked,  ignore,  ignore,        ignore,         ignore},
  /* failing */           {fail_unhealthy,   fail_unhealthy, ignore,  ignore,        ignore,         take_over},
  /* abandoning_pull */   {exit_as_asked,    exit_as_asked,  ignore,  ignore,        ignore,         ignore},
  /* abandoning_create */ {remove_then_exit, exit_as_asked,  ignore,  ignore,        ignore,         ignore},
  // The actor exits at the end of the handler that gets here; the row keeps the table total.
  /* done */              {ignore,           ignore,         ignore,  ignore,        ignore,         ignore},
};
// clang-format on
static_assert(std::size(table) == static_cast<std::size_t>(container_phase::done) + 1);

const row& in_phase(const container_actor_state& st) {
  return table[static_cast<std::size_t>(st.phase)];
}

} // namespace

caf::behavior container_actor(container_actor_t* self, child_context ctx,
                              std::shared_ptr<const container_config> cfg) {
  self->trace_as(ctx.path, ctx.services->trace);
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.cfg = std::move(cfg);
  self->set_exit_handler([self](caf::exit_msg& msg) { in_phase(self->state).stop(self, msg); });
  rt(st).pull(st.cfg->spec, me(self));
  return {
      [self](runtime_reply& reply) {
        auto& st = self->state;
        if (reply.id != runtime_key(st.cfg->spec) || reply.op != awaited(st.phase))
          return;
        auto& actions = in_phase(st);
        (reply.ok ? actions.ok : actions.error)(self, reply);
      },
      [self](container_exited& ev) {
        if (ev.id == runtime_key(self->state.cfg->spec))
          in_phase(self->state).exit(self, ev);
      },
      [self](state_change& health) { in_phase(self->state).health(self, health); },
      [self](failure& report) { in_phase(self->state).gave_up(self, report); },
      [self](hurry_atom) { hurry(self); },
  };
}

container_actor_state::~container_actor_state() {
  if (probe)
    caf::anon_send_exit(probe, caf::exit_reason::kill);
  // Killed (its supervisor's deadline passed, or its supervisor died) before it could stop its
  // container: remove kills it, so no process outlives the actor that owns it.
  if (cfg && holds_container(phase))
    ctx.services->rt->remove(runtime_key(cfg->spec), caf::actor{});
}

child_spec container_child(std::shared_ptr<const container_config> cfg) {
  child_spec spec;
  spec.id = cfg->spec.id;
  spec.restart = cfg->restart;
  spec.shutdown.grace = cfg->stop_grace + stop_margin;
  spec.kind = child_kind::worker;
  spec.reports_state = true;
  spec.takes_hurry = true;
  spec.history = cfg->history;
  spec.start = [cfg = std::move(cfg)](caf::local_actor* self, const child_context& ctx) {
    return self->spawn(container_actor, ctx, cfg);
  };
  return spec;
}

} // namespace nv
