#include "posix/dir_watch.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nv {

bool is_manifest_name(std::string_view name) {
  if (name.empty() || name.front() == '.')
    return false;
  return name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json");
}

std::vector<std::filesystem::path> scan_manifests(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it{dir, ec}, end; !ec && it != end; it.increment(ec)) {
    // is_regular_file follows a symlink: a link to a spec counts, a dangling one does not.
    std::error_code type_ec;
    if (is_manifest_name(it->path().filename().string()) && it->is_regular_file(type_ec))
      out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::unique_ptr<dir_watch> dir_watch::start(const std::filesystem::path& dir,
                                            dir_watch_handlers handlers, std::string& error) {
  auto failed = [&](std::string_view what) {
    error = "cannot watch " + dir.string() + ": " + std::string{what} + ": " + std::strerror(errno);
    return nullptr;
  };
  unique_fd inotify{::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)};
  if (!inotify)
    return failed("inotify_init1");
  // IN_ONLYDIR: a file named like the directory is an error, not a watch on that file.
  constexpr uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE |
                            IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
  if (::inotify_add_watch(inotify.get(), dir.c_str(), mask) < 0)
    return failed("inotify_add_watch");
  unique_fd wake{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
  if (!wake)
    return failed("eventfd");
  std::unique_ptr<dir_watch> watch{
      new dir_watch{dir, std::move(handlers), std::move(inotify), std::move(wake)}};
  watch->thread_ = std::thread{[w = watch.get()] { w->run(); }};
  return watch;
}

dir_watch::dir_watch(std::filesystem::path dir, dir_watch_handlers handlers, unique_fd inotify,
                     unique_fd wake)
    : dir_(std::move(dir)), handlers_(std::move(handlers)), inotify_(std::move(inotify)),
      wake_(std::move(wake)) {}

dir_watch::~dir_watch() {
  stop();
}

void dir_watch::stop() {
  if (!thread_.joinable())
    return;
  const uint64_t one = 1;
  // An eventfd write only fails when its counter would overflow; the thread wakes either way.
  [[maybe_unused]] auto written = ::write(wake_.get(), &one, sizeof one);
  thread_.join();
}

void dir_watch::run() {
  auto report = [](const auto& handler, auto&&... args) {
    if (handler)
      handler(args...);
  };
  // Aligned for inotify_event; room for many events per read.
  alignas(inotify_event) char buffer[16 * (sizeof(inotify_event) + NAME_MAX + 1)];
  for (;;) {
    pollfd fds[2] = {{inotify_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      report(handlers_.on_gone); // cannot wait any more: say so rather than go quiet
      return;
    }
    if (fds[1].revents != 0)
      return;
    const ssize_t n = ::read(inotify_.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN)
        continue;
      report(handlers_.on_gone);
      return;
    }
    for (ssize_t at = 0; at < n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      if (event->mask & IN_Q_OVERFLOW) {
        report(handlers_.on_overflow);
        continue;
      }
      if (event->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)) {
        report(handlers_.on_gone);
        return;
      }
      if (event->len == 0)
        continue;
      const std::string_view name{event->name}; // NUL-padded to len
      if (!is_manifest_name(name))
        continue;
      const auto path = dir_ / std::string{name};
      if (event->mask & (IN_DELETE | IN_MOVED_FROM)) {
        report(handlers_.on_remove, path);
      } else if (event->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
        report(handlers_.on_change, path);
      } else if (event->mask & IN_CREATE) {
        // A created regular file is reported when it is closed after writing, not while it is
        // still empty; a symlink (`ln -s`) is complete when it is created.
        struct stat st {};
        if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
          report(handlers_.on_change, path);
      }
    }
  }
}

} // namespace nv
