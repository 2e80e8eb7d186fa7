// OTP 25 (erts 13.1.5): otp_peer.erl, one one_for_one supervisor over N gen_servers, each the
// owner of one port (open_port spawn_executable, no shell) running the child. A worker stops
// when its port's process exits, and the supervisor restarts it at once: OTP has no restart
// delay. The steady configuration sets intensity 1 000 000 in 1 s (no give-up) and turns the
// logger off (no crash report per kill); the crash-loop run keeps the defaults: intensity 1 in
// 5 s, after which the supervisor terminates (escalation, with no parent to go to here).
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include "bench/peers/common.hpp"
#include "bench/peers/peer.hpp"

namespace nv::bench::peers {

namespace {

std::string config(mode m) {
  return m == mode::steady
             ? "erl -noshell, one_for_one supervisor, N gen_server+port workers, intensity "
               "1000000 period 1, logger_level none; stop: 'stop' on stdin = "
               "exit(Sup, shutdown), workers stopped one at a time in reverse order"
             : "erl -noshell, one_for_one, defaults (intensity 1 period 5, then the "
               "supervisor exits shutdown), default logger";
}

bool prepare(instance&, std::string&) {
  return true; // otp_peer.beam is compiled once per run, before any measurement
}

bool start(instance& in, std::string& error) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    error = std::string{"pipe2: "} + std::strerror(errno);
    return false;
  }
  bool steady = in.w.m == mode::steady;
  std::vector<std::string> argv{"/usr/bin/erl", "-noshell", "-pa", in.env->otp_ebin};
  if (steady)
    argv.insert(argv.end(), {"-kernel", "logger_level", "none"});
  argv.insert(argv.end(), {"-run", "otp_peer", "main", std::to_string(in.w.n),
                           steady ? "1000000" : "1", steady ? "1" : "5"});
  argv.insert(argv.end(), in.w.argv.begin(), in.w.argv.end());
  in.root = launch(argv, {}, in.log, fds[0], error);
  ::close(fds[0]);
  if (in.root <= 0) {
    ::close(fds[1]);
    return false;
  }
  in.control = fds[1];
  return true;
}

void stop(instance& in) {
  if (in.control >= 0) {
    const char line[] = "stop\n";
    // Should the write fail, closing stdin is a stop request too (otp_peer reads eof as "stop").
    ssize_t written = ::write(in.control, line, sizeof line - 1);
    static_cast<void>(written);
    ::close(in.control);
    in.control = -1;
  }
}

std::string state(instance& in) {
  auto log = read_file(in.log);
  std::string last;
  for (auto pos = log.find_first_not_of('\n'); pos != std::string::npos;) {
    auto end = log.find('\n', pos);
    auto line = log.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    if (line.rfind("STARTED", 0) == 0 || line.rfind("SUPERVISOR_EXIT", 0) == 0 ||
        line.rfind("STOPPED", 0) == 0)
      last = line;
    pos = end == std::string::npos ? end : log.find_first_not_of('\n', end);
  }
  if (last == "STARTED")
    return "supervisor running (still restarting)";
  return last.empty() ? "(no output)" : last;
}

} // namespace

const adapter& otp_adapter() {
  static const adapter a{"otp", config, prepare, start, stop, state, nullptr, nullptr};
  return a;
}

} // namespace nv::bench::peers
