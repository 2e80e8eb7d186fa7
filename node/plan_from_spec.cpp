#include "node/plan_from_spec.hpp"

#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "messages/digest.hpp"
#include "posix/child_env.hpp"
#include "posix/user.hpp"
#include "spec/dependency_graph.hpp"
#include "spec/effective_spec.hpp"
#include "spec/env.hpp"
#include "spec/replica_vars.hpp"
#include "spec/runnable.hpp"

extern char** environ;

namespace nv {

namespace {

// A check with one replica's variables in place: ${NODEVISOR_PORT} and ${NODEVISOR_REPLICA} in
// its text, and a tcp port 0 that means the replica's own.
check check_for(check c, const spec::replica_values& v) {
  std::visit(
      [&](auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, tcp_check>) {
          x.host = spec::expand_replica_variables(x.host, v);
          if (x.port == 0 && v.port)
            x.port = *v.port;
        } else if constexpr (std::is_same_v<T, http_check>) {
          x.url = spec::expand_replica_variables(x.url, v);
        } else {
          x.command = spec::expand_replica_variables(x.command, v);
        }
      },
      c);
  return c;
}

// The init steps run once per service, before any replica: they see what its first replica
// would see, its variables and its environment. On an image runtime, an init.run runs in a
// container of the first replica's image, spec and limits, with the step's id and command.
init_step_config init_step_of(init_step step, const container_spec& first_replica,
                              const spec::replica_values& first, bool in_container) {
  step.action = check_for(std::move(step.action), first);
  auto home = resolve_user(first_replica.user).home;
  std::optional<container_spec> box;
  if (const auto* run = std::get_if<command_check>(&step.action); run && in_container) {
    box = first_replica;
    box->id = first_replica.service + "-init-" + step.id;
    box->command = {"sh", "-c", run->command};
    box->ports.clear(); // the replicas' to serve
  }
  return init_step_config{std::move(step), child_environment(first_replica, environ, home),
                          first_replica.workdir, std::move(box)};
}

std::optional<probe_config> probe_of(const spec::service_spec& s, const std::string& replica,
                                     const spec::replica_values& v) {
  if (!s.health)
    return std::nullopt;
  auto health = *s.health;
  health.check = check_for(std::move(health.check), v);
  return probe_config{std::move(health), replica, {}};
}

struct fingerprints {
  std::string shape;   // what the service is beyond its replicas
  std::string replica; // what each of its replicas runs
};

// The canonical JSON of each service (the effective spec, every default filled in), split: the
// fields that make the service what it is (an apply replaces the service when they change), and
// the rest, which each replica runs (an apply rolls its replicas). `scale` is in neither: a
// changed count adds or removes replicas.
std::map<std::string, fingerprints> fingerprints_of(const spec::deployment_spec& spec) {
  static const std::set<std::string> shape_fields{"depends", "init", "errors", "supervision"};
  std::map<std::string, fingerprints> out;
  auto doc = nlohmann::json::parse(spec::effective_spec_json(spec));
  for (auto& s : spec.services) {
    auto shape = nlohmann::json::object();
    auto replica = nlohmann::json::object();
    for (auto& [field, value] : doc["services"][s.name].items()) {
      if (field == "scale")
        continue;
      (shape_fields.count(field) ? shape : replica)[field] = value;
    }
    // Not in the effective spec's JSON, but what a replica runs as all the same.
    replica["user"] = s.user;
    auto text = [](const nlohmann::json& j) {
      return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    };
    out[s.name] = {text(shape), text(replica)};
  }
  return out;
}

} // namespace

plan_result plan_from_spec(const spec::deployment_spec& spec, const std::string& runtime_name) {
  return plan_from_spec(spec, std::map<std::string, std::string>{{"linux", runtime_name}});
}

plan_result plan_from_spec(const spec::deployment_spec& spec,
                           const std::map<std::string, std::string>& runtimes) {
  plan_result out;
  for (auto& p : spec::unset_env_references(spec, "", spec::severity::error))
    out.errors.push_back(p.path + ": " + p.message);
  out.plan.name = spec.name;
  out.plan.flags = spec.supervision;
  auto prints = fingerprints_of(spec);
  for (auto index : spec::start_order(spec)) {
    auto& s = spec.services[index];
    auto where = "services." + s.name;
    service_plan sp;
    sp.name = s.name;
    sp.flags = s.supervision;
    sp.on_panic = s.errors.on_panic;
    sp.depends = s.depends;
    sp.shape = prints[s.name].shape;
    auto command = s.command.entrypoint;
    command.insert(command.end(), s.command.args.begin(), s.command.args.end());
    const std::string os = s.platform && !s.platform->os.empty() ? s.platform->os : "linux";
    const auto serving = runtimes.find(os);
    const std::string runtime_name = serving == runtimes.end() ? "" : serving->second;
    // `image: {name: process}` runs as a process whatever serves linux (design §4).
    const bool as_process =
        runtime_name == "process" || (runtime_name == "oci" && s.image.name == "process");
    const std::string served_by = as_process ? "process" : runtime_name;
    if (as_process && command.empty())
      out.errors.push_back(where +
                           ".command: the process runtime pulls no image and runs only "
                           "a command, so image '" +
                           s.image.name +
                           "' needs command.entrypoint (and args), e.g. entrypoint: "
                           "[\"/usr/bin/env\"]");
    auto env = spec::resolve_env(s.env);
    // `$E:` values as resolved now: the daemon's environment is part of what a replica runs.
    auto replica_print = prints[s.name].replica;
    for (auto& [k, v] : env.vars)
      replica_print += "\n" + k + "=" + v;
    // Kept per replica, and by the keeper: the digest, not the text.
    const auto replica_digest = text_digest(replica_print);
    // Neither process nor sim can limit a replica; saying so beats a limit that silently is not.
    auto unenforced = [&](const char* field, const char* limit) {
      out.warnings.push_back({"", where + ".resources." + field,
                              "the " + served_by +
                                  " runtime does not enforce it; the replicas run without a " +
                                  limit + " limit",
                              spec::severity::warning});
    };
    if (!s.endpoints.empty() && served_by == "sim")
      out.warnings.push_back({"", where + ".endpoints",
                              "the " + served_by +
                                  " runtime does not check that their ports are free before a "
                                  "start",
                              spec::severity::warning});
    // A service that no local runtime serves is routed to a peer, whose runtime decides.
    const bool here = !served_by.empty();
    if (s.resources.cpu && here && served_by != "oci")
      unenforced("cpu", "CPU");
    if (s.resources.memory && here && served_by != "oci")
      unenforced("memory", "memory");
    if (s.init_process && here && served_by != "oci")
      out.warnings.push_back({"", where + ".init",
                              "init: true is for containers; the " + served_by +
                                  " runtime signals a replica's process group and reaps its "
                                  "orphans without one",
                              spec::severity::warning});
    if (s.resources.gpu && served_by == "sim")
      out.warnings.push_back({"", where + ".resources.gpu",
                              "the sim runtime simulates its replicas without GPUs",
                              spec::severity::warning});
    if (s.resources.gpu && as_process)
      out.warnings.push_back({"", where + ".resources.gpu",
                              "the process runtime gives a process no devices of its own; its "
                              "replicas will fail with Unsupported (run it with the oci runtime)",
                              spec::severity::warning});
    if (!s.user.empty() && as_process) {
      // Checked again at each start, where it fails the start: users come and go.
      if (auto who = resolve_user(s.user); !who.error.empty())
        out.warnings.push_back({"", where + ".user", who.error + "; its replicas will not start",
                                spec::severity::warning});
    }
    for (uint32_t r = 1; r <= s.replicas; ++r) {
      spec::replica_values values{r, std::nullopt};
      if (s.replica_port)
        values.port = spec::replica_port(*s.replica_port, r);
      auto made = std::make_shared<container_config>();
      auto& c = *made;
      c.spec.deployment = spec.name;
      c.spec.service = s.name;
      c.spec.replica = r;
      c.spec.id = replica_id(s.name, r);
      c.spec.image = s.image.name;
      c.spec.pull = s.image.pull;
      c.spec.cpu = s.resources.cpu;
      c.spec.memory = s.resources.memory;
      c.spec.gpu = s.resources.gpu;
      c.spec.init_process = s.init_process;
      c.spec.ports = s.endpoints;
      for (auto& word : command)
        c.spec.command.push_back(spec::expand_replica_variables(word, values));
      c.spec.env = env.vars;
      if (values.port)
        c.spec.env.emplace_back("NODEVISOR_PORT", std::to_string(*values.port));
      c.spec.workdir = s.command.workdir;
      c.spec.user = s.user;
      c.spec.os = s.platform && !s.platform->os.empty() ? s.platform->os : "linux";
      c.spec.stop_signal = s.stop_signal;
      if (runtime_name == "sim")
        c.spec.options = s.sim;
      c.job = s.rtype == spec::service_kind::job;
      c.restart = spec::restart_type_of(s);
      c.stop_grace = s.stop_grace_period;
      c.health = probe_of(s, c.spec.id, values);
      c.fingerprint = replica_digest;
      c.history = std::make_shared<restart_history>();
      sp.replicas.push_back(std::move(made));
    }
    sp.on_init_failure = s.errors.on_init_failure;
    if (!sp.replicas.empty())
      for (auto& step : s.init)
        sp.init.push_back(
            init_step_of(step, sp.replicas.front()->spec,
                         {1, s.replica_port ? std::optional{*s.replica_port} : std::nullopt},
                         served_by == "oci"));
    out.plan.services.push_back(std::move(sp));
  }
  return out;
}

} // namespace nv
