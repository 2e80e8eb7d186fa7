#include "keeper/log_file.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nv {

namespace {

constexpr mode_t dir_mode = 0750;
constexpr mode_t file_mode = 0640;

std::string errno_text(int err) {
  return std::strerror(err);
}

// mkdir -p with an explicit mode: each directory made gets dir_mode whatever the umask.
int make_directories(const std::string& path) {
  for (std::size_t at = 1; at <= path.size(); ++at) {
    if (at != path.size() && path[at] != '/')
      continue;
    auto prefix = path.substr(0, at);
    if (::mkdir(prefix.c_str(), dir_mode) == 0) {
      ::chmod(prefix.c_str(), dir_mode);
      continue;
    }
    if (errno != EEXIST)
      return errno;
  }
  return 0;
}

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    auto n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

} // namespace

log_dir_outcome open_log_dir(const std::string& path) {
  log_dir_outcome out;
  auto refuse = [&](const std::string& why) {
    out.dir.reset();
    out.error = "--log-dir " + path + ": " + why;
    return std::move(out);
  };
  if (path.empty())
    return refuse("empty path");
  if (int err = make_directories(path); err != 0)
    return refuse("cannot create it: " + errno_text(err));
  out.dir.reset(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!out.dir)
    return refuse("cannot open it: " + errno_text(errno));
  struct stat st {};
  if (::fstat(out.dir.get(), &st) != 0)
    return refuse(errno_text(errno));
  if (st.st_uid != ::geteuid() && st.st_uid != 0)
    return refuse("owned by uid " + std::to_string(st.st_uid) +
                  ", not by nodevisor's user or root: another user could plant links in it; use "
                  "a directory of your own");
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return refuse(std::string{"mode "} + mode +
                  " lets other users write to it (they could plant links to any file): use a "
                  "directory only its owner can write to, e.g. chmod 0750");
  }
  if (::access(path.c_str(), W_OK | X_OK) != 0)
    return refuse("cannot write to it: " + errno_text(errno));
  return out;
}

std::string rfc3339_utc_ms(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  auto secs = static_cast<std::time_t>(ms / 1000);
  if (ms % 1000 < 0)
    --secs;
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(((ms % 1000) + 1000) % 1000));
  return text;
}

log_file::log_file(int dir, const std::string& dir_path, const std::string& name,
                   const std::string& id, uint64_t max_size, uint32_t max_files)
    : dir_(dir), dir_path_(dir_path), name_(name), max_size_(max_size), max_files_(max_files) {
  if (!open_file())
    return;
  auto now = rfc3339_utc_ms(std::chrono::system_clock::now());
  write_all(fd_.get(), now + " --- nodevisor keeper (pid " + std::to_string(::getpid()) +
                           ") started " + id + " ---\n");
}

bool log_file::open_file() {
  auto path = dir_path_ + "/" + name_;
  // O_NONBLOCK: a FIFO planted under the name must not hold the open; it is refused below.
  fd_.reset(::openat(dir_, name_.c_str(),
                     O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
                     file_mode));
  if (!fd_) {
    int err = errno;
    error_ = "log file '" + path + "': " +
             (err == ELOOP ? std::string{"is a symbolic link, which is not followed; remove it"}
                           : errno_text(err));
    return false;
  }
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
    fd_.reset();
    error_ = "log file '" + path +
             "': not a regular file with a single link, so not written to; remove it";
    return false;
  }
  ::fchmod(fd_.get(), file_mode); // the umask had its say at creation; an old file keeps 0640 too
  int flags = ::fcntl(fd_.get(), F_GETFL);
  ::fcntl(fd_.get(), F_SETFL, flags & ~O_NONBLOCK);
  size_ = static_cast<uint64_t>(st.st_size);
  return true;
}

uint64_t log_file::on_disk() {
  // Someone may have truncated the file (`truncate -s 0`, logrotate's copytruncate): appends go
  // to its new end, and the size counted here would rotate it early.
  struct stat st {};
  if (::fstat(fd_.get(), &st) == 0)
    size_ = static_cast<uint64_t>(st.st_size);
  return size_;
}

void log_file::rotate() {
  fd_.reset();
  auto numbered = [this](uint32_t n) { return name_ + "." + std::to_string(n); };
  if (max_files_ == 0) {
    ::unlinkat(dir_, name_.c_str(), 0);
  } else {
    for (uint32_t n = max_files_; n > 1; --n)
      ::renameat(dir_, numbered(n - 1).c_str(), dir_, numbered(n).c_str());
    ::renameat(dir_, name_.c_str(), dir_, numbered(1).c_str());
  }
  open_file();
}

log_file::~log_file() {
  close();
}

void log_file::close() {
  if (fd_ && !at_line_start_)
    write_all(fd_.get(), "\n");
  fd_.reset();
  at_line_start_ = true;
}

void log_file::write(std::string_view bytes) {
  if (!fd_ || bytes.empty())
    return;
  buffer_.clear();
  std::string stamp;
  while (!bytes.empty()) {
    if (at_line_start_) {
      if (stamp.empty())
        stamp = rfc3339_utc_ms(std::chrono::system_clock::now()) + " ";
      buffer_ += stamp;
    }
    auto nl = bytes.find('\n');
    auto line = bytes.substr(0, nl == std::string_view::npos ? bytes.size() : nl + 1);
    buffer_.append(line);
    at_line_start_ = nl != std::string_view::npos;
    bytes.remove_prefix(line.size());
    // Rotated between lines only, so that no line is split across two files.
    // A line that never ends is cut at twice the size, so the files stay bounded all the same.
    const uint64_t limit = at_line_start_ ? max_size_ : 2 * max_size_;
    if (max_size_ > 0 && size_ + buffer_.size() >= limit && on_disk() + buffer_.size() >= limit) {
      write_all(fd_.get(), buffer_);
      buffer_.clear();
      rotate();
      if (!fd_)
        return;
    }
  }
  write_all(fd_.get(), buffer_);
  size_ += buffer_.size();
}

} // namespace nv
