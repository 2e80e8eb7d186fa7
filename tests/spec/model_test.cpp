// What the loader builds: defaults, every field, and the same model from YAML and JSON.
#include <gtest/gtest.h>

#include "spec/dependency_graph.hpp"
#include "spec_test_util.hpp"

using namespace nv;
using namespace nv::spec;
using namespace nv::spec::test;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view full_yaml = R"(version: v1
deployment: web-stack
supervision:
  strategy: rest_for_one
  max_restarts: 3
  window: 1m
  backoff:
    initial: 500ms
    max: 1m
services:
  db:
    rtype: service
    image:
      name: postgres:16
      pull_policy: never
    command:
      entrypoint: [docker-entrypoint.sh]
      args: [postgres, -c, fsync=off]
      workdir: /var/lib/postgresql
    env:
      POSTGRES_PASSWORD: $E:DB_PASSWORD
      PGDATA: /data
    scale:
      mode: fixed
      replicas: 2
    platform:
      os: macos
      arch: arm64
    stop_signal: SIGINT
    stop_grace_period: 1m30s
    restart_policy:
      kind: on_failure
    resources:
      cpu: 1.5
      memory: 1Gi
      gpu: {count: 2, vendor: nvidia, sharing: time-slice, mps_pipe_dir: /run/mps}
    health:
      start_grace: 2s
      interval: 1.5s
      timeout: 500ms
      retries: 5
      check:
        type: tcp
        port: 5432
    errors:
      on_init_failure:
        action: restart
      on_panic:
        action: isolate
    supervision:
      strategy: one_for_all
      max_restarts: 10
      window: 2m
      backoff:
        initial: 2s
        max: 30s
    sim:
      start_delay: 100ms
      exit_after: 5s
      exit_code: -3
      fail_pull: registry down
      fail_create: no bundle
      fail_start: exec failed
      unhealthy_after: 2s
      hang_on_stop: true
  api:
    rtype: job
    image:
      name: api:1.0
    scale:
      mode: adaptive
      min: 3
    stop_signal: 9
    health:
      check:
        type: http
        url: http://localhost:8080/health
        expect_status: 204
    depends:
      - service: db
        condition: started
        timeout: 45s
        on_timeout: continue
    init:
      steps:
        - id: wait-db
          uses: init.wait_tcp
          with:
            host: db
            port: 5432
            timeout: 10
          timeout: 20s
          on_failure: warn
          retry: 2
        - id: wait-web
          uses: init.wait_http
          with:
            url: http://db:8080/
            expect_status: 200
            timeout: 1m
        - id: migrate
          uses: init.run
          with:
            command: ./migrate up
  worker:
    image:
      name: worker
    health:
      check:
        type: command
        command: test -f /tmp/ready
    depends:
      - service: api
)";

// The same spec, as JSON.
constexpr std::string_view full_json = R"({
  "version": "v1",
  "deployment": "web-stack",
  "supervision": {"strategy": "rest_for_one", "max_restarts": 3, "window": "1m",
                  "backoff": {"initial": "500ms", "max": "1m"}},
  "services": {
    "db": {
      "rtype": "service",
      "image": {"name": "postgres:16", "pull_policy": "never"},
      "command": {"entrypoint": ["docker-entrypoint.sh"], "args": ["postgres", "-c", "fsync=off"],
                  "workdir": "/var/lib/postgresql"},
      "env": {"POSTGRES_PASSWORD": "$E:DB_PASSWORD", "PGDATA": "/data"},
      "scale": {"mode": "fixed", "replicas": 2},
      "platform": {"os": "macos", "arch": "arm64"},
      "stop_signal": "SIGINT",
      "stop_grace_period": "1m30s",
      "restart_policy": {"kind": "on_failure"},
      "resources": {"cpu": 1.5, "memory": "1Gi",
                    "gpu": {"count": 2, "vendor": "nvidia", "sharing": "time-slice",
                            "mps_pipe_dir": "/run/mps"}},
      "health": {"start_grace": "2s", "interval": "1.5s", "timeout": "500ms", "retries": 5,
                 "check": {"type": "tcp", "port": 5432}},
      "errors": {"on_init_failure": {"action": "restart"}, "on_panic": {"action": "isolate"}},
      "supervision": {"strategy": "one_for_all", "max_restarts": 10, "window": "2m",
                      "backoff": {"initial": "2s", "max": "30s"}},
      "sim": {"start_delay": "100ms", "exit_after": "5s", "exit_code": -3,
              "fail_pull": "registry down", "fail_create": "no bundle", "fail_start": "exec failed",
              "unhealthy_after": "2s", "hang_on_stop": true}
    },
    "api": {
      "rtype": "job",
      "image": {"name": "api:1.0"},
      "scale": {"mode": "adaptive", "min": 3},
      "stop_signal": 9,
      "health": {"check": {"type": "http", "url": "http://localhost:8080/health",
                           "expect_status": 204}},
      "depends": [{"service": "db", "condition": "started", "timeout": "45s",
                   "on_timeout": "continue"}],
      "init": {"steps": [
        {"id": "wait-db", "uses": "init.wait_tcp",
         "with": {"host": "db", "port": 5432, "timeout": 10},
         "timeout": "20s", "on_failure": "warn", "retry": 2},
        {"id": "wait-web", "uses": "init.wait_http",
         "with": {"url": "http://db:8080/", "expect_status": 200, "timeout": "1m"}},
        {"id": "migrate", "uses": "init.run", "with": {"command": "./migrate up"}}
      ]}
    },
    "worker": {
      "image": {"name": "worker"},
      "health": {"check": {"type": "command", "command": "test -f /tmp/ready"}},
      "depends": [{"service": "api"}]
    }
  }
})";

// What full_yaml and full_json say, written out by hand.
deployment_spec expected_full() {
  deployment_spec d;
  d.name = "web-stack";
  d.supervision = {nv::restart_strategy::rest_for_one, 3, 1min, {500ms, 1min, std::nullopt}};

  service_spec db;
  db.name = "db";
  db.image = {"postgres:16", pull_policy::never};
  db.command = {{"docker-entrypoint.sh"}, {"postgres", "-c", "fsync=off"}, "/var/lib/postgresql"};
  db.env = {{"POSTGRES_PASSWORD", "$E:DB_PASSWORD"}, {"PGDATA", "/data"}};
  db.replicas = 2;
  db.platform = platform_spec{"darwin", "arm64"};
  db.stop_signal = SIGINT;
  db.stop_grace_period = 90s;
  db.restart_policy = restart_kind::on_failure;
  db.resources = {1.5, uint64_t{1} << 30,
                  gpu_request{2, "nvidia", gpu_sharing::time_slice, "/run/mps", "/tmp/nvidia-log"}};
  db.health = health_spec{2s, 1500ms, 500ms, 5, tcp_check{5432}};
  db.errors = {init_failure_policy::restart, panic_action::isolate};
  db.supervision = {nv::restart_strategy::one_for_all, 10, 2min, {2s, 30s, std::nullopt}};
  db.sim.start_delay = 100ms;
  db.sim.exit_after = 5s;
  db.sim.exit_code = -3;
  db.sim.fail_pull = "registry down";
  db.sim.fail_create = "no bundle";
  db.sim.fail_start = "exec failed";
  db.sim.unhealthy_after = 2s;
  db.sim.hang_on_stop = true;

  service_spec api;
  api.name = "api";
  api.rtype = service_kind::job;
  api.image.name = "api:1.0";
  api.replicas = 3;
  api.stop_signal = SIGKILL;
  api.health = health_spec{};
  api.health->check = http_check{"http://localhost:8080/health", 204};
  api.depends = {{"db", dependency_condition::started, 45s, failure_action::proceed}};
  api.init = {
      {"wait-db", tcp_check{5432, "db"}, 10s, 20s, failure_action::warn, 2},
      {"wait-web", http_check{"http://db:8080/", 200}, 1min, 300s, failure_action::fail,
       std::nullopt},
      {"migrate", command_check{"./migrate up"}, 300s, 300s, failure_action::fail, std::nullopt},
  };

  service_spec worker;
  worker.name = "worker";
  worker.image.name = "worker";
  worker.health = health_spec{};
  worker.health->check = command_check{"test -f /tmp/ready"};
  worker.depends = {{"api"}};

  d.services = {db, api, worker};
  return d;
}

} // namespace

TEST(SpecModel, MinimalSpecGetsEveryDefault) {
  auto result = load_yaml(minimal_yaml);
  ASSERT_TRUE(result.spec) << testing::PrintToString(printed(result));
  EXPECT_TRUE(result.problems.empty());
  const auto& d = *result.spec;
  EXPECT_EQ(d.name, "web-stack");
  EXPECT_EQ(d.supervision, supervisor_flags{});
  EXPECT_EQ(d.supervision.strategy, nv::restart_strategy::one_for_one);
  EXPECT_EQ(d.supervision.max_restarts, 5u);
  EXPECT_EQ(d.supervision.window, 300s);
  EXPECT_EQ(d.supervision.backoff.initial, 1s);
  EXPECT_EQ(d.supervision.backoff.max, 300s);
  ASSERT_EQ(d.services.size(), 1u);
  const auto& api = d.services[0];
  EXPECT_EQ(api.name, "api");
  EXPECT_EQ(api.rtype, service_kind::service);
  EXPECT_EQ(api.image.name, "api:latest");
  EXPECT_EQ(api.image.pull, pull_policy::if_not_present);
  EXPECT_EQ(api.command, command_spec{});
  EXPECT_TRUE(api.env.empty());
  EXPECT_EQ(api.replicas, 1u);
  EXPECT_EQ(api.platform, std::nullopt);
  EXPECT_EQ(api.stop_signal, SIGTERM);
  EXPECT_EQ(api.stop_grace_period, 30s);
  EXPECT_EQ(api.restart_policy, std::nullopt);
  EXPECT_EQ(api.resources, resources_spec{});
  EXPECT_EQ(api.health, std::nullopt);
  EXPECT_TRUE(api.depends.empty());
  EXPECT_TRUE(api.init.empty());
  EXPECT_EQ(api.errors.on_init_failure, init_failure_policy::fail);
  EXPECT_EQ(api.errors.on_panic, panic_action::restart);
  EXPECT_EQ(api.supervision, supervisor_flags{});
  EXPECT_EQ(api.sim, nv::sim_behavior{});
  EXPECT_EQ(restart_type_of(api), nv::restart_type::permanent);
}

TEST(SpecModel, BlockDefaultsApplyToOmittedFields) {
  auto result = load_yaml(std::string{minimal_yaml} + R"(    health:
      check:
        type: http
        url: http://localhost/
    depends:
      - service: db
    init:
      steps:
        - id: wait
          uses: init.wait_tcp
          with: {host: db, port: 5432}
        - id: probe
          uses: init.wait_http
          with: {url: "http://db/"}
        - id: run
          uses: init.run
          with: {command: "true"}
  db:
    image: {name: db}
)");
  ASSERT_TRUE(result.spec) << testing::PrintToString(printed(result));
  const auto& api = result.spec->services[0];
  ASSERT_TRUE(api.health);
  EXPECT_EQ(api.health->start_grace, 5s);
  EXPECT_EQ(api.health->interval, 10s);
  EXPECT_EQ(api.health->timeout, 5s);
  EXPECT_EQ(api.health->retries, 3u);
  EXPECT_EQ(std::get<http_check>(api.health->check).expect_status, 200);
  ASSERT_EQ(api.depends.size(), 1u);
  EXPECT_EQ(api.depends[0].condition, dependency_condition::healthy);
  EXPECT_EQ(api.depends[0].timeout, 300s);
  EXPECT_EQ(api.depends[0].on_timeout, failure_action::fail);
  ASSERT_EQ(api.init.size(), 3u);
  for (const auto& step : api.init) {
    EXPECT_EQ(step.timeout, 300s);
    EXPECT_EQ(step.on_failure, failure_action::fail);
    EXPECT_EQ(step.retry, std::nullopt);
  }
  EXPECT_EQ(api.init[0].action_timeout, 30s);
  EXPECT_EQ(api.init[1].action_timeout, 30s);
  EXPECT_EQ(std::get<http_check>(api.init[1].action).expect_status, std::nullopt);
  EXPECT_EQ(api.init[2].action_timeout, 300s);
  EXPECT_EQ(std::get<command_check>(api.init[2].action).command, "true");
}

TEST(SpecModel, ReadsEveryField) {
  auto result = load_yaml(full_yaml);
  ASSERT_TRUE(result.spec) << testing::PrintToString(printed(result));
  EXPECT_TRUE(result.problems.empty()) << testing::PrintToString(printed(result));
  auto expected = expected_full();
  ASSERT_EQ(result.spec->services.size(), expected.services.size());
  for (std::size_t i = 0; i < expected.services.size(); ++i)
    EXPECT_EQ(result.spec->services[i], expected.services[i]) << expected.services[i].name;
  EXPECT_EQ(*result.spec, expected);
}

TEST(SpecModel, YamlAndJsonFilesGiveTheSameModel) {
  temp_dir dir;
  auto from_yaml = load_spec_file(dir.write("web.yaml", full_yaml));
  auto from_json = load_spec_file(dir.write("web.json", full_json));
  ASSERT_TRUE(from_yaml.spec) << testing::PrintToString(printed(from_yaml));
  ASSERT_TRUE(from_json.spec) << testing::PrintToString(printed(from_json));
  EXPECT_EQ(*from_yaml.spec, *from_json.spec);
  EXPECT_TRUE(from_json.problems.empty()) << testing::PrintToString(printed(from_json));
}

TEST(SpecModel, JsonIsDetectedByExtensionOrOpeningBrace) {
  temp_dir dir;
  // JSON content in a file named .yaml still loads: the text starts with '{'.
  auto by_content = load_spec_file(dir.write("web.yaml", "\n  " + std::string{full_json}));
  ASSERT_TRUE(by_content.spec) << testing::PrintToString(printed(by_content));
  EXPECT_EQ(*by_content.spec, expected_full());
  // A .json name selects JSON even when the text would also be YAML.
  auto by_name = load_spec_string("version: v1", "x.json", spec_format::auto_detect);
  ASSERT_FALSE(by_name.problems.empty());
  EXPECT_NE(by_name.problems[0].message.find("invalid JSON"), std::string::npos);
}

TEST(SpecModel, ServicesKeepFileOrder) {
  auto result = load_yaml(R"(version: v1
deployment: ordered
services:
  zeta: {image: {name: z}}
  alpha: {image: {name: a}}
  mid: {image: {name: m}}
)");
  ASSERT_TRUE(result.spec);
  std::vector<std::string> names;
  for (const auto& s : result.spec->services)
    names.push_back(s.name);
  EXPECT_EQ(names, (std::vector<std::string>{"zeta", "alpha", "mid"}));
}

TEST(SpecModel, MacosMapsToTheOciNameDarwin) {
  auto platform_of = [](std::string_view block) {
    auto result = load_yaml(std::string{minimal_yaml} + std::string{block});
    EXPECT_TRUE(result.spec) << testing::PrintToString(printed(result));
    return result.spec ? result.spec->services[0].platform : std::nullopt;
  };
  EXPECT_EQ(platform_of("    platform: {os: macos}\n"), (platform_spec{"darwin", ""}));
  EXPECT_EQ(platform_of("    platform: {os: darwin, arch: arm64}\n"),
            (platform_spec{"darwin", "arm64"}));
  EXPECT_EQ(platform_of("    platform: {os: windows, arch: amd64}\n"),
            (platform_spec{"windows", "amd64"}));
  EXPECT_EQ(platform_of("    platform: {os: linux}\n"), (platform_spec{"linux", ""}));
}

TEST(SpecModel, BackoffResetAfterDefaultsToTheWindow) {
  auto supervision_of = [](std::string_view block) {
    auto result = load_yaml(std::string{minimal_yaml} + std::string{block});
    EXPECT_TRUE(result.spec) << testing::PrintToString(printed(result));
    return result.spec ? result.spec->services[0].supervision : supervisor_flags{};
  };
  auto given = supervision_of("    supervision: {window: 2m, backoff: {reset_after: 30s}}\n");
  EXPECT_EQ(given.backoff.reset_after, std::optional<duration>{30s});
  EXPECT_EQ(backoff_reset_after(given), 30s);
  auto omitted = supervision_of("    supervision: {window: 2m}\n");
  EXPECT_EQ(omitted.backoff.reset_after, std::nullopt);
  EXPECT_EQ(backoff_reset_after(omitted), 2min);
  auto bad =
      load_yaml(std::string{minimal_yaml} + "    supervision: {backoff: {reset_after: 0s}}\n");
  EXPECT_FALSE(bad.spec) << "a child is never up for no time at all";
}

TEST(SpecModel, StopSignalAcceptsNameShortNameAndNumber) {
  for (auto [text, number] :
       std::initializer_list<std::pair<const char*, int>>{{"SIGTERM", SIGTERM},
                                                          {"TERM", SIGTERM},
                                                          {"15", SIGTERM},
                                                          {"SIGQUIT", SIGQUIT},
                                                          {"HUP", SIGHUP},
                                                          {"\"9\"", SIGKILL}}) {
    auto result = load_yaml(std::string{minimal_yaml} + "    stop_signal: " + text + "\n");
    ASSERT_TRUE(result.spec) << text;
    EXPECT_EQ(result.spec->services[0].stop_signal, number) << text;
  }
}

TEST(SpecModel, ScaleGivesTheReplicasToStart) {
  auto replicas_of = [](std::string_view scale) {
    auto result = load_yaml(std::string{minimal_yaml} + "    scale: " + std::string{scale} + "\n");
    EXPECT_TRUE(result.spec) << testing::PrintToString(printed(result));
    return result.spec ? result.spec->services[0].replicas : 0u;
  };
  EXPECT_EQ(replicas_of("{mode: fixed, replicas: 4}"), 4u);
  EXPECT_EQ(replicas_of("{mode: adaptive, min: 2, max: 9}"), 2u);
  EXPECT_EQ(replicas_of("{mode: manual}"), 1u);
}

TEST(SpecModel, RestartPolicyDecidesTheRestartTypeThenRtype) {
  service_spec s;
  EXPECT_EQ(restart_type_of(s), nv::restart_type::permanent);
  s.rtype = service_kind::job;
  EXPECT_EQ(restart_type_of(s), nv::restart_type::transient);
  s.restart_policy = restart_kind::always;
  EXPECT_EQ(restart_type_of(s), nv::restart_type::permanent);
  s.restart_policy = restart_kind::unless_stopped;
  EXPECT_EQ(restart_type_of(s), nv::restart_type::permanent);
  s.rtype = service_kind::service;
  s.restart_policy = restart_kind::on_failure;
  EXPECT_EQ(restart_type_of(s), nv::restart_type::transient);
  s.restart_policy = restart_kind::no;
  EXPECT_EQ(restart_type_of(s), nv::restart_type::temporary);

  auto result = load_yaml(std::string{minimal_yaml} + "    restart_policy: {kind: no}\n");
  ASSERT_TRUE(result.spec) << testing::PrintToString(printed(result));
  EXPECT_EQ(result.spec->services[0].restart_policy, restart_kind::no)
      << "YAML 1.2: a plain `no` is a string, not false";
}

TEST(SpecModel, QuotedAndPlainScalarsReadAlike) {
  auto result = load_yaml(std::string{minimal_yaml} + R"(    env:
      PORT: 8080
      DEBUG: true
      RATIO: 0.5
      QUOTED: "8080"
)");
  ASSERT_TRUE(result.spec) << testing::PrintToString(printed(result));
  EXPECT_EQ(result.spec->services[0].env,
            (std::vector<std::pair<std::string, std::string>>{
                {"PORT", "8080"}, {"DEBUG", "true"}, {"RATIO", "0.5"}, {"QUOTED", "8080"}}));
}

TEST(SpecModel, InitTrueIsAnInitProcessBesideOrWithoutSteps) {
  auto service_of = [](std::string_view block) {
    auto result = load_yaml(std::string{minimal_yaml} + std::string{block});
    EXPECT_TRUE(result.spec) << testing::PrintToString(printed(result));
    return result.spec ? result.spec->services[0] : service_spec{};
  };
  EXPECT_TRUE(service_of("    init: true\n").init_process);
  EXPECT_FALSE(service_of("    init: false\n").init_process);
  auto both = service_of("    init: {process: true, steps: [{id: s, uses: init.run, "
                         "with: {command: 'true'}}]}\n");
  EXPECT_TRUE(both.init_process);
  EXPECT_EQ(both.init.size(), 1u);
  EXPECT_FALSE(service_of("    init: {steps: []}\n").init_process);
  auto wrong = load_yaml(std::string{minimal_yaml} + "    init: 3\n");
  EXPECT_FALSE(wrong.spec);
}
