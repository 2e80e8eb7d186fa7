#include "app/plan_from_spec.hpp"

#include "posix/child_env.hpp"
#include "spec/dependency_graph.hpp"
#include "spec/env.hpp"
#include "spec/runnable.hpp"

extern char** environ;

namespace nv {

namespace {

// An init.run command sees what the service's first replica would see.
init_step_config init_step_of(const init_step& step, const container_spec& first_replica) {
  return init_step_config{step, child_environment(first_replica, environ), first_replica.workdir};
}

std::optional<probe_config> probe_of(const spec::service_spec& s, const std::string& replica) {
  if (!s.health)
    return std::nullopt;
  return probe_config{*s.health, replica};
}

} // namespace

plan_result plan_from_spec(const spec::deployment_spec& spec, const std::string& runtime_name) {
  plan_result out;
  for (auto& p : spec::unset_env_references(spec, "", spec::severity::error))
    out.errors.push_back(p.path + ": " + p.message);
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
                           ".command: the process runtime pulls no image and runs only "
                           "a command, so image '" +
                           s.image.name +
                           "' needs command.entrypoint (and args), e.g. entrypoint: "
                           "[\"/usr/bin/env\"]");
    auto env = spec::resolve_env(s.env);
    // Neither process nor sim can limit a replica; saying so beats a limit that silently is not.
    if (s.resources.cpu)
      out.warnings.push_back({"", where + ".resources.cpu",
                              "the " + runtime_name +
                                  " runtime does not enforce it; the replicas run without a CPU "
                                  "limit",
                              spec::severity::warning});
    if (s.resources.memory)
      out.warnings.push_back({"", where + ".resources.memory",
                              "the " + runtime_name +
                                  " runtime does not enforce it; the replicas run without a "
                                  "memory limit",
                              spec::severity::warning});
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
