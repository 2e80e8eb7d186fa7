// Docker-shaped lifecycle events (trace/docker_event.hpp) from real trace lines: written by the
// sink, or literally in design §7's schema where nothing emits the field yet (oom_killed).
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "messages/agent_error.hpp"
#include "trace/docker_event.hpp"
#include "trace/trace_sink.hpp"

using namespace nv;
using nlohmann::json;

namespace {

const std::string replica = "/web/api/api-rep-2";

// The sink's line for `ev`, parsed.
json line_of(const trace_event& ev) {
  std::ostringstream out;
  {
    trace_sink sink(out, "n1");
    sink.emit(ev);
  }
  return json::parse(out.str());
}

void expect_labels(const json& ev) {
  EXPECT_EQ(ev["resource"], "container");
  EXPECT_EQ(ev["id"], "api-rep-2");
  EXPECT_EQ(ev["labels"], (json{{"deployment", "web"}, {"service", "api"}, {"replica", "2"}}));
  EXPECT_TRUE(std::regex_match(ev["at"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)")))
      << ev["at"];
}

TEST(DockerEvent, RunningIsStart) {
  const auto events = docker_events(
      line_of({replica, 0, state_event{lifecycle::starting, lifecycle::running, 42}}));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["kind"], "start");
  expect_labels(events[0]);
  EXPECT_TRUE(events[0]["exit_code"].is_null());
  EXPECT_TRUE(events[0]["reason"].is_null());
  EXPECT_TRUE(events[0]["status"].is_null());
}

TEST(DockerEvent, HealthyAndAFailedHealthCheckAreHealth) {
  const auto healthy = docker_events(
      line_of({replica, 0, state_event{lifecycle::running, lifecycle::healthy, std::nullopt}}));
  ASSERT_EQ(healthy.size(), 1u);
  EXPECT_EQ(healthy[0]["kind"], "health");
  EXPECT_EQ(healthy[0]["status"], "healthy");
  expect_labels(healthy[0]);

  const AgentError err = HealthCheckFailed{"api-rep-2", "connection refused"};
  const auto unhealthy = docker_events(line_of({replica, 0, failure_event{err, 1}}));
  ASSERT_EQ(unhealthy.size(), 1u);
  EXPECT_EQ(unhealthy[0]["kind"], "health");
  EXPECT_EQ(unhealthy[0]["status"], "unhealthy");
  EXPECT_EQ(unhealthy[0]["reason"], to_string(err));
  expect_labels(unhealthy[0]);

  // Another failure, or a state that is neither, is no event.
  EXPECT_TRUE(docker_events(
                  line_of({replica, 0, failure_event{StartFailed{"api-rep-2", "no such file"}, 0}}))
                  .empty());
  EXPECT_TRUE(
      docker_events(line_of({replica, 0,
                             state_event{lifecycle::running, lifecycle::unhealthy, std::nullopt}}))
          .empty());
}

TEST(DockerEvent, ExitIsDieWithCodeAndReason) {
  const AgentError err = UnexpectedExit{"api-rep-2", 137, 9};
  const auto killed = docker_events(
      line_of({replica, 0, exit_event{exit_event::reason_kind::failure, err, 137, "SIGKILL"}}));
  ASSERT_EQ(killed.size(), 1u);
  EXPECT_EQ(killed[0]["kind"], "die");
  EXPECT_EQ(killed[0]["exit_code"], 137);
  EXPECT_EQ(killed[0]["reason"], to_string(err));
  expect_labels(killed[0]);

  const auto stopped = docker_events(line_of(
      {replica, 0, exit_event{exit_event::reason_kind::shutdown, std::nullopt, std::nullopt, {}}}));
  ASSERT_EQ(stopped.size(), 1u);
  EXPECT_EQ(stopped[0]["kind"], "die");
  EXPECT_TRUE(stopped[0]["exit_code"].is_null());
  EXPECT_EQ(stopped[0]["reason"], "shutdown");
}

TEST(DockerEvent, AnOomKillIsDieThenOom) {
  const json line = json::parse(
      R"({"seq":9,"ts_us":1732600000123456,"node":"n1","actor":"/web/api/api-rep-2","event":"exit",)"
      R"("reason":"failure","error":{"kind":"UnexpectedExit","id":"api-rep-2","code":137,)"
      R"("message":"Container 'api-rep-2' exited unexpectedly with code 137"},"code":137,)"
      R"("signal":"SIGKILL","oom_killed":true})");
  const auto events = docker_events(line);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["kind"], "die");
  EXPECT_EQ(events[0]["exit_code"], 137);
  EXPECT_EQ(events[0]["reason"], "Container 'api-rep-2' exited unexpectedly with code 137");
  EXPECT_EQ(events[1]["kind"], "oom");
  EXPECT_EQ(events[1]["exit_code"], 137);
  EXPECT_EQ(events[1]["reason"], "oom_killed");
  for (const json& ev : events) {
    expect_labels(ev);
    EXPECT_EQ(ev["at"], "2024-11-26T05:46:40.123456Z");
  }
}

TEST(DockerEvent, OnlyAContainerActorsEventsMap) {
  const state_event running{lifecycle::starting, lifecycle::running, std::nullopt};
  for (const char* actor : {"/web/api", "/web", "/", "/_peers", "/web/api/api-rep-2/probe",
                            "/web/api/wait:db", "/web/api/init:migrate", "/web/api/db-rep-1",
                            "/web/api/api-rep-0", "/web/api/api-rep-", "/web/api/api-rep-x"})
    EXPECT_TRUE(docker_events(line_of({actor, 0, running})).empty()) << actor;
  EXPECT_TRUE(docker_events(line_of({replica, 0, probe_event{false, 10, "refused"}})).empty());
  EXPECT_TRUE(docker_events(json::parse(R"({"event":"cut_off","last_seq":3})")).empty());
  EXPECT_TRUE(docker_events(json(42)).empty());
}

TEST(DockerEvent, LabelFiltersAreKeyEqualsValueAndAllMustMatch) {
  EXPECT_FALSE(parse_label_filter("service"));
  EXPECT_FALSE(parse_label_filter("=api"));
  const std::optional<label_filter> empty_value = parse_label_filter("service=");
  ASSERT_TRUE(empty_value);
  EXPECT_EQ(empty_value->key, "service");
  EXPECT_EQ(empty_value->value, "");
  const std::optional<label_filter> with_eq = parse_label_filter("k=a=b");
  ASSERT_TRUE(with_eq);
  EXPECT_EQ(with_eq->key, "k");
  EXPECT_EQ(with_eq->value, "a=b");

  const auto ev =
      docker_events(line_of({replica, 0, state_event{lifecycle::starting, lifecycle::running, 1}}))
          .at(0);
  EXPECT_TRUE(matches_labels(ev, {}));
  EXPECT_TRUE(matches_labels(ev, {{"service", "api"}}));
  EXPECT_TRUE(matches_labels(ev, {{"service", "api"}, {"deployment", "web"}, {"replica", "2"}}));
  EXPECT_FALSE(matches_labels(ev, {{"service", "api"}, {"deployment", "other"}}));
  EXPECT_FALSE(matches_labels(ev, {{"service", "ap"}}));
  EXPECT_FALSE(matches_labels(ev, {{"zone", "a"}}));
  EXPECT_FALSE(matches_labels(ev, {{"service", ""}}));
}

TEST(DockerEvent, TheTraceEventsItReadsAreTheOnesItMaps) {
  const auto sources = docker_source_events();
  EXPECT_EQ(sources, (std::vector<std::string>{"state", "failure", "exit"}));
}

} // namespace
