#include "app/plan_from_spec.hpp"

#include "posix/child_env.hpp"
#include "posix/user.hpp"
#include "spec/dependency_graph.hpp"
#include "spec/env.hpp"

extern char** environ;

namespace nv {

namespace {

// An init.run command sees what the service's first replica would see.
init_step_config init_step_of(const init_step& step, const container_spec& first_replica) {
  auto home = resolve_user(first_replica.user).home;
  return init_step_config{step, child_environment(first_replica, environ, home),
                          first_replica.workdir};
}

std::optional<probe_config> probe_of(const spec::service_spec& s, const std::string& replica) {
  if (!s.health)
    return std::nullopt;
  return probe_config{*s.health, replica};
}

} // namespace

plan_result plan_from_spec(const spec::deployment_spec& spec, const std::string& runtime_name) {
  plan_result out;
  out.plan.name = spec.name;
  out.plan.flags = spec.supervision;
  for (auto index : spec::start_order(spec)) {
    auto& s = spec.services[index];
    auto where = "services." + s.name;
    service_plan sp;
    sp.name = s.name;
    sp.flags = s.supervision;
    sp.on_panic = s.errors.on_panic;
    sp.depends = s.depends;
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
    if (!s.user.empty() && runtime_name == "process") {
      // Checked again at each start, where it fails the start: users come and go.
      if (auto who = resolve_user(s.user); !who.error.empty())
        out.warnings.push_back(where + ".user: " + who.error + "; its replicas will not start");
    }
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
      c.spec.user = s.user;
      c.spec.os = s.platform && !s.platform->os.empty() ? s.platform->os : "linux";
      c.spec.stop_signal = s.stop_signal;
      if (runtime_name == "sim")
        c.spec.options = s.sim;
      c.job = s.rtype == spec::service_kind::job;
      c.restart = spec::restart_type_of(s);
      c.stop_grace = s.stop_grace_period;
      c.health = probe_of(s, c.spec.id);
      sp.replicas.push_back(std::move(c));
    }
    sp.on_init_failure = s.errors.on_init_failure;
    if (!sp.replicas.empty())
      for (auto& step : s.init)
        sp.init.push_back(init_step_of(step, sp.replicas.front().spec));
    out.plan.services.push_back(std::move(sp));
  }
  return out;
}

} // namespace nv
