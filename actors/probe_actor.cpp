#include "actors/probe_actor.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/checks/run_shell.hpp"
#include "actors/node_services.hpp"
#include "messages/caf/atoms.hpp"
#include "supervisor/supervisor.hpp"
#include "trace/emit.hpp"

namespace nv {

namespace {

using check_atom = caf::atom_constant<caf::atom("check")>;

// The runner and the runtime enforce a check's timeout themselves and answer right after it;
// the probe's own deadline comes this much later and only catches a runner or a runtime that
// never answers.
constexpr auto guard_slack = std::chrono::milliseconds{500};

check_runner& checks(const probe_state& st) {
  return *st.ctx.services->checks;
}

void set_health(probe_actor_t* self, lifecycle to) {
  auto& st = self->state;
  auto from = st.health;
  st.health = to;
  if (to == lifecycle::healthy)
    spdlog::info("[{}] healthy", st.ctx.path);
  else
    spdlog::warn("[{}] unhealthy", st.ctx.path);
  trace::state(st.ctx.path, from, to);
  if (auto parent = caf::actor_cast<caf::actor>(st.ctx.parent))
    self->send(parent, state_change{st.ctx.path, from, to});
}

void start_check(probe_actor_t* self) {
  auto& st = self->state;
  st.checking = true;
  ++st.seq;
  st.started = check_clock::now();
  auto me = caf::actor_cast<caf::actor>(self);
  if (auto* tcp = std::get_if<tcp_check>(&st.cfg.check)) {
    st.ticket = checks(st).submit(*tcp, st.cfg.timeout, me);
  } else if (auto* http = std::get_if<http_check>(&st.cfg.check)) {
    st.ticket = checks(st).submit(*http, st.cfg.timeout, me);
  } else {
    st.ctx.services->rt->exec(st.cfg.container.empty() ? st.cfg.replica_id : st.cfg.container,
                              st.seq, {"sh", "-c", std::get<command_check>(st.cfg.check).command},
                              st.cfg.timeout, me);
  }
  self->delayed_send(self, st.cfg.timeout + guard_slack, deadline_atom::value, st.seq);
}

void finish_check(probe_actor_t* self, check_result result) {
  auto& st = self->state;
  st.checking = false;
  st.ticket = 0;
  auto latency_us = std::chrono::duration_cast<std::chrono::microseconds>(result.latency);
  // A failing check of a restarted replica follows from that restart: a health crash loop
  // reads as one chain.
  if (!result.ok)
    trace::because(st.ctx.restarted_by);
  trace::probe(st.ctx.path, result.ok, static_cast<uint64_t>(latency_us.count()), result.reason);
  if (result.ok) {
    st.failures = 0;
    if (st.health != lifecycle::healthy)
      set_health(self, lifecycle::healthy);
  } else {
    ++st.failures;
    if (st.health == lifecycle::healthy)
      set_health(self, lifecycle::unhealthy);
    if (st.failures >= st.cfg.retries) {
      fail_child(self, st.ctx, HealthCheckFailed{st.cfg.replica_id, std::move(result.reason)});
      return;
    }
  }
  self->delayed_send(self, st.cfg.interval, check_atom::value);
}

check_result from_exec(const std::string& command, const exec_result& answer, duration timeout,
                       duration latency) {
  if (answer.timed_out)
    return check_result{false, true, probed_command(command) + ": " + timeout_reason(timeout),
                        latency};
  if (answer.code == 0)
    return check_result{true, false, {}, latency};
  // -1: the runtime could not exec at all; its output is the reason.
  auto reason = answer.code == -1 ? probed_command(command) + ": " + answer.output
                                  : exit_code_reason(command, answer.code, answer.output);
  return check_result{false, false, std::move(reason), latency};
}

} // namespace

probe_state::~probe_state() {
  if (ticket != 0)
    ctx.services->checks->cancel(ticket);
}

caf::behavior probe_actor(probe_actor_t* self, child_context ctx, probe_config cfg) {
  self->trace_as(ctx.path, ctx.services->trace);
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.cfg = std::move(cfg);
  // Without its parent nobody would hear from it, and its timers would keep it alive.
  if (!exit_with_parent(self, st.ctx))
    return {};
  self->delayed_send(self, st.cfg.start_grace, check_atom::value);
  return {
      [self](check_atom) { start_check(self); },
      [self](check_done& done) {
        if (self->state.checking && done.ticket == self->state.ticket)
          finish_check(self, std::move(done.result));
      },
      [self](exec_result& answer) {
        auto& st = self->state;
        // An abandoned check's exec still answers, late: only the current check's counts.
        if (st.checking && answer.exec_id == st.seq)
          finish_check(self, from_exec(std::get<command_check>(st.cfg.check).command, answer,
                                       st.cfg.timeout, check_clock::now() - st.started));
      },
      [self](deadline_atom, uint64_t seq) {
        auto& st = self->state;
        if (!st.checking || seq != st.seq)
          return; // that check has its outcome already
        if (st.ticket != 0)
          checks(st).cancel(st.ticket);
        auto late = timed_out(probed(st.cfg.check), st.cfg.timeout);
        late.latency = check_clock::now() - st.started;
        finish_check(self, std::move(late));
      },
  };
}

child_context probe_context(const child_context& replica, caf::actor_addr replica_addr) {
  return child_context{child_path(replica.path, "probe"),
                       "probe",
                       std::move(replica_addr),
                       replica.services,
                       replica.attempt,
                       replica.restarted_by};
}

} // namespace nv
