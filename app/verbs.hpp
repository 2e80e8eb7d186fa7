// Every verb of `nodevisor` and the executable that serves it. `nodevisor` itself is a launcher
// that links nothing but the C++ runtime: it execs `nodevisor-run` (run, validate, trace) or
// `nodevisor-node` (the daemon and its clients, design.md §8) from its own directory with the same
// arguments, so the pid stays. Each then loads only its own libraries: `run` no HTTP, TLS or
// SQLite (Debian's cpp-httplib initializes OpenSSL at load: 3 MiB of PSS and 2 ms per exec),
// a client no actor system. Each verb's one-line summary is here once, for every --help.
#pragma once

#include <string>
#include <string_view>

namespace nv {

// Which executable serves a verb.
enum class verb_home { run, node };

struct verb {
  std::string_view name;
  std::string_view summary;
  verb_home home = verb_home::node;
};

inline constexpr verb verbs[] = {
    {"run",
     "Run a deployment in the foreground under the node supervisor until signalled, or until it "
     "has failed for good",
     verb_home::run},
    {"validate",
     "Check deployment specs as run would, without running anything: exit 0 when every one is "
     "valid (warnings on stderr), 2 with one line per problem",
     verb_home::run},
    {"trace", "Read a trace written by `nodevisor run --trace`", verb_home::run},
    {"daemon", "Run the long-lived node: a control API on a Unix socket (and optionally loopback "
               "TCP with a bearer token), deployments kept in a SQLite state that survives "
               "restarts"},
    {"deploy", "Create a deployment on the daemon from SPEC, or apply SPEC to the deployment of "
               "its name; returns once the change is on disk"},
    {"ps", "List the daemon's deployments, or with DEPLOYMENT its services: replicas, state, "
           "restarts, pids, uptime and last failure"},
    {"logs", "Print a service's output (stdout and stderr of its replicas)"},
    {"events", "Print the daemon's trace events, one line each as `nodevisor trace tail` prints "
               "them (-o json: the JSON lines as the daemon sends them)"},
    {"stop", "Stop a deployment and keep it stopped (persisted)"},
    {"start", "Start a stopped deployment (persisted)"},
    {"rm", "Stop a deployment in reverse order, then forget it"},
    {"restart", "Restart every replica of a service, one at a time, each healthy before the next"},
    {"scale", "Set how many replicas a service runs"},
    {"tree", "Print the daemon's live supervision tree"},
    {"why", "Print the cause chain of an actor's last failure"},
    {"node", "The nodes: this one and its peers"},
};

// The verb of that name, or null.
constexpr const verb* find_verb(std::string_view name) {
  for (const auto& v : verbs)
    if (v.name == name)
      return &v;
  return nullptr;
}

// The summary of a verb of the table, for its executable's --help.
inline std::string summary_of(std::string_view name) {
  const verb* v = find_verb(name);
  return v ? std::string{v->summary} : std::string{};
}

} // namespace nv
