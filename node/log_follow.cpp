#include "node/log_follow.hpp"

#include <deque>
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "messages/printable.hpp"

namespace nv {

namespace {

bool same_file(const struct stat& st, uint64_t dev, uint64_t ino) {
  return static_cast<uint64_t>(st.st_dev) == dev && static_cast<uint64_t>(st.st_ino) == ino;
}

// Opens `path` for `f` from its start (a file that is not there yet leaves `f` closed).
void open_from_start(const std::filesystem::path& path, unique_fd& fd, uint64_t& dev,
                     uint64_t& ino) {
  fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  struct stat st {};
  if (fd && ::fstat(fd.get(), &st) == 0) {
    dev = static_cast<uint64_t>(st.st_dev);
    ino = static_cast<uint64_t>(st.st_ino);
  } else {
    fd.reset();
  }
}

// Appends what `fd` holds from `offset` to its end to `into`.
void read_to_end(int fd, uint64_t& offset, std::string& into) {
  char buf[65536];
  ssize_t n;
  while ((n = ::pread(fd, buf, sizeof buf, static_cast<off_t>(offset))) > 0) {
    offset += static_cast<uint64_t>(n);
    into.append(buf, static_cast<std::size_t>(n));
  }
}

// The last `n` complete lines of `fd`, read a chunk at a time so that memory stays with them;
// `offset` ends up at the end and `partial` holds an unterminated last line.
std::deque<std::string> last_lines(int fd, std::size_t n, uint64_t& offset, std::string& partial) {
  std::deque<std::string> lines;
  char buf[65536];
  ssize_t got;
  while ((got = ::pread(fd, buf, sizeof buf, static_cast<off_t>(offset))) > 0) {
    offset += static_cast<uint64_t>(got);
    std::string_view chunk{buf, static_cast<std::size_t>(got)};
    for (auto nl = chunk.find('\n'); nl != std::string_view::npos; nl = chunk.find('\n')) {
      partial.append(chunk.substr(0, nl));
      chunk.remove_prefix(nl + 1);
      lines.push_back(std::move(partial));
      partial.clear();
      if (lines.size() > n)
        lines.pop_front();
    }
    partial.append(chunk);
  }
  return lines;
}

} // namespace

log_follow::log_follow(log_selection sel) : sel_{std::move(sel)} {}

std::string log_follow::prefix(const std::string& replica) const {
  return sel_.instance.empty() ? replica + " | " : std::string{};
}

std::filesystem::path log_follow::path_of(const std::string& replica) const {
  return sel_.dir / (sel_.deployment + "." + replica + ".log");
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

void log_follow::read_file(const std::string& replica, file_state& f, std::string& out) {
  auto emit_lines = [&] {
    std::size_t start = 0;
    for (auto nl = f.partial.find('\n'); nl != std::string::npos;
         nl = f.partial.find('\n', start)) {
      out +=
          prefix(replica) + printable(std::string_view{f.partial}.substr(start, nl - start)) + "\n";
      start = nl + 1;
    }
    f.partial.erase(0, start);
  };
  auto path = path_of(replica);
  if (!f.fd)
    open_from_start(path, f.fd, f.dev, f.ino);
  if (!f.fd)
    return;
  struct stat st {};
  if (::fstat(f.fd.get(), &st) == 0 && static_cast<uint64_t>(st.st_size) < f.offset) {
    f.offset = 0; // truncated: read it again from its start
    f.partial.clear();
  }
  read_to_end(f.fd.get(), f.offset, f.partial);
  emit_lines();
  // Rotated: the file read so far is now <name>.1 (read to its end above), and a new one has
  // its name. A file that came and went between two reads is <name>.1 itself: read it whole.
  struct stat now {};
  if (::stat(path.c_str(), &now) != 0 || same_file(now, f.dev, f.ino))
    return;
  auto rotated = path;
  rotated += ".1";
  struct stat first {};
  if (::stat(rotated.c_str(), &first) == 0 && !same_file(first, f.dev, f.ino) &&
      !same_file(first, static_cast<uint64_t>(now.st_dev), static_cast<uint64_t>(now.st_ino))) {
    unique_fd between;
    uint64_t dev = 0, ino = 0, offset = 0;
    open_from_start(rotated, between, dev, ino);
    if (between)
      read_to_end(between.get(), offset, f.partial);
    emit_lines();
  }
  // A line the old file left unterminated ended there (the keeper ends it before it rotates).
  if (!f.partial.empty())
    f.partial += '\n';
  emit_lines();
  open_from_start(path, f.fd, f.dev, f.ino);
  f.offset = 0;
  if (f.fd) {
    read_to_end(f.fd.get(), f.offset, f.partial);
    emit_lines();
  }
}

void log_follow::read_new(std::string& out) {
  for (auto& [replica, f] : files_)
    read_file(replica, f, out);
}

bool log_follow::next(std::string& out, std::chrono::milliseconds wait, bool follow) {
  if (!started_) {
    started_ = true;
    if (follow) {
      // Watching before reading: nothing written in between is missed.
      inotify_ = unique_fd{::inotify_init1(IN_CLOEXEC | IN_NONBLOCK)};
      if (inotify_)
        ::inotify_add_watch(inotify_.get(), sel_.dir.c_str(),
                            IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE);
    }
    scan_files();
    for (auto& [replica, f] : files_) {
      open_from_start(path_of(replica), f.fd, f.dev, f.ino);
      if (!f.fd)
        continue;
      auto lines = last_lines(f.fd.get(), sel_.lines, f.offset, f.partial);
      for (auto l : lines)
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
