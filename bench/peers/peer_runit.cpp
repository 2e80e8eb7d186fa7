// runit 2.1.2: runsvdir over a directory of N services, one runsv per service.
//
// Fastest restart: runsv restarts ./run at once unless it (or ./finish) exited "immediately",
// i.e. less than 1 s after it started; then it waits 1 s. That pause is compiled in, not
// configurable, so the benchmark kills only children that have run for more than 1 s. There is
// no give-up: a crash loop restarts once a second forever.
#include <csignal>

#include "bench/peers/common.hpp"
#include "bench/peers/peer.hpp"

namespace nv::bench::peers {

namespace {

std::string config(mode m) {
  return m == mode::steady
             ? "runsvdir DIR; run: #!/bin/sh exec CMD; defaults (restart at once after a run "
               "of more than 1 s, compiled-in 1 s pause otherwise); stop: SIGHUP to runsvdir"
             : "runsvdir DIR; run: #!/bin/sh exec CMD; defaults (1 s pause after a run under "
               "1 s, never gives up)";
}

bool prepare(instance& in, std::string& error) {
  return make_service_dirs(in.w.dir + "/sv", in.w.n, run_script(in.w.argv), {}, error);
}

bool start(instance& in, std::string& error) {
  in.root = launch({"/usr/bin/runsvdir", in.w.dir + "/sv"}, {}, in.log, -1, error);
  return in.root > 0;
}

// runsvdir sends TERM to every runsv and exits; each runsv stops its service, then exits.
void stop(instance& in) {
  ::kill(in.root, SIGHUP);
}

std::string state(instance& in) {
  return run_capture({"/usr/bin/sv", "status", in.w.dir + "/sv/c0001"}, std::chrono::seconds{5});
}

} // namespace

const adapter& runit_adapter() {
  static const adapter a{"runit", config, prepare, start, stop, state, nullptr, nullptr};
  return a;
}

} // namespace nv::bench::peers
