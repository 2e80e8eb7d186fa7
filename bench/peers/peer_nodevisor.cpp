// nodevisor itself: the real binary (`nodevisor run SPEC --runtime process`) on a generated
// spec with one service of N replicas of the child.
//
// Fastest restart: nodevisor restarts a replica's first failure in its window at once (backoff
// initial*2^(k-2) applies from the second restart of the same replica), so only the service's
// budget needs raising: max_restarts 1 000 000 (default 5 in 300 s). The crash-loop run keeps
// every default: 5 restarts in 300 s per service, backoff 1 s doubling up to 300 s, then the
// service gives up and escalates to the deployment.
#include <csignal>

#include "bench/peers/common.hpp"
#include "bench/peers/peer.hpp"

namespace nv::bench::peers {

namespace {

std::string config(mode m) {
  return m == mode::steady
             ? "nodevisor run SPEC --runtime process --log-level off; one service, "
               "scale fixed N, supervision max_restarts 1000000 (first restart of a replica "
               "is immediate); stop: SIGTERM"
             : "nodevisor run SPEC --runtime process; defaults (max_restarts 5 in 300s, "
               "backoff 1s doubling to 300s, then escalation)";
}

std::string yaml_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out + "\"";
}

bool prepare(instance& in, std::string& error) {
  std::string args;
  for (std::size_t i = 1; i < in.w.argv.size(); ++i)
    args += (args.empty() ? "" : ", ") + yaml_string(in.w.argv[i]);
  std::string spec = "version: v1\ndeployment: peerbench\nservices:\n  c:\n    image:\n"
                     "      name: local/peer-bench\n    command:\n      entrypoint: [" +
                     yaml_string(in.w.argv[0]) + "]\n      args: [" + args +
                     "]\n    scale:\n      mode: fixed\n      replicas: " + std::to_string(in.w.n) +
                     "\n";
  if (in.w.m == mode::steady)
    spec += "    supervision:\n      max_restarts: 1000000\n";
  if (!write_file(in.w.dir + "/spec.yaml", spec)) {
    error = "cannot write " + in.w.dir + "/spec.yaml";
    return false;
  }
  return true;
}

bool start(instance& in, std::string& error) {
  std::vector<std::string> argv{in.env->nodevisor, "run", in.w.dir + "/spec.yaml", "--runtime",
                                "process"};
  if (in.w.m == mode::steady)
    argv.insert(argv.end(), {"--log-level", "off"});
  in.root = launch(argv, {}, in.log, -1, error);
  return in.root > 0;
}

void stop(instance& in) {
  ::kill(in.root, SIGTERM);
}

// Its state lines ("/peerbench: degraded") are on stdout, its log lines ("[time] [nodevisor]
// [level] [/path] ...") too: the last deployment state, the last supervision decision, and how
// often the service gave up and escalated.
std::string state(instance& in) {
  auto log = read_file(in.log);
  std::string last_state;
  std::string last_decision;
  int gave_up = 0;
  std::size_t pos = 0;
  while (pos < log.size()) {
    auto end = log.find('\n', pos);
    if (end == std::string::npos)
      end = log.size();
    auto line = log.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line[0] == '/') {
      last_state = line;
      continue;
    }
    bool giving_up = line.find("giving up") != std::string::npos;
    gave_up += giving_up ? 1 : 0;
    if (giving_up || line.find("restarting ") != std::string::npos) {
      auto path = line.find("[/");
      last_decision = path == std::string::npos ? line : line.substr(path);
    }
  }
  return "deployment " + (last_state.empty() ? "(no state)" : last_state) +
         "; service gave up and escalated " + std::to_string(gave_up) +
         " time(s); last decision: " + last_decision;
}

} // namespace

const adapter& nodevisor_adapter() {
  static const adapter a{"nodevisor", config, prepare, start, stop, state, nullptr, nullptr};
  return a;
}

} // namespace nv::bench::peers
