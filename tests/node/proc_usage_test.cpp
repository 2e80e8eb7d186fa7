// What a service's processes use, read from /proc for real processes, and the cache the
// answers take it from, with a scripted reader.
#include <atomic>
#include <chrono>
#include <csignal>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

#include "node/proc_usage.hpp"

using namespace nv;
using namespace std::chrono_literals;

namespace {

TEST(ProcUsage, ABusyProcessShowsCpuAndMemoryAndAGoneOneNothing) {
  const pid_t busy = fork();
  ASSERT_GE(busy, 0);
  if (busy == 0) {
    volatile unsigned long spins = 0; // a loop with no side effect may be compiled away
    for (;;)
      spins = spins + 1;
  }
  const pid_t idle = fork();
  ASSERT_GE(idle, 0);
  if (idle == 0) {
    pause();
    _exit(0);
  }
  std::this_thread::sleep_for(300ms);
  const proc_usage both = read_usage({busy, idle});
  const proc_usage quiet = read_usage({idle});
  // A spinning process averages close to 100 % since it started; a loaded machine less.
  EXPECT_GT(both.cpu_percent, 10.0);
  EXPECT_LT(quiet.cpu_percent, both.cpu_percent);
  EXPECT_GT(quiet.memory_percent, 0.0);
  EXPECT_GT(both.memory_percent, quiet.memory_percent);

  kill(busy, SIGKILL);
  kill(idle, SIGKILL);
  waitpid(busy, nullptr, 0);
  waitpid(idle, nullptr, 0);
  const proc_usage gone = read_usage({busy, idle});
  EXPECT_EQ(gone.cpu_percent, 0.0);
  EXPECT_EQ(gone.memory_percent, 0.0);
  EXPECT_EQ(read_usage({}).memory_percent, 0.0);
}

// A reader that answers 1, 2, 3... in cpu_percent, counting its calls.
struct counting_reader {
  std::atomic<int> calls{0};
  usage_cache::reader fn() {
    return [this](const std::vector<int32_t>&) {
      return proc_usage{static_cast<double>(++calls), 0};
    };
  }
};

TEST(UsageCache, AFreshValueIsReusedWithoutReading) {
  counting_reader r;
  usage_cache cache{1h, r.fn()};
  EXPECT_EQ(cache.get("/d/api", {1}).cpu_percent, 1.0);
  EXPECT_EQ(cache.get("/d/api", {1}).cpu_percent, 1.0);
  EXPECT_EQ(cache.get("/d/web", {2}).cpu_percent, 2.0) << "each key is read for itself";
  EXPECT_EQ(r.calls, 2);
}

TEST(UsageCache, AStaleValueIsAnsweredAndRefreshedBehindTheAnswer) {
  counting_reader r;
  usage_cache cache{0ms, r.fn()};
  EXPECT_EQ(cache.get("/d/api", {1}).cpu_percent, 1.0);
  // Stale at once: this answer is the last value, and a refresh starts.
  EXPECT_EQ(cache.get("/d/api", {1}).cpu_percent, 1.0);
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  double seen = 1.0;
  while (seen == 1.0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
    seen = cache.get("/d/api", {1}).cpu_percent;
  }
  EXPECT_GT(seen, 1.0) << "the refresh never replaced the value";
}

TEST(UsageCache, AForgottenServiceIsReadAgainFromScratch) {
  counting_reader r;
  usage_cache cache{1h, r.fn()};
  cache.get("/d/api", {1});
  cache.get("/other/api", {1});
  cache.forget("/d/");
  EXPECT_EQ(cache.get("/d/api", {1}).cpu_percent, 3.0);
  EXPECT_EQ(cache.get("/other/api", {1}).cpu_percent, 2.0) << "another deployment stays";
}

} // namespace
