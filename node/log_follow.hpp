// The logs endpoint's reader: the last lines of a service's replica log files
// (`<deployment>.<replica>.log` in the daemon's log directory, written by the keeper), then,
// when following, what is appended to them, woken by inotify rather than polling. Lines of
// several replicas are prefixed with the replica (`api-rep-2 | `), as `run` shows them.
// It follows by name, as `tail -F` does: when the keeper rotates a file (renames it to .1 and
// begins a new one), the rest of the old file is read through the descriptor still open on it,
// then the new one from its start; a file truncated under it is read again from its start.
// For the API's threads, which may wait.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "posix/unique_fd.hpp"

namespace nv {

struct log_selection {
  std::filesystem::path dir;
  std::string deployment;
  std::string service;
  std::size_t lines = 100; // from the end of each file, at the start
  std::string instance;    // a replica id; empty: every replica of the service
};

class log_follow {
public:
  explicit log_follow(log_selection sel);

  // Appends to `out` what there is (the tails on the first call, then complete new lines);
  // waits up to `wait` for more when following. False when there is nothing more to come
  // (not following, after the first call).
  bool next(std::string& out, std::chrono::milliseconds wait, bool follow);

private:
  struct file_state {
    unique_fd fd; // the file being read, kept open across a rename
    uint64_t dev = 0, ino = 0;
    uint64_t offset = 0;
    std::string partial; // an unterminated last line, kept until its end arrives
  };
  void scan_files();
  void read_new(std::string& out);
  void read_file(const std::string& replica, file_state& f, std::string& out);
  std::string prefix(const std::string& replica) const;
  std::filesystem::path path_of(const std::string& replica) const;

  log_selection sel_;
  bool started_ = false;
  unique_fd inotify_;
  std::map<std::string, file_state> files_; // by replica id
};

} // namespace nv
