// Watching the daemon's `--manifests DIR` with inotify: which spec files appeared, changed or
// went away, reported from a thread of the watcher's own.
//
// A thread rather than a descriptor for the caller to poll: the daemon's callers are CAF actors,
// which must not block in poll(2), and the callbacks only need to hand a path to an actor (a
// message send), which any thread may do.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "posix/unique_fd.hpp"

namespace nv {

// "*.yaml", "*.yml" and "*.json", but not hidden files: editors keep their swap and lock files
// as dot files (emacs' ".#web.yaml" is a symlink that ends in .yaml), and kubelet's static pod
// directory skips them for the same reason.
bool is_manifest_name(std::string_view file_name);

// The manifest files now in `dir` (regular files, or symlinks to them), sorted by name, so that
// a start-up applies them in a stable order. Empty when the directory cannot be read.
std::vector<std::filesystem::path> scan_manifests(const std::filesystem::path& dir);

struct dir_watch_handlers {
  // A manifest was written and closed, moved or renamed into the directory (editors write a
  // temporary file, then rename it over the old one), or a symlink to one was created. It may
  // have the same content as before: the caller compares.
  std::function<void(const std::filesystem::path&)> on_change;
  // A manifest was deleted, or moved or renamed out of the directory.
  std::function<void(const std::filesystem::path&)> on_remove;
  // The kernel's event queue overflowed, so events were lost: scan_manifests() again and
  // compare with what is known.
  std::function<void()> on_overflow;
  // The directory itself was deleted, moved or unmounted (or the watch failed): nothing is
  // watched any more.
  std::function<void()> on_gone;
  // The handlers run on the watcher's thread, one at a time, and must not throw.
};

class dir_watch {
public:
  // Starts watching `dir` and its thread. Null, with `error` naming the directory and the
  // cause, when it cannot be watched. Start watching before calling scan_manifests(), so that
  // a file written in between is seen at least once.
  static std::unique_ptr<dir_watch> start(const std::filesystem::path& dir,
                                          dir_watch_handlers handlers, std::string& error);

  // Stops the thread (woken by an eventfd) and waits for it: after stop() returns, no handler
  // runs any more. Must not be called from a handler.
  void stop();
  ~dir_watch();

  dir_watch(const dir_watch&) = delete;
  dir_watch& operator=(const dir_watch&) = delete;

private:
  dir_watch(std::filesystem::path dir, dir_watch_handlers handlers, unique_fd inotify,
            unique_fd wake);
  void run();

  std::filesystem::path dir_;
  dir_watch_handlers handlers_;
  unique_fd inotify_;
  unique_fd wake_;
  std::thread thread_;
};

} // namespace nv
