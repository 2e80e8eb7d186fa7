#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <unistd.h>

namespace spdlog {
class logger;
namespace details {
class thread_pool;
} // namespace details
} // namespace spdlog

namespace nv {

class fd_sink;

// The default logger while the tree runs: spdlog's async logger, whose one thread (nv.log)
// writes to `fd`. Whoever logs only queues the line, so a reader that stops reading (a paused
// pager, a stuck log shipper) blocks that thread alone, never an actor or signal handling. A
// full queue drops its oldest lines; once the fd takes writes again, one line says how many.
class async_log {
public:
  // Each queued line is a preallocated slot of about 300 bytes, so the queue is part of the
  // node's resident memory: 1 024 lines is 0.3 MiB, and far more than a healthy stderr lags.
  explicit async_log(int fd = STDERR_FILENO, std::size_t queue_lines = 1024);
  // Writes out what is queued, waiting a short grace at most for the fd (exit must not hang on
  // a reader that never reads), and puts the previous default logger back.
  ~async_log();
  async_log(const async_log&) = delete;
  async_log& operator=(const async_log&) = delete;

private:
  // Destroyed in reverse: the pool goes last, joining its thread once the queue is written out.
  std::shared_ptr<spdlog::details::thread_pool> pool_;
  std::shared_ptr<fd_sink> sink_;
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<spdlog::logger> previous_;
};

// The default logger while the live status draws on the terminal stderr also writes to: each
// line, formatted (and coloured) as on stderr, is handed to `print` (the console's, which only
// queues it) so that it shows above the table instead of under it, where the next frame would
// erase it. Puts the previous default logger back when destroyed.
class console_log {
public:
  explicit console_log(std::function<void(std::string)> print);
  ~console_log();
  console_log(const console_log&) = delete;
  console_log& operator=(const console_log&) = delete;

private:
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<spdlog::logger> previous_;
};

// True when both fds are the same terminal (stdout and stderr of a shell).
bool same_terminal(int a, int b);

} // namespace nv
