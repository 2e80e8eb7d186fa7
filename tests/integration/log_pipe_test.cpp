// A log reader that stops reading (a paused pager, a stuck log shipper) must not stop
// supervision: `nodevisor run` with stderr a pipe nobody reads still starts its services and
// stops them on SIGTERM. And the log itself: it drops the oldest lines rather than block, and
// says how many once the pipe takes writes again.
#include <chrono>
#include <fcntl.h>
#include <functional>
#include <poll.h>
#include <regex>
#include <set>
#include <signal.h>
#include <spawn.h>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <spdlog/spdlog.h>

#include "app/logging.hpp"
#include "tests/integration/nodevisor_process.hpp"

using namespace nv_test;

namespace {

using steady = std::chrono::steady_clock;

// A pipe as small as Linux makes one (a page), so that a few lines fill it.
struct small_pipe {
  int read_end = -1, write_end = -1;
  small_pipe() {
    int fds[2];
    EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
    read_end = fds[0];
    write_end = fds[1];
    EXPECT_EQ(fcntl(write_end, F_SETPIPE_SZ, 4096), 4096);
  }
  ~small_pipe() {
    close(read_end);
    close_write_end();
  }
  void close_write_end() {
    if (write_end >= 0)
      close(write_end);
    write_end = -1;
  }
  // What the pipe holds now, and what arrives within `wait` after.
  std::string read_for(std::chrono::milliseconds wait) {
    std::string text;
    const auto deadline = steady::now() + wait;
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
      pollfd p{read_end, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(std::max<long>(0, left.count()))) <= 0)
        return text;
      char buf[4096];
      const auto n = read(read_end, buf, sizeof buf);
      if (n <= 0)
        return text;
      text.append(buf, static_cast<std::size_t>(n));
    }
  }
};

// `nodevisor ARGS...` with stdout collected and stderr into `err`, which the test never reads.
struct unread_stderr_run {
  pid_t pid = -1;
  int out = -1;
  std::string stdout_text;
  int status = -1;

  unread_stderr_run(std::vector<std::string> args, int err) {
    int o[2];
    EXPECT_EQ(pipe2(o, O_CLOEXEC), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, o[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err, 2);
    args.insert(args.begin(), NV_BINARY);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    EXPECT_EQ(posix_spawn(&pid, NV_BINARY, &fa, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(o[1]);
    out = o[0];
  }
  ~unread_stderr_run() {
    if (pid > 0 && status < 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    close(out);
  }
  void pump(std::chrono::milliseconds wait) {
    pollfd p{out, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(wait.count())) <= 0)
      return;
    char buf[4096];
    const auto n = read(out, buf, sizeof buf);
    if (n > 0)
      stdout_text.append(buf, static_cast<std::size_t>(n));
  }
  bool wait_for_stdout(const std::string& text, std::chrono::seconds limit) {
    const auto deadline = steady::now() + limit;
    while (stdout_text.find(text) == std::string::npos) {
      if (steady::now() > deadline)
        return false;
      pump(std::chrono::milliseconds{100});
    }
    return true;
  }
  // The exit code, or -1 when still running after `limit`.
  int wait_exit(std::chrono::seconds limit) {
    const auto deadline = steady::now() + limit;
    for (;;) {
      pump(std::chrono::milliseconds{50});
      int st = 0;
      if (waitpid(pid, &st, WNOHANG) == pid) {
        status = st;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      if (steady::now() > deadline)
        return -1;
    }
  }
};

std::string many_sleepers(int services) {
  std::string spec = "version: v1\ndeployment: many\nservices:\n";
  for (int i = 1; i <= services; ++i)
    spec += "  s" + std::to_string(i) +
            ":\n    image: {name: local/test}\n"
            "    command: {entrypoint: [\"/bin/sleep\", \"300\"]}\n";
  return spec;
}

// Runs `fn` when it goes out of scope, however the test left it.
struct at_scope_exit {
  std::function<void()> fn;
  ~at_scope_exit() { fn(); }
};

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

TEST_F(Run, SigtermStopsThreeHundredServicesWhileNobodyReadsTheLog) {
  auto spec = write_spec(many_sleepers(300));
  small_pipe err;
  // When the test fails, leave no sleeper behind.
  at_scope_exit cleanup{[this] {
    for (int pid : pids())
      kill(pid, SIGKILL);
  }};
  std::set<int> children;
  {
    unread_stderr_run nv{{"run", spec, "--log-level", "debug", "--trace", trace_path()},
                         err.write_end};
    err.close_write_end();
    ASSERT_TRUE(nv.wait_for_stdout("/many: healthy", std::chrono::seconds{60})) << nv.stdout_text;
    // The trace's writer may not have written the last pids yet when the status says healthy.
    const auto deadline = steady::now() + std::chrono::seconds{30};
    while ((children = pids()).size() < 300 && steady::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
    EXPECT_EQ(children.size(), 300u);

    kill(nv.pid, SIGTERM);
    const auto signalled = steady::now();
    const int code = nv.wait_exit(std::chrono::seconds{30});
    EXPECT_EQ(code, 0) << (code < 0 ? "still running 30 s after SIGTERM" : "") << nv.stdout_text;
    EXPECT_NE(nv.stdout_text.find("/many: stopped"), std::string::npos) << nv.stdout_text;
    std::printf("stopped 300 services %.1f s after SIGTERM with the log pipe full\n",
                std::chrono::duration<double>(steady::now() - signalled).count());
  }
  for (int pid : children)
    EXPECT_FALSE(alive(pid)) << "pid " << pid << " outlived nodevisor run";
  // What the pipe took before it was full: far from the 300 "running, pid" lines logged.
  EXPECT_LT(count(err.read_for(std::chrono::milliseconds{0}), "running, pid"), 300u);
}

TEST(AsyncLog, DropsTheOldestLinesWhileNobodyReadsAndSaysHowManyOnceTheReaderIsBack) {
  small_pipe pipe;
  constexpr int lines = 2000;
  std::string text;
  {
    nv::async_log log{pipe.write_end, 64};
    const auto start = steady::now();
    for (int i = 0; i < lines; ++i)
      spdlog::info("[/test] line {}", i);
    EXPECT_LT(steady::now() - start, std::chrono::seconds{1}) << "logging waited for the pipe";
    // The reader is back: the writer goes on with what the queue kept.
    const auto deadline = steady::now() + std::chrono::seconds{10};
    while (text.find("line " + std::to_string(lines - 1) + "\n") == std::string::npos &&
           steady::now() < deadline)
      text += pipe.read_for(std::chrono::milliseconds{100});
  }
  text += pipe.read_for(std::chrono::milliseconds{100});

  // Each gap in the lines is the oldest ones dropped, announced by a notice before the next
  // line. A notice counts what the queue overwrote up to the moment it is written, which may
  // include lines dropped just after the line it precedes was taken: so at every line at least
  // the lines missing so far have been announced, and at the end exactly those.
  const std::regex line_re{R"(\[info\] \[/test\] line (\d+)$)"};
  const std::regex notice_re{R"(\[warning\] \[/\] (\d+) log lines dropped)"};
  int last = -1, announced = 0, notices = 0, written = 0;
  std::istringstream in{text};
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (std::regex_search(l, m, notice_re)) {
      announced += std::stoi(m[1]);
      ++notices;
    } else if (std::regex_search(l, m, line_re)) {
      const int n = std::stoi(m[1]);
      EXPECT_GT(n, last) << l;
      EXPECT_GE(announced, n - written)
          << "lines missing before this one were not announced: " << l;
      last = n;
      ++written;
    } else {
      ADD_FAILURE() << "unexpected line: " << l;
    }
  }
  EXPECT_EQ(last, lines - 1) << "the newest line is kept";
  // Every line is either written or counted as dropped, and none is counted twice.
  EXPECT_EQ(written + announced, lines);
  EXPECT_GE(notices, 1);
}

TEST(AsyncLog, StopsWithinItsGraceWhenNobodyEverReads) {
  small_pipe pipe;
  const auto start = steady::now();
  {
    nv::async_log log{pipe.write_end, 64};
    for (int i = 0; i < 1000; ++i)
      spdlog::info("[/test] line {}", i);
  }
  EXPECT_LT(steady::now() - start, std::chrono::seconds{5});
}

} // namespace
