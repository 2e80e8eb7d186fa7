// s6 2.11.3: s6-svscan over a directory of N services, one s6-supervise per service.
//
// Fastest restart: s6-supervise waits 1 s between two spawns of ./run unless the service had
// been *ready* for more than 1 s. Without readiness notification a service is never ready, so
// every restart takes 1 s. The steady configuration therefore declares notification-fd 3 and
// the run script writes the newline before it execs the child (the documented way to make
// restarts immediate). The crash-loop run uses the defaults: no readiness (a child that exits
// at once could not notify anyway), so one start per second, and no give-up without a ./finish
// that exits 125.
#include <csignal>

#include "bench/peers/common.hpp"
#include "bench/peers/peer.hpp"

namespace nv::bench::peers {

namespace {

std::string config(mode m) {
  return m == mode::steady ? "s6-svscan -c 2N+16 DIR; notification-fd 3, run: #!/bin/sh "
                             "echo >&3; exec CMD (ready at once, so restarts are immediate); "
                             "stop: SIGTERM to s6-svscan"
                           : "s6-svscan -c 2N+16 DIR; run: #!/bin/sh exec CMD; defaults (no "
                             "readiness: 1 s between spawns, never gives up)";
}

bool prepare(instance& in, std::string& error) {
  if (in.w.m == mode::crash)
    return make_service_dirs(in.w.dir + "/sv", in.w.n, run_script(in.w.argv), {}, error);
  return make_service_dirs(in.w.dir + "/sv", in.w.n, run_script(in.w.argv, "echo >&3\nexec 3>&-\n"),
                           {{"notification-fd", "3\n"}}, error);
}

bool start(instance& in, std::string& error) {
  // The default maximum is 500 services; a logger would count as a second one.
  auto max = std::to_string(2 * in.w.n + 16);
  in.root = launch({"/usr/bin/s6-svscan", "-c", max, in.w.dir + "/sv"}, {}, in.log, -1, error);
  return in.root > 0;
}

// s6-svscan sends SIGTERM to every s6-supervise, which takes its service down and exits.
void stop(instance& in) {
  ::kill(in.root, SIGTERM);
}

std::string state(instance& in) {
  return run_capture({"/usr/bin/s6-svstat", in.w.dir + "/sv/c0001"}, std::chrono::seconds{5});
}

} // namespace

const adapter& s6_adapter() {
  static const adapter a{"s6", config, prepare, start, stop, state, nullptr, nullptr};
  return a;
}

} // namespace nv::bench::peers
