#include "spec/effective_spec.hpp"

#include <cstring>

#include <nlohmann/json.hpp>

namespace nv::spec {

namespace {

using json = nlohmann::ordered_json;

std::string text(duration d) {
  return format_duration(d);
}

std::string signal_text(int number) {
  if (const char* name = sigabbrev_np(number))
    return std::string{"SIG"} + name;
  return std::to_string(number);
}

std::string_view word(pull_policy p) {
  switch (p) {
  case pull_policy::always:
    return "always";
  case pull_policy::newer:
    return "newer";
  case pull_policy::if_not_present:
    return "if_not_present";
  case pull_policy::never:
    return "never";
  }
  return "";
}

std::string_view word(gpu_sharing g) {
  switch (g) {
  case gpu_sharing::exclusive:
    return "exclusive";
  case gpu_sharing::mps:
    return "mps";
  case gpu_sharing::time_slice:
    return "time-slice";
  }
  return "";
}

std::string_view word(restart_kind k) {
  switch (k) {
  case restart_kind::no:
    return "no";
  case restart_kind::always:
    return "always";
  case restart_kind::unless_stopped:
    return "unless_stopped";
  case restart_kind::on_failure:
    return "on_failure";
  }
  return "";
}

std::string_view word(init_failure_policy p) {
  switch (p) {
  case init_failure_policy::fail:
    return "fail";
  case init_failure_policy::restart:
    return "restart";
  case init_failure_policy::backoff:
    return "backoff";
  }
  return "";
}

std::string_view word(panic_action a) {
  switch (a) {
  case panic_action::restart:
    return "restart";
  case panic_action::shutdown:
    return "shutdown";
  case panic_action::isolate:
    return "isolate";
  }
  return "";
}

std::string_view word(dependency_condition c) {
  switch (c) {
  case dependency_condition::started:
    return "started";
  case dependency_condition::healthy:
    return "healthy";
  case dependency_condition::ready:
    return "ready";
  }
  return "";
}

json supervision_json(const supervisor_flags& f) {
  json backoff = {{"initial", text(f.backoff.initial)}, {"max", text(f.backoff.max)}};
  if (f.backoff.reset_after)
    backoff["reset_after"] = text(*f.backoff.reset_after);
  return {{"strategy", std::string{to_string(f.strategy)}},
          {"max_restarts", f.max_restarts},
          {"window", text(f.window)},
          {"backoff", backoff}};
}

json check_json(const check& c) {
  if (auto* tcp = std::get_if<tcp_check>(&c))
    return {{"type", "tcp"}, {"port", tcp->port}};
  if (auto* http = std::get_if<http_check>(&c)) {
    json out = {{"type", "http"}, {"url", http->url}};
    if (http->expect_status)
      out["expect_status"] = *http->expect_status;
    return out;
  }
  return {{"type", "command"}, {"command", std::get<command_check>(c).command}};
}

json step_json(const init_step& step) {
  json with;
  std::string uses;
  if (auto* tcp = std::get_if<tcp_check>(&step.action)) {
    uses = "init.wait_tcp";
    with = {{"host", tcp->host}, {"port", tcp->port}};
  } else if (auto* http = std::get_if<http_check>(&step.action)) {
    uses = "init.wait_http";
    with = {{"url", http->url}};
    if (http->expect_status)
      with["expect_status"] = *http->expect_status;
  } else {
    uses = "init.run";
    with = {{"command", std::get<command_check>(step.action).command}};
  }
  with["timeout"] = text(step.action_timeout);
  json out = {{"id", step.id},
              {"uses", uses},
              {"with", with},
              {"timeout", text(step.timeout)},
              {"on_failure", std::string{to_string(step.on_failure)}}};
  if (step.retry)
    out["retry"] = *step.retry;
  return out;
}

json sim_json(const sim_behavior& sim) {
  json out = {{"start_delay", text(sim.start_delay)}};
  if (sim.exit_after)
    out["exit_after"] = text(*sim.exit_after);
  out["exit_code"] = sim.exit_code;
  for (auto [key, value] :
       {std::pair{"fail_pull", &sim.fail_pull}, std::pair{"fail_create", &sim.fail_create},
        std::pair{"fail_start", &sim.fail_start}})
    if (!value->empty())
      out[key] = *value;
  if (sim.unhealthy_after)
    out["unhealthy_after"] = text(*sim.unhealthy_after);
  out["hang_on_stop"] = sim.hang_on_stop;
  return out;
}

// The largest binary unit that writes `bytes` exactly (the loader only makes multiples of Ki).
std::string memory_text(uint64_t bytes) {
  constexpr std::pair<std::string_view, int> units[] = {
      {"Ti", 40}, {"Gi", 30}, {"Mi", 20}, {"Ki", 10}};
  for (auto [unit, shift] : units)
    if (bytes % (uint64_t{1} << shift) == 0)
      return std::to_string(bytes >> shift) + std::string{unit};
  return std::to_string(bytes); // not from the loader; shown as it is
}

json service_json(const service_spec& s) {
  json out;
  out["rtype"] = s.rtype == service_kind::job ? "job" : "service";
  out["image"] = {{"name", s.image.name}, {"pull_policy", word(s.image.pull)}};
  json command = {{"entrypoint", s.command.entrypoint}, {"args", s.command.args}};
  if (!s.command.workdir.empty())
    command["workdir"] = s.command.workdir;
  out["command"] = command;
  json env = json::object();
  for (const auto& [name, value] : s.env)
    env[name] = value;
  out["env"] = env;
  out["scale"] = {{"mode", "fixed"}, {"replicas", s.replicas}};
  if (s.replica_port)
    out["replica_port"] = *s.replica_port;
  if (!s.endpoints.empty()) {
    json endpoints = json::array();
    for (const auto& e : s.endpoints)
      endpoints.push_back({{"port", e.port}, {"protocol", e.udp ? "udp" : "tcp"}});
    out["endpoints"] = endpoints;
  }
  if (s.platform) {
    json platform = {{"os", s.platform->os}};
    if (!s.platform->arch.empty())
      platform["arch"] = s.platform->arch;
    out["platform"] = platform;
  }
  out["stop_signal"] = signal_text(s.stop_signal);
  out["stop_grace_period"] = text(s.stop_grace_period);
  if (s.restart_policy)
    out["restart_policy"] = {{"kind", word(*s.restart_policy)}};
  if (s.resources != resources_spec{}) {
    json resources = json::object();
    if (s.resources.cpu)
      resources["cpu"] = *s.resources.cpu;
    if (s.resources.memory)
      resources["memory"] = memory_text(*s.resources.memory);
    if (const auto& gpu = s.resources.gpu)
      resources["gpu"] = {{"count", gpu->count},
                          {"vendor", gpu->vendor},
                          {"sharing", word(gpu->sharing)},
                          {"mps_pipe_dir", gpu->mps_pipe_dir},
                          {"mps_log_dir", gpu->mps_log_dir}};
    out["resources"] = resources;
  }
  if (s.health)
    out["health"] = {{"start_grace", text(s.health->start_grace)},
                     {"interval", text(s.health->interval)},
                     {"timeout", text(s.health->timeout)},
                     {"retries", s.health->retries},
                     {"check", check_json(s.health->check)}};
  json depends = json::array();
  for (const auto& d : s.depends)
    depends.push_back({{"service", d.service},
                       {"condition", word(d.condition)},
                       {"timeout", text(d.timeout)},
                       {"on_timeout", std::string{to_string(d.on_timeout)}}});
  out["depends"] = depends;
  json steps = json::array();
  for (const auto& step : s.init)
    steps.push_back(step_json(step));
  out["init"] = {{"steps", steps}};
  if (s.init_process)
    out["init"]["process"] = true;
  out["errors"] = {{"on_init_failure", {{"action", word(s.errors.on_init_failure)}}},
                   {"on_panic", {{"action", word(s.errors.on_panic)}}}};
  out["supervision"] = supervision_json(s.supervision);
  if (s.sim != sim_behavior{})
    out["sim"] = sim_json(s.sim);
  return out;
}

} // namespace

std::string effective_spec_json(const deployment_spec& spec) {
  json out = {{"version", "v1"}, {"deployment", spec.name}};
  out["supervision"] = supervision_json(spec.supervision);
  json services = json::object();
  for (const auto& s : spec.services)
    services[s.name] = service_json(s);
  out["services"] = services;
  // Spec text is UTF-8 only by convention; a stray byte is shown, not thrown over.
  return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

} // namespace nv::spec
