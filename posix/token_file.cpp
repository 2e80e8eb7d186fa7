#include "posix/token_file.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "posix/unique_fd.hpp"

namespace nv {

namespace {

// A bearer token is a few dozen bytes; a larger file is not a token file.
constexpr std::size_t max_token_bytes = 4096;

std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

} // namespace

token_read read_token_file(const std::filesystem::path& path) {
  const std::string file = path.string();
  auto refuse = [&](std::string why) { return token_read{{}, "token file " + file + ": " + why}; };
  // O_NONBLOCK: a FIFO in its place must not hang the daemon's start; it is refused below.
  unique_fd fd{::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)};
  if (!fd)
    return refuse(std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return refuse(std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    return refuse("not a regular file");
  const mode_t mode = st.st_mode & 07777;
  if (mode != 0600 && mode != 0400)
    return refuse("mode " + octal_mode(mode) +
                  ", but only its owner may read it (0600 or 0400); run: chmod 600 " + file);
  // Whoever owns the file can change the token; that must be this user or root.
  if (st.st_uid != ::geteuid() && st.st_uid != 0)
    return refuse("owned by uid " + std::to_string(st.st_uid) +
                  ", neither this process's user (uid " + std::to_string(::geteuid()) +
                  ") nor root; run: chown " + std::to_string(::geteuid()) + " " + file);
  std::string text;
  char buffer[512];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return refuse(std::strerror(errno));
    if (n == 0)
      break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > max_token_bytes)
      return refuse("larger than " + std::to_string(max_token_bytes) +
                    " bytes; a token file holds one line");
  }
  if (text.ends_with('\n'))
    text.pop_back();
  if (text.ends_with('\r'))
    text.pop_back();
  if (text.empty())
    return refuse("empty; write a token into it, e.g.: openssl rand -hex 32 > " + file);
  for (unsigned char c : text)
    if (c <= ' ' || c == 0x7f)
      return refuse("the token has a space, a control character or a second line; it must be "
                    "one line of printable characters");
  return {std::move(text), {}};
}

} // namespace nv
