// Where `nodevisor run --trace` writes can fail or stall, the trace must not take the run with
// it: a FIFO whose reader stopped reading does not hold up SIGTERM, a FIFO with no reader does
// not block start-up, and a trace that lost events (a full disk, a vanished reader) says so on
// stderr once and makes the run exit 1. The sim runtime: no real processes needed.
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/integration/nodevisor_process.hpp"

using namespace nv_test;

namespace {

const char* stack = R"(version: v1
deployment: stack
services:
  db:
    image: {name: local/test}
    command: {entrypoint: ["sleep", "300"]}
  api:
    image: {name: local/test}
    command: {entrypoint: ["sleep", "300"]}
    scale: {mode: fixed, replicas: 3}
    depends: [{service: db, condition: started, timeout: 30s}]
)";

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

class TraceOutput : public Run {
protected:
  ~TraceOutput() override {
    if (reader >= 0)
      close(reader);
  }

  std::string make_fifo() {
    const std::string path = (dir / "trace.fifo").string();
    EXPECT_EQ(mkfifo(path.c_str(), 0600), 0) << std::strerror(errno);
    return path;
  }
  // A reader that never reads, on a pipe as small as Linux makes one: a few events fill it.
  void open_idle_reader(const std::string& fifo) {
    reader = open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    ASSERT_GE(reader, 0) << std::strerror(errno);
    ASSERT_EQ(fcntl(reader, F_SETPIPE_SZ, 4096), 4096);
  }

  int reader = -1;
};

TEST_F(TraceOutput, AReaderThatStoppedReadingDoesNotHoldUpSigterm) {
  const std::string fifo = make_fifo();
  open_idle_reader(fifo);
  // Message tracing makes sure there is far more to write than the pipe holds.
  nodevisor_process nv{
      {"run", write_spec(stack), "--runtime", "sim", "--trace", fifo, "--trace-messages"}};
  ASSERT_TRUE(nv.wait_for_stdout("/stack: healthy")) << nv.stdout_text << nv.stderr_text;
  kill(nv.pid, SIGTERM);
  // The tree stops as always; the trace's final flush gives up at its deadline (2 s).
  ASSERT_EQ(nv.wait_exit(20s), 1) << nv.stderr_text;
  EXPECT_NE(nv.stdout_text.find("/stack: stopped"), std::string::npos) << nv.stdout_text;
  EXPECT_EQ(count(nv.stderr_text, "[/_trace]"), 1u) << nv.stderr_text;
  EXPECT_NE(nv.stderr_text.find("trace " + fifo + ": the file took no more writes"),
            std::string::npos)
      << nv.stderr_text;
}

TEST_F(TraceOutput, AFifoWithNoReaderFailsStartUpAtOnce) {
  const std::string fifo = make_fifo();
  nodevisor_process nv{{"run", write_spec(stack), "--runtime", "sim", "--trace", fifo}};
  ASSERT_EQ(nv.wait_exit(20s), 2) << nv.stderr_text;
  EXPECT_NE(nv.stderr_text.find(fifo + " is a FIFO with no reader"), std::string::npos)
      << nv.stderr_text;
  EXPECT_EQ(nv.stdout_text.find("/stack"), std::string::npos) << "started anyway";
}

TEST_F(TraceOutput, AFullDeviceIsReportedOnceAndFailsAHealthyRun) {
  nodevisor_process nv{
      {"run", write_spec(stack), "--runtime", "sim", "--trace", "/dev/full", "--until", "healthy"}};
  ASSERT_EQ(nv.wait_exit(20s), 1) << nv.stderr_text;
  EXPECT_NE(nv.stdout_text.find("/stack: healthy"), std::string::npos) << nv.stdout_text;
  EXPECT_EQ(count(nv.stderr_text, "[/_trace]"), 1u) << nv.stderr_text;
  EXPECT_NE(
      nv.stderr_text.find("trace /dev/full: write failed: " + std::string(std::strerror(ENOSPC))),
      std::string::npos)
      << nv.stderr_text;
}

TEST_F(TraceOutput, AVanishedReaderCostsTheTraceNotTheProcess) {
  const std::string fifo = make_fifo();
  open_idle_reader(fifo);
  nodevisor_process nv{{"run", write_spec(stack), "--runtime", "sim", "--trace", fifo}};
  ASSERT_TRUE(nv.wait_for_stdout("/stack: healthy")) << nv.stdout_text << nv.stderr_text;
  close(reader);
  reader = -1;
  // The stop's events meet the closed pipe: EPIPE, where SIGPIPE would have killed the run.
  kill(nv.pid, SIGTERM);
  ASSERT_EQ(nv.wait_exit(20s), 1) << nv.stderr_text;
  EXPECT_EQ(count(nv.stderr_text, "[/_trace]"), 1u) << nv.stderr_text;
  EXPECT_NE(nv.stderr_text.find(std::strerror(EPIPE)), std::string::npos) << nv.stderr_text;
}

} // namespace
