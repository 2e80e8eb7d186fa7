// ZLayer's own example specs must load (design.md §5): with warnings for the fields nodevisor
// does not act on, and no errors. They live outside the repository, next to it.
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spec_test_util.hpp"

using namespace nv;
using namespace nv::spec;
using namespace nv::spec::test;

namespace {

const std::filesystem::path fixtures =
    std::filesystem::path{NV_SOURCE_DIR} / ".." / "shared" / "fixtures" / "zlayer";

load_result load_fixture(const char* name) {
  auto path = fixtures / name;
  EXPECT_TRUE(std::filesystem::exists(path)) << path;
  return load_spec_file(path);
}

} // namespace

class ZLayerFixtures : public testing::Test {
protected:
  void SetUp() override {
    if (!std::filesystem::is_directory(fixtures))
      GTEST_SKIP() << "skipped the ZLayer fixtures: " << fixtures << " does not exist";
  }
};

TEST_F(ZLayerFixtures, FullServiceLoadsWithWarningsOnly) {
  auto result = load_fixture("full-service.yaml");
  ASSERT_TRUE(result.spec) << testing::PrintToString(printed(result));
  EXPECT_FALSE(has_errors(result.problems));
  const auto& d = *result.spec;
  EXPECT_EQ(d.name, "production-stack");
  ASSERT_EQ(d.services.size(), 3u);
  const auto& api = d.services[0];
  EXPECT_EQ(api.name, "api");
  EXPECT_EQ(api.replicas, 2u) << "adaptive: starts `min`";
  EXPECT_EQ(api.resources.cpu, 2.0);
  EXPECT_EQ(api.resources.memory, uint64_t{512} << 20);
  ASSERT_TRUE(api.health);
  EXPECT_EQ(api.health->start_grace, std::chrono::seconds{30});
  EXPECT_EQ(std::get<http_check>(api.health->check).url, "http://localhost:3000/health");
  ASSERT_EQ(api.init.size(), 1u);
  EXPECT_EQ(api.init[0].timeout, std::chrono::seconds{60});
  EXPECT_EQ(api.init[0].action_timeout, std::chrono::seconds{30})
      << "the action's own timeout keeps its 30s default";
  EXPECT_EQ(api.errors.on_init_failure, init_failure_policy::backoff);
  EXPECT_EQ(d.services[1].name, "database");
  EXPECT_EQ(std::get<tcp_check>(d.services[1].health->check).port, 5432);
  EXPECT_EQ(d.services[1].health->start_grace, std::chrono::seconds{5});
  EXPECT_EQ(d.services[2].rtype, service_kind::job);
  EXPECT_EQ(d.services[2].depends[0].on_timeout, failure_action::warn);

  std::vector<std::string> warned;
  for (const auto& p : result.problems)
    warned.push_back(p.path);
  EXPECT_EQ(warned, (std::vector<std::string>{"services.api.network", "services.api.scale.max",
                                              "services.api.scale.cooldown",
                                              "services.api.scale.targets"}));
  // Endpoints are read: the ports the oci runtime checks before a start.
  EXPECT_EQ(d.services[1].endpoints, (std::vector<host_port>{{5432, false}}));
}

TEST_F(ZLayerFixtures, SimpleAndNginxLoadWithWarningsOnly) {
  for (auto name : {"simple.yaml", "nginx-static.yaml"}) {
    auto result = load_fixture(name);
    ASSERT_TRUE(result.spec) << name << testing::PrintToString(printed(result));
    EXPECT_FALSE(has_errors(result.problems)) << name;
    ASSERT_EQ(result.spec->services.size(), 1u);
    EXPECT_EQ(result.spec->services[0].name, "web");
    EXPECT_EQ(result.spec->services[0].replicas, 2u);
    EXPECT_FALSE(result.spec->services[0].endpoints.empty()) << name;
  }
}
