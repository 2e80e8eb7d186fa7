#include "keeper/cgroup.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <mntent.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nv::keeper {

namespace {

// Where the v1 freezer hierarchy is mounted, from the mount table.
std::string freezer_mount() {
  std::string out;
  FILE* table = ::setmntent("/proc/self/mounts", "r");
  if (table == nullptr)
    return out;
  while (mntent* m = ::getmntent(table)) {
    if (std::strcmp(m->mnt_type, "cgroup") == 0 && ::hasmntopt(m, "freezer") != nullptr) {
      out = m->mnt_dir;
      break;
    }
  }
  ::endmntent(table);
  return out;
}

bool write_file(const std::string& path, std::string_view text) {
  unique_fd fd{::open(path.c_str(), O_WRONLY | O_CLOEXEC)};
  return fd && ::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size());
}

bool make_dir(const std::string& path) {
  return ::mkdir(path.c_str(), 0755) == 0 || errno == EEXIST;
}

} // namespace

std::optional<cgroup_tree> cgroup_tree::open(const std::string& instance, std::string& why) {
  auto mount = freezer_mount();
  if (mount.empty()) {
    why = "no cgroup v1 freezer hierarchy is mounted";
    return std::nullopt;
  }
  auto base = mount + "/nodevisor";
  auto path = base + "/" + instance;
  if (!make_dir(base) || !make_dir(path)) {
    why = "cannot create " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  if (::access((path + "/cgroup.procs").c_str(), W_OK) != 0) {
    why = path + "/cgroup.procs is not writable: " + std::strerror(errno);
    return std::nullopt;
  }
  return cgroup_tree{path};
}

unique_fd cgroup_tree::create(const std::string& name, std::string& error) const {
  auto dir = path_of(name);
  if (!make_dir(dir)) {
    error = "cgroup " + dir + ": " + std::strerror(errno);
    return {};
  }
  return join_fd(dir, error);
}

unique_fd join_fd(const std::string& dir, std::string& error) {
  unique_fd fd{::open((dir + "/tasks").c_str(), O_WRONLY | O_CLOEXEC)};
  if (!fd)
    error = "cgroup " + dir + "/tasks: " + std::strerror(errno);
  return fd;
}

std::vector<std::string> cgroup_tree::children() const {
  std::vector<std::string> out;
  DIR* d = ::opendir(path_.c_str());
  if (d == nullptr)
    return out;
  while (dirent* e = ::readdir(d))
    if (e->d_type == DT_DIR && e->d_name[0] != '.')
      out.push_back(path_of(e->d_name));
  ::closedir(d);
  return out;
}

std::vector<pid_t> cgroup_pids(const std::string& dir) {
  std::vector<pid_t> out;
  std::ifstream in{dir + "/cgroup.procs"};
  pid_t pid = 0;
  while (in >> pid)
    out.push_back(pid);
  return out;
}

std::size_t kill_cgroup(const std::string& dir) {
  // Empty (the common case: a container whose processes all exited), nothing in it can fork:
  // the freeze and thaw, a third of a millisecond, would be for nothing.
  if (cgroup_pids(dir).empty())
    return 0;
  auto state = dir + "/freezer.state";
  bool frozen = write_file(state, "FROZEN");
  std::size_t signalled = 0;
  auto kill_listed = [&] {
    auto pids = cgroup_pids(dir);
    for (pid_t pid : pids)
      if (::kill(pid, SIGKILL) == 0)
        ++signalled;
    return !pids.empty();
  };
  kill_listed();
  if (frozen)
    write_file(state, "THAWED");
  // Without the freeze (or while it was still under way) a process may have forked between the
  // read and the kill: again until nothing is listed. Dying processes may be listed a moment
  // longer, and a second SIGKILL does them no harm.
  for (int round = 0; round < 8 && kill_listed(); ++round) {
  }
  return signalled;
}

bool remove_cgroup(const std::string& dir) {
  return ::rmdir(dir.c_str()) == 0 || errno == ENOENT;
}

} // namespace nv::keeper
