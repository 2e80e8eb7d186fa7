// systemd 252 as a user manager (systemd --user): N instances of a template unit, wanted by
// default.target, so the manager starts them as it comes up.
//
// PID 1 here is not systemd, and a user manager refuses to run unless /run/systemd/system
// exists. It does run in a private mount namespace (unshare -m, propagation private) with a
// tmpfs over /run/systemd holding system/, from its own cgroup in the name=systemd, unified and
// pids hierarchies (created under this run's parent cgroup, removed by cleanup). Nothing
// outside the namespace changes. What is measured is therefore the user manager: the same unit
// engine as PID 1, no journald (logs go to its stderr, in the run directory).
//
// Fastest restart: Restart=always with RestartSec=0 (default 100 ms) and no start rate limit
// (StartLimitIntervalSec=0). The crash-loop run keeps the defaults except Restart=always:
// RestartSec=100ms, StartLimitBurst=5 in StartLimitIntervalSec=10s, then the unit is failed.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/peers/common.hpp"
#include "bench/peers/peer.hpp"

namespace nv::bench::peers {

namespace {

const char* const hierarchies[] = {"systemd", "unified", "pids"};

std::string cgroup_dir(const instance& in, const char* hierarchy) {
  return std::string{"/sys/fs/cgroup/"} + hierarchy + "/" + in.env->cgroup + "/" + in.name;
}

std::string config(mode m) {
  return m == mode::steady
             ? "systemd --user (252) in a private mount namespace; c@.service x N wanted by "
               "default.target: Type=simple Restart=always RestartSec=0 "
               "StartLimitIntervalSec=0 StandardOutput=null, --log-level=err; stop: SIGTERM "
               "(the user manager starts exit.target)"
             : "systemd --user; Restart=always, defaults otherwise (RestartSec=100ms, "
               "StartLimitBurst=5 in 10s, then failed)";
}

bool prepare(instance& in, std::string& error) {
  auto units = in.w.dir + "/config/systemd/user";
  std::error_code ec;
  std::filesystem::create_directories(units + "/default.target.wants", ec);
  std::filesystem::create_directories(in.w.dir + "/run", ec);
  if (ec) {
    error = "mkdir " + units + ": " + ec.message();
    return false;
  }
  std::string exec;
  for (auto& a : in.w.argv)
    exec += (exec.empty() ? "" : " ") + a;
  std::string unit = "[Unit]\nDescription=peer_bench child %i\n";
  unit += in.w.m == mode::steady ? "StartLimitIntervalSec=0\n" : "";
  unit += "\n[Service]\nType=simple\nExecStart=" + exec +
          "\nRestart=always\nStandardOutput=null\nStandardError=null\n";
  unit += in.w.m == mode::steady ? "RestartSec=0\n" : "";
  if (!write_file(units + "/c@.service", unit)) {
    error = "cannot write " + units + "/c@.service";
    return false;
  }
  char name[32];
  for (std::size_t i = 1; i <= in.w.n; ++i) {
    std::snprintf(name, sizeof name, "/c@%04zu.service", i);
    if (::symlink("../c@.service", (units + "/default.target.wants" + name).c_str()) != 0) {
      error = std::string{"symlink: "} + std::strerror(errno);
      return false;
    }
  }
  return true;
}

bool start(instance& in, std::string& error) {
  std::string join;
  for (auto* h : hierarchies) {
    auto dir = cgroup_dir(in, h);
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      error = "mkdir " + dir + ": " + std::strerror(errno);
      return false;
    }
    join += "echo $$ > " + shell_quote(dir + "/cgroup.procs") + " && ";
  }
  std::string level = in.w.m == mode::steady ? " --log-level=err" : "";
  std::string script = join +
                       "mount -t tmpfs -o mode=755 nv-peer-bench /run/systemd && "
                       "mkdir /run/systemd/system && exec /lib/systemd/systemd --user "
                       "--log-target=console" +
                       level;
  in.root =
      launch({"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script},
             {"XDG_CONFIG_HOME=" + in.w.dir + "/config", "XDG_RUNTIME_DIR=" + in.w.dir + "/run",
              "HOME=" + in.w.dir},
             in.log, -1, error);
  return in.root > 0;
}

void stop(instance& in) {
  ::kill(in.root, SIGTERM);
}

std::string state(instance& in) {
  return run_capture({"/usr/bin/env", "XDG_RUNTIME_DIR=" + in.w.dir + "/run", "/usr/bin/nsenter",
                      "--mount", "--target", std::to_string(in.root), "/usr/bin/systemctl",
                      "--user", "show", "c@0001.service", "--property",
                      "ActiveState,SubState,Result,NRestarts"},
                     std::chrono::seconds{10});
}

// The manager's cgroups can go once every process in them is gone (the driver killed them).
void cleanup(instance& in) {
  for (auto* h : hierarchies)
    remove_cgroup(cgroup_dir(in, h));
}

} // namespace

const adapter& systemd_adapter() {
  static const adapter a{"systemd", config, prepare, start, stop, state, cleanup, nullptr};
  return a;
}

} // namespace nv::bench::peers
