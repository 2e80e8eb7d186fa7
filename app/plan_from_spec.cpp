#include "app/plan_from_spec.hpp"

#include "runtimes/process/child_env.hpp"
#include "spec/dependency_graph.hpp"
#include "spec/env.hpp"

extern char** environ;

namespace nv {

namespace {

supervisor_flags flags_of(const spec::supervision_spec& s) {
  supervisor_flags f;
  f.strategy = s.strategy;
  f.max_restarts = s.max_restarts;
  f.window = s.window;
  f.backoff.initial = s.backoff_initial;
  f.backoff.max = s.backoff_max;
  return f;
}

wait_condition condition_of(spec::dependency_condition c) {
  switch (c) {
  case spec::dependency_condition::started:
    return wait_condition::started;
  case spec::dependency_condition::healthy:
    return wait_condition::healthy;
  case spec::dependency_condition::ready:
    return wait_condition::ready;
  }
  return wait_condition::healthy;
}

timeout_action action_of(spec::failure_action a) {
  switch (a) {
  case spec::failure_action::fail:
    return timeout_action::fail;
  case spec::failure_action::warn:
    return timeout_action::warn;
  case spec::failure_action::continue_:
    return timeout_action::proceed;
  }
  return timeout_action::fail;
}

panic_action panic_of(spec::panic_action a) {
  switch (a) {
  case spec::panic_action::restart:
    return panic_action::restart;
  case spec::panic_action::shutdown:
    return panic_action::shutdown;
  case spec::panic_action::isolate:
    return panic_action::isolate;
  }
  return panic_action::restart;
}

step_failure_action step_action_of(spec::failure_action a) {
  switch (a) {
  case spec::failure_action::fail:
    return step_failure_action::fail;
  case spec::failure_action::warn:
    return step_failure_action::warn;
  case spec::failure_action::continue_:
    return step_failure_action::proceed;
  }
  return step_failure_action::fail;
}

init_failure_policy init_policy_of(spec::init_failure_action a) {
  switch (a) {
  case spec::init_failure_action::fail:
    return init_failure_policy::fail;
  case spec::init_failure_action::restart:
    return init_failure_policy::restart;
  case spec::init_failure_action::backoff:
    return init_failure_policy::backoff;
  }
  return init_failure_policy::fail;
}

init_step_config init_step_of(const spec::init_step& step, const container_spec& first_replica,
                              check_runner* runner) {
  init_step_config c;
  c.id = step.id;
  c.timeout = step.timeout;
  c.on_failure = step_action_of(step.on_failure);
  c.retry = step.retry;
  c.runner = runner;
  if (auto* tcp = std::get_if<spec::init_wait_tcp>(&step.action))
    c.action = wait_tcp_action{tcp->host, tcp->port, tcp->timeout};
  else if (auto* http = std::get_if<spec::init_wait_http>(&step.action))
    c.action = wait_http_action{http->url, http->expect_status, http->timeout};
  else {
    auto& run = std::get<spec::init_run>(step.action);
    c.action = run_action{run.command, run.timeout};
  }
  // An init.run command sees what the service's first replica would see.
  c.env = child_environment(first_replica, environ);
  c.workdir = first_replica.workdir;
  return c;
}

std::optional<probe_config> probe_of(const spec::service_spec& s, const std::string& replica,
                                     runtime* rt, check_runner* runner) {
  if (!s.health)
    return std::nullopt;
  auto& h = *s.health;
  probe_config p;
  p.replica_id = replica;
  p.start_grace = h.start_grace;
  p.interval = h.interval;
  p.timeout = h.timeout;
  p.retries = h.retries;
  p.runner = runner;
  p.rt = rt;
  if (auto* tcp = std::get_if<spec::tcp_check>(&h.check))
    p.check = tcp_probe{"127.0.0.1", tcp->port};
  else if (auto* http = std::get_if<spec::http_check>(&h.check))
    p.check = http_probe{http->url, http->expect_status};
  else
    p.check = command_probe{std::get<spec::command_check>(h.check).command};
  return p;
}

} // namespace

plan_result plan_from_spec(const spec::deployment_spec& spec, const std::string& runtime_name,
                           runtime* rt, check_runner* runner) {
  plan_result out;
  out.plan.name = spec.name;
  out.plan.flags = flags_of(spec.supervision);
  for (auto index : spec::start_order(spec)) {
    auto& s = spec.services[index];
    auto where = "services." + s.name;
    service_plan sp;
    sp.name = s.name;
    sp.flags = flags_of(s.supervision);
    sp.on_panic = panic_of(s.errors.on_panic);
    for (auto& d : s.depends)
      sp.depends.push_back(dependency_plan{d.service, condition_of(d.condition), d.timeout,
                                           action_of(d.on_timeout)});
    auto command = s.command.entrypoint;
    command.insert(command.end(), s.command.args.begin(), s.command.args.end());
    if (runtime_name == "process" && command.empty())
      out.errors.push_back(where +
                           ".command.entrypoint: the process runtime runs a command; give "
                           "command.entrypoint (and args), e.g. entrypoint: [\"/usr/bin/env\"]");
    auto env = spec::resolve_env(s.env);
    for (auto& var : env.missing)
      out.errors.push_back(where + ".env: $E:" + var +
                           " names a variable that is not set in nodevisor's environment");
    for (uint32_t r = 1; r <= s.replicas; ++r) {
      container_config c;
      c.spec.deployment = spec.name;
      c.spec.service = s.name;
      c.spec.replica = r;
      c.spec.id = replica_id(s.name, r);
      c.spec.image = s.image.name;
      c.spec.command = command;
      c.spec.env = env.vars;
      c.spec.workdir = s.command.workdir;
      c.spec.os = s.platform && !s.platform->os.empty() ? s.platform->os : "linux";
      c.spec.stop_signal = s.stop_signal;
      c.spec.sim = s.sim;
      c.rt = rt;
      c.job = s.rtype == spec::service_kind::job;
      c.restart = spec::restart_type_of(s);
      c.stop_grace = s.stop_grace_period;
      c.health = probe_of(s, c.spec.id, rt, runner);
      sp.replicas.push_back(std::move(c));
    }
    sp.on_init_failure = init_policy_of(s.errors.on_init_failure);
    if (!sp.replicas.empty())
      for (auto& step : s.init)
        sp.init.push_back(init_step_of(step, sp.replicas.front().spec, runner));
    out.plan.services.push_back(std::move(sp));
  }
  return out;
}

} // namespace nv
