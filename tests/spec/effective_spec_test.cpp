// `validate --print`: the effective spec reads back to the very model it was printed from.
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spec/effective_spec.hpp"
#include "spec_test_util.hpp"

using namespace nv;
using namespace nv::spec;
using namespace nv::spec::test;
using testing::HasSubstr;

namespace {

const std::filesystem::path source{NV_SOURCE_DIR};

void expect_round_trip(const load_result& first, const std::string& name) {
  ASSERT_TRUE(first.spec) << name << ": " << testing::PrintToString(printed(first));
  auto text = effective_spec_json(*first.spec);
  auto again = load_spec_string(text, "printed.json");
  ASSERT_TRUE(again.spec) << name << ": " << testing::PrintToString(printed(again)) << "\n" << text;
  EXPECT_EQ(*again.spec, *first.spec) << name << ":\n" << text;
  // What ZLayer spells and nodevisor ignores is not part of the effective spec.
  EXPECT_TRUE(again.problems.empty()) << testing::PrintToString(printed(again));
}

} // namespace

TEST(EffectiveSpec, ShowsTheDefaults) {
  auto loaded = load_yaml(R"(version: v1
deployment: web-stack
services:
  api:
    image: {name: api:latest}
    health: {check: {type: tcp, port: 8080}}
    depends: [{service: db}]
  db:
    image: {name: db}
)");
  ASSERT_TRUE(loaded.spec);
  auto text = effective_spec_json(*loaded.spec);
  EXPECT_THAT(text, HasSubstr(R"("interval": "10s")"));
  EXPECT_THAT(text, HasSubstr(R"("start_grace": "5s")"));
  EXPECT_THAT(text, HasSubstr(R"("retries": 3)"));
  EXPECT_THAT(text, HasSubstr(R"("condition": "healthy")"));
  EXPECT_THAT(text, HasSubstr(R"("timeout": "300s")"));
  EXPECT_THAT(text, HasSubstr(R"("stop_grace_period": "30s")"));
  EXPECT_THAT(text, HasSubstr(R"("stop_signal": "SIGTERM")"));
  EXPECT_THAT(text, HasSubstr(R"("pull_policy": "if_not_present")"));
  EXPECT_THAT(text, HasSubstr(R"("max_restarts": 5)"));
  EXPECT_THAT(text, testing::Not(HasSubstr(R"("sim")")))
      << "sim only where it differs from its defaults";
  expect_round_trip(loaded, "defaults");
}

TEST(EffectiveSpec, EveryFieldRoundTrips) {
  auto loaded = load_yaml(R"(version: v1
deployment: everything
supervision: {strategy: rest_for_one, max_restarts: 3, window: 1m,
              backoff: {initial: 500ms, max: 1m, reset_after: 90s}}
services:
  db:
    image: {name: postgres:16, pull_policy: never}
    command: {entrypoint: [docker-entrypoint.sh], args: [postgres], workdir: /var/lib/pg}
    env: {PASSWORD: $E:DB_PASSWORD, PGDATA: /data}
    scale: {mode: fixed, replicas: 2}
    platform: {os: macos, arch: arm64}
    stop_signal: SIGINT
    stop_grace_period: 1m30s
    restart_policy: {kind: on_failure}
    resources: {cpu: 1.5, memory: 1536Mi}
    health: {start_grace: 2s, interval: 1.5s, timeout: 500ms, retries: 5,
             check: {type: tcp, port: 5432}}
    errors: {on_init_failure: {action: backoff}, on_panic: {action: isolate}}
    supervision: {strategy: one_for_all, max_restarts: 10, window: 2m,
                  backoff: {initial: 2s, max: 30s}}
    sim: {start_delay: 100ms, exit_after: 5s, exit_code: -3, fail_pull: down,
          fail_create: no bundle, fail_start: exec failed, unhealthy_after: 2s,
          hang_on_stop: true}
  api:
    rtype: job
    image: {name: api}
    scale: {mode: adaptive, min: 3}
    stop_signal: 9
    health: {check: {type: http, url: "http://localhost:8080/health", expect_status: 204}}
    depends: [{service: db, condition: started, timeout: 45s, on_timeout: continue}]
    init:
      process: true
      steps:
        - {id: wait-db, uses: init.wait_tcp, with: {host: db, port: 5432, timeout: 10},
           timeout: 20s, on_failure: warn, retry: 2}
        - {id: wait-web, uses: init.wait_http, with: {url: "http://db:8080/"}}
        - {id: migrate, uses: init.run, with: {command: ./migrate up, timeout: 2500ms}}
  worker:
    image: {name: worker}
    health: {check: {type: command, command: test -f /tmp/ready}}
    resources: {gpu: {count: 2, vendor: amd, sharing: mps, mps_pipe_dir: /run/mps,
                      mps_log_dir: /run/mps-log}}
)");
  expect_round_trip(loaded, "every field");
}

TEST(EffectiveSpec, TheExampleAndZLayersSpecsRoundTrip) {
  expect_round_trip(load_spec_file(source / "examples" / "web-stack.yaml"), "web-stack.yaml");
  auto fixtures = source / ".." / "shared" / "fixtures" / "zlayer";
  if (!std::filesystem::is_directory(fixtures))
    GTEST_SKIP() << fixtures << " does not exist";
  for (auto name : {"full-service.yaml", "simple.yaml", "nginx-static.yaml"})
    expect_round_trip(load_spec_file(fixtures / name), name);
}

TEST(EffectiveSpec, DurationsRoundTripAtEveryScale) {
  for (auto d : {"0", "1ns", "1500ns", "1000001ns", "1000000001ns", "36h", "100d", "200w"}) {
    auto loaded = load_yaml(std::string{minimal_yaml} + "    stop_grace_period: " + d + "\n");
    expect_round_trip(loaded, d);
  }
}
