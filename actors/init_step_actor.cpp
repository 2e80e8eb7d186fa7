#include "actors/init_step_actor.hpp"

#include <algorithm>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/checks/run_shell.hpp"
#include "actors/node_services.hpp"
#include "runtimes/runtime.hpp"
#include "messages/caf/atoms.hpp"
#include "supervisor/supervisor.hpp"

namespace nv {

namespace {

using try_atom = caf::atom_constant<caf::atom("try")>;
using attempt_atom = caf::atom_constant<caf::atom("attempt")>;
using box_timeout_atom = caf::atom_constant<caf::atom("boxtimeout")>;

// Waits try again at least this often (design §5), and failed attempts are this far apart.
constexpr duration retry_every = std::chrono::milliseconds{500};
// The longest single try of a wait, as ZLayer's per-request client timeout: a server that
// accepts but hangs is asked again rather than waited for until the action's timeout.
constexpr duration max_try = std::chrono::seconds{5};

bool is_wait(const init_step_state& st) {
  return !std::holds_alternative<command_check>(st.cfg.action);
}

check_runner& checks(const init_step_state& st) {
  return *st.ctx.services->checks;
}

runtime& rt(const init_step_state& st) {
  return *st.ctx.services->rt;
}

void attempt_failed(init_step_actor_t* self, std::string reason);

// init.run in a container: pull, create, start, its exit, then remove; the attempt ends once the
// runtime has removed it, so that the next attempt's create finds the key free.
void box_begin(init_step_actor_t* self) {
  auto& st = self->state;
  auto& spec = *st.cfg.container;
  st.box = runtime_key(spec);
  st.box_failed.reset();
  st.box_done = false;
  rt(st).pull(spec, caf::actor_cast<caf::actor>(self));
  self->delayed_send(self, st.cfg.action_timeout, box_timeout_atom::value, st.attempt);
}

// How the attempt ended; the container goes first.
void box_end(init_step_actor_t* self, std::optional<std::string> failed) {
  auto& st = self->state;
  if (st.box_done)
    return;
  st.box_done = true;
  st.box_failed = std::move(failed);
  rt(st).remove(st.box, caf::actor_cast<caf::actor>(self));
}

void box_reply(init_step_actor_t* self, const runtime_reply& r) {
  auto& st = self->state;
  if (r.id != st.box)
    return;
  auto me = caf::actor_cast<caf::actor>(self);
  if (r.op == runtime_op::remove) {
    st.box.clear();
    if (st.box_failed)
      attempt_failed(self, std::move(*st.box_failed));
    else {
      spdlog::info("[{}] done", st.ctx.path);
      self->quit();
    }
    return;
  }
  if (!r.ok) {
    box_end(self, to_string(r.error));
    return;
  }
  if (r.op == runtime_op::pull)
    rt(st).create(*st.cfg.container, me);
  else if (r.op == runtime_op::create)
    rt(st).start(st.box, me);
}

void box_exited(init_step_actor_t* self, const container_exited& e) {
  auto& st = self->state;
  if (e.id != st.box || st.box_done)
    return;
  if (e.code == 0) {
    box_end(self, std::nullopt);
    return;
  }
  std::string output;
  for (const auto& line : rt(st).logs(st.box, 5))
    output.append(line).append("\n");
  auto reason = exit_code_reason(std::get<command_check>(st.cfg.action).command, e.code, output);
  box_end(self, reason + " (in its container)");
}

void box_timeout(init_step_actor_t* self, uint32_t attempt) {
  auto& st = self->state;
  if (attempt != st.attempt || st.box.empty() || st.box_done)
    return;
  // The remove kills it; its exit, if it comes first, no longer counts.
  box_end(self, probed(st.cfg.action) + ": " + timeout_reason(st.cfg.action_timeout));
}

void try_once(init_step_actor_t* self) {
  auto& st = self->state;
  auto me = caf::actor_cast<caf::actor>(self);
  st.try_started = check_clock::now();
  auto limit = std::min(max_try, duration{st.action_deadline - st.try_started});
  if (auto* tcp = std::get_if<tcp_check>(&st.cfg.action))
    st.ticket = checks(st).submit(*tcp, limit, me);
  else
    st.ticket = checks(st).submit(std::get<http_check>(st.cfg.action), limit, me);
}

void begin_attempt(init_step_actor_t* self) {
  auto& st = self->state;
  ++st.attempt;
  if (auto* run = std::get_if<command_check>(&st.cfg.action)) {
    if (st.cfg.container) {
      box_begin(self);
      return;
    }
    st.ticket = checks(st).submit(shell_request{run->command, st.cfg.env, st.cfg.workdir},
                                  st.cfg.action_timeout, caf::actor_cast<caf::actor>(self));
    return;
  }
  st.action_deadline = check_clock::now() + st.cfg.action_timeout;
  st.last_reason.clear();
  try_once(self);
}

void give_up(init_step_actor_t* self, AgentError error) {
  auto& st = self->state;
  switch (st.cfg.on_failure) {
  case failure_action::fail:
    fail_child(self, st.ctx, std::move(error));
    return;
  case failure_action::warn:
    spdlog::warn("[{}] {}; going on (on_failure: warn)", st.ctx.path, to_string(error));
    self->quit();
    return;
  case failure_action::proceed:
    self->quit();
    return;
  }
}

void attempt_failed(init_step_actor_t* self, std::string reason) {
  auto& st = self->state;
  if (st.attempt <= st.cfg.retry.value_or(0)) {
    spdlog::info("[{}] attempt {} failed: {}", st.ctx.path, st.attempt, reason);
    self->delayed_send(self, retry_every, attempt_atom::value);
    return;
  }
  give_up(self, InitActionFailed{st.cfg.id, std::move(reason)});
}

// A wait whose action timeout expired: the timeout, and why the last try that ran failed.
void wait_expired(init_step_actor_t* self) {
  auto& st = self->state;
  // "Timeout after 30s: tcp 127.0.0.1:5432: connection refused", or with what was waited for
  // when no try got as far as a reason of its own.
  auto reason = timeout_reason(st.cfg.action_timeout);
  reason.append(": ").append(st.last_reason.empty() ? probed(st.cfg.action) : st.last_reason);
  attempt_failed(self, std::move(reason));
}

void on_done(init_step_actor_t* self, check_done& done) {
  auto& st = self->state;
  if (done.ticket != st.ticket)
    return;
  st.ticket = 0;
  auto& result = done.result;
  if (result.ok) {
    spdlog::info("[{}] done", st.ctx.path);
    self->quit();
    return;
  }
  if (!is_wait(st)) {
    attempt_failed(self, std::move(result.reason));
    return;
  }
  if (!result.timed_out) // a try cut short by the action's deadline says nothing new
    st.last_reason = std::move(result.reason);
  auto now = check_clock::now();
  if (now >= st.action_deadline) {
    wait_expired(self);
    return;
  }
  auto next = std::max(duration::zero(), duration{st.try_started + retry_every - now});
  self->delayed_send(self, std::min(next, duration{st.action_deadline - now}), try_atom::value);
}

} // namespace

init_step_state::~init_step_state() {
  if (ticket != 0)
    ctx.services->checks->cancel(ticket);
  if (!box.empty())
    ctx.services->rt->remove(box, caf::actor{}); // kills it; nobody waits for the answer
}

caf::behavior init_step_actor(init_step_actor_t* self, child_context ctx, init_step_config cfg) {
  self->trace_as(ctx.path, ctx.services->trace);
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.cfg = std::move(cfg);
  // Without its parent nobody would hear from it, and its command would run on unwatched.
  if (!exit_with_parent(self, st.ctx))
    return {};
  self->delayed_send(self, st.cfg.timeout, deadline_atom::value);
  begin_attempt(self);
  return {
      [self](check_done& done) { on_done(self, done); },
      [self](try_atom) {
        if (check_clock::now() >= self->state.action_deadline)
          wait_expired(self);
        else
          try_once(self);
      },
      [self](attempt_atom) { begin_attempt(self); },
      [self](const runtime_reply& r) { box_reply(self, r); },
      [self](const container_exited& e) { box_exited(self, e); },
      [self](box_timeout_atom, uint32_t attempt) { box_timeout(self, attempt); },
      [self](deadline_atom) {
        auto& st = self->state;
        if (st.ticket != 0) {
          checks(st).cancel(st.ticket);
          st.ticket = 0;
        }
        give_up(self, Timeout{st.cfg.timeout});
      },
  };
}

child_spec init_step_child(init_step_config cfg) {
  child_spec spec;
  spec.id = "init:" + cfg.id;
  spec.restart = restart_type::temporary;
  spec.shutdown.grace = std::chrono::seconds{1};
  spec.start = [cfg = std::move(cfg)](caf::local_actor* self, const child_context& ctx) {
    return self->spawn(init_step_actor, ctx, cfg);
  };
  return spec;
}

} // namespace nv
