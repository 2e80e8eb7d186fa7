// The trace of a real `nodevisor run`: complete (every actor spawned also exits), causal (a
// failure is walked back to its first cause through `cause`), and with --trace-messages a
// send/recv pair per message between actors.
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "tests/integration/nodevisor_process.hpp"

using namespace nv_test;

namespace {

using json = nlohmann::json;

std::map<uint64_t, json> by_seq(const std::vector<json>& events) {
  std::map<uint64_t, json> out;
  for (auto& e : events)
    out[e["seq"].get<uint64_t>()] = e;
  return out;
}

// From `seq` back to the first cause, first cause first.
std::vector<json> chain(const std::map<uint64_t, json>& events, uint64_t seq) {
  std::vector<json> out;
  while (seq != 0) {
    auto it = events.find(seq);
    if (it == events.end())
      break;
    out.insert(out.begin(), it->second);
    seq = it->second.value("cause", uint64_t{0});
  }
  return out;
}

std::string describe(const std::vector<json>& steps) {
  std::string out;
  for (auto& e : steps)
    out += e.dump() + "\n";
  return out;
}

const char* failing_probe = R"(version: v1
deployment: traced
supervision: {max_restarts: 0}
services:
  api:
    image: {name: local/test}
    command: {entrypoint: ["sleep", "300"]}
    health:
      start_grace: 50ms
      interval: 100ms
      timeout: 500ms
      retries: 1
      check: {type: tcp, port: PORT}
    supervision: {max_restarts: 1, window: 60s, backoff: {initial: 100ms, max: 200ms}}
    stop_grace_period: 2s
)";

TEST_F(Run, AnEscalationIsWalkedBackToTheProbeCheckThatFailedFirst) {
  // Nobody listens on PORT: every check is refused.
  auto spec = write_spec(replace_all(failing_probe, "PORT", free_port()));
  nodevisor_process nv{{"run", spec, "--trace", trace_path()}};
  ASSERT_TRUE(nv.wait_for_stdout("deployment failed")) << nv.stdout_text << nv.stderr_text;
  // A deployment that failed for good ends run by itself, with 1.
  ASSERT_EQ(nv.wait_exit(), 1) << nv.stderr_text;

  auto events = trace();
  auto seqs = by_seq(events);
  // The node learns of the deployment's end through its exit event: start there.
  uint64_t deployment_exit = 0;
  for (auto& e : events)
    if (e["actor"] == "/traced" && e["event"] == "exit")
      deployment_exit = e["seq"].get<uint64_t>();
  ASSERT_NE(deployment_exit, 0u);
  auto steps = chain(seqs, deployment_exit);
  auto text = describe(steps);

  ASSERT_GE(steps.size(), 8u) << text;
  const json& first = steps.front();
  EXPECT_EQ(first["event"], "probe") << text;
  EXPECT_EQ(first["actor"], "/traced/api/api-rep-1/probe") << text;
  EXPECT_EQ(first["ok"], false) << text;
  EXPECT_NE(first["reason"].get<std::string>().find("refused"), std::string::npos) << text;

  // In order along the chain: the probe gives up, the replica stops and fails, the service
  // exceeds its intensity and escalates, the deployment does the same, and exits.
  std::vector<std::tuple<std::string, std::string>> expected = {
      {"/traced/api/api-rep-1/probe", "failure"},
      {"/traced/api/api-rep-1", "state"},
      {"/traced/api/api-rep-1", "failure"},
      {"/traced/api/api-rep-1", "exit"},
      {"/traced/api", "escalate"},
      {"/traced/api", "exit"},
      {"/traced", "escalate"},
      {"/traced", "exit"}};
  std::size_t at = 0;
  for (auto& step : steps)
    if (at < expected.size() && step["actor"] == std::get<0>(expected[at]) &&
        step["event"] == std::get<1>(expected[at]))
      ++at;
  EXPECT_EQ(at, expected.size()) << "missing step " << std::get<0>(expected[at]) << " "
                                 << std::get<1>(expected[at]) << " in\n"
                                 << text;
  for (auto& step : steps)
    if (step.contains("error")) {
      EXPECT_EQ(step["error"]["kind"], "HealthCheckFailed") << "the error never changes kind\n"
                                                            << text;
    }
  const json& last = steps.back();
  EXPECT_EQ(last["reason"], "failure") << text;

  // Both incarnations are on the one chain: the second one's failing check follows from the
  // restart, and each failure says how many restarts came before it.
  std::vector<uint32_t> attempts;
  bool through_restart = false;
  for (auto& step : steps) {
    through_restart |= step["event"] == "restart";
    if (step["event"] == "failure" && step["actor"] == "/traced/api/api-rep-1")
      attempts.push_back(step["attempt"].get<uint32_t>());
  }
  EXPECT_TRUE(through_restart) << text;
  EXPECT_EQ(attempts, (std::vector<uint32_t>{0, 1})) << text;

  // The replica's restart follows from its first failure, and the new replica from the restart.
  bool restart_caused = false;
  for (auto& e : events)
    if (e["event"] == "restart" && e["child"] == "/traced/api/api-rep-1") {
      auto before = chain(seqs, e["seq"].get<uint64_t>());
      restart_caused = before.size() >= 3 && before.front()["event"] == "probe";
    }
  EXPECT_TRUE(restart_caused) << "a restart's cause leads back to the failing probe";

  // A state change of a running container carries its pid.
  bool running_with_pid = false;
  for (auto& e : events)
    if (e["actor"] == "/traced/api/api-rep-1" && e["event"] == "state" && e["to"] == "running")
      running_with_pid = e.contains("pid") && e["pid"].get<int>() > 0;
  EXPECT_TRUE(running_with_pid);
}

const char* two_services = R"(version: v1
deployment: chatty
services:
  db:
    image: {name: local/test}
    command: {entrypoint: ["sleep", "300"]}
    health:
      start_grace: 0s
      interval: 1s
      check: {type: command, command: "true"}
    stop_grace_period: 2s
  api:
    image: {name: local/test}
    command: {entrypoint: ["sleep", "300"]}
    scale: {mode: fixed, replicas: 2}
    depends: [{service: db, condition: healthy, timeout: 30s}]
    stop_grace_period: 2s
)";

TEST_F(Run, EveryActorThatWasSpawnedExitsInTheTrace) {
  auto spec = write_spec(two_services);
  nodevisor_process nv{{"run", spec, "--trace", trace_path(), "--until", "healthy"}};
  ASSERT_EQ(nv.wait_exit(), 0) << nv.stdout_text << nv.stderr_text;
  std::map<std::string, int> open; // actor -> spawns - exits
  for (auto& e : trace()) {
    EXPECT_NE(e["event"], "send") << "message tracing is off without --trace-messages";
    if (e["event"] == "spawn")
      ++open[e["actor"].get<std::string>()];
    if (e["event"] == "exit")
      --open[e["actor"].get<std::string>()];
  }
  for (const char* actor :
       {"/", "/chatty", "/chatty/db", "/chatty/db/db-rep-1", "/chatty/db/db-rep-1/probe",
        "/chatty/api", "/chatty/api/wait:db", "/chatty/api/api-rep-2"})
    EXPECT_TRUE(open.count(actor)) << actor << " has no spawn event";
  for (auto& [actor, balance] : open)
    EXPECT_EQ(balance, 0) << actor << (balance > 0 ? " never exited" : " exited unspawned");
}

TEST_F(Run, TraceMessagesRecordsEachMessageAsASendAndARecv) {
  auto spec = write_spec(two_services);
  nodevisor_process nv{
      {"run", spec, "--trace", trace_path(), "--trace-messages", "--until", "healthy"}};
  ASSERT_EQ(nv.wait_exit(), 0) << nv.stdout_text << nv.stderr_text;
  using key = std::tuple<std::string, std::string, std::string, std::string>;
  std::map<key, int> unmatched; // (sender, receiver, msg, summary) -> sends not yet received
  std::set<std::string> kinds;
  int recvs = 0;
  for (auto& e : trace()) {
    if (e["event"] == "send") {
      ++unmatched[{e["actor"], e["to"], e["msg"], e["summary"]}];
      kinds.insert(e["msg"].get<std::string>());
    } else if (e["event"] == "recv") {
      ++recvs;
      auto from = e["from"].get<std::string>();
      if (from.rfind("/_", 0) == 0 || e["msg"] == "down")
        continue; // from the runtime, the check runner or CAF itself: nobody traced a send
      key k{from, e["actor"], e["msg"], e["summary"]};
      EXPECT_GT(unmatched[k], 0) << "a recv without its send: " << e.dump();
      --unmatched[k];
    }
  }
  EXPECT_GT(recvs, 10);
  for (const char* kind : {"state", "subscribe", "exit"})
    EXPECT_TRUE(kinds.count(kind)) << "no " << kind << " message was traced";
  // The replicas' state changes all reach their service.
  for (auto& [k, n] : unmatched)
    if (std::get<2>(k) == "state" && std::get<1>(k) == "/chatty/api") {
      EXPECT_EQ(n, 0) << std::get<0>(k) << " -> " << std::get<1>(k) << ": " << std::get<3>(k);
    }
}

} // namespace
