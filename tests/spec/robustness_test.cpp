// Hostile input ends in problems, never in a crash or a hang (the loader will be fuzzed).
#include <chrono>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spec_test_util.hpp"

using namespace nv;
using namespace nv::spec;
using namespace nv::spec::test;
using testing::Contains;
using testing::HasSubstr;

TEST(SpecRobustness, YamlAliasBombIsCut) {
  // Ten levels of ten aliases each: 10^10 values once expanded.
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char level = 'b'; level <= 'j'; ++level) {
    std::string alias = std::string{"*"} + static_cast<char>(level - 1);
    bomb += std::string{level} + ": &" + level + " [" + alias;
    for (int i = 1; i < 10; ++i)
      bomb += ", " + alias;
    bomb += "]\n";
  }
  auto start = std::chrono::steady_clock::now();
  auto result = load_yaml(bomb);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds{10});
  EXPECT_FALSE(result.spec);
  EXPECT_THAT(printed(result), Contains(HasSubstr("more than 100000 values")));
}

TEST(SpecRobustness, SelfReferentialAliasIsCut) {
  auto result = load_yaml("version: &v [*v]\n");
  EXPECT_FALSE(result.spec);
  EXPECT_FALSE(result.problems.empty());
}

TEST(SpecRobustness, JunkAfterTheDocumentEnds) {
  // yaml-cpp 0.7's LoadAll never returns on this: it reports empty documents for ever.
  auto result = load_yaml("{f: {l}},");
  EXPECT_FALSE(result.spec);
  EXPECT_THAT(printed(result), Contains(HasSubstr("expected one YAML document, found more")));
}

TEST(SpecRobustness, DeepNestingIsCut) {
  for (std::size_t depth : {100u, 100'000u}) {
    auto yaml = load_yaml(std::string(depth, '[') + std::string(depth, ']'));
    EXPECT_FALSE(yaml.spec);
    EXPECT_FALSE(yaml.problems.empty());
    auto json = load_json(std::string(depth, '[') + std::string(depth, ']'));
    EXPECT_FALSE(json.spec);
    EXPECT_THAT(printed(json), Contains(HasSubstr("nests deeper than 64 levels")));
  }
}

TEST(SpecRobustness, GarbageAndOversizedInput) {
  for (std::string text :
       {std::string{"\0\x01\xff{[", 5}, std::string{"{\"a\":"}, std::string{"key: \"unterminated"},
        std::string{"\t- x"}, std::string{"? [a]\n: b\n"}, std::string{"!!binary x: y"}}) {
    EXPECT_FALSE(load_yaml(text).spec);
    EXPECT_FALSE(load_json(text).spec);
  }
  auto huge = load_yaml(std::string(max_spec_bytes + 1, ' '));
  EXPECT_THAT(printed(huge), testing::ElementsAre(HasSubstr("the file is larger than")));
}

TEST(SpecRobustness, ProblemCountIsBounded) {
  std::string text = "version: v1\ndeployment: many\n";
  for (int i = 0; i < 300; ++i)
    text += "unknown" + std::to_string(i) + ": 1\n";
  auto result = load_yaml(text);
  EXPECT_FALSE(result.spec);
  ASSERT_EQ(result.problems.size(), 201u);
  EXPECT_EQ(to_string(result.problems.back()), "spec.yaml: 100 more errors not shown");
  EXPECT_TRUE(has_errors(result.problems));
}
