// What the loader refuses because it could never run (spec/runnable.hpp), for `validate` and
// `run` alike, and the `$E:` references only the environment can decide.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spec/runnable.hpp"
#include "spec_test_util.hpp"

using namespace nv;
using namespace nv::spec;
using namespace nv::spec::test;
using testing::ElementsAre;
using testing::HasSubstr;

namespace {

std::string with_service(std::string_view body) {
  return "version: v1\ndeployment: stack\nservices:\n  api:\n" + std::string{body};
}

} // namespace

TEST(Runnable, ProcessImageWithoutCommandIsRefusedAtTheCommandPath) {
  auto result = load_yaml(with_service("    image: {name: process}\n"));
  EXPECT_FALSE(result.spec);
  EXPECT_THAT(printed(result),
              ElementsAre("spec.yaml: services.api.command: required for image 'process', which "
                          "runs the command as a plain process; give command.entrypoint (and "
                          "args), e.g. entrypoint: [\"/usr/bin/env\"]"));
}

TEST(Runnable, ProcessImageWithACommandLoads) {
  auto result = load_yaml(with_service("    image: {name: process}\n"
                                       "    command: {entrypoint: [sleep, '60']}\n"));
  EXPECT_TRUE(result.spec) << testing::PrintToString(printed(result));
}

TEST(Runnable, RegistryImageMayOmitTheCommandItsEntrypointApplies) {
  auto result = load_yaml(with_service("    image: {name: docker.io/library/nginx:1.25}\n"));
  EXPECT_TRUE(result.spec) << testing::PrintToString(printed(result));
  EXPECT_TRUE(result.problems.empty());
}

TEST(Runnable, EnvValueWithANulByteIsRefused) {
  auto result = load_yaml(with_service("    image: {name: api}\n"
                                       "    env: {TOKEN: \"ab\\0cd\"}\n"));
  EXPECT_FALSE(result.spec);
  EXPECT_THAT(printed(result), ElementsAre("spec.yaml: services.api.env.TOKEN: NAME=value "
                                           "contains a NUL byte, which no process can be given"));
}

TEST(Runnable, EnvStringIsRefusedOnlyPastTheKernelsLimit) {
  // "V=" + value + NUL: execve takes at most MAX_ARG_STRLEN bytes, the NUL counted.
  std::string fits(max_arg_strlen - 3, 'x');
  auto ok = load_json(R"({"version":"v1","deployment":"stack","services":{"api":{"image":)"
                      R"({"name":"api"},"env":{"V":")" +
                      fits + "\"}}}}");
  EXPECT_TRUE(ok.spec) << testing::PrintToString(printed(ok));
  auto too_long = load_json(R"({"version":"v1","deployment":"stack","services":{"api":{"image":)"
                            R"({"name":"api"},"env":{"V":")" +
                            fits + "x\"}}}}");
  EXPECT_FALSE(too_long.spec);
  EXPECT_THAT(printed(too_long),
              ElementsAre("spec.json: services.api.env.V: NAME=value is 131072 bytes; the kernel "
                          "takes at most 131071 (MAX_ARG_STRLEN, 128 KiB)"));
}

TEST(Runnable, CommandWordsHaveTheSameLimits) {
  auto result = load_yaml(with_service("    image: {name: api}\n"
                                       "    command: {entrypoint: [sh], args: [-c, \"a\\0b\"]}\n"));
  EXPECT_FALSE(result.spec);
  EXPECT_THAT(printed(result), ElementsAre(HasSubstr("services.api.command.args[1]: the argument "
                                                     "contains a NUL byte")));
}

TEST(Runnable, ReplicasAreCappedPerService) {
  auto at_cap = load_yaml(with_service("    image: {name: api}\n"
                                       "    scale: {mode: fixed, replicas: 10000}\n"));
  EXPECT_TRUE(at_cap.spec) << testing::PrintToString(printed(at_cap));
  auto past = load_yaml(with_service("    image: {name: api}\n"
                                     "    scale: {mode: adaptive, min: 10001}\n"));
  EXPECT_FALSE(past.spec);
  EXPECT_THAT(printed(past),
              ElementsAre("spec.yaml: services.api.scale: 10001 replicas is more than nodevisor "
                          "starts for one service (at most 10000); split the service, or lower "
                          "the count"));
}

TEST(Runnable, UnsetEnvReferencesAreNamedAtTheirVariable) {
  auto result = load_yaml(with_service("    image: {name: api}\n"
                                       "    env: {A: $E:SET_ONE, B: $E:MISSING_ONE, C: plain}\n"));
  ASSERT_TRUE(result.spec);
  auto lookup = [](const std::string& name) -> std::optional<std::string> {
    return name == "SET_ONE" ? std::optional<std::string>{"1"} : std::nullopt;
  };
  auto problems = unset_env_references(*result.spec, "spec.yaml", severity::warning, lookup);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(to_string(problems[0]),
            "spec.yaml: services.api.env.B: warning: $E:MISSING_ONE names a variable that is not "
            "set in nodevisor's environment; `run` refuses to start until it is set");
  auto as_error = unset_env_references(*result.spec, "spec.yaml", severity::error, lookup);
  ASSERT_EQ(as_error.size(), 1u);
  EXPECT_EQ(as_error[0].level, severity::error);
}
