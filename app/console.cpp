#include "app/console.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>

#include <spdlog/spdlog.h>

#include "posix/wait_writable.hpp"

namespace nv {

namespace {

using steady = std::chrono::steady_clock;

bool is_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

} // namespace

int terminal_width(int fd) {
  winsize ws{};
  if (ioctl(fd, TIOCGWINSZ, &ws) != 0)
    return 0;
  return ws.ws_col;
}

std::string fit_to_width(const std::string& text, int columns) {
  if (columns <= 0)
    return text;
  std::size_t chars = 0;
  std::size_t cut = std::string::npos; // where the last character that fits before "…" ends
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (is_continuation(text[i]))
      continue;
    if (chars == static_cast<std::size_t>(columns - 1))
      cut = i;
    if (++chars > static_cast<std::size_t>(columns))
      return text.substr(0, cut) + "\u2026";
  }
  return text;
}

console::console(int fd, bool draws_table, std::size_t queue_lines)
    : fd_{fd}, draws_table_{draws_table},
      queue_lines_{std::max<std::size_t>(queue_lines, 1)}, wake_{eventfd(0, EFD_CLOEXEC)} {
  // The writer takes no signals: `run` waits for them with sigtimedwait, which sees them only
  // while every thread blocks them; and a write to a closed pipe then fails with EPIPE instead
  // of killing the process.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  writer_ = std::thread{[this] {
    pthread_setname_np(pthread_self(), "nv.console");
    write_loop();
  }};
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

console::~console() {
  {
    std::lock_guard g{mu_};
    quit_ = true;
    deadline_ = steady::now() + exit_drain_grace;
  }
  cv_.notify_one();
  eventfd_write(wake_, 1);
  writer_.join();
  close(wake_);
}

void console::print(std::string line) {
  {
    std::lock_guard g{mu_};
    if (queue_.size() >= queue_lines_) {
      queue_.pop_front();
      ++dropped_;
    }
    queue_.push_back(std::move(line));
  }
  cv_.notify_one();
}

void console::show_table(std::vector<std::string> rows) {
  if (!draws_table_)
    return;
  {
    std::lock_guard g{mu_};
    if (rows == table_)
      return;
    table_ = std::move(rows);
    table_changed_ = true;
  }
  cv_.notify_one();
}

void console::write_loop() {
  std::vector<std::string> lines;
  for (;;) {
    std::size_t dropped = 0;
    bool redraw = false, quitting = false;
    {
      std::unique_lock g{mu_};
      cv_.wait(g, [&] { return quit_ || !queue_.empty() || table_changed_; });
      lines.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
      queue_.clear();
      dropped = std::exchange(dropped_, 0);
      redraw = std::exchange(table_changed_, false);
      quitting = quit_;
    }
    if (!closed_ && (!lines.empty() || dropped > 0 || redraw)) {
      if (!write_all(frame(lines, dropped)) && !closed_) {
        // The deadline at exit passed: what is left is lost.
        return;
      }
    }
    lines.clear();
    if (quitting) {
      std::lock_guard g{mu_};
      if (queue_.empty() && !table_changed_)
        return;
    }
  }
}

// Erases the table it drew (the cursor sits below it), prints the lines, draws the table again.
std::string console::frame(const std::vector<std::string>& lines, std::size_t dropped) {
  std::string out;
  std::vector<std::string> table;
  if (draws_table_) {
    std::lock_guard g{mu_};
    table = table_;
  }
  if (draws_table_ && table_lines_drawn_ > 0)
    out += "\r\x1b[" + std::to_string(table_lines_drawn_) + "A\x1b[J";
  if (dropped > 0)
    out += "[nodevisor] " + std::to_string(dropped) +
           " lines of output dropped: stdout's reader was not taking them\n";
  for (auto& l : lines) {
    out += l;
    out += '\n';
  }
  if (draws_table_) {
    // Cut to one column less than the width: a row that fills the last column would leave the
    // cursor waiting to wrap on some terminals, and the next erase would miss a line.
    const int width = terminal_width(fd_);
    for (auto& row : table) {
      out += width > 1 ? fit_to_width(row, width - 1) : row;
      out += '\n';
    }
    table_lines_drawn_ = table.size();
  }
  return out;
}

bool console::write_all(std::string_view text) {
  while (!text.empty()) {
    if (!wait_writable())
      return false;
    const auto n = write(fd_, text.data(), std::min<std::size_t>(text.size(), PIPE_BUF));
    if (n < 0 && errno != EINTR && errno != EAGAIN) {
      closed_ = true;
      spdlog::warn("[/_console] stdout: {}: no more output is shown there", std::strerror(errno));
      return false;
    }
    if (n > 0)
      text.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// True once the fd takes more; false at the exit deadline. A pipe whose reader left counts as
// writable: the write says EPIPE, and that is where it is handled.
bool console::wait_writable() {
  return nv::wait_writable(fd_, wake_, [this] {
           std::lock_guard g{mu_};
           return deadline_;
         }) != writable_wait::gave_up;
}

} // namespace nv
