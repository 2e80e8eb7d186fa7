// plan_from_spec's fingerprints, through diff_plans: which spec changes roll a service's
// replicas, which replace the service, and that an identical spec changes nothing.
#include <gtest/gtest.h>

#include "actors/plan_diff.hpp"
#include "node/plan_from_spec.hpp"
#include "spec/loader.hpp"

using namespace nv;

namespace {

using names = std::vector<std::string>;

// A spec of two services, db and api; `api_extra` is appended to api's block.
std::string spec_text(const std::string& api_env, int api_replicas,
                      const std::string& api_extra = "") {
  return "version: v1\n"
         "deployment: web\n"
         "services:\n"
         "  db:\n"
         "    image: {name: process}\n"
         "    command: {entrypoint: [/bin/sleep], args: ['1000']}\n"
         "  api:\n"
         "    image: {name: process}\n"
         "    command: {entrypoint: [/bin/sleep], args: ['1000']}\n"
         "    env: {VERSION: " +
         api_env +
         "}\n"
         "    scale: {mode: fixed, replicas: " +
         std::to_string(api_replicas) + "}\n" + api_extra;
}

deployment_plan plan(const std::string& text) {
  auto loaded = spec::load_spec_string(text, "web.yaml");
  EXPECT_TRUE(loaded.spec) << (loaded.problems.empty() ? "" : loaded.problems[0].message);
  if (!loaded.spec)
    return {};
  auto planned = plan_from_spec(*loaded.spec, "process");
  EXPECT_TRUE(planned.errors.empty()) << planned.errors.front();
  return planned.plan;
}

TEST(PlanFingerprint, EveryServiceAndReplicaHasOne) {
  auto p = plan(spec_text("v1", 2));
  ASSERT_EQ(p.services.size(), 2u);
  for (auto& s : p.services) {
    EXPECT_FALSE(s.shape.empty()) << s.name;
    for (auto& r : s.replicas)
      EXPECT_FALSE(r->fingerprint.empty()) << r->spec.id;
  }
}

TEST(PlanFingerprint, TheSameSpecChangesNothing) {
  EXPECT_TRUE(diff_plans(plan(spec_text("v1", 2)), plan(spec_text("v1", 2))).empty());
}

TEST(PlanFingerprint, AChangedEnvRollsThatServiceOnly) {
  auto c = diff_plans(plan(spec_text("v1", 2)), plan(spec_text("v2", 2)));
  EXPECT_EQ(c.unchanged, (names{"db"}));
  ASSERT_EQ(c.rolled.size(), 1u);
  EXPECT_EQ(c.rolled[0].name, "api");
  EXPECT_EQ(c.rolled[0].replicas.replaced, (names{"api-rep-1", "api-rep-2"}));
}

TEST(PlanFingerprint, AChangedReplicaCountAddsOrRemovesReplicasOnly) {
  auto c = diff_plans(plan(spec_text("v1", 2)), plan(spec_text("v1", 3)));
  ASSERT_EQ(c.rolled.size(), 1u);
  EXPECT_EQ(c.rolled[0].replicas.unchanged, (names{"api-rep-1", "api-rep-2"}));
  EXPECT_EQ(c.rolled[0].replicas.added, (names{"api-rep-3"}));
  EXPECT_TRUE(c.rolled[0].replicas.replaced.empty());
}

TEST(PlanFingerprint, AChangedDependsOrSupervisionReplacesTheService) {
  auto base = plan(spec_text("v1", 2));
  auto depends = diff_plans(base, plan(spec_text("v1", 2, "    depends: [{service: db}]\n")));
  EXPECT_EQ(depends.replaced, (names{"api"}));
  auto supervision =
      diff_plans(base, plan(spec_text("v1", 2, "    supervision: {strategy: one_for_all}\n")));
  EXPECT_EQ(supervision.replaced, (names{"api"}));
  EXPECT_EQ(supervision.unchanged, (names{"db"}));
}

TEST(PlanFingerprint, AChangedStopGraceRollsTheReplicas) {
  auto base = plan(spec_text("v1", 1));
  auto grace = diff_plans(base, plan(spec_text("v1", 1, "    stop_grace_period: 3s\n")));
  ASSERT_EQ(grace.rolled.size(), 1u);
  EXPECT_EQ(grace.rolled[0].replicas.replaced, (names{"api-rep-1"}));
}

} // namespace
