#include "node/log_follow.hpp"

#include <algorithm>
#include <deque>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>
#include <vector>

#include "messages/printable.hpp"

namespace nv {

namespace {

// The last `n` lines of `path`, and the size read up to.
std::deque<std::string> tail_of(const std::filesystem::path& path, std::size_t n, uint64_t& size) {
  std::deque<std::string> lines;
  std::ifstream in{path, std::ios::binary};
  std::string line;
  size = 0;
  while (std::getline(in, line)) {
    if (in.eof())
      break; // unterminated: not a line yet
    size += line.size() + 1;
    lines.push_back(std::move(line));
    if (lines.size() > n)
      lines.pop_front();
  }
  return lines;
}

} // namespace

log_follow::log_follow(log_selection sel) : sel_{std::move(sel)} {}

std::string log_follow::prefix(const std::string& replica) const {
  return sel_.instance.empty() ? replica + " | " : std::string{};
}

void log_follow::scan_files() {
  auto head = sel_.deployment + "." + sel_.service + "-rep-";
  std::error_code ec;
  for (auto& entry : std::filesystem::directory_iterator{sel_.dir, ec}) {
    auto name = entry.path().filename().string();
    if (name.size() <= head.size() + 4 || name.rfind(head, 0) != 0 ||
        name.substr(name.size() - 4) != ".log")
      continue;
    auto replica =
        name.substr(sel_.deployment.size() + 1, name.size() - 4 - sel_.deployment.size() - 1);
    if (!sel_.instance.empty() && replica != sel_.instance)
      continue;
    files_.try_emplace(replica);
  }
}

void log_follow::read_new(std::string& out) {
  for (auto& [replica, f] : files_) {
    auto path = sel_.dir / (sel_.deployment + "." + replica + ".log");
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
      continue;
    off_t end = ::lseek(fd, 0, SEEK_END);
    if (end >= 0 && static_cast<uint64_t>(end) < f.offset) {
      f.offset = 0; // truncated: read it again from its start
      f.partial.clear();
    }
    char buf[65536];
    ssize_t n;
    while ((n = ::pread(fd, buf, sizeof buf, static_cast<off_t>(f.offset))) > 0) {
      f.offset += static_cast<uint64_t>(n);
      f.partial.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    std::size_t start = 0;
    for (auto nl = f.partial.find('\n'); nl != std::string::npos;
         nl = f.partial.find('\n', start)) {
      out +=
          prefix(replica) + printable(std::string_view{f.partial}.substr(start, nl - start)) + "\n";
      start = nl + 1;
    }
    f.partial.erase(0, start);
  }
}

bool log_follow::next(std::string& out, std::chrono::milliseconds wait, bool follow) {
  if (!started_) {
    started_ = true;
    if (follow) {
      // Watching before reading: nothing written in between is missed.
      inotify_ = unique_fd{::inotify_init1(IN_CLOEXEC | IN_NONBLOCK)};
      if (inotify_)
        ::inotify_add_watch(inotify_.get(), sel_.dir.c_str(),
                            IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE);
    }
    scan_files();
    for (auto& [replica, f] : files_) {
      auto lines =
          tail_of(sel_.dir / (sel_.deployment + "." + replica + ".log"), sel_.lines, f.offset);
      for (auto& l : lines)
        out += prefix(replica) + printable(l) + "\n";
    }
    return follow;
  }
  if (!follow || !inotify_)
    return false;
  pollfd p{inotify_.get(), POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(wait.count())) > 0) {
    char buf[4096];
    while (::read(inotify_.get(), buf, sizeof buf) > 0) {
    }
    scan_files(); // a replica that started since
    read_new(out);
  }
  return true;
}

} // namespace nv
