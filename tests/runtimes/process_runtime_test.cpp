// The process runtime against real processes: /bin/sh, sleep, true and false.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <variant>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "keeper/log_file.hpp"
#include "keeper/log_ring.hpp"
#include "messages/caf/register_types.hpp"
#include "posix/child_env.hpp"
#include "runtimes/process/process_runtime.hpp"
#include "tests/runtimes/runtime_replies.hpp"

using namespace nv;
using namespace nv::runtime_test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using test_clock = std::chrono::steady_clock;

namespace {

// No deployment: a runtime driven alone keys each container by its replica id.
container_spec spec(const std::string& id, std::vector<std::string> command) {
  container_spec s;
  s.service = "api";
  s.id = id;
  s.command = std::move(command);
  return s;
}

container_spec sh(const std::string& id, const std::string& script) {
  return spec(id, {"sh", "-c", script});
}

bool wait_for(const std::function<bool()>& done, duration timeout = 10s) {
  auto deadline = test_clock::now() + timeout;
  while (!done()) {
    if (test_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

struct proc_info {
  int pid = 0;
  char state = '?';
  int ppid = 0;
  int pgrp = 0;
};

// Every process, from /proc/<pid>/stat ("pid (comm) state ppid pgrp ...").
std::vector<proc_info> processes() {
  std::vector<proc_info> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator{"/proc", ec}) {
    const auto name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit))
      continue;
    std::ifstream in{entry.path() / "stat"};
    std::string line;
    if (!std::getline(in, line))
      continue; // exited meanwhile
    auto close = line.rfind(')');
    if (close == std::string::npos)
      continue;
    std::istringstream rest{line.substr(close + 2)};
    proc_info p;
    p.pid = std::stoi(name);
    rest >> p.state >> p.ppid >> p.pgrp;
    out.push_back(p);
  }
  return out;
}

// The containers' processes are the keeper's children.
std::vector<proc_info> children_of(int parent) {
  auto all = processes();
  std::vector<proc_info> out;
  std::copy_if(all.begin(), all.end(), std::back_inserter(out),
               [parent](const proc_info& p) { return p.ppid == parent; });
  return out;
}

std::size_t zombie_children(int parent) {
  auto kids = children_of(parent);
  return static_cast<std::size_t>(
      std::count_if(kids.begin(), kids.end(), [](const proc_info& p) { return p.state == 'Z'; }));
}

// A member of the group that has not died (zombies whose parent has not reaped them yet count
// as dead).
bool group_alive(int pgid) {
  auto all = processes();
  return std::any_of(all.begin(), all.end(), [&](const proc_info& p) {
    return p.pgrp == pgid && p.state != 'Z' && p.state != 'X';
  });
}

std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator{"/proc/self/fd"})
    ++n;
  return n;
}

// With on_line set, logs() has a running container's output as it comes.
process_runtime_options live_lines() {
  process_runtime_options opts;
  opts.on_line = [](const std::string&, std::string_view) {};
  return opts;
}

bool contains(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

std::string read_file(const fs::path& path) {
  std::ifstream in{path};
  return std::string{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "nv-process-test-XXXXXX").string();
    path = fs::canonical(::mkdtemp(tmpl.data()));
  }
  ~temp_dir() { fs::remove_all(path); }
};

void print_measure(const char* what, duration d) {
  std::printf("[ measure  ] %s: %.1f ms\n", what,
              std::chrono::duration<double, std::milli>(d).count());
}

class process_runtime_test : public ::testing::Test {
protected:
  void TearDown() override {
    // A child may be a zombie for the moment between its exit and the I/O thread's reap.
    EXPECT_TRUE(wait_for([this] { return zombie_children(rt.keeper_pid()) == 0; }))
        << "zombie children remain";
  }

  // Destroyed in reverse: the runtime (and its I/O thread) goes before the actor system it
  // sends into.
  std::vector<proc_info> containers() const { return children_of(rt.keeper_pid()); }

  config cfg;
  caf::actor_system sys{cfg};
  process_runtime rt{live_lines()};
};

TEST(log_ring, keeps_the_last_lines_that_fit_and_joins_partial_ones) {
  log_ring ring{12}; // bytes: "two" "three" "four" fit, with "one" they would not
  ring.append("one\ntw");
  EXPECT_EQ(ring.tail(10), std::vector<std::string>{"one"});
  ring.append("o\nthree\nfour\nfi");
  EXPECT_EQ(ring.tail(10), (std::vector<std::string>{"two", "three", "four"}));
  EXPECT_EQ(ring.tail(1), std::vector<std::string>{"four"});
  ring.finish();
  EXPECT_EQ(ring.tail(10), (std::vector<std::string>{"three", "four", "fi"}));
  EXPECT_TRUE(ring.tail(0).empty());
}

TEST(log_ring, cuts_long_lines) {
  log_ring ring{3 * log_ring::max_line};
  ring.append(std::string(log_ring::max_line, 'a') + "\n");
  ring.append(std::string(log_ring::max_line + 5, 'b') + "\n");
  auto lines = ring.tail(10);
  ASSERT_EQ(lines.size(), 3u); // an exact fit adds no empty line
  EXPECT_EQ(lines[0], std::string(log_ring::max_line, 'a'));
  EXPECT_EQ(lines[1], std::string(log_ring::max_line, 'b'));
  EXPECT_EQ(lines[2], "bbbbb");
}

// The lines live in one buffer that drops its front as it goes: after many times its capacity
// the tail is still the newest lines in order, empty ones included, and bytes() stays bounded.
TEST(log_ring, keeps_the_newest_lines_in_order_over_many_times_its_capacity) {
  log_ring ring{64};
  for (int i = 0; i < 10000; ++i) {
    ring.append(std::to_string(i) + "\n");
    if (i % 7 == 0)
      ring.append("\n"); // an empty line
    ASSERT_LE(ring.bytes(), 64u + log_ring::max_line);
  }
  EXPECT_EQ(ring.tail(5), (std::vector<std::string>{"9996", "", "9997", "9998", "9999"}));
  EXPECT_LE(ring.bytes(), 64u);
  ring.set_capacity(8); // a smaller share: older lines go at once
  EXPECT_EQ(ring.tail(10), (std::vector<std::string>{"9998", "9999"}));
  ring.set_capacity(0); // none: nothing is kept
  EXPECT_TRUE(ring.tail(10).empty());
  EXPECT_EQ(ring.bytes(), 0u);
}

TEST(log_ring, share_is_whole_kib_under_the_total_and_at_most_the_per_ring_bound) {
  EXPECT_EQ(ring_share(8192, 4 << 20, 0), 8192u);
  EXPECT_EQ(ring_share(8192, 4 << 20, 100), 8192u);
  EXPECT_EQ(ring_share(8192, 4 << 20, 1000), 4096u); // 4194 bytes each, in whole KiB
  EXPECT_EQ(ring_share(8192, 4 << 20, 999), 4096u);  // one fewer: every ring stays as it is
  EXPECT_EQ(ring_share(8192, 4 << 20, 2000), 2048u);
  EXPECT_EQ(ring_share(8192, 1000, 4), 250u); // under a KiB: the bytes themselves
}

// The containers' last lines share tail_total: each holds what its share lets it, and a
// container's lines come back once another is removed.
TEST(process_runtime_tails, share_the_total_and_grow_back_when_a_container_goes) {
  config cfg;
  caf::actor_system sys{cfg};
  auto opts = live_lines();
  opts.tail_bytes = 8 * 1024;
  opts.tail_total = 8 * 1024; // three containers: 2 KiB each, in whole KiB
  process_runtime rt{opts};
  caf::scoped_actor self{sys};
  // 40 lines of 100 bytes (101 with the newline): 4 KiB, of which a 2 KiB share keeps 20.
  const std::string script = "i=0; while [ $i -lt 40 ]; do printf '%0100d\\n' $i; i=$((i+1)); done";
  std::vector<std::string> keys;
  for (const char* id : {"a-rep-1", "b-rep-1", "c-rep-1"}) {
    rt.create(sh(id, script), self);
    take_ok(self, runtime_op::create, id);
    keys.push_back(id);
  }
  for (const auto& key : keys) {
    rt.start(key, self);
    take_ok(self, runtime_op::start, key);
    take_exit(self, key, 0, 0);
  }
  for (const auto& key : keys) {
    auto lines = rt.logs(key, 100);
    EXPECT_EQ(lines.size(), 20u) << key;
    ASSERT_FALSE(lines.empty()) << key;
    EXPECT_EQ(lines.back(), std::string(98, '0') + "39") << key;
  }
  rt.remove("c-rep-1", self);
  take_ok(self, runtime_op::remove, "c-rep-1");
  // Two left: 4 KiB each; what was trimmed is gone, what is left stays.
  EXPECT_EQ(rt.logs("a-rep-1", 100).size(), 20u);
}

TEST(child_environment, only_the_spec_the_nodevisor_vars_and_a_minimal_base) {
  const char* base[] = {"PATH=/opt/secret/bin", "HOME=/root",          "AWS_SECRET_ACCESS_KEY=k",
                        "LANG=de_DE.UTF-8",     "NODEVISOR_REPLICA=9", nullptr};
  auto s = spec("api-rep-3", {"true"});
  s.deployment = "web-stack";
  s.replica = 3;
  s.env = {{"HOME", "/srv"}, {"NODEVISOR_SERVICE", "spoofed"}, {"EXTRA", "a=b"}};
  auto env = child_environment(s, base, "/home/api");
  EXPECT_EQ(env, (std::vector<std::string>{
                     "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                     "HOME=/srv", "LANG=de_DE.UTF-8", "NODEVISOR_SERVICE=api", "EXTRA=a=b",
                     "NODEVISOR_DEPLOYMENT=web-stack", "NODEVISOR_REPLICA=3"}));
}

TEST(child_environment, lang_defaults_to_c_utf8_and_the_spec_may_set_path) {
  const char* base[] = {"PATH=/bin", nullptr};
  auto s = spec("api-rep-1", {"true"});
  s.deployment = "web-stack";
  s.env = {{"PATH", "/opt/app/bin"}};
  auto env = child_environment(s, base, "");
  EXPECT_EQ(env, (std::vector<std::string>{"PATH=/opt/app/bin", "LANG=C.UTF-8",
                                           "NODEVISOR_DEPLOYMENT=web-stack",
                                           "NODEVISOR_SERVICE=api", "NODEVISOR_REPLICA=1"}));
}

TEST_F(process_runtime_test, exit_code_is_delivered) {
  caf::scoped_actor self{sys};
  const std::string id = "job-rep-1";
  rt.pull(sh(id, "exit 3"), self);
  take_ok(self, runtime_op::pull, id);
  rt.create(sh(id, "exit 3"), self);
  take_ok(self, runtime_op::create, id);
  EXPECT_EQ(rt.state(id).state, container_state::created);
  rt.start(id, self);
  auto pid = take_ok(self, runtime_op::start, id);
  EXPECT_GT(pid, 0);
  take_exit(self, id, 3, 0);
  auto st = rt.state(id);
  EXPECT_EQ(st.state, container_state::exited);
  EXPECT_EQ(st.exit_code, 3);
  EXPECT_EQ(st.pid, pid);
  EXPECT_EQ(rt.pid(id), std::nullopt);
  // Exited already: ok at once, no second exit.
  rt.stop(id, 10s, SIGTERM, self);
  take_ok(self, runtime_op::stop, id);
  rt.remove(id, self);
  take_ok(self, runtime_op::remove, id);
  EXPECT_EQ(rt.state(id).state, container_state::unknown);
}

TEST_F(process_runtime_test, killed_by_a_signal_reports_128_plus_the_signal) {
  caf::scoped_actor self{sys};
  const std::string id = "api-rep-1";
  rt.create(spec(id, {"sleep", "1000"}), self);
  take_ok(self, runtime_op::create, id);
  rt.start(id, self);
  auto pid = take_ok(self, runtime_op::start, id);
  EXPECT_EQ(rt.state(id).state, container_state::running);
  EXPECT_EQ(rt.pid(id), pid);
  // In a process group of its own.
  ASSERT_GT(pid, 0) << "kill(0) would signal this test's own process group";
  EXPECT_EQ(::getpgid(pid), pid);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  take_exit(self, id, 128 + SIGKILL, SIGKILL);
  EXPECT_EQ(rt.state(id).exit_code, 137);
}

TEST_F(process_runtime_test, exit_latency_after_kill_9) {
  caf::scoped_actor self{sys};
  std::vector<duration> samples;
  for (int i = 1; i <= 20; ++i) {
    auto id = replica_id("lat", static_cast<uint32_t>(i));
    rt.create(spec(id, {"sleep", "1000"}), self);
    take_ok(self, runtime_op::create, id);
    rt.start(id, self);
    auto pid = take_ok(self, runtime_op::start, id);
    ASSERT_GT(pid, 0) << "kill(0) would signal this test's own process group";
    auto t0 = test_clock::now();
    ::kill(pid, SIGKILL);
    take_exit(self, id, 137, SIGKILL);
    samples.push_back(test_clock::now() - t0);
  }
  std::sort(samples.begin(), samples.end());
  print_measure("kill -9 -> container_exited, min", samples.front());
  print_measure("kill -9 -> container_exited, median", samples[samples.size() / 2]);
  print_measure("kill -9 -> container_exited, max", samples.back());
}

TEST_F(process_runtime_test, env_has_the_spec_env_and_the_nodevisor_vars_not_the_daemons) {
  ::setenv("NV_PROCESS_TEST_INHERITED", "from-daemon", 1);
  caf::scoped_actor self{sys};
  const std::string id = "api-rep-2";
  auto s = sh(id, "echo \"GREETING=$GREETING\"; echo \"INHERITED=$NV_PROCESS_TEST_INHERITED\"; "
                  "echo \"D=$NODEVISOR_DEPLOYMENT S=$NODEVISOR_SERVICE R=$NODEVISOR_REPLICA\"");
  s.deployment = "web-stack";
  s.replica = 2;
  s.env = {{"GREETING", "hello world"}, {"NODEVISOR_SERVICE", "spoofed"}};
  const std::string key = "web-stack/" + id;
  rt.create(s, self);
  take_ok(self, runtime_op::create, key);
  rt.start(key, self);
  take_ok(self, runtime_op::start, key);
  take_exit(self, key, 0, 0);
  // Output written before the exit is in the ring when container_exited arrives.
  EXPECT_EQ(rt.logs(key, 100), (std::vector<std::string>{"GREETING=hello world",
                                                         "INHERITED=", "D=web-stack S=api R=2"}));
  ::unsetenv("NV_PROCESS_TEST_INHERITED");
}

TEST_F(process_runtime_test, workdir_is_honoured_and_defaults_to_the_current_directory) {
  temp_dir dir;
  {
    std::ofstream script{dir.path / "hello.sh"};
    script << "#!/bin/sh\necho hi from script\n";
  }
  fs::permissions(dir.path / "hello.sh", fs::perms::owner_all);
  caf::scoped_actor self{sys};

  auto in_dir = sh("a-rep-1", "pwd -P");
  in_dir.workdir = dir.path.string();
  // A relative command resolves against the workdir, as execvp after chdir would.
  auto relative = spec("a-rep-2", {"./hello.sh"});
  relative.workdir = dir.path.string();
  auto here = sh("a-rep-3", "pwd -P");
  for (const auto& s : {in_dir, relative, here}) {
    rt.create(s, self);
    take_ok(self, runtime_op::create, s.id);
    rt.start(s.id, self);
    take_ok(self, runtime_op::start, s.id);
    take_exit(self, s.id, 0, 0);
  }
  EXPECT_EQ(rt.logs("a-rep-1", 10), std::vector<std::string>{dir.path.string()});
  EXPECT_EQ(rt.logs("a-rep-2", 10), std::vector<std::string>{"hi from script"});
  EXPECT_EQ(rt.logs("a-rep-3", 10), std::vector<std::string>{fs::canonical(".").string()});
}

TEST_F(process_runtime_test, failed_starts_name_the_cause) {
  temp_dir dir;
  {
    std::ofstream plain{dir.path / "not-executable"};
    plain << "echo never\n";
  }
  caf::scoped_actor self{sys};
  auto missing = spec("m-rep-1", {"nodevisor-no-such-binary", "arg"});
  auto denied = spec("m-rep-2", {(dir.path / "not-executable").string()});
  auto bad_dir = spec("m-rep-3", {"true"});
  bad_dir.workdir = "/nonexistent/nodevisor-dir";
  for (const auto& s : {missing, denied, bad_dir}) {
    rt.create(s, self);
    take_ok(self, runtime_op::create, s.id);
  }

  rt.start("m-rep-1", self);
  auto err = take_error(self, runtime_op::start);
  EXPECT_EQ(err, (AgentError{StartFailed{
                     "m-rep-1", "exec 'nodevisor-no-such-binary': No such file or directory"}}));
  EXPECT_EQ(to_string(err), "Failed to start container 'm-rep-1': exec "
                            "'nodevisor-no-such-binary': No such file or directory");
  // Still created: it may be started again (and fails again).
  EXPECT_EQ(rt.state("m-rep-1").state, container_state::created);
  EXPECT_EQ(rt.pid("m-rep-1"), std::nullopt);
  rt.start("m-rep-1", self);
  EXPECT_TRUE(std::holds_alternative<StartFailed>(take_error(self, runtime_op::start)));

  rt.start("m-rep-2", self);
  err = take_error(self, runtime_op::start);
  EXPECT_NE(to_string(err).find("not-executable': Permission denied"), std::string::npos)
      << to_string(err);

  rt.start("m-rep-3", self);
  EXPECT_EQ(take_error(self, runtime_op::start),
            (AgentError{StartFailed{
                "m-rep-3", "workdir '/nonexistent/nodevisor-dir': No such file or directory"}}));
  // Never ran: a stop succeeds at once.
  rt.stop("m-rep-3", 1s, SIGTERM, self);
  take_ok(self, runtime_op::stop, "m-rep-3");
}

TEST_F(process_runtime_test, create_validates_and_ids_are_unique) {
  caf::scoped_actor self{sys};
  rt.create(spec("e-rep-1", {}), self);
  auto err = take_error(self, runtime_op::create);
  EXPECT_EQ(err, (AgentError{CreateFailed{
                     "e-rep-1", "no command: the process runtime needs command.entrypoint"}}));
  EXPECT_EQ(rt.state("e-rep-1").state, container_state::unknown);

  rt.create(spec("e-rep-2", {"sleep", "1000"}), self);
  take_ok(self, runtime_op::create, "e-rep-2");
  rt.create(spec("e-rep-2", {"true"}), self);
  EXPECT_TRUE(std::holds_alternative<CreateFailed>(take_error(self, runtime_op::create)));
  rt.start("e-rep-2", self);
  take_ok(self, runtime_op::start, "e-rep-2");
  rt.start("e-rep-2", self);
  EXPECT_EQ(take_error(self, runtime_op::start),
            (AgentError{StartFailed{"e-rep-2", "container was started already"}}));
  EXPECT_TRUE(rt.runs_os("linux"));
  EXPECT_FALSE(rt.runs_os("windows"));
  EXPECT_EQ(rt.name(), "process");
}

TEST_F(process_runtime_test, unknown_ids_answer_not_found) {
  caf::scoped_actor self{sys};
  const AgentError expected = NotFound{"nope", "no such container"};
  rt.start("nope", self);
  EXPECT_EQ(take_error(self, runtime_op::start), expected);
  rt.stop("nope", 1s, SIGTERM, self);
  EXPECT_EQ(take_error(self, runtime_op::stop), expected);
  rt.remove("nope", self);
  EXPECT_EQ(take_error(self, runtime_op::remove), expected);
  rt.exec("nope", 1, {"true"}, 1s, self);
  auto ex = take<exec_result>(self);
  EXPECT_EQ(ex.exec_id, 1u);
  EXPECT_EQ(ex.code, -1);
  EXPECT_EQ(ex.output, to_string(expected));
  EXPECT_TRUE(rt.logs("nope", 10).empty());
  EXPECT_EQ(rt.pid("nope"), std::nullopt);
}

TEST_F(process_runtime_test, stop_with_sigterm_ends_a_sleep) {
  caf::scoped_actor self{sys};
  const std::string id = "api-rep-1";
  rt.create(spec(id, {"sleep", "1000"}), self);
  take_ok(self, runtime_op::create, id);
  rt.start(id, self);
  take_ok(self, runtime_op::start, id);
  auto t0 = test_clock::now();
  rt.stop(id, 30s, SIGTERM, self);
  // The exit comes first, then the stop's reply.
  take_exit(self, id, 128 + SIGTERM, SIGTERM);
  take_ok(self, runtime_op::stop, id);
  EXPECT_LT(test_clock::now() - t0, 10s); // far below the grace: the signal did it
  EXPECT_EQ(rt.state(id).state, container_state::exited);
  EXPECT_EQ(rt.state(id).exit_code, 143);
  EXPECT_EQ(rt.pid(id), std::nullopt);
}

TEST_F(process_runtime_test, stop_continues_a_stopped_child_so_that_its_signal_ends_it) {
  caf::scoped_actor self{sys};
  const std::string id = "paused-rep-1";
  rt.create(spec(id, {"sleep", "1000"}), self);
  take_ok(self, runtime_op::create, id);
  rt.start(id, self);
  auto pid = take_ok(self, runtime_op::start, id);
  ASSERT_GT(pid, 0) << "kill(0) would signal this test's own process group";
  ASSERT_EQ(::kill(-pid, SIGSTOP), 0);
  ASSERT_TRUE(wait_for([&] {
    auto all = processes();
    return std::any_of(all.begin(), all.end(),
                       [&](const proc_info& p) { return p.pid == pid && p.state == 'T'; });
  }));
  // A stopped process holds the SIGTERM pending until it is continued: left stopped, only the
  // SIGKILL at the end of the grace (long after take's 10 s) would end it.
  rt.stop(id, 60s, SIGTERM, self);
  take_exit(self, id, 128 + SIGTERM, SIGTERM);
  take_ok(self, runtime_op::stop, id);
}

TEST_F(process_runtime_test, a_child_that_ignores_the_signal_is_killed_after_its_grace) {
  caf::scoped_actor self{sys};
  const std::string id = "stuck-rep-1";
  // The ignored TERM is inherited by the sleep, so only the group's SIGKILL ends both.
  rt.create(sh(id, "trap '' TERM; echo ready; sleep 1000; echo unreachable"), self);
  take_ok(self, runtime_op::create, id);
  rt.start(id, self);
  auto pid = take_ok(self, runtime_op::start, id);
  ASSERT_TRUE(wait_for([&] { return contains(rt.logs(id, 10), "ready"); }));
  auto t0 = test_clock::now();
  rt.stop(id, 300ms, SIGTERM, self);
  EXPECT_TRUE(wait_for([&] { return rt.state(id).state != container_state::running; }));
  EXPECT_EQ(rt.state(id).state, container_state::stopping);
  take_exit(self, id, 128 + SIGKILL, SIGKILL);
  take_ok(self, runtime_op::stop, id);
  EXPECT_GE(test_clock::now() - t0, 300ms); // a deadline never fires early
  EXPECT_TRUE(wait_for([&] { return !group_alive(pid); })) << "the sleep survived";
}

TEST_F(process_runtime_test, a_second_stop_and_a_zero_grace) {
  caf::scoped_actor self{sys};
  const std::string id = "stuck-rep-1";
  rt.create(sh(id, "trap '' TERM; echo ready; sleep 1000"), self);
  take_ok(self, runtime_op::create, id);
  rt.start(id, self);
  take_ok(self, runtime_op::start, id);
  ASSERT_TRUE(wait_for([&] { return contains(rt.logs(id, 10), "ready"); }));
  rt.stop(id, 1h, SIGTERM, self);
  // Its own deadline, now: the earlier deadline kills, and both stops are answered.
  rt.stop(id, 0s, SIGTERM, self);
  take_exit(self, id, 137, SIGKILL);
  take_ok(self, runtime_op::stop, id);
  take_ok(self, runtime_op::stop, id);
}

TEST_F(process_runtime_test, remove_kills_a_running_container_and_reports_nothing) {
  caf::scoped_actor self{sys};
  const std::string id = "api-rep-1";
  rt.create(spec(id, {"sleep", "1000"}), self);
  take_ok(self, runtime_op::create, id);
  rt.start(id, self);
  auto pid = take_ok(self, runtime_op::start, id);
  rt.remove(id, self);
  take_ok(self, runtime_op::remove, id);
  EXPECT_EQ(rt.state(id).state, container_state::unknown);
  // Killed and reaped: the pid is gone.
  EXPECT_TRUE(wait_for([&] { return !fs::exists("/proc/" + std::to_string(pid)); }));
  auto m = next(self, 300ms);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(m)) << "message kind " << m.index();
  // The id is free again.
  rt.create(spec(id, {"true"}), self);
  take_ok(self, runtime_op::create, id);
}

TEST_F(process_runtime_test, remove_right_after_start_answers_the_start) {
  caf::scoped_actor self{sys};
  // Back to back: the start is still queued or being spawned when the remove comes.
  for (int i = 1; i <= 20; ++i) {
    auto id = replica_id("race", static_cast<uint32_t>(i));
    rt.create(spec(id, {"sleep", "1000"}), self);
    take_ok(self, runtime_op::create, id);
    rt.start(id, self);
    rt.remove(id, self);
    // Either order of outcomes is fine for the start, but there is exactly one answer to each
    // call and no exit.
    auto first = take<runtime_reply>(self);
    auto second = take<runtime_reply>(self);
    auto& start = first.op == runtime_op::start ? first : second;
    auto& remove = first.op == runtime_op::start ? second : first;
    EXPECT_EQ(start.op, runtime_op::start);
    EXPECT_EQ(remove.op, runtime_op::remove);
    EXPECT_TRUE(remove.ok);
    if (!start.ok) {
      EXPECT_EQ(start.error, (AgentError{StartFailed{id, "removed before it was running"}}));
    }
  }
  auto m = next(self, 300ms);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(m)) << "message kind " << m.index();
  EXPECT_TRUE(wait_for([this] { return containers().empty(); }));
}

TEST_F(process_runtime_test, invalid_reply_to_is_fire_and_forget) {
  caf::scoped_actor self{sys};
  const std::string id = "api-rep-1";
  rt.create(spec(id, {"sleep", "1000"}), caf::actor{});
  rt.start(id, caf::actor{});
  ASSERT_TRUE(wait_for([&] { return rt.state(id).state == container_state::running; }));
  // Exits go to start's (invalid) reply_to: only the stop's reply arrives.
  rt.stop(id, 10s, SIGTERM, self);
  take_ok(self, runtime_op::stop, id);
  EXPECT_EQ(rt.state(id).exit_code, 143);
  rt.remove(id, caf::actor{});
  EXPECT_EQ(rt.state(id).state, container_state::unknown);
}

TEST_F(process_runtime_test, exec_runs_in_the_container_env_and_workdir) {
  temp_dir dir;
  caf::scoped_actor self{sys};
  const std::string id = "api-rep-1";
  auto s = spec(id, {"sleep", "1000"});
  s.workdir = dir.path.string();
  s.env = {{"GREETING", "hi"}};
  rt.create(s, self);
  take_ok(self, runtime_op::create, id);

  rt.exec(id, 2, {"true"}, 1s, self);
  auto ex = take<exec_result>(self);
  EXPECT_EQ(ex.exec_id, 2u);
  EXPECT_EQ(ex.code, -1);
  EXPECT_EQ(ex.output, "container is not running");

  rt.start(id, self);
  take_ok(self, runtime_op::start, id);
  rt.exec(id, 3,
          {"sh", "-c", "echo \"$GREETING $NODEVISOR_SERVICE\"; echo oops >&2; pwd -P; exit 4"}, 10s,
          self);
  ex = take<exec_result>(self);
  EXPECT_EQ(ex.id, id);
  EXPECT_EQ(ex.exec_id, 3u);
  EXPECT_EQ(ex.code, 4);
  EXPECT_FALSE(ex.timed_out);
  EXPECT_EQ(ex.output, "hi api\noops\n" + dir.path.string() + "\n");

  rt.exec(id, 4, {"false"}, 0s, self); // no timeout
  EXPECT_EQ(take<exec_result>(self).code, 1);

  rt.exec(id, 5, {"nodevisor-no-such-binary"}, 1s, self);
  ex = take<exec_result>(self);
  EXPECT_EQ(ex.exec_id, 5u);
  EXPECT_EQ(ex.code, -1);
  EXPECT_EQ(ex.output, "exec 'nodevisor-no-such-binary': No such file or directory");

  // Output beyond the bound is read (the child does not block) and dropped.
  rt.exec(id, 6, {"sh", "-c", "i=0; while [ $i -lt 20000 ]; do echo 0123456789; i=$((i+1)); done"},
          30s, self);
  ex = take<exec_result>(self);
  EXPECT_EQ(ex.code, 0);
  EXPECT_EQ(ex.output.size(), process_runtime::exec_output_limit);

  // The container's own output is not mixed with the exec's.
  EXPECT_TRUE(rt.logs(id, 10).empty());
  EXPECT_EQ(rt.state(id).state, container_state::running);
}

TEST_F(process_runtime_test, concurrent_execs_are_answered_each_with_its_own_id) {
  temp_dir dir;
  caf::scoped_actor self{sys};
  const std::string id = "api-rep-1";
  auto s = spec(id, {"sleep", "1000"});
  s.workdir = dir.path.string();
  rt.create(s, self);
  take_ok(self, runtime_op::create, id);
  rt.start(id, self);
  take_ok(self, runtime_op::start, id);
  // The first can only end after the second has run, so both are out at once; which answer
  // comes first is up to the scheduler, and each must carry its own id.
  rt.exec(id, 41,
          {"sh", "-c", "while [ ! -e second-ran ]; do sleep 0.01; done; echo first; exit 1"}, 30s,
          self);
  rt.exec(id, 42, {"sh", "-c", "touch second-ran; echo second; exit 2"}, 30s, self);
  std::map<uint64_t, exec_result> answers;
  for (int n = 0; n < 2; ++n) {
    auto answer = take<exec_result>(self);
    answers[answer.exec_id] = answer;
  }
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[41].code, 1);
  EXPECT_EQ(answers[41].output, "first\n");
  EXPECT_EQ(answers[42].code, 2);
  EXPECT_EQ(answers[42].output, "second\n");
}

TEST_F(process_runtime_test, exec_is_killed_at_its_timeout) {
  caf::scoped_actor self{sys};
  const std::string id = "api-rep-1";
  rt.create(spec(id, {"sleep", "1000"}), self);
  take_ok(self, runtime_op::create, id);
  rt.start(id, self);
  take_ok(self, runtime_op::start, id);
  auto t0 = test_clock::now();
  rt.exec(id, 7, {"sh", "-c", "echo started; sleep 1000"}, 200ms, self);
  auto ex = take<exec_result>(self);
  EXPECT_GE(test_clock::now() - t0, 200ms);
  EXPECT_EQ(ex.exec_id, 7u);
  EXPECT_TRUE(ex.timed_out);
  EXPECT_EQ(ex.code, 137);
  EXPECT_EQ(ex.output, "started\n");
  // The container itself is untouched.
  EXPECT_EQ(rt.state(id).state, container_state::running);
}

TEST_F(process_runtime_test, the_tail_keeps_the_last_8_KiB_of_lines) {
  caf::scoped_actor self{sys};
  const std::string id = "chatty-rep-1";
  rt.create(sh(id, "i=1; while [ $i -le 5000 ]; do echo line$i; i=$((i+1)); done; "
                   "printf 'no newline'"),
            self);
  take_ok(self, runtime_op::create, id);
  rt.start(id, self);
  take_ok(self, runtime_op::start, id);
  take_exit(self, id, 0, 0);
  auto lines = rt.logs(id, 100'000);
  std::size_t bytes = 0;
  for (const auto& l : lines)
    bytes += l.size();
  EXPECT_LE(bytes, 8u * 1024);
  EXPECT_GT(bytes, 8u * 1024 - 16); // only as much as one more line dropped
  ASSERT_GE(lines.size(), 2u);
  // The newest lines, without a gap.
  auto first = std::stoi(lines.front().substr(4));
  for (std::size_t i = 0; i + 1 < lines.size(); ++i)
    EXPECT_EQ(lines[i], "line" + std::to_string(first + static_cast<int>(i)));
  EXPECT_EQ(lines[lines.size() - 2], "line5000");
  EXPECT_EQ(lines.back(), "no newline");
  EXPECT_EQ(rt.logs(id, 2), (std::vector<std::string>{"line5000", "no newline"}));
}

// "<RFC 3339 UTC ms> <text>" -> text; "" (and a failure) for a line without its timestamp.
std::string untimestamped(const std::string& line) {
  static const std::regex stamp{R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (.*)$)"};
  std::smatch m;
  EXPECT_TRUE(std::regex_match(line, m, stamp)) << line;
  return m.size() > 1 ? m[1].str() : std::string{};
}

TEST_F(process_runtime_test, the_log_dir_gets_each_replicas_output_timestamped_and_marked) {
  temp_dir dir;
  auto log_dir = dir.path / "logs"; // created by the runtime
  auto old_umask = ::umask(0);      // what the modes must not depend on
  process_runtime_options options;
  options.log_dir = log_dir.string();
  process_runtime with_files{options};
  caf::scoped_actor self{sys};
  const std::string id = "api-rep-1";
  auto s = sh(id, "echo out; echo err >&2; printf partial");
  for (int run = 0; run < 2; ++run) {
    with_files.create(s, self);
    take_ok(self, runtime_op::create, id);
    with_files.start(id, self);
    take_ok(self, runtime_op::start, id);
    take_exit(self, id, 0, 0);
    EXPECT_EQ(with_files.logs(id, 10), (std::vector<std::string>{"out", "err", "partial"}));
    with_files.remove(id, self);
    take_ok(self, runtime_op::remove, id);
  }
  ::umask(old_umask);
  // Appended: a restarted replica keeps its history, each start marked.
  std::istringstream file{read_file(log_dir / "api-rep-1.log")};
  std::vector<std::string> lines;
  for (std::string line; std::getline(file, line);)
    lines.push_back(untimestamped(line));
  // The keeper writes the file.
  auto marker = "--- nodevisor keeper (pid " + std::to_string(with_files.keeper_pid()) +
                ") started api-rep-1 ---";
  EXPECT_EQ(lines, (std::vector<std::string>{marker, "out", "err", "partial", marker, "out", "err",
                                             "partial"}));
  EXPECT_EQ(fs::status(log_dir / "api-rep-1.log").permissions(), fs::perms{0640});
  EXPECT_EQ(fs::status(log_dir).permissions(), fs::perms{0750});
}

TEST_F(process_runtime_test, a_symlink_planted_in_the_log_dir_is_refused_and_its_target_untouched) {
  temp_dir dir;
  auto log_dir = dir.path / "logs";
  fs::create_directories(log_dir);
  fs::permissions(log_dir, fs::perms{0750});
  std::ofstream{dir.path / "victim"} << "precious\n";
  fs::create_symlink(dir.path / "victim", log_dir / "api-rep-1.log");
  process_runtime with_files{process_runtime_options{log_dir.string()}};
  caf::scoped_actor self{sys};
  const std::string id = "api-rep-1";
  with_files.create(sh(id, "echo overwritten"), self);
  take_ok(self, runtime_op::create, id);
  with_files.start(id, self);
  auto error = take_error(self, runtime_op::start);
  auto* start = std::get_if<StartFailed>(&error);
  ASSERT_NE(start, nullptr) << to_string(error);
  EXPECT_NE(start->reason.find("symbolic link"), std::string::npos) << start->reason;
  EXPECT_EQ(read_file(dir.path / "victim"), "precious\n");
}

TEST(log_dir, one_others_may_write_to_or_that_is_not_ours_is_refused) {
  temp_dir dir;
  auto open = dir.path / "open";
  fs::create_directories(open);
  fs::permissions(open, fs::perms{01777}); // the sticky bit does not excuse it
  auto refused = open_log_dir(open.string());
  EXPECT_FALSE(refused.dir);
  EXPECT_NE(refused.error.find("mode 1777"), std::string::npos) << refused.error;
  EXPECT_EQ(refused.error.find('\n'), std::string::npos) << "one line";
  fs::permissions(open, fs::perms{0770});
  EXPECT_NE(open_log_dir(open.string()).error.find("mode 0770"), std::string::npos);
  fs::permissions(open, fs::perms{0755});
  EXPECT_EQ(open_log_dir(open.string()).error, "");
  if (::geteuid() == 0) {
    ASSERT_EQ(::chown(open.c_str(), 65534, 65534), 0);
    EXPECT_NE(open_log_dir(open.string()).error.find("owned by uid 65534"), std::string::npos);
  }
  EXPECT_THROW(process_runtime{process_runtime_options{"/proc/self/no/such"}}, std::runtime_error);
}

TEST_F(process_runtime_test, no_zombies_and_no_leaked_fds) {
  caf::scoped_actor self{sys};
  const auto fds_before = open_fds();
  rt.create(sh("z-rep-1", "echo bye; exit 1"), self);
  rt.create(spec("z-rep-2", {"sleep", "1000"}), self);
  rt.create(spec("z-rep-3", {"sleep", "1000"}), self);
  rt.create(spec("z-rep-4", {"nodevisor-no-such-binary"}), self);
  // Leaves a grandchild behind in its group, which holds the pipe open.
  rt.create(sh("z-rep-5", "sleep 1000 & echo started"), self);
  for (int i = 1; i <= 5; ++i)
    take_ok(self, runtime_op::create, replica_id("z", static_cast<uint32_t>(i)));
  rt.start("z-rep-1", self);
  take_ok(self, runtime_op::start, "z-rep-1");
  take_exit(self, "z-rep-1", 1, 0);
  rt.start("z-rep-2", self);
  take_ok(self, runtime_op::start, "z-rep-2");
  rt.start("z-rep-3", self);
  take_ok(self, runtime_op::start, "z-rep-3");
  rt.start("z-rep-4", self);
  take_error(self, runtime_op::start);

  rt.start("z-rep-5", self);
  auto pgid = take_ok(self, runtime_op::start, "z-rep-5");
  take_exit(self, "z-rep-5", 0, 0);
  EXPECT_EQ(rt.logs("z-rep-5", 10), std::vector<std::string>{"started"});
  // The container ended with its main process: the background sleep was killed with it.
  EXPECT_TRUE(wait_for([&] { return !group_alive(pgid); }));

  rt.stop("z-rep-2", 10s, SIGTERM, self);
  take_exit(self, "z-rep-2", 143, SIGTERM);
  take_ok(self, runtime_op::stop, "z-rep-2");
  rt.exec("z-rep-3", 8, {"sh", "-c", "echo exec"}, 10s, self);
  EXPECT_EQ(take<exec_result>(self).output, "exec\n");
  rt.exec("z-rep-3", 9, {"sleep", "1000"}, 50ms, self);
  EXPECT_TRUE(take<exec_result>(self).timed_out);
  rt.remove("z-rep-3", self);
  take_ok(self, runtime_op::remove, "z-rep-3");

  // The removed container's process is reaped in the background, its descriptors closed then.
  EXPECT_TRUE(wait_for([this] { return containers().empty(); }));
  EXPECT_TRUE(wait_for([&] { return open_fds() == fds_before; }))
      << open_fds() << " fds open, " << fds_before << " before";
}

TEST_F(process_runtime_test, the_destructor_kills_and_reaps_every_child) {
  const auto fds_before = open_fds();
  std::vector<proc_info> held;
  int keeper = 0;
  {
    process_runtime doomed{live_lines()};
    caf::scoped_actor self{sys};
    doomed.create(spec("d-rep-1", {"sleep", "1000"}), self);
    doomed.create(sh("d-rep-2", "trap '' TERM; echo ready; sleep 1000"), self);
    take_ok(self, runtime_op::create, "d-rep-1");
    take_ok(self, runtime_op::create, "d-rep-2");
    doomed.start("d-rep-1", self);
    doomed.start("d-rep-2", self);
    take_ok(self, runtime_op::start, "d-rep-1");
    take_ok(self, runtime_op::start, "d-rep-2");
    doomed.exec("d-rep-1", 10, {"sleep", "1000"}, 0s, self);
    ASSERT_TRUE(wait_for([&] { return contains(doomed.logs("d-rep-2", 10), "ready"); }));
    // Waiting out its grace when the runtime goes.
    doomed.stop("d-rep-2", 1h, SIGTERM, self);
    ASSERT_TRUE(wait_for([&] { return children_of(doomed.keeper_pid()).size() == 3; }));
    held = children_of(doomed.keeper_pid());
    keeper = doomed.keeper_pid();
  }
  // Its keeper has ended with every one of them, and is reaped.
  EXPECT_NE(::kill(keeper, 0), 0);
  for (const auto& p : held)
    EXPECT_NE(::kill(p.pid, 0), 0) << "pid " << p.pid << " survived";
  EXPECT_EQ(open_fds(), fds_before);
}

TEST_F(process_runtime_test, a_thousand_sleeps_start_and_stop) {
  constexpr std::size_t n = 1000;
  caf::scoped_actor self{sys};
  std::vector<std::string> ids;
  for (std::size_t i = 1; i <= n; ++i)
    ids.push_back(replica_id("sleep", static_cast<uint32_t>(i)));
  for (const auto& id : ids)
    rt.create(spec(id, {"sleep", "60"}), self);
  for (std::size_t i = 0; i < n; ++i)
    ASSERT_TRUE(take<runtime_reply>(self).ok);

  auto t0 = test_clock::now();
  for (const auto& id : ids)
    rt.start(id, self);
  std::size_t started = 0;
  for (std::size_t i = 0; i < n; ++i) {
    auto r = take<runtime_reply>(self);
    started += r.ok && r.op == runtime_op::start ? 1 : 0;
  }
  auto t1 = test_clock::now();
  EXPECT_EQ(started, n);
  EXPECT_EQ(containers().size(), n);

  auto t2 = test_clock::now();
  for (const auto& id : ids)
    rt.stop(id, 10s, SIGTERM, self);
  std::size_t exits = 0;
  std::size_t stops = 0;
  for (std::size_t i = 0; i < 2 * n; ++i) {
    auto m = next(self);
    if (auto* e = std::get_if<container_exited>(&m))
      exits += e->code == 143 ? 1 : 0;
    else if (auto* r = std::get_if<runtime_reply>(&m))
      stops += r->ok && r->op == runtime_op::stop ? 1 : 0;
  }
  auto t3 = test_clock::now();
  EXPECT_EQ(exits, n);
  EXPECT_EQ(stops, n);
  EXPECT_TRUE(wait_for([this] { return containers().empty(); }));
  print_measure("start 1000 sleeps (first start call to the 1000th reply)", t1 - t0);
  print_measure("stop 1000 sleeps (first stop call to the last stop reply)", t3 - t2);
}

TEST_F(process_runtime_test,
       on_line_gets_every_line_of_stdout_and_stderr_and_the_last_partial_one) {
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> lines;
  process_runtime_options opts;
  opts.on_line = [&](const std::string& id, std::string_view line) {
    std::lock_guard g{mu};
    lines.emplace_back(id, std::string{line});
  };
  process_runtime streaming{std::move(opts)};
  caf::scoped_actor self{sys};
  const std::string id = "talk-rep-1";
  // A line written in two pieces, one longer than a log line may be, stderr, no final newline.
  streaming.create(sh(id,
                      "printf 'one '; sleep 0.1; echo piece; head -c 5000 /dev/zero | tr '\\0' x; "
                      "echo; echo err >&2; printf tail"),
                   self);
  take_ok(self, runtime_op::create, id);
  streaming.start(id, self);
  take_ok(self, runtime_op::start, id);
  take_exit(self, id, 0, 0);
  std::lock_guard g{mu};
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0], (std::pair<std::string, std::string>{id, "one piece"}));
  EXPECT_EQ(lines[1].second, std::string(log_ring::max_line, 'x'));
  EXPECT_EQ(lines[2].second, std::string(5000 - log_ring::max_line, 'x'));
  EXPECT_EQ(lines[3].second, "err");
  EXPECT_EQ(lines[4].second, "tail");
}

} // namespace

// Replica ids repeat across the deployments of a node: the runtime keys each container by
// deployment and id, and names it in an error by the replica id a user knows.
TEST_F(process_runtime_test, the_same_replica_id_in_two_deployments_is_two_containers) {
  caf::scoped_actor self{sys};
  auto shop = sh("api-rep-1", "exit 4");
  shop.deployment = "shop";
  auto blog = sh("api-rep-1", "exit 5");
  blog.deployment = "blog";
  rt.create(shop, self);
  take_ok(self, runtime_op::create, "shop/api-rep-1");
  rt.create(blog, self);
  take_ok(self, runtime_op::create, "blog/api-rep-1");
  rt.create(blog, self);
  EXPECT_EQ(take_error(self, runtime_op::create),
            (AgentError{CreateFailed{"api-rep-1", "a container with this id exists"}}));

  rt.start("shop/api-rep-1", self);
  take_ok(self, runtime_op::start, "shop/api-rep-1");
  take_exit(self, "shop/api-rep-1", 4, 0);
  EXPECT_EQ(rt.state("blog/api-rep-1").state, container_state::created);
  rt.start("blog/api-rep-1", self);
  take_ok(self, runtime_op::start, "blog/api-rep-1");
  take_exit(self, "blog/api-rep-1", 5, 0);
  EXPECT_EQ(rt.state("api-rep-1").state, container_state::unknown);
  for (const auto* key : {"shop/api-rep-1", "blog/api-rep-1"}) {
    rt.remove(key, self);
    take_ok(self, runtime_op::remove, key);
  }
}
