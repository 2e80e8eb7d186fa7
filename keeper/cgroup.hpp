// One freezer cgroup (cgroup v1) per container, under <freezer mount>/nodevisor/<instance>: the
// way to find and kill everything a container started, including what left its process group
// (setsid, a double fork). Freezing first means nothing forks between the listing and the kill.
// Where no writable freezer hierarchy exists (not root, cgroup v2 only) the keeper does without,
// and says so: it then reaches what it started through process groups and, as a subreaper, the
// orphans that escaped them.
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "posix/unique_fd.hpp"

namespace nv::keeper {

class cgroup_tree {
public:
  // The instance's directory, created if missing; nullopt with `why` when there is none to use.
  static std::optional<cgroup_tree> open(const std::string& instance, std::string& why);

  const std::string& path() const { return path_; }

  // Makes the cgroup `name` and opens it for joining (join_fd). Empty, with `error`, on failure.
  unique_fd create(const std::string& name, std::string& error) const;
  std::string path_of(const std::string& name) const { return path_ + "/" + name; }

  // The cgroups left by an earlier keeper of this instance.
  std::vector<std::string> children() const;

private:
  explicit cgroup_tree(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// The cgroup's `tasks` file, open for writing: a child that writes "0" to it before its exec
// joins it, with everything it will start. `tasks`, not `cgroup.procs`: the forked child is a
// single thread, and moving only the calling thread spares the kernel the write lock on every
// thread group (cgroup_threadgroup_rwsem), whose RCU grace period cost each spawn ~14 ms.
unique_fd join_fd(const std::string& dir, std::string& error);

std::vector<pid_t> cgroup_pids(const std::string& dir);

// Freezes the cgroup, SIGKILLs every process in it, thaws it (the kills take effect then).
// Returns how many it signalled.
std::size_t kill_cgroup(const std::string& dir);

// rmdir; false while processes are still leaving it (dying ones take a moment).
bool remove_cgroup(const std::string& dir);

} // namespace nv::keeper
