#include <cstdlib>

#include <gtest/gtest.h>

#include "spec/env.hpp"
#include "spec_test_util.hpp"

using namespace nv;
using namespace nv::spec;
using namespace nv::spec::test;

TEST(SpecEnv, KeepsTheRawValueInTheModel) {
  auto result =
      load_yaml(std::string{minimal_yaml} +
                "    env:\n      DB_URL: $E:NV_SPEC_TEST_DB_URL\n      MODE: production\n");
  ASSERT_TRUE(result.spec) << testing::PrintToString(printed(result));
  EXPECT_EQ(result.spec->services[0].env,
            (env_list{{"DB_URL", "$E:NV_SPEC_TEST_DB_URL"}, {"MODE", "production"}}));
}

TEST(SpecEnv, ResolvesReferencesFromTheDaemonEnvironment) {
  ::setenv("NV_SPEC_TEST_DB_URL", "postgres://db/app", 1);
  ::unsetenv("NV_SPEC_TEST_UNSET");
  auto resolved = resolve_env({{"DB_URL", "$E:NV_SPEC_TEST_DB_URL"},
                               {"MODE", "production"},
                               {"TOKEN", "$E:NV_SPEC_TEST_UNSET"},
                               {"PRICE", "$5"}});
  EXPECT_EQ(resolved.vars,
            (env_list{{"DB_URL", "postgres://db/app"}, {"MODE", "production"}, {"PRICE", "$5"}}));
  EXPECT_EQ(resolved.missing, (std::vector<std::string>{"NV_SPEC_TEST_UNSET"}));
  ::unsetenv("NV_SPEC_TEST_DB_URL");
}

TEST(SpecEnv, LookupCanBeInjected) {
  auto lookup = [](const std::string& name) -> std::optional<std::string> {
    if (name == "A")
      return std::string{"from-a"};
    return std::nullopt;
  };
  auto resolved = resolve_env({{"X", "$E:A"}, {"Y", "$E:B"}}, lookup);
  EXPECT_EQ(resolved.vars, (env_list{{"X", "from-a"}}));
  EXPECT_EQ(resolved.missing, (std::vector<std::string>{"B"}));
  EXPECT_EQ(env_reference("$E:HOME"), "HOME");
  EXPECT_EQ(env_reference("HOME"), std::nullopt);
}
