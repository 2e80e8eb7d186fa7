// The verbs of the node (design.md §8): the daemon and its clients. They live in a second
// executable, `nodevisor-node`, installed next to `nodevisor`, which execs it for them: `run`,
// `validate` and `trace` then load no HTTP, TLS or SQLite library, which cost them 8 ms of start
// and 6 MiB of PSS (libcrypto alone is 3 MiB, initialized at load by Debian's cpp-httplib).
// Each verb's one-line summary is here once, for both executables' --help.
#pragma once

#include <string_view>

namespace nv {

struct node_verb {
  std::string_view name;
  std::string_view summary;
};

inline constexpr node_verb node_verbs[] = {
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

// The summary of a verb of the table; empty for any other name.
constexpr std::string_view node_verb_summary(std::string_view name) {
  for (const auto& v : node_verbs)
    if (v.name == name)
      return v.summary;
  return {};
}

} // namespace nv
