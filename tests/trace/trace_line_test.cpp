#include <cstdint>
#include <random>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "messages/agent_error.hpp"
#include "messages/agent_error_fields.hpp"
#include "trace/trace_line.hpp"

using namespace nv;
using nlohmann::json;

namespace {

std::string line(const trace_event& ev, uint64_t seq = 7, int64_t ts_us = 1732600000123456) {
  std::string out;
  append_trace_line(out, seq, ts_us, "n1", ev);
  return out;
}

// The reason a probe event carries after a trip through a line and a JSON parser.
std::string round_trip(const std::string& reason) {
  const std::string text = line({"/a", 0, probe_event{false, 0, reason}});
  EXPECT_EQ(text.back(), '\n');
  return json::parse(text)["reason"].get<std::string>();
}

TEST(TraceLine, KeysComeInDesignOrder) {
  EXPECT_EQ(line({"/web-stack/api/api-rep-1", 41,
                  state_event{lifecycle::starting, lifecycle::running, 4242}}),
            R"({"seq":7,"ts_us":1732600000123456,"node":"n1","actor":"/web-stack/api/api-rep-1",)"
            R"("event":"state","cause":41,"from":"starting","to":"running","pid":4242})"
            "\n");
  EXPECT_EQ(line({"/_peers", 0, route_event{"gpu", "windows", std::nullopt}}, 1, 5),
            R"({"seq":1,"ts_us":5,"node":"n1","actor":"/_peers","event":"route",)"
            R"("service":"gpu","required_os":"windows","peer":null})"
            "\n");
}

TEST(TraceLine, ErrorIsTheAgentErrorJson) {
  const AgentError err = DependencyTimeout{"api", "db", "healthy", std::chrono::seconds(300)};
  const json j = json::parse(line({"/d/api", 0, escalate_event{"/d", "/d/api/wait:db", err}}));
  EXPECT_EQ(j["error"], json(err));
  EXPECT_EQ(j["error"]["message"],
            "Dependency timeout: 'api' waiting for 'db' (healthy) after 300s");
}

// Every kind, its fields filled from the same table the line is written from: the line's error
// must be what AgentError's to_json gives, so a reader parses it back to the same error.
TEST(TraceLine, EveryErrorKindIsItsJsonForm) {
  for (std::size_t i = 0; i < agent_error_kinds; ++i) {
    fields::with_alternative(i, [](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      T alt;
      std::apply(
          [&alt](const auto&... f) {
            const auto fill = [&alt](const auto& field) {
              auto& value = alt.*(field.member);
              using M = std::remove_cvref_t<decltype(value)>;
              if constexpr (std::is_same_v<M, std::string>)
                value = std::string{field.name} + " \"q\" é";
              else if constexpr (std::is_same_v<M, duration>)
                value = std::chrono::milliseconds(1500);
              else
                value = -7;
            };
            (fill(f), ...);
          },
          fields::table(tag));
      const AgentError err = alt;
      const json j = json::parse(line({"/a", 0, failure_event{err, 2}}));
      EXPECT_EQ(j["error"], json(err)) << fields::kind(tag);
      EXPECT_EQ(j["error"].get<AgentError>(), err) << fields::kind(tag);
    });
  }
}

TEST(TraceLine, EscapesAndKeepsValidUtf8) {
  const std::string tricky = "q\"b\\s/\n\r\t\b\f\x01\x1f\x7f é € 😀 \xf4\x8f\xbf\xbf";
  EXPECT_EQ(round_trip(tricky), tricky);
}

TEST(TraceLine, ReplacesEachInvalidByteWithReplacementCharacter) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(round_trip("a\xff"
                       "b"),
            "a" + fffd + "b");
  EXPECT_EQ(round_trip("\xe2\x82"), fffd + fffd);                       // truncated €
  EXPECT_EQ(round_trip("\xc0\xaf"), fffd + fffd);                       // overlong '/'
  EXPECT_EQ(round_trip("\xed\xa0\x80"), fffd + fffd + fffd);            // surrogate
  EXPECT_EQ(round_trip("\xf4\x90\x80\x80"), fffd + fffd + fffd + fffd); // above U+10FFFF
  EXPECT_EQ(round_trip("\x80 ok"), fffd + " ok");
}

TEST(TraceLine, InvalidUtf8InsideAnErrorStillParses) {
  const json j =
      json::parse(line({"/a", 0, failure_event{StartFailed{"a-rep-1", "log: \xc3"}, 0}}));
  EXPECT_EQ(j["error"]["reason"], "log: \xEF\xBF\xBD");
}

// Random mixes of valid code points and stray bytes: every line must parse (nlohmann's parser
// rejects invalid UTF-8), and text nlohmann itself accepts as UTF-8 must come back unchanged.
TEST(TraceLine, AnyBytesGiveAParseableLine) {
  std::mt19937 rng(20241126);
  const auto append_code_point = [](std::string& s, uint32_t cp) {
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xE0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
  };
  std::uniform_int_distribution<uint32_t> code_point(0, 0x10FFFF);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> length(0, 12);
  std::bernoulli_distribution stray(0.1);
  for (int n = 0; n < 3000; ++n) {
    std::string s;
    for (int i = length(rng); i > 0; --i) {
      if (stray(rng))
        s += static_cast<char>(byte(rng));
      else if (const uint32_t cp = code_point(rng); cp < 0xD800 || cp > 0xDFFF)
        append_code_point(s, cp);
    }
    bool valid = true;
    try {
      (void)json(s).dump();
    } catch (const json::type_error&) {
      valid = false;
    }
    std::string back;
    ASSERT_NO_THROW(back = round_trip(s))
        << json(s).dump(-1, ' ', true, json::error_handler_t::replace);
    if (valid)
      ASSERT_EQ(back, s);
    else
      ASSERT_NE(back, s);
  }
}

} // namespace
