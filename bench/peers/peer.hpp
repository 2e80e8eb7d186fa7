// The narrow interface every implementation under test provides to the driver (peer_bench.cpp).
// One file per peer; each is a table of free functions over an `instance`.
//
// The driver measures all of them the same way, from outside, through /proc: it never asks a
// supervisor whether its children run. So an adapter only has to write its configuration,
// launch the supervisor, ask it to stop, and report its own view of a crash loop.
#pragma once

#include <cstddef>
#include <string>
#include <sys/types.h>
#include <vector>

namespace nv::bench::peers {

// steady: the configuration for the fastest restart of a long-running child (cold start,
// restart latency, memory, stop). crash: each tool's default restart pacing and give-up rule,
// with restarts turned on (the crash-loop run).
enum class mode { steady, crash };

struct workload {
  std::string dir;               // private, empty, under the run's mktemp directory
  std::size_t n = 0;             // children to supervise
  std::vector<std::string> argv; // the child's command; argv[0] is an absolute path
  mode m = mode::steady;
};

// Paths that adapters need besides the workload, fixed for the whole run.
struct environment {
  std::string run_dir;   // the run's private mktemp directory
  std::string nodevisor; // the nodevisor binary
  std::string self;      // this executable (the floor serves from it)
  std::string otp_ebin;  // where otp_peer.beam was compiled
  std::string cgroup;    // "nv-peer-bench-XXXX": parent cgroup for systemd user managers
};

struct instance {
  const environment* env = nullptr;
  workload w;
  pid_t root = -1;  // the supervisor process launched by start() (its own session)
  int control = -1; // write end of the supervisor's stdin, for those stopped through it
  std::string name; // unique per instance (service dir names, cgroup names)
  std::string log;  // the supervisor's stdout and stderr
};

struct adapter {
  const char* name;
  // The configuration used, in a few words, for the JSON and the table.
  std::string (*config)(mode m);
  // Writes the configuration under w.dir; false with `error` when it cannot.
  bool (*prepare)(instance& in, std::string& error);
  // Launches the supervisor; sets in.root. Children come up asynchronously.
  bool (*start)(instance& in, std::string& error);
  // Sends the stop request and returns at once; the driver watches the children go.
  void (*stop)(instance& in);
  // What the tool itself reports about the crash-looping child, after the run.
  std::string (*state)(instance& in);
  // Undoes what prepare() did outside w.dir (the driver removes w.dir and kills every
  // process). May be null.
  void (*cleanup)(instance& in);
  // Kills child `pid` for the restart measurement. Null: the driver sends SIGKILL itself.
  void (*kill_child)(instance& in, pid_t pid);
};

const adapter& floor_adapter();
const adapter& nodevisor_adapter();
const adapter& runit_adapter();
const adapter& s6_adapter();
const adapter& daemontools_adapter();
const adapter& supervisord_adapter();
const adapter& systemd_adapter();
const adapter& otp_adapter();

// The floor server: runs in a child of the benchmark (peer_bench --floor-server N CMD...), so
// that it is measured from outside like every supervisor. Returns its exit code.
int floor_server(std::size_t n, const std::vector<std::string>& argv);

} // namespace nv::bench::peers
