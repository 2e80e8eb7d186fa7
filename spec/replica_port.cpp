#include "spec/replica_port.hpp"

#include <cstdint>
#include <string>

#include "spec/replica_vars.hpp"

namespace nv::spec {

namespace {

struct service_checker {
  const service_spec& s;
  reader& r;
  std::string where; // "services.api"

  void error(const std::string& path, std::string message) {
    r.add({r.file, where + "." + path, std::move(message)});
  }

  // Every field nodevisor expands per replica goes through here.
  void text(const std::string& path, const std::string& value) {
    for (auto& name : nodevisor_references(value)) {
      if (!is_replica_variable(name))
        error(path, "${" + name +
                        "} is not a variable nodevisor expands; use ${NODEVISOR_PORT} or "
                        "${NODEVISOR_REPLICA}");
      else if (name == "NODEVISOR_PORT" && !s.replica_port)
        error(path, "${NODEVISOR_PORT} needs the service's replica_port (e.g. replica_port: "
                    "8080 gives replica N the port 8080 + N - 1)");
    }
  }

  void check_of(const std::string& path, const check& c) {
    if (auto* tcp = std::get_if<tcp_check>(&c)) {
      if (tcp->port == 0 && !s.replica_port)
        error(path + ".port", "port 0 means the replica's own port, which needs the service's "
                              "replica_port");
      text(path + ".host", tcp->host);
    } else if (auto* http = std::get_if<http_check>(&c)) {
      text(path + ".url", http->url);
    } else if (auto* cmd = std::get_if<command_check>(&c)) {
      text(path + ".command", cmd->command);
    }
  }

  void run() {
    if (s.replica_port && uint32_t{*s.replica_port} + s.replicas - 1 > 65535)
      error("replica_port", "replica_port " + std::to_string(*s.replica_port) + " with " +
                                std::to_string(s.replicas) + " replicas goes past port 65535 (" +
                                std::to_string(uint32_t{*s.replica_port} + s.replicas - 1) +
                                "); choose a base of at most " +
                                std::to_string(65535 - (s.replicas - 1)));
    for (std::size_t i = 0; i < s.command.entrypoint.size(); ++i)
      text("command.entrypoint[" + std::to_string(i) + "]", s.command.entrypoint[i]);
    for (std::size_t i = 0; i < s.command.args.size(); ++i)
      text("command.args[" + std::to_string(i) + "]", s.command.args[i]);
    if (s.health)
      check_of("health.check", s.health->check);
    for (std::size_t i = 0; i < s.init.size(); ++i)
      check_of("init.steps[" + std::to_string(i) + "].with", s.init[i].action);
  }
};

} // namespace

void check_replica_ports(const deployment_spec& spec, reader& r) {
  for (const auto& s : spec.services)
    service_checker{s, r, "services." + s.name}.run();
  // Two services whose ranges overlap would have two replicas bind one port.
  for (std::size_t i = 0; i < spec.services.size(); ++i) {
    const auto& a = spec.services[i];
    if (!a.replica_port)
      continue;
    const uint32_t a_first = *a.replica_port, a_last = a_first + a.replicas - 1;
    for (std::size_t j = 0; j < i; ++j) {
      const auto& b = spec.services[j];
      if (!b.replica_port)
        continue;
      const uint32_t b_first = *b.replica_port, b_last = b_first + b.replicas - 1;
      if (a_first <= b_last && b_first <= a_last)
        r.add({r.file, "services." + a.name + ".replica_port",
               "ports " + std::to_string(a_first) + "-" + std::to_string(a_last) +
                   " overlap those of service '" + b.name + "' (" + std::to_string(b_first) + "-" +
                   std::to_string(b_last) + ")"});
    }
  }
}

} // namespace nv::spec
