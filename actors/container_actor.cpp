#include "actors/container_actor.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/node_services.hpp"
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
    self->send(parent, state_change{st.ctx.path, from, to});
}

// Worked out only where a trace event needs it: tracing off builds no string.
std::string probe_path(const container_actor_state& st) {
  return child_path(st.ctx.path, "probe");
}

void call(container_actor_t* self, runtime_op op) {
  auto& st = self->state;
  st.busy = true;
  st.in_flight = op;
  auto me = caf::actor_cast<caf::actor>(self);
  auto& spec = st.cfg->spec;
  switch (op) {
  case runtime_op::pull:
    rt(st).pull(spec, me);
    break;
  case runtime_op::create:
    set_state(self, lifecycle::creating);
    rt(st).create(spec, me);
    break;
  case runtime_op::start:
    set_state(self, lifecycle::starting);
    rt(st).start(spec.id, me);
    break;
  case runtime_op::stop:
    trace::because(st.stopped_by);
    set_state(self, lifecycle::stopping);
    st.stopped_by = trace::current_cause();
    rt(st).stop(spec.id, st.cfg->stop_grace, spec.stop_signal, me);
    break;
  case runtime_op::remove:
    rt(st).remove(spec.id, me);
    break;
  }
}

// Fire and forget: nobody waits for the answer. Once only: the id may be reused by the
// replacement replica right after.
void remove_container(container_actor_state& st) {
  if (!st.created)
    return;
  st.created = false;
  rt(st).remove(st.cfg->spec.id, caf::actor{});
}

// Leaves the runtime clean, then exits.
void finish(container_actor_t* self, caf::error reason) {
  auto& st = self->state;
  remove_container(st);
  trace::because(st.stopped_by);
  set_state(self, reason ? lifecycle::stopped : lifecycle::completed);
  self->quit(std::move(reason));
}

// The probe is not a supervised child (it lives and dies with the container's run), so its
// spawn and exit are traced here.
void stop_probe(container_actor_t* self) {
  auto& st = self->state;
  if (st.probe) {
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
  remove_container(st);
  if (trace::current_cause() == 0)
    trace::because(st.ctx.restarted_by);
  auto seq = trace::failure(st.ctx.path, error, st.ctx.attempt);
  set_state(self, lifecycle::failed);
  send_failure(self, st.ctx, failure{st.ctx.path, std::move(error), st.ctx.attempt, now_us(), seq});
}

// A start that failed says why in the container's own words: its last 40 log lines.
void with_log_tail(const container_actor_state& st, StartFailed& err) {
  auto lines = rt(st).logs(st.cfg->spec.id, 40);
  if (lines.empty())
    return;
  err.reason += "\n";
  for (auto& line : lines)
    err.reason += line + "\n";
}

void on_reply(container_actor_t* self, runtime_reply& reply) {
  auto& st = self->state;
  if (reply.id != st.cfg->spec.id || reply.op != st.in_flight)
    return;
  st.busy = false;
  if (!reply.ok) {
    if (st.stop_requested) {
      finish(self, st.quit_reason);
      return;
    }
    if (auto* start = std::get_if<StartFailed>(&reply.error))
      with_log_tail(st, *start);
    fail(self, std::move(reply.error));
    return;
  }
  switch (reply.op) {
  case runtime_op::pull:
    if (st.stop_requested)
      return finish(self, st.quit_reason);
    call(self, runtime_op::create);
    return;
  case runtime_op::create:
    st.created = true;
    if (st.stop_requested)
      return finish(self, st.quit_reason);
    call(self, runtime_op::start);
    return;
  case runtime_op::start:
    st.started = true;
    st.pid = reply.pid;
    spdlog::info("[{}] running, pid {}", st.ctx.path, st.pid);
    if (st.stop_requested)
      return call(self, runtime_op::stop);
    set_state(self, lifecycle::running);
    if (st.cfg->health) {
      auto ctx = probe_context(st.ctx, self->address());
      trace::spawn_name name{ctx.path};
      st.probe = self->spawn(probe_actor, ctx, *st.cfg->health);
      trace::spawn(ctx.path, st.ctx.path);
      return;
    }
    if (!st.cfg->job)
      set_state(self, lifecycle::healthy); // a job counts only once it has completed
    return;
  case runtime_op::stop:
  case runtime_op::remove:
    if (st.stopping_for && !st.stop_requested) {
      // Stopped because its probe gave up: now fail with the probe's error.
      trace::because(st.stopped_by);
      fail(self, std::move(*st.stopping_for));
      return;
    }
    finish(self, st.stop_requested ? st.quit_reason : caf::error{});
    return;
  }
}

void on_exited(container_actor_t* self, container_exited& ev) {
  auto& st = self->state;
  if (ev.id != st.cfg->spec.id)
    return;
  if (st.stop_requested || st.stopping_for)
    return; // a stop we asked for: its reply follows
  st.started = false;
  if (st.cfg->job && ev.code == 0) {
    finish(self, caf::error{});
    return;
  }
  fail(self, UnexpectedExit{st.cfg->spec.id, ev.code});
}

// The probe gave up (HealthCheckFailed): stop the container (grace, then kill), then fail.
void on_probe_failure(container_actor_t* self, failure& report) {
  auto& st = self->state;
  if (st.stop_requested || st.stopping_for || !st.started)
    return;
  st.probe = nullptr; // it exits after reporting
  trace::because(report.cause);
  trace::exit(probe_path(st), exit_event::reason_kind::failure, &report.error);
  spdlog::warn("[{}] {}; stopping the container", st.ctx.path, to_string(report.error));
  st.stopped_by = report.cause;
  st.stopping_for = std::move(report.error);
  if (!st.busy)
    call(self, runtime_op::stop);
}

void on_stop_request(container_actor_t* self, caf::exit_msg& msg) {
  auto& st = self->state;
  if (st.stop_requested)
    return;
  st.stopped_by = trace::current_cause();
  stop_probe(self);
  st.stop_requested = true;
  st.quit_reason = std::move(msg.reason);
  if (st.busy && st.in_flight == runtime_op::start) {
    // A start can take long (a slow start-up); stop it now instead of waiting it out.
    st.started = true;
    call(self, runtime_op::stop);
    return;
  }
  if (st.busy)
    return; // a pull or create answers soon; that answer decides what is left to undo
  if (st.started)
    call(self, runtime_op::stop);
  else
    finish(self, st.quit_reason);
}

} // namespace

caf::behavior container_actor(container_actor_t* self, child_context ctx,
                              std::shared_ptr<const container_config> cfg) {
  self->trace_as(ctx.path, ctx.services->trace);
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.cfg = std::move(cfg);
  self->set_exit_handler([self](caf::exit_msg& msg) { on_stop_request(self, msg); });
  call(self, runtime_op::pull);
  return {
      [self](runtime_reply& reply) { on_reply(self, reply); },
      [self](container_exited& ev) { on_exited(self, ev); },
      [self](state_change& health) {
        // From the probe: healthy after a pass, unhealthy after a failing check.
        auto& st = self->state;
        if (!st.stop_requested && !st.stopping_for && st.probe &&
            (health.to == lifecycle::healthy || health.to == lifecycle::unhealthy))
          set_state(self, health.to);
      },
      [self](failure& report) { on_probe_failure(self, report); },
  };
}

container_actor_state::~container_actor_state() {
  if (probe)
    caf::anon_send_exit(probe, caf::exit_reason::kill);
  // Killed (its supervisor's deadline passed, or its supervisor died) before it could stop its
  // container: remove kills it, so no process outlives the actor that owns it.
  if (created && cfg)
    ctx.services->rt->remove(cfg->spec.id, caf::actor{});
}

child_spec container_child(container_config cfg) {
  child_spec spec;
  spec.id = cfg.spec.id;
  spec.restart = cfg.restart;
  spec.shutdown.grace = cfg.stop_grace + stop_margin;
  spec.kind = child_kind::worker;
  spec.reports_state = true;
  spec.history = cfg.history;
  spec.start = [shared = std::make_shared<const container_config>(std::move(cfg))](
                   caf::local_actor* self, const child_context& ctx) {
    return self->spawn(container_actor, ctx, shared);
  };
  return spec;
}

} // namespace nv
