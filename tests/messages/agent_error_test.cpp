#include <caf/all.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "messages/agent_error.hpp"
#include "messages/caf/inspect.hpp"
#include "messages/caf/register_types.hpp"
#include "messages/failure.hpp"
#include "tests/messages/agent_error_samples.hpp"

using namespace nv;
using namespace std::chrono_literals;
using nv::test::samples;

TEST(AgentError, EveryVariantHasASample) {
  std::set<std::size_t> seen;
  for (auto& s : samples())
    seen.insert(s.error.index());
  EXPECT_EQ(seen.size(), agent_error_kinds);
  EXPECT_EQ(agent_error_kinds, 18u);
}

TEST(AgentError, DisplayTextMatchesTheSeed) {
  for (auto& s : samples())
    EXPECT_EQ(to_string(s.error), s.text) << kind_name(s.error);
}

TEST(AgentError, DurationFormatsLikeRustDebug) {
  EXPECT_EQ(format_duration(0ns), "0ns");
  EXPECT_EQ(format_duration(1ns), "1ns");
  EXPECT_EQ(format_duration(7ns), "7ns");
  EXPECT_EQ(format_duration(10us), "10\u00b5s");
  EXPECT_EQ(format_duration(999us), "999\u00b5s");
  EXPECT_EQ(format_duration(1500ns), "1.5\u00b5s");
  EXPECT_EQ(format_duration(1ms), "1ms");
  EXPECT_EQ(format_duration(200ms), "200ms");
  EXPECT_EQ(format_duration(1500us), "1.5ms");
  EXPECT_EQ(format_duration(1500ms), "1.5s");
  EXPECT_EQ(format_duration(5s), "5s");
  EXPECT_EQ(format_duration(60s), "60s");
  EXPECT_EQ(format_duration(90s), "90s");
  EXPECT_EQ(format_duration(3600s), "3600s");
  EXPECT_EQ(format_duration(2s + 1us), "2.000001s");
  EXPECT_EQ(format_duration(1s + 1ns), "1.000000001s");
}

TEST(AgentError, Classification) {
  for (auto& s : samples()) {
    auto k = kind_name(s.error);
    bool permanent = k == "InvalidSpec" || k == "Configuration" || k == "Unsupported" ||
                     k == "WslGpuUnavailable" || k == "GpuSharingUnavailable" ||
                     k == "WrongPlatform";
    EXPECT_EQ(is_permanent(s.error), permanent) << k;
    EXPECT_EQ(is_reschedule_signal(s.error), k == "RouteToPeer") << k;
  }
}

TEST(AgentError, JsonShape) {
  nlohmann::json j = AgentError{DependencyTimeout{"api", "db", "healthy", 300s}};
  EXPECT_EQ(j.dump(),
            R"({"condition":"healthy","dependency":"db","kind":"DependencyTimeout",)"
            R"("message":"Dependency timeout: 'api' waiting for 'db' (healthy) after 300s",)"
            R"("service":"api","timeout_ns":300000000000})");
}

TEST(AgentError, JsonRoundTripOfEveryVariant) {
  for (auto& s : samples()) {
    nlohmann::json j = s.error;
    EXPECT_EQ(j.at("kind").get<std::string>(), kind_name(s.error));
    EXPECT_EQ(j.at("message").get<std::string>(), s.text);
    auto back = nlohmann::json::parse(j.dump()).get<AgentError>();
    EXPECT_EQ(back, s.error) << j.dump();
  }
}

TEST(AgentError, JsonRejectsUnknownKind) {
  auto j = nlohmann::json::parse(R"({"kind":"Bogus"})");
  EXPECT_THROW(j.get<AgentError>(), nlohmann::json::exception);
}

class CafRoundTrip : public ::testing::Test {
protected:
  CafRoundTrip() {
    register_message_types(cfg);
    cfg.set("scheduler.max-threads", 1);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
};

TEST_F(CafRoundTrip, BinarySerializerRoundTripOfEveryVariant) {
  for (auto& s : samples()) {
    std::vector<char> buf;
    caf::binary_serializer sink{*sys, buf};
    AgentError in = s.error;
    ASSERT_FALSE(sink(in)) << kind_name(s.error);
    AgentError out = Internal{"placeholder"};
    caf::binary_deserializer source{*sys, buf};
    ASSERT_FALSE(source(out)) << kind_name(s.error);
    EXPECT_EQ(out, s.error) << kind_name(s.error);
  }
}

TEST_F(CafRoundTrip, FailureMessageCarriesTheErrorAsItself) {
  failure in{"/web/api/api-rep-1",
             RouteToPeer{"api", "windows", "none"},
             3,
             1234,
             42,
             "/web/db/db-rep-1",
             StartFailed{"db-rep-1", "exec: No such file or directory"}};
  std::vector<char> buf;
  caf::binary_serializer sink{*sys, buf};
  auto msg = caf::make_message(in);
  ASSERT_FALSE(msg.save(sink));
  caf::message back;
  caf::binary_deserializer source{*sys, buf};
  ASSERT_FALSE(back.load(source));
  ASSERT_TRUE(back.match_elements<failure>());
  auto& out = back.get_as<failure>(0);
  EXPECT_EQ(out.path, in.path);
  EXPECT_EQ(out.error, in.error);
  EXPECT_TRUE(std::holds_alternative<RouteToPeer>(out.error));
  EXPECT_EQ(out.attempt, 3u);
  EXPECT_EQ(out.cause, 42u);
  EXPECT_EQ(out.because_path, in.because_path);
  EXPECT_EQ(out.because_error, in.because_error);
}

TEST(Describe, AFailureWithoutACauseIsItsErrorsText) {
  failure f{"/web/api/api-rep-1", UnexpectedExit{"api-rep-1", 3}, 0, 0, 0, {}, {}};
  EXPECT_EQ(describe(f), "Container 'api-rep-1' exited unexpectedly with code 3");
}

TEST(Describe, AFirstCauseFollowsTheErrorNamedByItsService) {
  failure f{"/web/api/wait:db", DependencyTimeout{"api", "db", "healthy", 30s},      0, 0, 0,
            "/web/db/db-rep-1", StartFailed{"db-rep-1", "No such file or directory"}};
  EXPECT_EQ(describe(f), "Dependency timeout: 'api' waiting for 'db' (healthy) after 30s because "
                         "db: Failed to start container 'db-rep-1': No such file or directory");
  EXPECT_EQ(service_of("/web/db"), "db");
  EXPECT_EQ(service_of("/web"), "/web");
}

TEST_F(CafRoundTrip, DeepToStringUsesTheDisplayText) {
  auto text = caf::deep_to_string(AgentError{Timeout{1500ms}});
  EXPECT_NE(text.find("Timeout after 1.5s"), std::string::npos) << text;
}
