// The keeper (design §9): the process that holds a node's containers. It is their parent and a
// subreaper, holds their exit statuses and their output (written to their log files), and outlives
// the process runtime that drives it, so that a daemon can die, crash or be replaced while its
// containers run on; the next daemon connects and is told what the keeper holds. One keeper per
// node, not one per container (docs/keeper.md has the measurements behind the choice).
//
// It holds no policy: it spawns, signals, kills and reports, as the runtime asks
// (keeper/protocol.hpp). It is single-threaded: one epoll loop over its socket, every child's
// output pipe, a signalfd (exits come as SIGCHLD) and the deadlines of stops and execs. A
// child's output is written to its file as it comes, so a container never blocks on a full pipe
// and never gets SIGPIPE because the daemon went away.
//
// Two modes:
// - attached (`run`): its one connection is an inherited socket. When that ends (the runtime's
//   process died, by whatever signal), it kills everything it holds and exits.
// - listening (the daemon): a socket in the state directory that each new daemon connects to. A
//   connection that ends leaves the containers running; SIGTERM or a shutdown request kills
//   them all and ends the keeper.
// It is in a session of its own, so a signal to the daemon's process group does not reach it.
#pragma once

#include <cstdint>
#include <string>

namespace nv::keeper {

struct options {
  int attach_fd = -1; // >= 0: attached mode on this connected socket
  // Listening mode: the socket (0600) new runtimes connect to; its pid goes to keeper.pid in the
  // same directory.
  std::string listen_path;
  std::string log_dir;     // where the log files named by spawn requests go; empty: none
  std::string cgroup_name; // its cgroups go under <freezer>/nodevisor/<cgroup_name>
  // Per container, the bytes of output kept in memory for the last lines an exit reports; and
  // the most all of them together may hold (each then gets its share).
  std::size_t tail_bytes = 8 * 1024;
  std::size_t tail_total = 4 * 1024 * 1024;
};

// Runs until it is told to end (or, attached, its connection ends); returns the exit status.
int run(const options& opts);

} // namespace nv::keeper
