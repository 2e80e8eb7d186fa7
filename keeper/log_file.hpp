// A replica's output on disk, written by the keeper: <dir>/<name>, each line prefixed by the
// time its first bytes were read (RFC 3339, UTC, milliseconds) and a space, and each start of
// the replica marked by a line of its own, so that a new run (or a restart) never continues an
// old one's file unannounced. Rotated by size as logrotate's `rotate N` does: the file becomes
// <name>.1, <name>.1 becomes <name>.2, and so on up to <name>.N, and a new file begins (so a
// reader that follows by name, tail -F, sees it replaced).
//
// Written as root, the directory must not let anyone else plant a file or a link in it: it is
// refused when group or others may write to it (a sticky bit does not excuse it) or when it is
// owned by anyone but nodevisor's user or root. Files are opened without following a symbolic
// link, refused unless they are a regular file with one link, and given mode 0640 whatever the
// umask; a directory nodevisor creates gets 0750.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "posix/unique_fd.hpp"

namespace nv {

struct log_dir_outcome {
  unique_fd dir;     // O_DIRECTORY descriptor the files are opened under
  std::string error; // non-empty: refused, one line naming the directory and the remedy
};

// Creates `path` (and missing parents, 0750) if needed and checks it as above.
log_dir_outcome open_log_dir(const std::string& path);

// "2026-12-02T16:57:51.123Z"
std::string rfc3339_utc_ms(std::chrono::system_clock::time_point t);

class log_file {
public:
  log_file() = default;
  // Opens (or creates) `<dir>/<name>` under the directory descriptor and writes the start marker
  // naming `id`. max_size 0: never rotated. On failure `error()` says why and writes do nothing.
  log_file(int dir, const std::string& dir_path, const std::string& name, const std::string& id,
           uint64_t max_size = 0, uint32_t max_files = 0);
  // Ends an unterminated last line, so that the next start's marker begins a line of its own.
  ~log_file();
  log_file(log_file&&) = default;
  log_file& operator=(log_file&&) = default;

  // Ends an unterminated last line and closes the file.
  void close();

  explicit operator bool() const { return static_cast<bool>(fd_); }
  const std::string& error() const { return error_; }

  // Raw output, cut into lines here; a line split across calls gets one timestamp. Best effort:
  // a full disk loses file lines, while the in-memory ring still has them.
  void write(std::string_view bytes);

private:
  bool open_file();
  uint64_t on_disk(); // the file's size as it is now, remembered
  void rotate();

  int dir_ = -1;
  std::string dir_path_, name_;
  uint64_t max_size_ = 0;
  uint32_t max_files_ = 0;
  uint64_t size_ = 0;
  unique_fd fd_;
  std::string error_;
  bool at_line_start_ = true;
  std::string buffer_; // reused between writes
};

} // namespace nv
