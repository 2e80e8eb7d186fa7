// `nodevisor run` end to end: the real binary, real child processes, real signals.
// Deadlines are generous; nothing here asserts how fast the machine is.
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/nodevisor_process.hpp"

using namespace nv_test;

namespace {

const char* three_services = R"(version: v1
deployment: stack
services:
  db:
    image: {name: local/test}
    command: {entrypoint: ["sleep", "300"]}
    stop_grace_period: 5s
  api:
    image: {name: local/test}
    command: {entrypoint: ["sleep", "300"]}
    scale: {mode: fixed, replicas: 2}
    depends: [{service: db, condition: healthy, timeout: 30s}]
    stop_grace_period: 5s
  web:
    image: {name: local/test}
    command: {entrypoint: ["sleep", "300"]}
    depends: [{service: api, condition: started, timeout: 30s}]
    stop_grace_period: 5s
)";

TEST_F(Run, StartsInDependencyOrderStopsInReverseOnSigtermAndLeavesNoChild) {
  auto spec = write_spec(three_services);
  nodevisor_process nv{{"run", spec, "--trace", trace_path()}};
  ASSERT_TRUE(nv.wait_for_stdout("/stack: healthy")) << nv.stdout_text << nv.stderr_text;
  kill(nv.pid, SIGTERM);
  ASSERT_EQ(nv.wait_exit(), 0) << nv.stderr_text;
  auto db = first("/stack/db", "state", "healthy");
  auto api = first("/stack/api/api-rep-1", "spawn");
  auto web = first("/stack/web/web-rep-1", "spawn");
  ASSERT_NE(db, 0u);
  EXPECT_LT(db, api);
  EXPECT_LT(first("/stack/api", "state", "running"), web);
  auto web_stop = first("/stack/web", "state", "stopped");
  auto api_stop = first("/stack/api", "state", "stopped");
  auto db_stop = first("/stack/db", "state", "stopped");
  ASSERT_NE(db_stop, 0u);
  EXPECT_LT(web_stop, api_stop);
  EXPECT_LT(api_stop, db_stop);
  auto all = pids();
  EXPECT_EQ(all.size(), 4u);
  for (int pid : all)
    EXPECT_FALSE(alive(pid)) << "pid " << pid << " outlived nodevisor run";
}

TEST_F(Run, CrashLoopEscalatesTheOriginalErrorToTheDeployment) {
  auto spec = write_spec(R"(version: v1
deployment: crashy
supervision: {max_restarts: 0}
services:
  worker:
    image: {name: local/test}
    command: {entrypoint: ["sh", "-c", "sleep 0.2; exit 3"]}
    supervision: {max_restarts: 2, window: 60s, backoff: {initial: 100ms, max: 1s}}
)");
  nodevisor_process nv{{"run", spec, "--trace", trace_path()}};
  // A deployment that failed for good ends run: it says so and exits 1 by itself.
  EXPECT_EQ(nv.wait_exit(), 1) << nv.stdout_text << nv.stderr_text;
  EXPECT_NE(nv.stdout_text.find("deployment failed"), std::string::npos) << nv.stdout_text;
  EXPECT_NE(nv.stdout_text.find("Container 'worker-rep-1' exited unexpectedly with code 3"),
            std::string::npos)
      << nv.stdout_text;
  int restarts = 0;
  std::vector<int64_t> delays;
  for (auto& e : trace())
    if (e["event"] == "restart" && e["child"] == "/crashy/worker/worker-rep-1") {
      ++restarts;
      delays.push_back(e["delay_ms"].get<int64_t>());
    }
  EXPECT_EQ(restarts, 2);
  ASSERT_EQ(delays.size(), 2u);
  EXPECT_EQ(delays[0], 0) << "the first restart is immediate";
  EXPECT_EQ(delays[1], 100) << "the second waits the initial backoff";
  EXPECT_NE(first("/crashy/worker", "escalate"), 0u);
  for (int pid : pids())
    EXPECT_FALSE(alive(pid));
}

TEST_F(Run, DependencyThatNeverBecomesHealthyTimesOutWithTheSeedsText) {
  auto spec = write_spec(R"(version: v1
deployment: stack
supervision: {max_restarts: 0}
services:
  db:
    image: {name: local/test}
    command: {entrypoint: ["/nonexistent/db-server"]}
    supervision: {max_restarts: 100, backoff: {initial: 100ms, max: 200ms}}
  api:
    image: {name: local/test}
    command: {entrypoint: ["sleep", "300"]}
    depends: [{service: db, condition: healthy, timeout: 1s}]
)");
  nodevisor_process nv{{"run", spec, "--until", "healthy", "--trace", trace_path()}};
  EXPECT_EQ(nv.wait_exit(), 1) << nv.stdout_text << nv.stderr_text;
  EXPECT_NE(nv.stdout_text.find("Dependency timeout: 'api' waiting for 'db' (healthy) after 1s"),
            std::string::npos)
      << nv.stdout_text;
  EXPECT_EQ(first("/stack/api/api-rep-1", "spawn"), 0u) << "api never started";
}

TEST_F(Run, WarnStartsTheDependentAnyway) {
  auto spec = write_spec(R"(version: v1
deployment: stack
services:
  db:
    image: {name: local/test}
    command: {entrypoint: ["/nonexistent/db-server"]}
    supervision: {max_restarts: 100, backoff: {initial: 100ms, max: 200ms}}
  api:
    image: {name: local/test}
    command: {entrypoint: ["sleep", "300"]}
    depends: [{service: db, condition: healthy, timeout: 500ms, on_timeout: warn}]
)");
  nodevisor_process nv{{"run", spec, "--trace", trace_path()}};
  for (int i = 0; i < 300 && first("/stack/api/api-rep-1", "state", "running") == 0; ++i)
    nv.pump(100ms);
  EXPECT_NE(first("/stack/api/api-rep-1", "state", "running"), 0u) << nv.stderr_text;
  EXPECT_NE(nv.stderr_text.find("on_timeout: warn"), std::string::npos);
  kill(nv.pid, SIGINT);
  EXPECT_EQ(nv.wait_exit(), 0);
}

TEST_F(Run, TwoDependenciesTimeOutInParallel) {
  auto spec = write_spec(R"(version: v1
deployment: stack
services:
  db:
    image: {name: local/test}
    command: {entrypoint: ["/nonexistent/db"]}
    supervision: {max_restarts: 100, backoff: {initial: 100ms, max: 200ms}}
  cache:
    image: {name: local/test}
    command: {entrypoint: ["/nonexistent/cache"]}
    supervision: {max_restarts: 100, backoff: {initial: 100ms, max: 200ms}}
  api:
    image: {name: local/test}
    command: {entrypoint: ["sleep", "300"]}
    depends:
      - {service: db, timeout: 2s, on_timeout: continue}
      - {service: cache, timeout: 2s, on_timeout: continue}
)");
  nodevisor_process nv{{"run", spec, "--trace", trace_path()}};
  std::vector<int64_t> timeouts;
  for (int i = 0; i < 300 && timeouts.size() < 2; ++i) {
    nv.pump(100ms);
    timeouts.clear();
    for (auto& e : trace())
      if (e["event"] == "wait" && e["outcome"] == "timeout_continue")
        timeouts.push_back(e["ts_us"].get<int64_t>());
  }
  ASSERT_EQ(timeouts.size(), 2u) << nv.stderr_text;
  // One after the other would put them a whole timeout (2 s) apart.
  EXPECT_LT(std::abs(timeouts[0] - timeouts[1]), 1'000'000) << "the waits ran in parallel";
  kill(nv.pid, SIGTERM);
  EXPECT_EQ(nv.wait_exit(), 0);
}

TEST_F(Run, UntilHealthyCountsAJobOnlyOnceItCompleted) {
  auto spec = write_spec(R"(version: v1
deployment: jobs
services:
  migrate:
    rtype: job
    image: {name: local/test}
    command: {entrypoint: ["sh", "-c", "sleep 1; exit 0"]}
)");
  nodevisor_process nv{{"run", spec, "--until", "healthy", "--trace", trace_path()}};
  EXPECT_EQ(nv.wait_exit(), 0) << nv.stderr_text;
  EXPECT_NE(first("/jobs/migrate/migrate-rep-1", "state", "completed"), 0u)
      << "run waited for the job to finish";
}

TEST_F(Run, AProcessThatIgnoresSigtermIsKilledAfterItsGrace) {
  auto spec = write_spec(R"(version: v1
deployment: stubborn
services:
  mule:
    image: {name: local/test}
    command: {entrypoint: ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"]}
    stop_grace_period: 1s
)");
  nodevisor_process nv{{"run", spec, "--until", "healthy", "--trace", trace_path()}};
  EXPECT_EQ(nv.wait_exit(), 0) << nv.stderr_text;
  auto all = pids();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_FALSE(alive(*all.begin()));
}

TEST_F(Run, WindowsServiceRoutesToPeerWhileTheOthersRun) {
  auto spec = write_spec(R"(version: v1
deployment: mixed
services:
  web:
    image: {name: local/test}
    command: {entrypoint: ["sleep", "300"]}
  iis:
    image: {name: local/test}
    command: {entrypoint: ["cmd.exe"]}
    platform: {os: windows}
)");
  nodevisor_process nv{{"run", spec, "--trace", trace_path()}};
  ASSERT_TRUE(nv.wait_for_stdout("Remedies")) << nv.stdout_text << nv.stderr_text;
  EXPECT_NE(nv.stdout_text.find("route-to-peer: service 'iis' requires OS 'windows'"),
            std::string::npos);
  EXPECT_EQ(nv.stdout_text.find("Failed to create"), std::string::npos) << "never CreateFailed";
  for (int i = 0; i < 100 && first("/mixed/web", "state", "healthy") == 0; ++i)
    nv.pump(100ms);
  EXPECT_NE(first("/mixed/web", "state", "healthy"), 0u) << "the other service runs";
  // The trace is written behind the run's own output: wait for it too.
  bool routed = false;
  for (int i = 0; i < 100 && !routed; ++i) {
    for (auto& e : trace())
      routed |= e["event"] == "route" && e["service"] == "iis" && e["peer"].is_null();
    if (!routed)
      nv.pump(100ms);
  }
  EXPECT_TRUE(routed);
  kill(nv.pid, SIGTERM);
  EXPECT_EQ(nv.wait_exit(), 0);
}

TEST_F(Run, HttpCheckAgainstA404RestartsTheReplica) {
  auto spec = write_spec(replace_all(R"(version: v1
deployment: probes
services:
  api:
    image: {name: local/test}
    command: {entrypoint: [")" NV_DEMO R"(", "--name", "api", "--port", "PORT"]}
    health:
      start_grace: 100ms
      interval: 100ms
      timeout: 1s
      retries: 2
      check: {type: http, url: "http://127.0.0.1:PORT/missing", expect_status: 200}
    supervision: {max_restarts: 100, backoff: {initial: 100ms, max: 200ms}}
    stop_grace_period: 2s
)",
                                     "PORT", free_port()));
  nodevisor_process nv{{"run", spec, "--trace", trace_path()}};
  auto restarted = [&] {
    bool health_failed = false;
    for (auto& e : trace()) {
      health_failed |= e["event"] == "failure" && e["error"]["kind"] == "HealthCheckFailed";
      if (health_failed && e["event"] == "restart" && e["child"] == "/probes/api/api-rep-1")
        return true;
    }
    return false;
  };
  for (int i = 0; i < 300 && !restarted(); ++i)
    nv.pump(100ms);
  ASSERT_TRUE(restarted()) << nv.stderr_text;
  std::string reason;
  for (auto& e : trace())
    if (e["event"] == "failure" && e["error"]["kind"] == "HealthCheckFailed") {
      reason = e["error"]["message"].get<std::string>();
      break;
    }
  EXPECT_NE(reason.find("Health check failed for 'api-rep-1'"), std::string::npos) << reason;
  EXPECT_NE(reason.find("404"), std::string::npos) << reason;
  kill(nv.pid, SIGTERM);
  EXPECT_EQ(nv.wait_exit(), 0);
  for (int pid : pids())
    EXPECT_FALSE(alive(pid));
}

TEST_F(Run, AServerThatNeverAnswersFailsItsCheckWithTimeout) {
  auto spec = write_spec(replace_all(R"(version: v1
deployment: probes
services:
  api:
    image: {name: local/test}
    command: {entrypoint: [")" NV_DEMO R"(", "--name", "api", "--port", "PORT", "--no-answer"]}
    health:
      start_grace: 100ms
      interval: 100ms
      timeout: 500ms
      retries: 1
      check: {type: http, url: "http://127.0.0.1:PORT/health"}
    stop_grace_period: 2s
)",
                                     "PORT", free_port()));
  nodevisor_process nv{{"run", spec, "--trace", trace_path()}};
  std::string reason;
  for (int i = 0; i < 300 && reason.empty(); ++i) {
    nv.pump(100ms);
    for (auto& e : trace())
      if (e["event"] == "failure" && e["error"]["kind"] == "HealthCheckFailed")
        reason = e["error"]["reason"].get<std::string>();
  }
  EXPECT_TRUE(reason.starts_with("http://127.0.0.1:") &&
              reason.ends_with("/health: Timeout after 500ms"))
      << reason << nv.stderr_text;
  kill(nv.pid, SIGTERM);
  EXPECT_EQ(nv.wait_exit(), 0);
}

TEST_F(Run, AFailingInitStepKeepsTheReplicasFromStarting) {
  auto spec = write_spec(R"(version: v1
deployment: inits
supervision: {max_restarts: 0}
services:
  api:
    image: {name: local/test}
    command: {entrypoint: ["sleep", "300"]}
    init:
      steps:
        - id: migrate
          uses: init.run
          with: {command: "echo migrating; exit 3"}
    errors: {on_init_failure: {action: restart}}
)");
  nodevisor_process nv{{"run", spec, "--trace", trace_path()}};
  ASSERT_TRUE(nv.wait_for_stdout("deployment failed")) << nv.stdout_text << nv.stderr_text;
  EXPECT_NE(nv.stdout_text.find("Init action failed for 'migrate'"), std::string::npos)
      << nv.stdout_text;
  EXPECT_EQ(nv.wait_exit(), 1) << "a deployment that failed for good ends run with 1";
  // Read once the run has exited: the trace is complete then.
  int runs = 0;
  for (auto& e : trace())
    runs += e["event"] == "spawn" && e["actor"] == "/inits/api/init:migrate";
  EXPECT_EQ(runs, 4) << "on_init_failure restart: the first run and 3 retries";
  EXPECT_EQ(first("/inits/api/api-rep-1", "spawn"), 0u) << "no replica starts";
}

TEST_F(Run, EnvReadsTheDaemonsVariablesAndTheLogDirKeepsTheOutput) {
  setenv("NV_RUN_TEST_SECRET", "s3cret", 1);
  auto logs = dir / "logs";
  auto spec = write_spec(R"(version: v1
deployment: envs
services:
  app:
    rtype: job
    image: {name: local/test}
    command: {entrypoint: ["sh", "-c", "echo secret=$SECRET replica=$NODEVISOR_REPLICA"]}
    env: {SECRET: "$E:NV_RUN_TEST_SECRET"}
)");
  nodevisor_process nv{{"run", spec, "--until", "healthy", "--log-dir", logs.string()}};
  ASSERT_EQ(nv.wait_exit(), 0) << nv.stderr_text;
  std::ifstream in{logs / "app-rep-1.log"};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  EXPECT_NE(text.find("secret=s3cret replica=1"), std::string::npos) << text;
}

TEST_F(Run, AMissingDaemonVariableStopsRunBeforeAnythingStarts) {
  unsetenv("NV_RUN_TEST_UNSET");
  auto spec = write_spec(R"(version: v1
deployment: envs
services:
  app:
    image: {name: local/test}
    command: {entrypoint: ["sleep", "300"]}
    env: {TOKEN: "$E:NV_RUN_TEST_UNSET"}
)");
  nodevisor_process nv{{"run", spec, "--trace", trace_path()}};
  EXPECT_EQ(nv.wait_exit(), 2);
  EXPECT_NE(nv.stderr_text.find("services.app.env"), std::string::npos) << nv.stderr_text;
  EXPECT_NE(nv.stderr_text.find("NV_RUN_TEST_UNSET"), std::string::npos);
  EXPECT_TRUE(pids().empty()) << "nothing started";
}

TEST_F(Run, ValidateRejectsABadSpecWithFieldPaths) {
  auto spec = write_spec(R"(version: v1
deployment: bad
services:
  api:
    image: {name: local/test}
    command: {entrypoint: ["sleep", "1"]}
    depends_on: [db]
    health: {interval: ten, check: {type: tcp, port: 1}}
)");
  nodevisor_process nv{{"validate", spec}};
  EXPECT_EQ(nv.wait_exit(), 2);
  EXPECT_NE(nv.stderr_text.find("services.api.depends_on"), std::string::npos) << nv.stderr_text;
  EXPECT_NE(nv.stderr_text.find("services.api.health.interval"), std::string::npos);
}

} // namespace
