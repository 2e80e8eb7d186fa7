// daemontools 0.76: svscan over a directory of N services, one supervise per service.
//
// Fastest restart: supervise sleeps 1 s after every start of ./run, compiled in; a child that
// has run for more than 1 s is restarted at once. svscan's compiled-in limit is 1 000 services.
// There is no give-up: a crash loop restarts once a second forever.
#include <csignal>
#include <cstdio>

#include "bench/peers/common.hpp"
#include "bench/peers/peer.hpp"

namespace nv::bench::peers {

namespace {

std::string config(mode m) {
  return m == mode::steady
             ? "svscan DIR; run: #!/bin/sh exec CMD; defaults (compiled-in 1 s pause after "
               "each start); stop: SIGTERM to svscan, then svc -dx on every service"
             : "svscan DIR; run: #!/bin/sh exec CMD; defaults (1 s pause after each start, "
               "never gives up)";
}

bool prepare(instance& in, std::string& error) {
  return make_service_dirs(in.w.dir + "/sv", in.w.n, run_script(in.w.argv), {}, error);
}

bool start(instance& in, std::string& error) {
  in.root = launch({"/usr/bin/svscan", in.w.dir + "/sv"}, {}, in.log, -1, error);
  return in.root > 0;
}

// svscan has no stop of its own: it is killed first so that it does not start supervise again,
// then each supervise is told to take its service down (-d) and exit (-x).
void stop(instance& in) {
  ::kill(in.root, SIGTERM);
  std::vector<std::string> argv{"/usr/bin/svc", "-dx"};
  char name[32];
  for (std::size_t i = 1; i <= in.w.n; ++i) {
    std::snprintf(name, sizeof name, "/sv/c%04zu", i);
    argv.push_back(in.w.dir + name);
  }
  std::string error;
  // Reaped with the benchmark's other orphans; its failure shows as children that never go.
  launch(argv, {}, in.log, -1, error);
}

std::string state(instance& in) {
  return run_capture({"/usr/bin/svstat", in.w.dir + "/sv/c0001"}, std::chrono::seconds{5});
}

} // namespace

const adapter& daemontools_adapter() {
  static const adapter a{"daemontools", config, prepare, start, stop, state, nullptr, nullptr};
  return a;
}

} // namespace nv::bench::peers
