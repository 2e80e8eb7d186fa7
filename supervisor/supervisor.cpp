#include "supervisor/supervisor.hpp"

#include <algorithm>

#include <caf/actor_system_config.hpp>
#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "messages/caf/atoms.hpp"
#include "trace/emit.hpp"

namespace nv {

namespace {

using time_point = caf::actor_clock::time_point;

// How a child ended, as OTP classifies it: transient children restart only on abnormal.
enum class exit_kind { normal, shutdown, abnormal };

struct exit_outcome {
  exit_kind kind = exit_kind::normal;
  failure report; // abnormal: the child's own failure, or one made from its exit reason
};

exit_event::reason_kind reason_of(exit_kind k) {
  switch (k) {
  case exit_kind::normal:
    return exit_event::reason_kind::normal;
  case exit_kind::shutdown:
    return exit_event::reason_kind::shutdown;
  case exit_kind::abnormal:
    return exit_event::reason_kind::failure;
  }
  return exit_event::reason_kind::failure;
}

template <class Stamps>
void prune(Stamps& stamps, time_point now, duration window) {
  auto first_kept =
      std::find_if(stamps.begin(), stamps.end(), [&](time_point t) { return now - t < window; });
  stamps.erase(stamps.begin(), first_kept);
}

std::optional<std::size_t> find_child(const supervisor_state& st, const caf::actor_addr& addr) {
  auto it = st.index.find(addr);
  if (it == st.index.end())
    return std::nullopt;
  return it->second;
}

caf::actor parent_of(const supervisor_state& st) {
  return caf::actor_cast<caf::actor>(st.parent);
}

// Stopping for good (shut down, or given up): no child is started or restarted any more.
bool ending(const supervisor_state& st) {
  return st.job.purpose == stop_purpose::give_up || st.job.purpose == stop_purpose::shutdown;
}

// Its process (or its children's) runs: what a status counts as up and times the uptime from.
bool is_up(lifecycle s) {
  return s == lifecycle::running || s == lifecycle::healthy || s == lifecycle::unhealthy ||
         s == lifecycle::degraded;
}

// `traced`: the supervisor speaks for a child that cannot (it never reports its state, or it is
// gone); a child that reports its own state traces it itself.
void set_child_state(supervisor_state& st, std::size_t i, lifecycle to, bool traced = true) {
  auto& rec = st.children[i];
  if (rec.state == to)
    return;
  auto from = rec.state;
  rec.state = to;
  if (!is_up(to)) {
    rec.up_since_us = 0;
    rec.pid = 0;
  } else if (!is_up(from)) {
    rec.up_since_us = now_us();
  }
  if (traced)
    trace::state(rec.path, from, to);
  if (st.hooks.on_child_state)
    st.hooks.on_child_state(i, from, to);
}

void set_own_state(caf::event_based_actor* self, supervisor_state& st, lifecycle to) {
  if (st.state == to)
    return;
  auto from = st.state;
  st.state = to;
  trace::state(st.path, from, to);
  if (auto parent = parent_of(st))
    self->send(parent, state_change{st.path, from, to});
}

void send_up(caf::event_based_actor* self, supervisor_state& st, failure report) {
  auto parent = parent_of(st);
  if (!parent) {
    spdlog::error("[{}] {} (from {}) reached a supervisor with no parent", st.path,
                  to_string(report.error), report.path);
    return;
  }
  self->send(parent, std::move(report));
}

void advance_stop(caf::event_based_actor* self, supervisor_state& st);

child_record make_record(const supervisor_state& st, child_spec spec) {
  child_record rec;
  rec.path = child_path(st.path, spec.id);
  rec.history = spec.history ? spec.history : std::make_shared<restart_history>();
  rec.restarts = std::exchange(rec.history->restarts_before, 0);
  rec.spec = std::move(spec);
  return rec;
}

void handle_exit(caf::event_based_actor* self, supervisor_state& st, std::size_t i,
                 exit_outcome outcome);

void start_child(caf::event_based_actor* self, supervisor_state& st, std::size_t i);

// A child's first start: at once, or, when the daemon before this one was waiting out its
// backoff, once that falls due, in crash_loop_backoff meanwhile.
void first_start(caf::event_based_actor* self, supervisor_state& st, std::size_t i) {
  auto& rec = st.children[i];
  if (std::exchange(rec.history->completed_before, false)) {
    spdlog::info("[{}] {} had completed under the daemon before this one: not run again", st.path,
                 rec.spec.id);
    set_child_state(st, i, lifecycle::completed);
    return;
  }
  auto due = std::exchange(rec.history->due, std::nullopt);
  auto now = self->clock().now();
  if (!due || *due <= now) {
    start_child(self, st, i);
    return;
  }
  spdlog::info("[{}] {} was waiting out its backoff under the daemon before this one: it starts "
               "in {}",
               st.path, rec.spec.id,
               format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(*due - now)));
  set_child_state(st, i, lifecycle::crash_loop_backoff);
  rec.restart_gen = ++st.last_gen;
  self->delayed_send(self, *due - now, restart_atom::value, static_cast<uint64_t>(i),
                     rec.restart_gen);
}

void start_child(caf::event_based_actor* self, supervisor_state& st, std::size_t i) {
  auto& rec = st.children[i];
  child_context ctx{rec.path,    rec.spec.id,  self->address(),
                    st.services, rec.restarts, rec.restarted_by};
  caf::actor child;
  try {
    trace::spawn_name name{rec.path};
    child = rec.spec.start(self, ctx);
  } catch (const std::exception& e) {
    spdlog::error("[{}] start of child {} threw: {}", st.path, rec.spec.id, e.what());
  }
  if (!child) {
    exit_outcome out{exit_kind::abnormal,
                     failure{rec.path,
                             Internal{"start function of '" + rec.spec.id + "' returned no actor"},
                             rec.restarts,
                             now_us(),
                             trace::current_cause(),
                             {},
                             {}}};
    handle_exit(self, st, i, std::move(out));
    return;
  }
  self->monitor(child);
  st.index.emplace(child.address(), i);
  rec.handle = std::move(child);
  rec.pending.reset();
  rec.routed = false;
  rec.stopping = false;
  rec.held = false;
  rec.history->last_start = self->clock().now();
  trace::spawn(rec.path, st.path);
  set_child_state(st, i, rec.spec.reports_state ? lifecycle::starting : lifecycle::running,
                  !rec.spec.reports_state);
}

// Starts `indices` (in start order) now, or after `delay` with the child visibly in
// crash_loop_backoff meanwhile. Temporary children are never restarted.
void schedule_restart(caf::event_based_actor* self, supervisor_state& st,
                      const std::vector<std::size_t>& indices, duration delay) {
  for (auto i : indices) {
    trace::cause_scope each;
    auto& rec = st.children[i];
    if (rec.handle || rec.held)
      continue;
    if (rec.spec.restart == restart_type::temporary) {
      set_child_state(st, i, lifecycle::stopped);
      continue;
    }
    rec.restarted_by = trace::current_cause();
    if (delay <= duration::zero()) {
      start_child(self, st, i);
      continue;
    }
    set_child_state(st, i, lifecycle::crash_loop_backoff);
    rec.restart_gen = ++st.last_gen;
    self->delayed_send(self, delay, restart_atom::value, static_cast<uint64_t>(i), rec.restart_gen);
  }
}

// Begins (or widens) a stop job. give_up and shutdown supersede a pending restart; a restart
// during a restart merges into it.
void begin_stop(caf::event_based_actor* self, supervisor_state& st, stop_job job) {
  auto& cur = st.job;
  if (cur.purpose == stop_purpose::none || job.purpose > cur.purpose ||
      (job.purpose == stop_purpose::restart && cur.purpose == stop_purpose::restart)) {
    if (job.purpose == stop_purpose::restart && cur.purpose == stop_purpose::restart) {
      for (auto i : cur.restart)
        if (std::find(job.restart.begin(), job.restart.end(), i) == job.restart.end())
          job.restart.push_back(i);
      std::sort(job.restart.begin(), job.restart.end());
      job.delay = std::max(job.delay, cur.delay);
    }
    if (cur.purpose == stop_purpose::give_up && job.purpose == stop_purpose::shutdown) {
      // Already giving up: the escalation still goes out, then we exit.
      return;
    }
    st.job = std::move(job);
  }
  advance_stop(self, st);
}

// `cause`: the trace seq of what asks it to stop.
void ask_to_stop(caf::event_based_actor* self, supervisor_state& st, std::size_t i,
                 uint64_t cause) {
  auto& rec = st.children[i];
  rec.stopping = true;
  rec.stopped_by = cause;
  trace::cause_scope each;
  trace::because(cause);
  set_child_state(st, i, lifecycle::stopping, !rec.spec.reports_state);
  if (rec.spec.shutdown.brutal_kill) {
    self->send_exit(rec.handle, caf::exit_reason::kill);
    return;
  }
  self->send_exit(rec.handle, caf::exit_reason::user_shutdown);
  if (st.hurried && rec.spec.takes_hurry)
    self->send(rec.handle, hurry_atom::value);
  rec.stop_gen = ++st.last_gen;
  self->delayed_send(self, rec.spec.shutdown.grace, deadline_atom::value, static_cast<uint64_t>(i),
                     rec.stop_gen);
}

// Skips the rest of every stop grace below: children stopping now are hurried at once, the
// ones asked to stop later (a deployment's services stop one at a time) as they are asked.
void on_hurry(caf::event_based_actor* self, supervisor_state& st) {
  if (st.hurried)
    return;
  st.hurried = true;
  for (auto& rec : st.children)
    if (rec.handle && rec.stopping && rec.spec.takes_hurry)
      self->send(rec.handle, hurry_atom::value);
}

void finish_stop(caf::event_based_actor* self, supervisor_state& st) {
  auto job = std::move(st.job);
  st.job = stop_job{};
  switch (job.purpose) {
  case stop_purpose::none:
    return;
  case stop_purpose::restart:
    trace::because(job.escalation.cause);
    schedule_restart(self, st, job.restart, job.delay);
    return;
  case stop_purpose::give_up:
    send_up(self, st, std::move(job.escalation));
    self->quit(escalated_exit_reason());
    return;
  case stop_purpose::shutdown:
    trace::because(job.began_by);
    set_own_state(self, st, lifecycle::stopped);
    self->quit(job.quit_reason);
    return;
  }
}

void advance_stop(caf::event_based_actor* self, supervisor_state& st) {
  auto& job = st.job;
  if (job.purpose == stop_purpose::none)
    return;
  bool waiting = false;
  for (auto i : job.order) {
    auto& rec = st.children[i];
    if (!rec.handle)
      continue;
    waiting = true;
    if (!rec.stopping)
      ask_to_stop(self, st, i, job.began_by);
    if (!st.parallel_stop)
      break; // one at a time, in reverse start order
  }
  if (!waiting)
    finish_stop(self, st);
}

std::vector<std::size_t> reverse_order(const supervisor_state& st, std::size_t from = 0) {
  std::vector<std::size_t> order;
  for (std::size_t i = st.children.size(); i-- > from;)
    order.push_back(i);
  return order;
}

// `why` completes "service /d/s is giving up …", e.g. "after 5 restarts in 300s".
void give_up(caf::event_based_actor* self, supervisor_state& st, failure report,
             const std::string& why) {
  auto to = st.parent_path.empty() ? std::string{"(none)"} : st.parent_path;
  trace::because(report.cause);
  report.cause = trace::escalate(st.path, to, report.path, report.error);
  spdlog::error("[{}] {} {} is giving up {}: {} (from {}); its parent {} decides next", st.path,
                st.noun, st.path, why, to_string(report.error), report.path, to);
  set_own_state(self, st, lifecycle::failed);
  stop_job job;
  job.purpose = stop_purpose::give_up;
  job.order = reverse_order(st);
  job.began_by = report.cause;
  job.escalation = std::move(report);
  begin_stop(self, st, std::move(job));
}

// The restart clauses: which children a failure of child `i` takes down with it.
std::vector<std::size_t> restart_group(const supervisor_state& st, std::size_t i) {
  std::vector<std::size_t> group;
  switch (st.flags.strategy) {
  case restart_strategy::one_for_one:
    group.push_back(i);
    break;
  case restart_strategy::one_for_all:
    for (std::size_t k = 0; k < st.children.size(); ++k)
      group.push_back(k);
    break;
  case restart_strategy::rest_for_one:
    for (std::size_t k = i; k < st.children.size(); ++k)
      group.push_back(k);
    break;
  }
  return group;
}

// The backoff of child `rec`'s next restart: its restarts inside the window, counted afresh
// once it has stayed up `reset_after`.
duration next_backoff(const supervisor_state& st, child_record& rec, time_point now) {
  auto& h = *rec.history;
  if (now - h.last_start >= backoff_reset_after(st.flags))
    h.recent.clear();
  prune(h.recent, now, st.flags.window);
  h.recent.push_back(now);
  return backoff_delay(st.flags.backoff, h.recent.size());
}

void restart(caf::event_based_actor* self, supervisor_state& st, std::size_t i, failure report) {
  auto now = self->clock().now();
  prune(st.recent_restarts, now, st.flags.window);
  if (st.recent_restarts.size() + 1 > st.flags.max_restarts) {
    give_up(self, st, std::move(report),
            "after " + std::to_string(st.flags.max_restarts) + " restarts in " +
                format_duration(st.flags.window));
    return;
  }
  st.recent_restarts.push_back(now);
  auto& rec = st.children[i];
  ++rec.restarts;
  auto delay = next_backoff(st, rec, now);
  auto delay_ms = std::chrono::duration_cast<std::chrono::milliseconds>(delay).count();
  trace::because(report.cause);
  auto seq = trace::restart(st.path, rec.path, to_string(st.flags.strategy).data(), delay_ms);
  spdlog::warn("[{}] restarting {} ({}, restart {} in window, delay {}): {}", st.path, rec.spec.id,
               to_string(st.flags.strategy), rec.history->recent.size(), format_duration(delay),
               to_string(report.error));
  auto group = restart_group(st, i);
  stop_job job;
  job.purpose = stop_purpose::restart;
  for (auto it = group.rbegin(); it != group.rend(); ++it)
    if (*it != i)
      job.order.push_back(*it);
  job.restart = group;
  job.delay = delay;
  job.escalation = std::move(report);
  job.escalation.cause = seq;
  job.began_by = seq;
  if (st.hooks.on_restart)
    st.hooks.on_restart(i, delay);
  begin_stop(self, st, std::move(job));
}

void handle_exit(caf::event_based_actor* self, supervisor_state& st, std::size_t i,
                 exit_outcome outcome) {
  auto& rec = st.children[i];
  const lifecycle ended =
      outcome.kind == exit_kind::abnormal ? lifecycle::failed : lifecycle::stopped;
  // The embedder's own rules first (a service's waits, init steps, on_panic).
  if (outcome.kind == exit_kind::abnormal && st.hooks.on_child_failure && !ending(st)) {
    set_child_state(st, i, lifecycle::failed);
    if (st.hooks.on_child_failure(i, outcome.report))
      return;
  }
  // Stopping for good: an exit is one fewer child to wait for.
  if (ending(st)) {
    set_child_state(st, i, ended);
    advance_stop(self, st);
    return;
  }
  // OTP's restart types decide whether an exit is restarted at all.
  switch (rec.spec.restart) {
  case restart_type::temporary:
    set_child_state(st, i, ended);
    return;
  case restart_type::transient:
    if (outcome.kind != exit_kind::abnormal) {
      set_child_state(st, i, lifecycle::completed);
      return;
    }
    break;
  case restart_type::permanent:
    if (outcome.kind != exit_kind::abnormal) {
      // A permanent child has no business exiting: that is an unexpected exit.
      outcome.report = failure{rec.path, UnexpectedExit{rec.spec.id, 0}, rec.restarts,
                               now_us(), trace::current_cause(),         {},
                               {}};
    }
    break;
  }
  set_child_state(st, i, lifecycle::failed);
  // Restarting cannot help a permanent error: fail at once.
  if (is_permanent(outcome.report.error)) {
    give_up(self, st, std::move(outcome.report), "at once (restarting cannot help)");
    return;
  }
  restart(self, st, i, std::move(outcome.report));
}

exit_outcome classify(child_record& rec, const caf::error& reason) {
  if (rec.pending) {
    exit_outcome out{exit_kind::abnormal, std::move(*rec.pending)};
    rec.pending.reset();
    return out;
  }
  if (reason == caf::exit_reason::normal)
    return {exit_kind::normal, {}};
  if (reason == caf::exit_reason::user_shutdown)
    return {exit_kind::shutdown, {}};
  auto text = "actor '" + rec.spec.id + "' exited with " + caf::to_string(reason);
  return {exit_kind::abnormal,
          failure{rec.path, Internal{text}, rec.restarts, now_us(), 0, {}, {}}};
}

void on_down(caf::event_based_actor* self, supervisor_state& st, caf::down_msg& dm) {
  auto idx = find_child(st, dm.source);
  if (!idx)
    return; // a child we already replaced, or a monitor that is not ours
  auto i = *idx;
  auto& rec = st.children[i];
  st.index.erase(dm.source);
  rec.handle = nullptr;
  if (rec.stopping) {
    rec.stopping = false;
    if (rec.pending) {
      // It failed while we were stopping it: keep the record in the trace, do not act on it.
      trace::because(rec.pending->cause);
      trace::exit(rec.path, exit_event::reason_kind::failure, &rec.pending->error);
      rec.pending.reset();
    } else {
      trace::because(rec.stopped_by);
      trace::exit(rec.path, exit_event::reason_kind::shutdown, nullptr);
    }
    // Whoever terminated it goes on first (it may start or delete records); a stop job of the
    // supervisor's own then goes on with what is left.
    auto waiting = std::move(rec.when_down);
    rec.when_down.clear();
    set_child_state(st, i, lifecycle::stopped);
    if (!ending(st))
      for (auto& done : waiting)
        done();
    advance_stop(self, st);
    return;
  }
  auto outcome = classify(rec, dm.reason);
  trace::because(outcome.report.cause);
  if (outcome.kind == exit_kind::abnormal && outcome.report.cause == 0)
    trace::failure(outcome.report.path, outcome.report.error, outcome.report.attempt);
  outcome.report.cause =
      trace::exit(rec.path, reason_of(outcome.kind),
                  outcome.kind == exit_kind::abnormal ? &outcome.report.error : nullptr);
  if (rec.routed) {
    set_child_state(st, i, lifecycle::failed);
    advance_stop(self, st);
    return;
  }
  handle_exit(self, st, i, std::move(outcome));
}

void on_failure(caf::event_based_actor* self, supervisor_state& st, failure& report) {
  auto idx = find_child(st, caf::actor_cast<caf::actor_addr>(self->current_sender()));
  if (!idx) {
    spdlog::warn("[{}] failure from a non-child ignored: {} (from {})", st.path,
                 to_string(report.error), report.path);
    return;
  }
  auto& rec = st.children[*idx];
  rec.last_failure = std::make_unique<failure>(report);
  trace::because(report.cause);
  if (is_reschedule_signal(report.error)) {
    // Not a failure of ours: no restart, no count. Pass it up unchanged to the level that
    // re-places services (the node's hook).
    if (rec.spec.kind == child_kind::worker)
      rec.routed = true;
    if (st.hooks.on_reschedule) {
      st.hooks.on_reschedule(report);
      return;
    }
    auto to = st.parent_path.empty() ? std::string{"(none)"} : st.parent_path;
    report.cause = trace::escalate(st.path, to, report.path, report.error);
    send_up(self, st, std::move(report));
    return;
  }
  if (report.cause == 0)
    report.cause = trace::failure(report.path, report.error, report.attempt);
  rec.pending = std::make_unique<failure>(std::move(report));
}

void on_shutdown_request(caf::event_based_actor* self, supervisor_state& st, caf::exit_msg& msg) {
  if (ending(st))
    return;
  stop_job job;
  set_own_state(self, st, lifecycle::stopping);
  job.began_by = trace::current_cause();
  job.purpose = stop_purpose::shutdown;
  job.order = reverse_order(st);
  job.quit_reason = std::move(msg.reason);
  begin_stop(self, st, std::move(job));
}

// The record a delayed message was tagged for, where it is now; none when it is gone or the
// tag is stale.
std::optional<std::size_t> tagged(const supervisor_state& st, std::size_t i, uint64_t gen,
                                  uint64_t child_record::*tag) {
  if (i < st.children.size() && st.children[i].*tag == gen)
    return i;
  for (std::size_t k = 0; k < st.children.size(); ++k)
    if (st.children[k].*tag == gen)
      return k;
  return std::nullopt;
}

// A restart's backoff has passed.
void on_restart_due(caf::event_based_actor* self, supervisor_state& st, std::size_t at,
                    uint64_t gen) {
  auto found = tagged(st, at, gen, &child_record::restart_gen);
  if (!found)
    return;
  auto i = *found;
  if (st.children[i].handle || st.children[i].held || ending(st))
    return;
  trace::because(st.children[i].restarted_by);
  start_child(self, st, i);
}

// A child's grace has passed and it still runs.
void on_stop_deadline(caf::event_based_actor* self, supervisor_state& st, std::size_t at,
                      uint64_t gen) {
  auto found = tagged(st, at, gen, &child_record::stop_gen);
  if (!found)
    return;
  auto& rec = st.children[*found];
  if (!rec.handle || !rec.stopping)
    return;
  spdlog::warn("[{}] {} did not stop within {}; killing it", st.path, rec.spec.id,
               format_duration(rec.spec.shutdown.grace));
  trace::because(rec.stopped_by);
  self->send_exit(rec.handle, caf::exit_reason::kill);
}

std::vector<child_info> which_children(const supervisor_state& st) {
  std::vector<child_info> out;
  out.reserve(st.children.size());
  for (auto& rec : st.children)
    out.push_back(child_info{
        rec.spec.id, rec.path, rec.handle, rec.spec.kind, rec.spec.restart, rec.state, rec.restarts,
        rec.last_failure ? *rec.last_failure : failure{}, rec.up_since_us, rec.pid});
  return out;
}

child_counts count_children(const supervisor_state& st) {
  child_counts c;
  c.specs = static_cast<uint32_t>(st.children.size());
  for (auto& rec : st.children) {
    if (rec.handle)
      ++c.active;
    if (rec.spec.kind == child_kind::supervisor)
      ++c.supervisors;
    else
      ++c.workers;
  }
  return c;
}

} // namespace

supervisor_state::~supervisor_state() {
  for (auto& rec : children)
    if (rec.handle)
      caf::anon_send_exit(rec.handle, caf::exit_reason::kill);
}

caf::error escalated_exit_reason() {
  return caf::error{1, caf::atom("nodevisor")};
}

caf::behavior supervisor_init(caf::event_based_actor* self, supervisor_state& st,
                              supervisor_config cfg) {
  st.path = std::move(cfg.path);
  st.noun = std::move(cfg.noun);
  st.parent = std::move(cfg.parent);
  st.parent_path = std::move(cfg.parent_path);
  st.services = cfg.services;
  st.flags = cfg.flags;
  st.parallel_stop = cfg.parallel_stop;
  st.hooks = std::move(cfg.hooks);
  for (auto& spec : cfg.children)
    st.children.push_back(make_record(st, std::move(spec)));
  self->set_down_handler([self, &st](caf::down_msg& dm) { on_down(self, st, dm); });
  // We never link, so every exit message is a request to stop (caf-0.17.md gotcha 2).
  self->set_exit_handler([self, &st](caf::exit_msg& msg) { on_shutdown_request(self, st, msg); });
  st.recent_restarts.assign(cfg.recent_restarts.begin(), cfg.recent_restarts.end());
  for (std::size_t i = 0; i < st.children.size(); ++i) {
    trace::cause_scope each;
    first_start(self, st, i);
  }
  if (cfg.own_state_is_running && st.job.purpose == stop_purpose::none &&
      st.state == lifecycle::pending)
    set_own_state(self, st, lifecycle::running);
  return {
      [self, &st](failure& report) { on_failure(self, st, report); },
      [self, &st](state_change& change) {
        if (auto idx = find_child(st, caf::actor_cast<caf::actor_addr>(self->current_sender()))) {
          set_child_state(st, *idx, change.to, false);
          if (change.pid != 0 && is_up(change.to))
            st.children[*idx].pid = change.pid;
        }
      },
      [self, &st](restart_atom, uint64_t i, uint64_t gen) { on_restart_due(self, st, i, gen); },
      [self, &st](deadline_atom, uint64_t i, uint64_t gen) { on_stop_deadline(self, st, i, gen); },
      [self, &st](hurry_atom) { on_hurry(self, st); },
      [&st](which_children_atom) { return which_children(st); },
      [&st](count_children_atom) { return count_children(st); },
  };
}

std::size_t supervisor_add_child(caf::event_based_actor* self, supervisor_state& st,
                                 child_spec spec) {
  st.children.push_back(make_record(st, std::move(spec)));
  auto i = st.children.size() - 1;
  if (!ending(st)) {
    trace::cause_scope keep;
    first_start(self, st, i);
  }
  return i;
}

void supervisor_terminate_child(caf::event_based_actor* self, supervisor_state& st,
                                std::size_t index, std::function<void()> done) {
  auto& rec = st.children[index];
  rec.held = true;
  rec.restart_gen = ++st.last_gen; // a restart waiting out its backoff does not happen
  if (!rec.handle) {
    if (rec.state == lifecycle::crash_loop_backoff)
      set_child_state(st, index, lifecycle::stopped);
    if (done)
      done();
    return;
  }
  if (done)
    rec.when_down.push_back(std::move(done));
  if (!rec.stopping)
    ask_to_stop(self, st, index, trace::current_cause());
}

namespace {

// Records moved: `moved[old]` is the new index of each, or none for one that is gone.
void remap(supervisor_state& st, const std::vector<std::optional<std::size_t>>& moved) {
  for (auto& [addr, i] : st.index)
    i = *moved[i]; // only records that are down are deleted
  auto each = [&](std::vector<std::size_t>& list) {
    std::vector<std::size_t> out;
    for (auto i : list)
      if (moved[i])
        out.push_back(*moved[i]);
    list = std::move(out);
  };
  each(st.job.order);
  each(st.job.restart);
  std::sort(st.job.restart.begin(), st.job.restart.end());
}

} // namespace

bool supervisor_delete_child(supervisor_state& st, std::size_t index) {
  if (index >= st.children.size() || st.children[index].handle)
    return false;
  std::vector<std::optional<std::size_t>> moved(st.children.size());
  for (std::size_t k = 0; k < moved.size(); ++k)
    if (k != index)
      moved[k] = k < index ? k : k - 1;
  st.children.erase(st.children.begin() + static_cast<std::ptrdiff_t>(index));
  remap(st, moved);
  return true;
}

void supervisor_set_child_spec(supervisor_state& st, std::size_t index, child_spec spec) {
  auto& rec = st.children[index];
  if (!spec.history)
    spec.history = rec.history;
  rec.spec = std::move(spec);
}

void supervisor_reorder_children(supervisor_state& st, const std::vector<std::string>& ids) {
  std::vector<std::size_t> order; // old indices, in the new order
  std::vector<bool> placed(st.children.size(), false);
  for (auto& id : ids)
    if (auto i = supervisor_find_child(st, id); i && !placed[*i]) {
      order.push_back(*i);
      placed[*i] = true;
    }
  for (std::size_t k = 0; k < st.children.size(); ++k)
    if (!placed[k])
      order.push_back(k);
  std::vector<std::optional<std::size_t>> moved(st.children.size());
  std::deque<child_record> next;
  for (auto old : order) {
    moved[old] = next.size();
    next.push_back(std::move(st.children[old]));
  }
  st.children = std::move(next);
  remap(st, moved);
}

std::optional<std::size_t> supervisor_find_child(const supervisor_state& st,
                                                 const std::string& id) {
  for (std::size_t k = 0; k < st.children.size(); ++k)
    if (st.children[k].spec.id == id)
      return k;
  return std::nullopt;
}

bool supervisor_is_ending(const supervisor_state& st) {
  return ending(st) || st.state == lifecycle::stopped;
}

bool supervisor_restart_child(caf::event_based_actor* self, supervisor_state& st,
                              std::size_t index) {
  if (index >= st.children.size() || st.children[index].handle || ending(st))
    return false;
  auto& rec = st.children[index];
  rec.restarted_by = trace::current_cause();
  start_child(self, st, index);
  return true;
}

void supervisor_set_state(caf::event_based_actor* self, supervisor_state& st, lifecycle to) {
  set_own_state(self, st, to);
}

void supervisor_give_up(caf::event_based_actor* self, supervisor_state& st, failure report,
                        const std::string& why) {
  if (ending(st))
    return;
  give_up(self, st, std::move(report), why);
}

caf::behavior supervisor_actor(supervisor_actor_t* self, supervisor_config cfg) {
  return supervisor_init(self, self->state, std::move(cfg));
}

bool exit_with_parent(caf::event_based_actor* self, const child_context& ctx) {
  auto parent = caf::actor_cast<caf::actor>(ctx.parent);
  if (!parent) {
    self->quit();
    return false;
  }
  self->monitor(parent);
  self->set_down_handler([self](caf::down_msg&) { self->quit(); });
  return true;
}

void fail_child(caf::event_based_actor* self, const child_context& ctx, AgentError error) {
  if (trace::current_cause() == 0)
    trace::because(ctx.restarted_by);
  auto seq = trace::failure(ctx.path, error, ctx.attempt);
  send_failure(self, ctx, failure{ctx.path, std::move(error), ctx.attempt, now_us(), seq, {}, {}});
}

void send_failure(caf::event_based_actor* self, const child_context& ctx, failure report) {
  if (auto parent = caf::actor_cast<caf::actor>(ctx.parent)) {
    self->send(parent, std::move(report));
  } else {
    spdlog::error("[{}] failed with no parent to tell: {}", ctx.path, to_string(report.error));
  }
  self->quit(escalated_exit_reason());
}

void register_supervisor_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<child_info>("nv::child_info");
  cfg.add_message_type<std::vector<child_info>>("std::vector<nv::child_info>");
  cfg.add_message_type<child_counts>("nv::child_counts");
}

} // namespace nv
