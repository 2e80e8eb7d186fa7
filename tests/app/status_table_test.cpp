// The status table's model on hand-made samples: what it keeps where the tree forgets.
#include <gtest/gtest.h>

#include "app/status_table.hpp"

using namespace nv;

namespace {

child_info child(std::string id, std::string path, lifecycle state, uint32_t restarts) {
  child_info c;
  c.id = std::move(id);
  c.path = std::move(path);
  c.state = state;
  c.restarts = restarts;
  return c;
}

service_sample api(lifecycle state, uint32_t service_restarts, uint32_t replica_restarts) {
  service_sample s;
  s.deployment = "d";
  s.service = child("api", "/d/api", state, service_restarts);
  s.children = {child("api-rep-1", "/d/api/api-rep-1", state, replica_restarts)};
  s.children_known = true;
  return s;
}

TEST(status_table, restarts_never_go_down_when_a_restarted_service_counts_from_zero) {
  status_table t;
  t.update({api(lifecycle::running, 0, 3)});
  EXPECT_EQ(t.rows().at(0).restarts, 3u);
  // The deployment restarted the service: its new supervisor's replica starts at 0 restarts.
  t.update({api(lifecycle::running, 1, 0)});
  EXPECT_EQ(t.rows().at(0).restarts, 4u);
  t.update({api(lifecycle::running, 1, 2)});
  EXPECT_EQ(t.rows().at(0).restarts, 6u);
}

TEST(status_table, the_last_failure_stays_the_reason_after_recovery_and_a_newer_one_replaces_it) {
  status_table t;
  auto failed = api(lifecycle::crash_loop_backoff, 0, 1);
  failed.children[0].last_failure =
      failure{"/d/api/api-rep-1", UnexpectedExit{"api-rep-1", 3}, 0, 100, 0, {}, {}};
  t.update({failed});
  EXPECT_NE(t.rows().at(0).reason.find("exited unexpectedly with code 3"), std::string::npos);
  // A restarted service's records know nothing of it any more.
  t.update({api(lifecycle::healthy, 1, 0)});
  EXPECT_NE(t.rows().at(0).reason.find("code 3"), std::string::npos);
  auto again = api(lifecycle::running, 1, 1);
  again.children[0].last_failure =
      failure{"/d/api/api-rep-1", UnexpectedExit{"api-rep-1", 7}, 0, 200, 0, {}, {}};
  t.update({again});
  EXPECT_NE(t.rows().at(0).reason.find("code 7"), std::string::npos);
}

TEST(status_table, a_replica_killed_by_a_signal_says_which) {
  status_table t;
  auto killed = api(lifecycle::crash_loop_backoff, 0, 1);
  UnexpectedExit exit{"api-rep-1", 137};
  exit.signal = 9;
  killed.children[0].last_failure = failure{"/d/api/api-rep-1", exit, 0, 100, 0, {}, {}};
  t.update({killed});
  EXPECT_NE(t.rows().at(0).reason.find("exited unexpectedly with code 137 (killed by SIGKILL)"),
            std::string::npos)
      << t.rows().at(0).reason;
}

TEST(status_table, a_wait_that_has_ended_is_not_shown_as_waiting) {
  status_table t{
      {{"d/api", {dependency{.service = "db", .condition = dependency_condition::healthy}}}}};
  auto s = api(lifecycle::waiting, 0, 0);
  s.children.insert(s.children.begin(), child("wait:db", "/d/api/wait:db", lifecycle::running, 0));
  s.children[0].handle = caf::actor{}; // no live actor: a wait that has ended says nothing
  t.update({s});
  EXPECT_EQ(t.rows().at(0).waiting_for, "");
  auto lines = render_status(t.rows(), 0);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].rfind("SERVICE", 0), 0u);
}

TEST(status_table, node_down_leaves_every_service_stopped_but_completed_and_failed_ones) {
  status_table t;
  auto job = api(lifecycle::completed, 0, 0);
  job.service.id = "job";
  job.service.path = "/d/job";
  t.update({api(lifecycle::healthy, 0, 0), job});
  t.node_down();
  EXPECT_EQ(t.rows().at(0).state, lifecycle::stopped);
  EXPECT_EQ(t.rows().at(0).running, 0u);
  EXPECT_EQ(t.rows().at(1).state, lifecycle::completed);
  auto lines = render_status(t.rows(), 0);
  EXPECT_NE(lines.at(1).find("stopped"), std::string::npos);
}

TEST(status_table, uptime_reads_as_a_person_would_say_it) {
  EXPECT_EQ(format_uptime(5), "5s");
  EXPECT_EQ(format_uptime(187), "3m07s");
  EXPECT_EQ(format_uptime(7500), "2h05m");
  EXPECT_EQ(format_uptime(3 * 86400 + 4 * 3600), "3d04h");
}

} // namespace

#include "app/console.hpp"

namespace {

TEST(console, rows_are_cut_to_the_width_counting_utf8_characters_once) {
  EXPECT_EQ(fit_to_width("abcdef", 10), "abcdef");
  EXPECT_EQ(fit_to_width("abcdef", 6), "abcdef");
  EXPECT_EQ(fit_to_width("abcdef", 4), "abc\u2026");
  EXPECT_EQ(fit_to_width("\u00e9\u00e9\u00e9\u00e9", 3), "\u00e9\u00e9\u2026");
  EXPECT_EQ(fit_to_width("abc", 0), "abc"); // width unknown
}

} // namespace
