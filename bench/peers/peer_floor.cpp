// The floor: bench/floor.hpp's floor_pool (mode "full": what nodevisor's process runtime does
// per child, without any supervisor) serving from a child process of the benchmark, so that it
// is observed from outside exactly like the supervisors: its children show up in /proc, a kill
// is followed by a replacement, a stop by the children going.
//
// It restarts nothing by itself: the driver asks it through stdin ("kill PID": floor_pool's
// restart, i.e. kill -9, reap, spawn again; "stop": SIGTERM to every child, reap them all).
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "bench/floor.hpp"
#include "bench/peers/common.hpp"
#include "bench/peers/peer.hpp"

namespace nv::bench::peers {

namespace {

std::string config(mode) {
  return "bench/floor.hpp floor_pool, mode full (pipe, /dev/null stdin, own process group, "
         "pidfd, epoll per child), in a child process; restart = its kill -9, reap, respawn "
         "on request; stop: SIGTERM to each child, reap all";
}

bool prepare(instance&, std::string&) {
  return true;
}

bool start(instance& in, std::string& error) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    error = std::string{"pipe2: "} + std::strerror(errno);
    return false;
  }
  std::vector<std::string> argv{in.env->self, "--floor-server", std::to_string(in.w.n)};
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

void send(instance& in, const std::string& line) {
  if (in.control >= 0 && ::write(in.control, line.data(), line.size()) < 0) {
    ::close(in.control); // it is gone; the driver sees that as children that never come back
    in.control = -1;
  }
}

void stop(instance& in) {
  send(in, "stop\n");
}

std::string state(instance&) {
  return "(no restart policy)";
}

void floor_kill(instance& in, pid_t child) {
  send(in, "kill " + std::to_string(child) + "\n");
}

} // namespace

const adapter& floor_adapter() {
  static const adapter a{"floor", config, prepare, start, stop, state, nullptr, floor_kill};
  return a;
}

int floor_server(std::size_t n, const std::vector<std::string>& argv) {
  // The benchmark gone, go too: its guardian kills and reaps the children left behind.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  floor_pool pool{floor_mode::full, argv};
  std::string error;
  if (!pool.start(n, error)) {
    std::fprintf(stderr, "floor: %s\n", error.c_str());
    return 1;
  }
  std::string pending;
  char buf[256];
  for (;;) {
    auto got = ::read(STDIN_FILENO, buf, sizeof buf);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      break; // the benchmark closed stdin: stop as asked
    pending.append(buf, static_cast<std::size_t>(got));
    for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
      auto line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      if (line == "stop") {
        pool.stop_all();
        return 0;
      }
      if (line.rfind("kill ", 0) != 0)
        continue;
      auto pid = static_cast<pid_t>(std::atol(line.c_str() + 5));
      for (std::size_t i = 0; i < pool.size(); ++i)
        if (pool.pid(i) == pid && !pool.restart(i, error))
          std::fprintf(stderr, "floor: %s\n", error.c_str());
    }
  }
  pool.stop_all();
  return 0;
}

} // namespace nv::bench::peers
