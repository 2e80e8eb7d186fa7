// Per-replica ports end to end: two replicas of one demo service, each listening on and probed
// at its own port (replica_port). Freezing one replica's process (SIGSTOP) fails its own health
// checks only: that replica is restarted, the other keeps its process and has no restart.
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "tests/integration/nodevisor_process.hpp"

using namespace nv_test;

namespace {

bool can_bind(uint16_t port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok = bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(s);
  return ok;
}

// The demo server's answer to GET / on 127.0.0.1:port, or "" when it cannot be had.
std::string get_root(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  std::string reply;
  if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const char req[] = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    if (send(s, req, sizeof req - 1, MSG_NOSIGNAL) > 0) {
      char buf[1024];
      for (ssize_t n; (n = recv(s, buf, sizeof buf, 0)) > 0;)
        reply.append(buf, static_cast<std::size_t>(n));
    }
  }
  close(s);
  return reply;
}

// A base port whose next port is free too, for two replicas.
std::string two_free_ports() {
  for (int tries = 0; tries < 50; ++tries) {
    auto base = static_cast<uint16_t>(std::stoi(free_port()));
    if (base < 65535 && can_bind(static_cast<uint16_t>(base + 1)))
      return std::to_string(base);
  }
  return "0";
}

const char* two_replicas = R"(version: v1
deployment: frozen
services:
  api:
    image: {name: local/demo}
    replica_port: BASE_PORT
    scale: {mode: fixed, replicas: 2}
    command:
      entrypoint: [")" NV_DEMO R"("]
      args: ["--name", "api-${NODEVISOR_REPLICA}", "--port", "${NODEVISOR_PORT}"]
    health:
      start_grace: 200ms
      interval: 200ms
      timeout: 300ms
      retries: 2
      check: {type: http, url: "http://127.0.0.1:${NODEVISOR_PORT}/health"}
    supervision: {max_restarts: 10, window: 60s, backoff: {initial: 100ms, max: 200ms}}
    stop_grace_period: 1s
)";

class ReplicaPort : public Run {
protected:
  // The pids each replica ran with, in the order the trace shows them.
  std::map<std::string, std::vector<int>> pids_by_replica() const {
    std::map<std::string, std::vector<int>> out;
    for (auto& e : trace())
      if (e["event"] == "state" && e.contains("pid") && e["pid"].get<int>() > 0) {
        auto& list = out[e["actor"].get<std::string>()];
        int pid = e["pid"].get<int>();
        if (list.empty() || list.back() != pid)
          list.push_back(pid);
      }
    return out;
  }
  int restarts_of(const std::string& child) const {
    int n = 0;
    for (auto& e : trace())
      if (e["event"] == "restart" && e.value("child", "") == child)
        ++n;
    return n;
  }
};

TEST_F(ReplicaPort, AFrozenReplicaIsRestartedAloneAndTheOtherKeepsItsProcess) {
  auto port = two_free_ports();
  ASSERT_NE(port, "0");
  auto spec = write_spec(replace_all(two_replicas, "BASE_PORT", port));
  nodevisor_process nv{{"run", spec, "--trace", trace_path()}};
  ASSERT_TRUE(nv.wait_for_stdout("/frozen: healthy")) << nv.stdout_text << nv.stderr_text;

  const std::string rep1 = "/frozen/api/api-rep-1", rep2 = "/frozen/api/api-rep-2";
  auto before = pids_by_replica();
  ASSERT_EQ(before[rep1].size(), 1u);
  ASSERT_EQ(before[rep2].size(), 1u);
  const int frozen = before[rep1].front(), other = before[rep2].front();
  // Each replica listens on its own port: base for replica 1, base + 1 for replica 2.
  EXPECT_NE(get_root(std::stoi(port)).find("hello from api-1"), std::string::npos);
  EXPECT_NE(get_root(std::stoi(port) + 1).find("hello from api-2"), std::string::npos);
  ASSERT_EQ(kill(frozen, SIGSTOP), 0);

  // Replica 1 fails its checks, is stopped (killed at the end of its grace) and started again.
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (pids_by_replica()[rep1].size() < 2 || restarts_of(rep1) < 1) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline)
        << nv.stdout_text << nv.stderr_text << "\nreplica 1 was not restarted";
    nv.pump(200ms);
  }
  // Long enough for replica 2's probe to have failed several times, were it probing replica 1.
  ASSERT_TRUE(nv.wait_for_stdout("/frozen: healthy", 30s));
  for (int i = 0; i < 10; ++i)
    nv.pump(100ms);
  kill(frozen, SIGCONT); // in case it still lives
  kill(nv.pid, SIGTERM);
  nv.wait_exit();

  auto after = pids_by_replica();
  EXPECT_EQ(after[rep2], std::vector<int>{other}) << "replica 2 was restarted too";
  EXPECT_EQ(restarts_of(rep2), 0);
  EXPECT_GE(restarts_of(rep1), 1);
  EXPECT_NE(after[rep1].back(), frozen);
}

} // namespace
