// diff_plans: what an apply changes, service by service and replica by replica, on plans built
// by hand with their fingerprints set.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/plan_diff.hpp"

using namespace nv;

namespace {

using names = std::vector<std::string>;

service_plan svc(const std::string& name, int replicas, const std::string& fp = "v1",
                 const std::string& shape = "s1") {
  service_plan p;
  p.name = name;
  p.shape = shape;
  for (int r = 1; r <= replicas; ++r) {
    container_config c;
    c.spec.id = replica_id(name, static_cast<uint32_t>(r));
    c.fingerprint = fp;
    p.replicas.push_back(std::make_shared<const container_config>(std::move(c)));
  }
  return p;
}

deployment_plan plan(std::vector<service_plan> services) {
  return deployment_plan{"d", {}, std::move(services)};
}

TEST(PlanDiff, AnIdenticalPlanChangesNothing) {
  auto p = plan({svc("db", 1), svc("api", 2)});
  auto c = diff_plans(p, p);
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(c.unchanged, (names{"db", "api"}));
  EXPECT_TRUE(c.added.empty() && c.removed.empty() && c.replaced.empty() && c.rolled.empty());
}

TEST(PlanDiff, AddedAndRemovedServices) {
  auto c = diff_plans(plan({svc("db", 1), svc("old", 1)}), plan({svc("db", 1), svc("new", 1)}));
  EXPECT_FALSE(c.empty());
  EXPECT_EQ(c.unchanged, (names{"db"}));
  EXPECT_EQ(c.added, (names{"new"}));
  EXPECT_EQ(c.removed, (names{"old"}));
}

TEST(PlanDiff, AChangedShapeReplacesTheService) {
  auto c = diff_plans(plan({svc("db", 1), svc("api", 2)}),
                      plan({svc("db", 1), svc("api", 2, "v1", "s2")}));
  EXPECT_EQ(c.replaced, (names{"api"}));
  EXPECT_EQ(c.unchanged, (names{"db"}));
  EXPECT_TRUE(c.rolled.empty());
}

TEST(PlanDiff, ChangedReplicasRollTheService) {
  auto c = diff_plans(plan({svc("api", 2)}), plan({svc("api", 2, "v2")}));
  ASSERT_EQ(c.rolled.size(), 1u);
  EXPECT_EQ(c.rolled[0].name, "api");
  EXPECT_EQ(c.rolled[0].replicas.replaced, (names{"api-rep-1", "api-rep-2"}));
  EXPECT_TRUE(c.rolled[0].replicas.unchanged.empty());
}

TEST(PlanDiff, ScaleUpAndDownAddAndRemoveTheHighestReplicas) {
  auto up = diff_plans(plan({svc("api", 1)}), plan({svc("api", 3)}));
  ASSERT_EQ(up.rolled.size(), 1u);
  EXPECT_EQ(up.rolled[0].replicas.unchanged, (names{"api-rep-1"}));
  EXPECT_EQ(up.rolled[0].replicas.added, (names{"api-rep-2", "api-rep-3"}));
  auto down = diff_plans(plan({svc("api", 3)}), plan({svc("api", 1)}));
  ASSERT_EQ(down.rolled.size(), 1u);
  EXPECT_EQ(down.rolled[0].replicas.unchanged, (names{"api-rep-1"}));
  EXPECT_EQ(down.rolled[0].replicas.removed, (names{"api-rep-2", "api-rep-3"}));
}

TEST(PlanDiff, EmptyFingerprintsCountAsChanged) {
  auto c = diff_plans(plan({svc("api", 1, "")}), plan({svc("api", 1, "")}));
  ASSERT_EQ(c.rolled.size(), 1u);
  EXPECT_EQ(c.rolled[0].replicas.replaced, (names{"api-rep-1"}));
  auto shapeless = diff_plans(plan({svc("api", 1, "v1", "")}), plan({svc("api", 1, "v1", "")}));
  EXPECT_EQ(shapeless.replaced, (names{"api"}));
  EXPECT_FALSE(same_fingerprint("", ""));
}

TEST(PlanDiff, DependentsOfAReplacedServiceFollowTheStrategy) {
  auto running = plan({svc("db", 1), svc("api", 1), svc("web", 1)});
  auto wanted = plan({svc("db", 1), svc("api", 1, "v1", "s2"), svc("web", 2), svc("new", 1)});
  auto one = diff_plans(running, wanted);
  EXPECT_EQ(one.replaced, (names{"api"})) << "one_for_one: the others are not touched";
  EXPECT_EQ(one.unchanged, (names{"db"}));
  ASSERT_EQ(one.rolled.size(), 1u);
  wanted.flags.strategy = restart_strategy::rest_for_one;
  auto rest = diff_plans(running, wanted);
  EXPECT_EQ(rest.replaced, (names{"api", "web"})) << "and those started after it";
  EXPECT_EQ(rest.unchanged, (names{"db"}));
  EXPECT_TRUE(rest.rolled.empty());
  EXPECT_EQ(rest.added, (names{"new"}));
  wanted.flags.strategy = restart_strategy::one_for_all;
  auto all = diff_plans(running, wanted);
  EXPECT_EQ(all.replaced, (names{"db", "api", "web"}));
  EXPECT_TRUE(all.unchanged.empty());
  EXPECT_EQ(all.added, (names{"new"}));
}

TEST(PlanDiff, FromNothingEverythingIsAdded) {
  auto c = diff_plans(deployment_plan{"d", {}, {}}, plan({svc("db", 1), svc("api", 1)}));
  EXPECT_EQ(c.added, (names{"db", "api"}));
}

TEST(PlanDiff, ToJsonListsEveryKind) {
  auto c = diff_plans(plan({svc("db", 1), svc("api", 1), svc("old", 1)}),
                      plan({svc("db", 1, "v1", "s2"), svc("api", 2), svc("new", 1)}));
  auto j = nlohmann::json::parse(c.to_json());
  EXPECT_EQ(j["deployment"], "d");
  EXPECT_EQ(j["kind"], "apply");
  EXPECT_EQ(j["replaced"], nlohmann::json::array({"db"}));
  EXPECT_EQ(j["added"], nlohmann::json::array({"new"}));
  EXPECT_EQ(j["removed"], nlohmann::json::array({"old"}));
  EXPECT_EQ(j["unchanged"], nlohmann::json::array());
  ASSERT_EQ(j["rolled"].size(), 1u);
  EXPECT_EQ(j["rolled"][0]["service"], "api");
  EXPECT_EQ(j["rolled"][0]["unchanged"], nlohmann::json::array({"api-rep-1"}));
  EXPECT_EQ(j["rolled"][0]["added"], nlohmann::json::array({"api-rep-2"}));
}

} // namespace
