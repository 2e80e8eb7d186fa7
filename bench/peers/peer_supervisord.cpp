// supervisord 4.2.5: one [program] with numprocs=N.
//
// Fastest restart: none to configure. The main loop is poll(timeout=1 s), then transition()
// (which spawns), then reap(): a dead child is reaped in one pass and respawned in the next,
// about 1 s later unless some other event wakes the loop. The timeout is hard-coded. The
// steady configuration keeps no pipes (stdout/stderr_logfile=NONE), so nothing wakes it early,
// and startsecs=0 so a child counts as RUNNING at once. The crash-loop run keeps the defaults:
// startsecs=1, startretries=3, autorestart=unexpected (BACKOFF 1, 2, 3 s, then FATAL).
#include <csignal>

#include "bench/peers/common.hpp"
#include "bench/peers/peer.hpp"

namespace nv::bench::peers {

namespace {

std::string config(mode m) {
  return m == mode::steady
             ? "supervisord -n; [program] numprocs=N autorestart=true startsecs=0 "
               "stdout/stderr_logfile=NONE, loglevel=error (restart paced by the hard-coded "
               "1 s poll of the main loop); stop: SIGTERM"
             : "supervisord -n; [program] numprocs=1, defaults (startsecs=1 startretries=3 "
               "autorestart=unexpected), stdout/stderr_logfile=NONE";
}

bool prepare(instance& in, std::string& error) {
  auto& d = in.w.dir;
  std::string command;
  for (auto& a : in.w.argv)
    command += (command.empty() ? "" : " ") + a;
  std::string conf = "[supervisord]\nnodaemon=true\nlogfile=" + d +
                     "/supervisord.log\npidfile=" + d + "/supervisord.pid\nchildlogdir=" + d + "\n";
  if (in.w.m == mode::steady) {
    conf += "loglevel=error\n";
  } else {
    // Only to ask for the final state with supervisorctl: a unix socket in the private dir.
    conf += "\n[unix_http_server]\nfile=" + d +
            "/supervisor.sock\n\n[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = "
            "supervisor.rpcinterface:make_main_rpcinterface\n\n[supervisorctl]\nserverurl=unix://" +
            d + "/supervisor.sock\n";
  }
  conf += "\n[program:c]\ncommand=" + command + "\nnumprocs=" + std::to_string(in.w.n) +
          "\nprocess_name=%(program_name)s_%(process_num)04d\nstdout_logfile=NONE\n"
          "stderr_logfile=NONE\n";
  if (in.w.m == mode::steady)
    conf += "autorestart=true\nstartsecs=0\n";
  if (!write_file(d + "/supervisord.conf", conf)) {
    error = "cannot write " + d + "/supervisord.conf";
    return false;
  }
  return true;
}

bool start(instance& in, std::string& error) {
  in.root = launch({"/usr/bin/supervisord", "-n", "-c", in.w.dir + "/supervisord.conf"}, {}, in.log,
                   -1, error);
  return in.root > 0;
}

void stop(instance& in) {
  ::kill(in.root, SIGTERM);
}

std::string state(instance& in) {
  return run_capture({"/usr/bin/supervisorctl", "-c", in.w.dir + "/supervisord.conf", "status"},
                     std::chrono::seconds{10});
}

} // namespace

const adapter& supervisord_adapter() {
  static const adapter a{"supervisord", config, prepare, start, stop, state, nullptr, nullptr};
  return a;
}

} // namespace nv::bench::peers
