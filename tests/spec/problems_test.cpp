// What the loader says about specs it cannot use, and the ZLayer fields it only warns about.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spec_test_util.hpp"

using namespace nv;
using namespace nv::spec;
using namespace nv::spec::test;
using testing::Contains;
using testing::ElementsAre;
using testing::HasSubstr;

namespace {

std::string with_api(std::string_view fields) {
  return std::string{minimal_yaml} + std::string{fields};
}

} // namespace

TEST(SpecProblems, BadDurationNamesFileFieldAndValue) {
  auto result =
      load_yaml(with_api("    health:\n      interval: ten\n      check: {type: tcp, port: 80}\n"));
  EXPECT_FALSE(result.spec);
  EXPECT_THAT(
      printed(result),
      ElementsAre(
          R"(spec.yaml: services.api.health.interval: expected a duration such as 10s, got "ten")"));
  ASSERT_EQ(result.problems.size(), 1u);
  const auto& p = result.problems[0];
  EXPECT_EQ(p.file, "spec.yaml");
  EXPECT_EQ(p.path, "services.api.health.interval");
  EXPECT_EQ(p.level, severity::error);
  EXPECT_EQ(p.line, 8u) << "positions are kept even though field problems print the path";
}

TEST(SpecProblems, UnknownKeySuggestsTheNearestKnownOne) {
  auto result = load_yaml(with_api("    depends_on:\n      - service: db\n"));
  EXPECT_FALSE(result.spec);
  EXPECT_THAT(
      printed(result),
      ElementsAre("spec.yaml: services.api.depends_on: unknown field; did you mean 'depends'?"));

  auto more = load_yaml(
      with_api("    helth: {check: {type: tcp, port: 1}}\n    imgae: x\n    zzzzzz: 1\n"));
  EXPECT_THAT(printed(more),
              Contains("spec.yaml: services.api.helth: unknown field; did you mean 'health'?"));
  EXPECT_THAT(printed(more),
              Contains("spec.yaml: services.api.imgae: unknown field; did you mean 'image'?"));
  EXPECT_THAT(printed(more), Contains("spec.yaml: services.api.zzzzzz: unknown field"));
}

TEST(SpecProblems, KeysZLayerItselfRejectsAreErrors) {
  // examples/containers/multi-service uses these; ZLayer's deny_unknown_fields rejects them.
  auto result = load_yaml(with_api("    volumes: []\n    secrets: []\n"));
  EXPECT_FALSE(result.spec);
  EXPECT_THAT(printed(result), Contains(HasSubstr("services.api.volumes: unknown field")));
  EXPECT_THAT(printed(result), Contains(HasSubstr("services.api.secrets: unknown field")));
}

TEST(SpecProblems, SelfDependency) {
  auto result = load_yaml(with_api("    depends:\n      - service: api\n"));
  EXPECT_FALSE(result.spec);
  EXPECT_THAT(
      printed(result),
      ElementsAre("spec.yaml: services.api.depends[0].service: a service cannot depend on itself"));
}

TEST(SpecProblems, MissingDependency) {
  auto result = load_yaml(
      with_api("    depends:\n      - service: databse\n  database:\n    image: {name: pg}\n"));
  EXPECT_FALSE(result.spec);
  EXPECT_THAT(
      printed(result),
      ElementsAre("spec.yaml: services.api.depends[0].service: no service named 'databse' in "
                  "this deployment; did you mean 'database'?"));
}

TEST(SpecProblems, CycleIsNamed) {
  auto result = load_yaml(R"(version: v1
deployment: cyclic
services:
  a:
    image: {name: a}
    depends: [{service: b}]
  b:
    image: {name: b}
    depends: [{service: a}]
)");
  EXPECT_FALSE(result.spec);
  EXPECT_THAT(
      printed(result),
      ElementsAre("spec.yaml: services.b.depends[0].service: dependency cycle: a -> b -> a"));

  auto longer = load_yaml(R"(version: v1
deployment: cyclic
services:
  free: {image: {name: f}}
  a: {image: {name: a}, depends: [{service: free}, {service: b}]}
  b: {image: {name: b}, depends: [{service: c}]}
  c: {image: {name: c}, depends: [{service: a}]}
)");
  EXPECT_THAT(
      printed(longer),
      ElementsAre("spec.yaml: services.c.depends[0].service: dependency cycle: a -> b -> c -> a"));
}

TEST(SpecProblems, ReportsEveryProblemAtOnce) {
  auto result = load_yaml(R"(version: v2
deployment: x
services:
  api:
    image: {name: api, pull_policy: sometimes}
    scale: {mode: fixed, replicas: -1}
    stop_grace_period: forever
    health: {check: {type: exec, command: ls}}
    depends: [{service: nowhere}]
  worker:
    rtype: cron
)");
  EXPECT_FALSE(result.spec);
  EXPECT_THAT(
      printed(result),
      ElementsAre(
          R"(spec.yaml: version: expected v1, got "v2")",
          R"(spec.yaml: deployment: expected a name of 3 to 63 letters, digits or '-', starting with a letter or digit, got "x")",
          R"(spec.yaml: services.api.image.pull_policy: expected one of always|newer|if_not_present|never, got "sometimes")",
          "spec.yaml: services.api.scale.replicas: expected an integer from 0 to 4294967295, got "
          "-1",
          R"(spec.yaml: services.api.stop_grace_period: expected a duration such as 10s, got "forever")",
          R"(spec.yaml: services.api.health.check.type: expected one of tcp|http|command, got "exec")",
          R"(spec.yaml: services.worker.rtype: expected one of service|job, got "cron")",
          "spec.yaml: services.worker.image: required field is missing",
          "spec.yaml: services.api.depends[0].service: no service named 'nowhere' in this "
          "deployment"));
}

TEST(SpecProblems, WrongTypes) {
  auto result = load_yaml(R"(version: v1
deployment: types
services:
  api:
    image: nginx
    command: [sh, -c, "echo hi"]
    env: [A=1]
    scale: {mode: fixed, replicas: two}
    resources: {cpu: lots, memory: 512MB}
    depends: db
    sim: {hang_on_stop: yes, exit_code: 1.5}
    health: {retries: 0, check: {type: tcp, port: 70000}}
)");
  EXPECT_FALSE(result.spec);
  EXPECT_THAT(
      printed(result),
      ElementsAre(
          R"(spec.yaml: services.api.image: expected a mapping, got "nginx")",
          "spec.yaml: services.api.command: expected a mapping, got a list",
          "spec.yaml: services.api.env: expected a mapping, got a list",
          R"(spec.yaml: services.api.scale.replicas: expected an integer from 0 to 4294967295, got "two")",
          R"(spec.yaml: services.api.resources.cpu: expected a number, got "lots")",
          R"(spec.yaml: services.api.resources.memory: expected a size such as 512Mi (Ki, Mi, Gi or Ti), got "512MB")",
          R"(spec.yaml: services.api.depends: expected a list, got "db")",
          R"(spec.yaml: services.api.sim.hang_on_stop: expected true or false, got "yes")",
          "spec.yaml: services.api.sim.exit_code: expected an integer from -2147483648 to "
          "2147483647, got 1.5",
          "spec.yaml: services.api.health.retries: expected an integer from 1 to 4294967295, got 0",
          "spec.yaml: services.api.health.check.port: expected an integer from 0 to 65535, got "
          "70000"));
}

TEST(SpecProblems, JsonGetsTheSameMessages) {
  auto yaml = load_yaml(R"(version: v1
deployment: same
services:
  api:
    image: {name: api}
    depends_on: []
    health: {interval: ten, check: {type: tcp, port: "80"}}
)");
  auto json = load_spec_string(R"({"version": "v1", "deployment": "same", "services": {"api": {
    "image": {"name": "api"}, "depends_on": [],
    "health": {"interval": "ten", "check": {"type": "tcp", "port": "80"}}}}})",
                               "spec.yaml", spec_format::json);
  EXPECT_FALSE(json.spec);
  EXPECT_EQ(printed(yaml), printed(json));
  EXPECT_EQ(printed(json).size(), 3u);
}

TEST(SpecProblems, TaggedBlocksCheckTheKeysOfTheirVariant) {
  auto result = load_yaml(with_api(R"(    health:
      check: {type: tcp, url: "http://x/"}
    init:
      steps:
        - id: wait
          uses: init.wait_tcp
          with: {hots: db, port: 5432}
        - id: wait
          uses: init.exec
)"));
  EXPECT_THAT(
      printed(result),
      ElementsAre(
          "spec.yaml: services.api.health.check.url: unknown field",
          "spec.yaml: services.api.health.check.port: required field is missing",
          "spec.yaml: services.api.init.steps[0].with.hots: unknown field; did you mean 'host'?",
          "spec.yaml: services.api.init.steps[0].with.host: required field is missing",
          R"(spec.yaml: services.api.init.steps[1].uses: expected one of init.wait_tcp|init.wait_http|init.run, got "init.exec")",
          "spec.yaml: services.api.init.steps[1].id: duplicate step id 'wait'"));
}

TEST(SpecProblems, InitTimeoutTakesSecondsOnlyInsideWith) {
  auto ok = load_yaml(with_api(R"(    init:
      steps:
        - {id: a, uses: init.run, with: {command: "true", timeout: 5}}
        - {id: b, uses: init.run, with: {command: "true", timeout: 5s}}
)"));
  ASSERT_TRUE(ok.spec) << testing::PrintToString(printed(ok));
  EXPECT_EQ(ok.spec->services[0].init[0].action_timeout, std::chrono::seconds{5});
  EXPECT_EQ(ok.spec->services[0].init[1].action_timeout, std::chrono::seconds{5});

  auto bad = load_yaml(with_api(R"(    init:
      steps:
        - {id: a, uses: init.run, timeout: 5, with: {command: "true", timeout: soon}}
)"));
  EXPECT_THAT(
      printed(bad),
      ElementsAre(
          "spec.yaml: services.api.init.steps[0].timeout: expected a duration such as 10s, got 5",
          R"(spec.yaml: services.api.init.steps[0].with.timeout: expected a duration such as 10s or a number of seconds, got "soon")"));
}

TEST(SpecProblems, DuplicateKeys) {
  auto yaml = load_yaml(with_api("    rtype: job\n    rtype: service\n"));
  EXPECT_THAT(printed(yaml), ElementsAre("spec.yaml: services.api.rtype: duplicate key"));
  auto json = load_json(R"({"version": "v1", "deployment": "dup", "services": {
    "a": {"image": {"name": "a"}}, "a": {"image": {"name": "b"}}}})");
  EXPECT_THAT(printed(json), ElementsAre("spec.json: services.a: duplicate key"));
}

TEST(SpecProblems, NamesAndValuesAreChecked) {
  auto result = load_yaml(R"(version: v1
deployment: names
services:
  _reserved: {image: {name: x}}
  "a/b": {image: {name: x}}
  ok:
    image: {name: "  "}
    env: {"1BAD": x, GOOD: "$E:", OTHER: "$S:db-password"}
    health: {check: {type: http, url: "localhost:80/"}}
    supervision: {window: 0s, backoff: {initial: 10s, max: 1s}}
    init: {steps: [{id: "has space", uses: init.run, with: {command: ""}}]}
)");
  EXPECT_FALSE(result.spec);
  EXPECT_THAT(
      printed(result),
      ElementsAre(
          "spec.yaml: services._reserved: a service name must be 1 to 63 letters, digits, '-' or "
          "'_', starting with a letter or digit",
          "spec.yaml: services.a/b: a service name must be 1 to 63 letters, digits, '-' or '_', "
          "starting with a letter or digit",
          R"(spec.yaml: services.ok.image.name: expected a non-empty string, got "  ")",
          "spec.yaml: services.ok.env.1BAD: not a valid environment variable name (letters, digits "
          "and '_')",
          R"(spec.yaml: services.ok.env.GOOD: expected $E: followed by a variable name, got "$E:")",
          "spec.yaml: services.ok.env.OTHER: warning: ZLayer secret references are not resolved by "
          "nodevisor; passed as written",
          R"(spec.yaml: services.ok.health.check.url: expected an http:// or https:// URL, got "localhost:80/")",
          R"(spec.yaml: services.ok.supervision.window: expected a duration greater than 0, got "0s")",
          "spec.yaml: services.ok.supervision.backoff.initial: must not exceed backoff.max (1s), "
          "got 10s",
          R"(spec.yaml: services.ok.init.steps[0].id: expected a step id of 1 to 63 letters, digits, '-' or '_', starting with a letter or digit, got "has space")",
          R"(spec.yaml: services.ok.init.steps[0].with.command: expected a non-empty string, got "")"));
}

TEST(SpecProblems, ZLayerFieldsNodevisorDoesNotActOnWarnOncePerPath) {
  auto result = load_yaml(R"(version: v1
deployment: warned
api: {enabled: true}
services:
  api:
    image: {name: api, source_policy: local_first}
    network: {overlays: {service: {enabled: true}}}
    endpoints:
      - {name: http, protocol: http, port: 80}
      - {name: metrics, protocol: http, port: 9090}
    labels: {team: web}
    node_selector: {labels: {zone: a}}
    capabilities: [NET_ADMIN]
    privileged: true
    storage: []
    resources: {cpu: 1, gpu: {count: 1, model: A100}}
    scale: {mode: adaptive, min: 1, max: 5, cooldown: 30s}
    platform: {os: windows, osVersion: "10.0.26100"}
    restart_policy: {kind: always, max_attempts: 3}
)");
  ASSERT_TRUE(result.spec) << "warnings alone leave the spec usable";
  constexpr auto w = ": warning: ZLayer field that nodevisor does not act on; ignored";
  EXPECT_THAT(printed(result),
              ElementsAre(std::string{"spec.yaml: api"} + w,
                          std::string{"spec.yaml: services.api.image.source_policy"} + w,
                          std::string{"spec.yaml: services.api.network"} + w,
                          std::string{"spec.yaml: services.api.labels"} + w,
                          std::string{"spec.yaml: services.api.node_selector"} + w,
                          std::string{"spec.yaml: services.api.capabilities"} + w,
                          std::string{"spec.yaml: services.api.privileged"} + w,
                          std::string{"spec.yaml: services.api.storage"} + w,
                          std::string{"spec.yaml: services.api.resources.gpu.model"} + w,
                          std::string{"spec.yaml: services.api.scale.max"} + w,
                          std::string{"spec.yaml: services.api.scale.cooldown"} + w,
                          std::string{"spec.yaml: services.api.platform.osVersion"} + w,
                          std::string{"spec.yaml: services.api.restart_policy.max_attempts"} + w));
  for (const auto& p : result.problems)
    EXPECT_EQ(p.level, severity::warning);
}

TEST(SpecProblems, SyntaxErrorsGiveLineAndColumn) {
  auto yaml = load_yaml("version: v1\ndeployment: [unclosed\nservices: {}\n");
  EXPECT_FALSE(yaml.spec);
  ASSERT_EQ(yaml.problems.size(), 1u);
  EXPECT_GT(yaml.problems[0].line, 0u);
  EXPECT_THAT(to_string(yaml.problems[0]), testing::StartsWith("spec.yaml:"));
  EXPECT_THAT(yaml.problems[0].message, HasSubstr("invalid YAML"));

  auto json = load_json("{\n  \"version\": \"v1\",\n  \"deployment\": oops\n}");
  EXPECT_FALSE(json.spec);
  ASSERT_EQ(json.problems.size(), 1u);
  EXPECT_EQ(json.problems[0].line, 3u);
  EXPECT_THAT(to_string(json.problems[0]), testing::StartsWith("spec.json:3:"));
  EXPECT_THAT(json.problems[0].message, HasSubstr("invalid JSON"));
}

TEST(SpecProblems, ANonStringKeyDoesNotHideTheRest) {
  auto result = load_yaml("? [a, b]\n: c\nversion: v2\ndeployment: keys\n");
  EXPECT_FALSE(result.spec);
  EXPECT_THAT(printed(result), ElementsAre("spec.yaml:1:3: a mapping key must be a plain string",
                                           R"(spec.yaml: version: expected v1, got "v2")"));
}

TEST(SpecProblems, UnreadableFile) {
  auto result = load_spec_file("/nonexistent/nodevisor/spec.yaml");
  EXPECT_FALSE(result.spec);
  EXPECT_THAT(
      printed(result),
      ElementsAre(
          "/nonexistent/nodevisor/spec.yaml: cannot read the file: No such file or directory"));
  temp_dir dir;
  auto directory = load_spec_file(dir.write("x", "").parent_path());
  EXPECT_THAT(printed(directory), ElementsAre(HasSubstr("it is a directory")));
  // A device that never ends is cut at the size limit.
  EXPECT_THAT(printed(load_spec_file("/dev/zero")),
              ElementsAre("/dev/zero: the file is larger than 4194304 bytes"));
}

TEST(SpecProblems, EmptyOrNonMappingDocuments) {
  EXPECT_THAT(printed(load_yaml("")),
              ElementsAre("spec.yaml: version: required field is missing",
                          "spec.yaml: deployment: required field is missing"));
  EXPECT_THAT(printed(load_yaml("- a\n- b\n")),
              ElementsAre("spec.yaml:1:1: expected a mapping, got a list"));
  EXPECT_THAT(printed(load_yaml("a: 1\n---\nb: 2\n")),
              ElementsAre(HasSubstr("expected one YAML document, found more")));
}
