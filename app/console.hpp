// The one owner of `run`'s stdout: service output, nodevisor's own event lines and the live
// status table all go through it. Its own thread writes; whoever prints only queues, so a
// reader that stops reading (a paused pager, `| less` scrolled back) blocks that thread alone,
// never an actor or the process runtime's I/O thread.
//
// Lines scroll as on any terminal. On a terminal the table sits below them: each frame erases
// the table (and only the table), prints the lines that came since, and draws the table again,
// every row cut to the terminal's width so that none wraps. A full queue drops its oldest lines
// and one line says how many. A stdout that is closed (EPIPE: `run ... | head -1`) ends the
// printing, said once on stderr; supervision goes on.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unistd.h>
#include <vector>

namespace nv {

class console {
public:
  // `draws_table`: the fd is a terminal the table is drawn on; without it show_table is ignored.
  explicit console(int fd = STDOUT_FILENO, bool draws_table = false,
                   std::size_t queue_lines = 4096);
  // Writes out what is queued and the last table, waiting a short grace at most for the fd
  // (exit must not hang on a reader that never reads).
  ~console();
  console(const console&) = delete;
  console& operator=(const console&) = delete;

  // One line (without '\n'), shown above the table. Never blocks on the fd.
  void print(std::string line);
  // The table's new rows (without '\n'), replacing the previous ones at the next frame.
  void show_table(std::vector<std::string> rows);

private:
  void write_loop();
  // False when the fd will take no more (closed, or the deadline passed).
  bool write_all(std::string_view text);
  bool wait_writable();
  std::string frame(const std::vector<std::string>& lines, std::size_t dropped);

  const int fd_;
  const bool draws_table_;
  const std::size_t queue_lines_;
  const int wake_; // eventfd: the destructor's deadline was set

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::size_t dropped_ = 0; // overwritten lines not yet reported
  std::vector<std::string> table_;
  bool table_changed_ = false;
  bool quit_ = false;
  std::chrono::steady_clock::time_point deadline_{}; // set with quit_

  // The writer thread's own.
  std::size_t table_lines_drawn_ = 0;
  bool closed_ = false; // the fd refused a write for good

  std::thread writer_; // last: starts after everything it uses exists
};

// The number of terminal columns of `fd`, or 0 when it is not a terminal or will not say.
int terminal_width(int fd);

// `text` cut to at most `columns` characters (a UTF-8 sequence counted as one), its last one
// "…" when cut. For text without escape sequences (the table's).
std::string fit_to_width(const std::string& text, int columns);

} // namespace nv
