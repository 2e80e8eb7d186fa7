// One `nodevisor run` per deployment per working directory: each run holds an flock on
// `.nodevisor/<deployment>.lock` in the directory it was started in. The kernel releases the
// lock when the run ends however it ends (SIGKILL and crashes included), so a dead run never
// blocks the next one; the file itself stays, holding the last holder's pid, spec and start.
#pragma once

#include <optional>
#include <string>

#include "posix/unique_fd.hpp"

namespace nv {

struct run_lock {
  unique_fd fd;        // held for the whole run; invalid when no lock could be taken
  std::string path;    // e.g. ".nodevisor/web-stack.lock"
  std::string error;   // why the run must not go on (another run holds the lock), else empty
  std::string warning; // why no lock could be taken (e.g. a read-only directory), else empty
};

// Takes the lock of `deployment` in the current directory, writing this run's pid, spec file
// and start time into it. Another live run of the same deployment here: `error` names it.
// A directory where the lock cannot be made: `warning` says so and the run goes on unlocked.
run_lock lock_deployment(const std::string& deployment, const std::string& spec_file);

} // namespace nv
