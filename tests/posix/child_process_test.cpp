// A cloned child that borrows its caller's descriptor table (spawn_request::sole_thread, the
// keeper's way): it inherits 0, 1 and 2 alone, and the caller keeps its own 0, 1 and 2 and no
// more descriptors than before, whether the exec succeeds or fails.
#include <fcntl.h>
#include <filesystem>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "posix/child_process.hpp"
#include "posix/unique_fd.hpp"

using namespace nv;

namespace {

struct identity {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const identity&) const = default;
};

std::vector<identity> stdio_files() {
  std::vector<identity> out;
  for (int fd = 0; fd < 3; ++fd) {
    struct stat st {};
    EXPECT_EQ(::fstat(fd, &st), 0) << "fd " << fd;
    out.push_back({st.st_dev, st.st_ino});
  }
  return out;
}

std::size_t open_descriptors() {
  std::size_t n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator{"/proc/self/fd"})
    ++n;
  return n;
}

// Everything the child wrote, once it has exited.
std::string output_of(child_process& child) {
  EXPECT_TRUE(reap(child.pid, true).has_value());
  ::fcntl(child.output.get(), F_SETFL, 0);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(child.output.get(), buf, sizeof buf)) > 0;)
    out.append(buf, static_cast<std::size_t>(n));
  return out;
}

struct borrowed_spawn : ::testing::Test {
  unique_fd dev_null{::open("/dev/null", O_RDONLY | O_CLOEXEC)};
  // Descriptors of the caller's own, as a keeper holds a container's pipes.
  std::vector<unique_fd> held;
  std::vector<std::string> env{"PATH=/usr/bin:/bin"};
  std::string workdir;

  void SetUp() override {
    for (int i = 0; i < 50; ++i) // half of them opened carelessly, without O_CLOEXEC
      held.emplace_back(::open("/dev/null", O_RDONLY | (i % 2 ? O_CLOEXEC : 0)));
  }
  spawn_outcome spawn(const std::vector<std::string>& argv) {
    return spawn_child(spawn_request{.argv = argv,
                                     .env = env,
                                     .workdir = workdir,
                                     .stdin_fd = dev_null.get(),
                                     .die_with_parent = true,
                                     .sole_thread = true});
  }
};

TEST_F(borrowed_spawn, the_child_inherits_0_1_and_2_alone_and_the_caller_keeps_its_own) {
  const auto before = stdio_files();
  const auto count = open_descriptors();
  // The shell's test is a builtin: it looks at the shell's own descriptors, opening none.
  std::string fds = "0 1 2";
  for (auto& fd : held)
    fds += " " + std::to_string(fd.get());
  auto out =
      spawn({"/bin/sh", "-c", "for n in " + fds + "; do [ -e /proc/$$/fd/$n ] && echo $n; done"});
  ASSERT_TRUE(out.error.empty()) << out.error;
  EXPECT_EQ(output_of(out.child), "0\n1\n2\n") << "none of the caller's " << held.size();
  EXPECT_EQ(stdio_files(), before) << "the caller's 0, 1 and 2 are back";
  out.child.output.reset();
  out.child.pidfd.reset();
  EXPECT_EQ(open_descriptors(), count) << "nothing of the child's stays open in the caller";
}

TEST_F(borrowed_spawn, a_failed_exec_says_why_and_leaves_the_caller_as_it_was) {
  const auto before = stdio_files();
  const auto count = open_descriptors();
  auto out = spawn({"/nonexistent/nodevisor-no-such-program"});
  EXPECT_EQ(out.error, "exec '/nonexistent/nodevisor-no-such-program': No such file or directory");
  EXPECT_EQ(out.child.pid, 0);
  EXPECT_EQ(stdio_files(), before);
  EXPECT_EQ(open_descriptors(), count);
}

TEST_F(borrowed_spawn, its_output_reaches_the_pipe_and_stdin_is_the_one_given) {
  auto out = spawn({"/bin/sh", "-c", "echo out; echo err >&2; cat"});
  ASSERT_TRUE(out.error.empty()) << out.error;
  EXPECT_EQ(output_of(out.child), "out\nerr\n") << "cat read /dev/null: nothing";
}

} // namespace
