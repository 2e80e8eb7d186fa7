// What `nodevisor run` shows on stdout: the services' output, prefixed by replica as
// `docker compose up` shows it, and on a terminal the live status table, read here from a
// pseudo-terminal. Deadlines are generous; nothing here asserts how fast the machine is.
#include <algorithm>
#include <chrono>
#include <map>
#include <pty.h>
#include <string>
#include <sys/ioctl.h>
#include <vector>

#include "tests/integration/nodevisor_process.hpp"

using namespace nv_test;

namespace {

const char* two_replicas = R"(version: v1
deployment: chat
services:
  api:
    image: {name: local/test}
    command: {entrypoint: ["sh", "-c", "echo hello from $NODEVISOR_REPLICA; echo bye >&2; sleep 300"]}
    scale: {mode: fixed, replicas: 2}
)";

TEST_F(Run, EachReplicasOutputIsShownWithItsPrefixAndNoColourOnAPipe) {
  auto spec = write_spec(two_replicas);
  nodevisor_process nv{{"run", spec}};
  ASSERT_TRUE(nv.wait_for_stdout("api-rep-1 | hello from 1\n")) << nv.stdout_text;
  ASSERT_TRUE(nv.wait_for_stdout("api-rep-2 | hello from 2\n")) << nv.stdout_text;
  // stderr of the service too.
  ASSERT_TRUE(nv.wait_for_stdout("api-rep-2 | bye\n")) << nv.stdout_text;
  ASSERT_TRUE(nv.wait_for_stdout("api-rep-1 | bye\n")) << nv.stdout_text;
  // The plain state lines stay, interleaved.
  ASSERT_TRUE(nv.wait_for_stdout("/chat: healthy\n")) << nv.stdout_text;
  kill(nv.pid, SIGTERM);
  EXPECT_EQ(nv.wait_exit(), 0) << nv.stderr_text;
  EXPECT_EQ(nv.stdout_text.find('\x1b'), std::string::npos) << "colour on a pipe";
}

TEST_F(Run, PrefixesArePaddedToTheLongestReplicaId) {
  auto spec = write_spec(R"(version: v1
deployment: pad
services:
  a:
    image: {name: local/test}
    command: {entrypoint: ["sh", "-c", "echo short; sleep 300"]}
  longer:
    image: {name: local/test}
    command: {entrypoint: ["sh", "-c", "echo long; sleep 300"]}
)");
  nodevisor_process nv{{"run", spec}};
  EXPECT_TRUE(nv.wait_for_stdout("a-rep-1      | short\n")) << nv.stdout_text;
  EXPECT_TRUE(nv.wait_for_stdout("longer-rep-1 | long\n")) << nv.stdout_text;
  kill(nv.pid, SIGTERM);
  EXPECT_EQ(nv.wait_exit(), 0);
}

TEST_F(Run, AServicesControlCharactersAreEscapedOnStdout) {
  auto spec = write_spec(R"(version: v1
deployment: rude
services:
  evil:
    image: {name: local/test}
    command: {entrypoint: [printf, 'retitle \033]0;owned\007 clear \033[2J done\n']}
    rtype: job
)");
  nodevisor_process nv{{"run", spec, "--until", "healthy"}};
  EXPECT_EQ(nv.wait_exit(), 0) << nv.stdout_text << nv.stderr_text;
  EXPECT_NE(nv.stdout_text.find(R"(evil-rep-1 | retitle \x1b]0;owned\x07 clear \x1b[2J done)"),
            std::string::npos)
      << nv.stdout_text;
  EXPECT_EQ(nv.stdout_text.find('\x1b'), std::string::npos);
  EXPECT_EQ(nv.stdout_text.find('\x07'), std::string::npos);
}

TEST_F(Run, WorkloadTextQuotedInALogLineIsEscapedOnStderr) {
  // An init step's failure quotes the last line its command printed, in a warning on stderr.
  auto spec = write_spec(R"(version: v1
deployment: rude
supervision: {max_restarts: 1, window: 60s, backoff: {initial: 10ms, max: 20ms}}
services:
  evil:
    image: {name: local/test}
    command: {entrypoint: [sleep, "30"]}
    init:
      steps:
        - id: taunt
          uses: init.run
          with: {command: "printf 'clear \\033[2J retitle \\033]0;owned\\007\\n'; exit 3"}
)");
  nodevisor_process nv{{"run", spec, "--until", "healthy", "--quiet"}};
  EXPECT_EQ(nv.wait_exit(), 1) << nv.stdout_text << nv.stderr_text;
  EXPECT_NE(nv.stderr_text.find(R"(clear \x1b[2J retitle \x1b]0;owned\x07)"), std::string::npos)
      << nv.stderr_text;
  EXPECT_EQ(nv.stderr_text.find('\x1b'), std::string::npos);
  EXPECT_EQ(nv.stdout_text.find('\x1b'), std::string::npos);
}

TEST_F(Run, QuietShowsNoServiceOutput) {
  auto marker = (dir / "printed").string();
  auto spec = write_spec(replace_all(R"(version: v1
deployment: hush
services:
  api:
    image: {name: local/test}
    command: {entrypoint: ["sh", "-c", "echo secret-line; touch MARKER; sleep 300"]}
)",
                                     "MARKER", marker));
  nodevisor_process nv{{"run", spec, "--quiet"}};
  ASSERT_TRUE(nv.wait_for_stdout("/hush: healthy")) << nv.stdout_text;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!fs::exists(marker) && std::chrono::steady_clock::now() < deadline)
    nv.pump(100ms);
  ASSERT_TRUE(fs::exists(marker));
  kill(nv.pid, SIGTERM);
  EXPECT_EQ(nv.wait_exit(), 0);
  // The line was written before the marker, and a stop reads what the process left in the pipe.
  EXPECT_EQ(nv.stdout_text.find("secret-line"), std::string::npos) << nv.stdout_text;
  EXPECT_NE(nv.stdout_text.find("/hush: stopped"), std::string::npos) << nv.stdout_text;
}

// `nodevisor run` on a pseudo-terminal of `columns` columns, its output collected.
struct on_terminal {
  pid_t pid = -1;
  int master = -1;
  std::string bytes;
  int status = -1;

  on_terminal(std::vector<std::string> args, unsigned short columns) {
    winsize ws{};
    ws.ws_row = 50;
    ws.ws_col = columns;
    args.insert(args.begin(), NV_BINARY);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    pid = forkpty(&master, nullptr, nullptr, &ws);
    if (pid == 0) {
      unsetenv("NO_COLOR");
      execv(NV_BINARY, argv.data());
      _exit(127);
    }
  }
  ~on_terminal() {
    if (pid > 0 && status < 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    close(master);
  }
  void pump(std::chrono::milliseconds wait) {
    pollfd p{master, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(wait.count())) <= 0)
      return;
    char buf[8192];
    auto n = read(master, buf, sizeof buf);
    if (n > 0)
      bytes.append(buf, static_cast<std::size_t>(n));
  }
  int wait_exit(std::chrono::seconds limit = 60s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      pump(50ms);
      int st = 0;
      if (waitpid(pid, &st, WNOHANG) == pid) {
        status = st;
        for (int i = 0; i < 20; ++i)
          pump(10ms);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
    }
    return -1;
  }
};

// Without colour sequences ("\x1b[...m").
std::string strip_colour(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\x1b' && i + 1 < text.size() && text[i + 1] == '[') {
      auto end = text.find_first_of("mAJ", i + 2);
      if (end != std::string::npos && text[end] == 'm') {
        i = end;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  for (auto nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', at)) {
    auto line = text.substr(at, nl - at);
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    out.push_back(line);
    at = nl + 1;
  }
  return out;
}

// Each table the stream drew, as its lines: every frame starts by erasing the previous table
// (ESC[nA ESC[J), then prints lines above, then the table from its SERVICE header on.
std::vector<std::vector<std::string>> frames(const std::string& bytes) {
  std::vector<std::vector<std::string>> out;
  auto text = strip_colour(bytes);
  std::vector<std::string> chunks;
  std::size_t at = 0;
  for (;;) {
    auto esc = text.find("\x1b[", at);
    auto a = esc == std::string::npos ? std::string::npos : text.find("A\x1b[J", esc);
    if (esc == std::string::npos || a == std::string::npos) {
      chunks.push_back(text.substr(at));
      break;
    }
    chunks.push_back(text.substr(at, esc - at));
    at = a + 4;
  }
  for (auto& chunk : chunks) {
    auto lines = split_lines(chunk);
    auto header = std::find_if(lines.begin(), lines.end(),
                               [](const std::string& l) { return l.rfind("SERVICE", 0) == 0; });
    if (header != lines.end())
      out.emplace_back(header, lines.end());
  }
  return out;
}

// The cells of a table row (split on runs of two spaces or more, as the table pads them).
std::vector<std::string> cells(const std::string& row) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < row.size()) {
    auto gap = row.find("  ", at);
    out.push_back(row.substr(at, gap == std::string::npos ? std::string::npos : gap - at));
    if (gap == std::string::npos)
      break;
    at = row.find_first_not_of(' ', gap);
    if (at == std::string::npos)
      break;
  }
  return out;
}

const std::string* row_of(const std::vector<std::string>& frame, const std::string& service) {
  for (auto& line : frame)
    if (line.rfind(service + " ", 0) == 0)
      return &line;
  return nullptr;
}

std::size_t characters(const std::string& text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

TEST_F(Run, TheLiveStatusKeepsTheReasonNeverLowersRestartsAndEndsStopped) {
  auto spec = write_spec(R"(version: v1
deployment: live
supervision: {max_restarts: 1000}
services:
  flaky:
    image: {name: local/test}
    command: {entrypoint: ["sh", "-c", "echo flaky up; sleep 1; exit 3"]}
    supervision: {max_restarts: 1000, window: 60s, backoff: {initial: 100ms, max: 200ms}}
  db:
    image: {name: local/test}
    command: {entrypoint: ["/nonexistent/db-server"]}
    supervision: {max_restarts: 1000, window: 60s, backoff: {initial: 100ms, max: 200ms}}
  api:
    image: {name: local/test}
    command: {entrypoint: ["sleep", "300"]}
    depends: [{service: db, condition: healthy, timeout: 300s}]
)");
  constexpr unsigned short width = 140;
  on_terminal nv{{"run", spec}, width};
  ASSERT_GT(nv.pid, 0);
  // Wait for a frame where flaky is up again after a failure and still shows why it failed,
  // with the redraw that showed the reason first and that frame being different ones.
  const std::string reason = "Container 'flaky-rep-1' exited";
  auto recovered_with_reason = [&] {
    auto all = frames(nv.bytes);
    bool seen_reason = false;
    for (auto& f : all) {
      auto* row = row_of(f, "live/flaky");
      if (!row)
        continue;
      auto c = cells(*row);
      bool has_reason = row->find(reason) != std::string::npos;
      if (seen_reason && has_reason && c.size() > 5 && (c[5] == "running" || c[5] == "healthy"))
        return true;
      seen_reason = seen_reason || has_reason;
    }
    return false;
  };
  auto waiting_shown = [&] {
    for (auto& f : frames(nv.bytes))
      if (auto* row = row_of(f, "live/api");
          row && row->find("waiting for db (healthy)") != std::string::npos)
        return true;
    return false;
  };
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!(recovered_with_reason() && waiting_shown()) &&
         std::chrono::steady_clock::now() < deadline)
    nv.pump(200ms);
  ASSERT_TRUE(recovered_with_reason()) << strip_colour(nv.bytes);
  ASSERT_TRUE(waiting_shown()) << strip_colour(nv.bytes);
  EXPECT_NE(strip_colour(nv.bytes).find("flaky-rep-1 | flaky up"), std::string::npos);

  kill(nv.pid, SIGINT);
  ASSERT_EQ(nv.wait_exit(), 0) << strip_colour(nv.bytes);
  auto all = frames(nv.bytes);
  ASSERT_FALSE(all.empty());

  // RESTARTS of a service never goes down from one frame to the next.
  uint64_t restarts = 0;
  for (auto& f : all) {
    for (auto& line : f)
      EXPECT_LT(characters(line), width) << "a row wider than the terminal: " << line;
    auto* row = row_of(f, "live/flaky");
    if (!row)
      continue;
    auto c = cells(*row);
    ASSERT_GT(c.size(), 4u) << *row;
    auto now = std::stoull(c[4]);
    EXPECT_GE(now, restarts) << *row;
    restarts = std::max<uint64_t>(restarts, now);
  }
  EXPECT_GT(restarts, 0u);

  // The last frame, drawn after the node is down, says every service stopped.
  auto& last = all.back();
  for (const char* service : {"live/flaky", "live/db", "live/api"}) {
    auto* row = row_of(last, service);
    ASSERT_NE(row, nullptr) << service;
    auto c = cells(*row);
    ASSERT_GT(c.size(), 5u) << *row;
    EXPECT_EQ(c[5], "stopped") << *row;
  }
  // And the reason is still there.
  EXPECT_NE(row_of(last, "live/flaky")->find(reason), std::string::npos)
      << *row_of(last, "live/flaky");
}

} // namespace
