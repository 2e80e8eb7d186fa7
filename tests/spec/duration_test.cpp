#include <csignal>

#include <gtest/gtest.h>

#include "spec/duration.hpp"
#include "spec/signal.hpp"

using namespace nv;
using namespace nv::spec;
using namespace std::chrono_literals;

TEST(Duration, ParsesHumantime) {
  EXPECT_EQ(parse_duration("500ms"), nv::duration{500ms});
  EXPECT_EQ(parse_duration("30s"), nv::duration{30s});
  EXPECT_EQ(parse_duration("1m"), nv::duration{60s});
  EXPECT_EQ(parse_duration("1h"), nv::duration{3600s});
  EXPECT_EQ(parse_duration("2m30s"), nv::duration{150s});
  EXPECT_EQ(parse_duration("1h 30m"), nv::duration{5400s});
  EXPECT_EQ(parse_duration("1.5s"), nv::duration{1500ms});
  EXPECT_EQ(parse_duration("0.1s"), nv::duration{100ms});
  EXPECT_EQ(parse_duration("1.5m"), nv::duration{90s});
  EXPECT_EQ(parse_duration("10us"), nv::duration{10us});
  EXPECT_EQ(parse_duration("10\xC2\xB5s"), nv::duration{10us});
  EXPECT_EQ(parse_duration("7ns"), nv::duration{7ns});
  EXPECT_EQ(parse_duration("2days"), nv::duration{48h});
  EXPECT_EQ(parse_duration("1w"), nv::duration{168h});
  EXPECT_EQ(parse_duration("5 seconds"), std::nullopt) << "a unit follows its number directly";
  EXPECT_EQ(parse_duration("5seconds"), nv::duration{5s});
  EXPECT_EQ(parse_duration(" 30s "), nv::duration{30s});
  EXPECT_EQ(parse_duration("0"), nv::duration{0});
}

TEST(Duration, RejectsWhatIsNotADuration) {
  for (auto text : {"", "ten", "10", "-5s", "5x", "1.5", "s", "1s2", "1..5s", "1 h", "30 s",
                    "99999999999999999999s", "999999999h"})
    EXPECT_EQ(parse_duration(text), std::nullopt) << text;
}

TEST(Signal, ParsesTheThreeForms) {
  EXPECT_EQ(parse_signal("SIGTERM"), SIGTERM);
  EXPECT_EQ(parse_signal("TERM"), SIGTERM);
  EXPECT_EQ(parse_signal("15"), SIGTERM);
  EXPECT_EQ(parse_signal("sigint"), SIGINT);
  EXPECT_EQ(parse_signal("KILL"), SIGKILL);
  EXPECT_EQ(parse_signal("SIGUSR1"), SIGUSR1);
  for (auto text : {"", "SIGFOO", "0", "-15", "999", "SIG", "TERM "})
    EXPECT_EQ(parse_signal(text), std::nullopt) << text;
}
