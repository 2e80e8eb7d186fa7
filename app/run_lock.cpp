#include "app/run_lock.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nv {

namespace {

constexpr const char* lock_dir = ".nodevisor";

// A deployment name as one file name: nothing that could climb out of the directory.
std::string file_name_of(const std::string& deployment) {
  std::string out;
  for (char c : deployment) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.';
    out.push_back(plain ? c : '_');
  }
  if (out.empty() || out[0] == '.')
    out.insert(out.begin(), '_');
  return out + ".lock";
}

std::string utc_now() {
  auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string read_all(int fd) {
  std::string text;
  char buf[512];
  for (off_t at = 0;;) {
    auto n = ::pread(fd, buf, sizeof buf, at);
    if (n <= 0 || text.size() > 4096)
      return text;
    text.append(buf, static_cast<std::size_t>(n));
    at += n;
  }
}

// "pid 1234, spec examples/web-stack.yaml, since 2026-12-02T17:00:00Z" from the holder's lines
// `pid=…`, `spec=…`, `since=…`; whatever of it the holder has written so far.
std::string describe_holder(const std::string& text) {
  std::string out;
  std::size_t at = 0;
  while (at < text.size()) {
    auto end = text.find('\n', at);
    if (end == std::string::npos)
      break; // a line still being written
    auto line = text.substr(at, end - at);
    at = end + 1;
    auto eq = line.find('=');
    if (eq == std::string::npos)
      continue;
    if (!out.empty())
      out += ", ";
    out += line.substr(0, eq) + " " + line.substr(eq + 1);
  }
  return out.empty() ? "pid unknown" : out;
}

std::string failed(const std::string& what, const std::string& path, int err) {
  return "cannot " + what + " " + path + ": " + std::strerror(err) +
         "; a second run of this deployment here would not be refused";
}

} // namespace

run_lock lock_deployment(const std::string& deployment, const std::string& spec_file) {
  run_lock lock;
  auto name = file_name_of(deployment);
  lock.path = std::string{lock_dir} + "/" + name;
  if (::mkdir(lock_dir, 0750) != 0 && errno != EEXIST) {
    lock.warning = failed("create", lock_dir, errno);
    return lock;
  }
  // Neither the directory nor the file is followed if it is a symlink: a planted link must not
  // get an arbitrary file truncated.
  unique_fd dir{::open(lock_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
  if (!dir) {
    lock.warning = failed("open", lock_dir, errno);
    return lock;
  }
  unique_fd fd{::openat(dir.get(), name.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640)};
  if (!fd) {
    lock.warning = failed("open", lock.path, errno);
    return lock;
  }
  ::fchmod(fd.get(), 0640); // whatever the umask made of it
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      lock.error = "deployment '" + deployment + "' already runs in this directory (" +
                   describe_holder(read_all(fd.get())) + "; lock " + lock.path +
                   "): stop that run first, or start this one from another directory";
    } else {
      lock.warning = failed("lock", lock.path, errno);
    }
    return lock;
  }
  std::string text =
      "pid=" + std::to_string(::getpid()) + "\nspec=" + spec_file + "\nsince=" + utc_now() + "\n";
  if (::ftruncate(fd.get(), 0) != 0 ||
      ::pwrite(fd.get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
    lock.warning = "cannot write " + lock.path + ": " + std::strerror(errno) +
                   "; a second run would be refused without naming this one";
  lock.fd = std::move(fd);
  return lock;
}

} // namespace nv
