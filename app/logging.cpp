#include "app/logging.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <pthread.h>
#include <string>
#include <string_view>
#include <sys/eventfd.h>
#include <sys/stat.h>

#include <spdlog/async.h>
#include <spdlog/fmt/fmt.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include "messages/printable.hpp"
#include "posix/wait_writable.hpp"

namespace nv {

namespace {

using steady = std::chrono::steady_clock;

// spdlog's colors for the level, as its stderr_color sink draws them on a terminal.
std::string_view level_color(spdlog::level::level_enum level) {
  switch (level) {
  case spdlog::level::trace:
    return "\033[37m";
  case spdlog::level::debug:
    return "\033[36m";
  case spdlog::level::info:
    return "\033[32m";
  case spdlog::level::warn:
    return "\033[33m\033[1m";
  case spdlog::level::err:
    return "\033[31m\033[1m";
  case spdlog::level::critical:
    return "\033[1m\033[41m";
  default:
    return {};
  }
}

// The writer thread takes no signals: `run` reads them from a signalfd, which only sees them
// while every thread blocks them, and a writer stuck on a full pipe could not act on one.
std::shared_ptr<spdlog::details::thread_pool> start_writer(std::size_t queue_lines) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  auto pool = std::make_shared<spdlog::details::thread_pool>(
      queue_lines, 1, [] { pthread_setname_np(pthread_self(), "nv.log"); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return pool;
}

} // namespace

// Writes lines with write(2) only once poll(2) says the fd takes more, and no more than
// PIPE_BUF at a time, so that a pipe never blocks it inside write: then it can stop waiting at
// a deadline. Its thread blocks every signal, so a reader that has gone away costs the line
// (EPIPE), not the process (SIGPIPE).
// A log line may quote what a workload printed (a StartFailed's last lines, an error reason):
// its control characters are escaped, so a container cannot drive the operator's terminal.
spdlog::details::log_msg printable_msg(const spdlog::details::log_msg& msg, std::string& storage) {
  storage = printable(std::string_view{msg.payload.data(), msg.payload.size()});
  auto safe = msg;
  safe.payload = spdlog::string_view_t{storage.data(), storage.size()};
  return safe;
}

class fd_sink final : public spdlog::sinks::base_sink<std::mutex> {
public:
  fd_sink(int fd, spdlog::details::thread_pool& pool)
      : fd_{fd}, wake_{eventfd(0, EFD_CLOEXEC)}, pool_{pool},
        color_{isatty(fd) == 1 && spdlog::details::os::is_color_terminal()} {}
  ~fd_sink() override { close(wake_); }

  // From now on, waits for the fd until `deadline` only; what cannot be written by then is lost.
  void give_up_at(steady::time_point deadline) {
    deadline_.store(deadline.time_since_epoch().count());
    eventfd_write(wake_, 1);
  }

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    report_dropped();
    std::string storage;
    if (!write_line(printable_msg(msg, storage)))
      ++dropped_;
  }
  // The last chance, at exit, to say how many lines were lost.
  void flush_() override { report_dropped(); }

private:
  // Lines the queue overwrote when full, and those this sink gave up on.
  void report_dropped() {
    const std::size_t total = pool_.overrun_counter() + dropped_;
    if (total == reported_)
      return;
    const std::string text = fmt::format("[/] {} log lines dropped: the log's reader was not "
                                         "taking them",
                                         total - reported_);
    if (write_line(spdlog::details::log_msg{"nodevisor", spdlog::level::warn, text}))
      reported_ = total;
  }

  bool write_line(const spdlog::details::log_msg& msg) {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    if (!color_ || msg.color_range_end <= msg.color_range_start)
      return write_all({line.data(), line.size()});
    const std::string_view text{line.data(), line.size()};
    std::string colored;
    colored.append(text.substr(0, msg.color_range_start));
    colored.append(level_color(msg.level));
    colored.append(text.substr(msg.color_range_start, msg.color_range_end - msg.color_range_start));
    colored.append("\033[m");
    colored.append(text.substr(msg.color_range_end));
    return write_all(colored);
  }

  bool write_all(std::string_view text) {
    while (!text.empty()) {
      if (!wait_writable())
        return false;
      const auto n = write(fd_, text.data(), std::min<std::size_t>(text.size(), PIPE_BUF));
      if (n < 0 && errno != EINTR && errno != EAGAIN)
        return false;
      if (n > 0)
        text.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // True once the fd takes more; false at the deadline or when it never will.
  bool wait_writable() {
    return nv::wait_writable(fd_, wake_, [this] {
             return steady::time_point{steady::duration{deadline_.load()}};
           }) == writable_wait::writable;
  }

  const int fd_;
  const int wake_;
  spdlog::details::thread_pool& pool_;
  const bool color_;
  std::atomic<int64_t> deadline_{0}; // steady_clock ticks; 0: wait as long as it takes
  std::size_t dropped_ = 0;
  std::size_t reported_ = 0;
};

async_log::async_log(int fd, std::size_t queue_lines)
    : pool_{start_writer(queue_lines)}, sink_{std::make_shared<fd_sink>(fd, *pool_)},
      logger_{std::make_shared<spdlog::async_logger>(
          "nodevisor", sink_, pool_, spdlog::async_overflow_policy::overrun_oldest)},
      previous_{spdlog::default_logger()} {
  spdlog::set_default_logger(logger_);
}

async_log::~async_log() {
  spdlog::set_default_logger(previous_);
  sink_->give_up_at(steady::now() + exit_drain_grace);
  logger_->flush();
}

namespace {

class print_sink final : public spdlog::sinks::base_sink<std::mutex> {
public:
  explicit print_sink(std::function<void(std::string)> print)
      : print_{std::move(print)}, color_{std::getenv("NO_COLOR") == nullptr} {}

protected:
  void sink_it_(const spdlog::details::log_msg& raw) override {
    std::string storage;
    auto msg = printable_msg(raw, storage);
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    std::string_view text{line.data(), line.size()};
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
      text.remove_suffix(1);
    std::string out;
    if (color_ && msg.color_range_end > msg.color_range_start &&
        msg.color_range_end <= text.size()) {
      out.append(text.substr(0, msg.color_range_start));
      out.append(level_color(msg.level));
      out.append(text.substr(msg.color_range_start, msg.color_range_end - msg.color_range_start));
      out.append("\033[m");
      out.append(text.substr(msg.color_range_end));
    } else {
      out.assign(text);
    }
    print_(std::move(out));
  }
  void flush_() override {}

private:
  std::function<void(std::string)> print_;
  const bool color_;
};

} // namespace

console_log::console_log(std::function<void(std::string)> print)
    : logger_{std::make_shared<spdlog::logger>("nodevisor",
                                               std::make_shared<print_sink>(std::move(print)))},
      previous_{spdlog::default_logger()} {
  spdlog::set_default_logger(logger_);
}

console_log::~console_log() {
  spdlog::set_default_logger(previous_);
}

bool same_terminal(int a, int b) {
  struct stat sa {
  }, sb{};
  if (isatty(a) != 1 || isatty(b) != 1 || fstat(a, &sa) != 0 || fstat(b, &sb) != 0)
    return false;
  return sa.st_rdev == sb.st_rdev;
}

} // namespace nv
