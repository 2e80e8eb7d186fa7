// `nodevisor validate` end to end, and what `run` says about the same specs: the real binary,
// its exit code, stdout and stderr.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>

#include "tests/integration/nodevisor_process.hpp"

using namespace nv_test;
using testing::HasSubstr;
using testing::Not;

namespace {

struct cli_result {
  int code = -1;
  std::string out, err;
};

std::string slurp(const fs::path& path) {
  std::ifstream in{path};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs nodevisor to its end with `input` as stdin; stdout and stderr go to files, so a chatty
// child cannot block on a full pipe.
cli_result run_cli(const fs::path& dir, std::vector<std::string> args,
                   const std::string& input = "", char** env = environ) {
  auto in = dir / "stdin", out = dir / "stdout", err = dir / "stderr";
  std::ofstream{in, std::ios::binary} << input;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, in.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  args.insert(args.begin(), NV_BINARY);
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  cli_result r;
  EXPECT_EQ(posix_spawn(&pid, NV_BINARY, &fa, nullptr, argv.data(), env), 0);
  posix_spawn_file_actions_destroy(&fa);
  int status = 0;
  if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status))
    r.code = WEXITSTATUS(status);
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

const char* no_command = R"(version: v1
deployment: stack
services:
  api:
    image: {name: process}
)";

const char* registry_image = R"(version: v1
deployment: stack
services:
  web:
    image: {name: docker.io/library/nginx:1.25}
)";

} // namespace

class Validate : public Run {
protected:
  std::string write(const std::string& name, const std::string& text) {
    auto path = dir / name;
    std::ofstream{path, std::ios::binary} << text;
    return path.string();
  }
};

TEST_F(Validate, ProcessImageWithoutCommandFailsWithTheFieldPath) {
  auto spec = write("spec.yaml", no_command);
  auto r = run_cli(dir, {"validate", spec});
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr(spec + ": services.api.command: required for image 'process'"));
  EXPECT_EQ(r.out, "");
  // run refuses it the same way, before starting anything.
  auto ran = run_cli(dir, {"run", spec, "--until", "healthy", "--timeout", "30s"});
  EXPECT_EQ(ran.code, 2) << ran.out << ran.err;
  EXPECT_THAT(ran.err, HasSubstr(spec + ": services.api.command: required for image 'process'"));
}

TEST_F(Validate, RegistryImageMayOmitTheCommand) {
  auto spec = write("spec.yaml", registry_image);
  auto r = run_cli(dir, {"validate", spec});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, spec + ": valid (1 services)\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(Validate, ReadsASpecFromStdin) {
  auto good = run_cli(dir, {"validate", "-"}, registry_image);
  EXPECT_EQ(good.code, 0) << good.err;
  EXPECT_EQ(good.out, "<stdin>: valid (1 services)\n");
  auto bad = run_cli(dir, {"validate", "-"}, no_command);
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("<stdin>: services.api.command: required"));
  auto json = run_cli(dir, {"validate", "-"},
                      R"({"version": "v1", "deployment": "stack", "services": {}})");
  EXPECT_EQ(json.code, 0) << json.err;
}

TEST_F(Validate, SeveralFilesEachProblemNamingItsFile) {
  auto a = write("a.yaml", registry_image);
  auto b = write("b.yaml", no_command);
  auto c = write("c.yaml", std::string{registry_image} + "    bogus: 1\n");
  auto d = write("d.yaml", registry_image);
  auto r = run_cli(dir, {"validate", a, b, c, d});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, a + ": valid (1 services)\n" + d + ": valid (1 services)\n");
  EXPECT_THAT(r.err, HasSubstr(b + ": services.api.command: required"));
  EXPECT_THAT(r.err, HasSubstr(c + ": services.web.bogus: unknown field"));
  EXPECT_THAT(r.err, Not(HasSubstr(a + ":")));
  auto all_good = run_cli(dir, {"validate", a, d});
  EXPECT_EQ(all_good.code, 0);
}

TEST_F(Validate, PrintShowsTheDefaultsAndValidatesAgain) {
  auto spec = write("spec.yaml", R"(version: v1
deployment: stack
services:
  api:
    image: {name: api}
    command: {entrypoint: [sleep, "300"]}
    health: {check: {type: http, url: "http://127.0.0.1:8080/health"}}
)");
  auto r = run_cli(dir, {"validate", "--print", spec});
  ASSERT_EQ(r.code, 0) << r.err;
  auto printed = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(printed.is_discarded()) << r.out;
  auto& health = printed["services"]["api"]["health"];
  EXPECT_EQ(health["interval"], "10s");
  EXPECT_EQ(health["start_grace"], "5s");
  EXPECT_EQ(health["retries"], 3);
  EXPECT_EQ(health["check"]["expect_status"], 200);
  EXPECT_EQ(printed["services"]["api"]["stop_grace_period"], "30s");
  auto again = run_cli(dir, {"validate", write("printed.json", r.out)});
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(again.err, "");
  auto piped = run_cli(dir, {"validate", "--print", "-"}, r.out);
  EXPECT_EQ(piped.code, 0) << piped.err;
  EXPECT_EQ(piped.out, r.out) << "printing is a fixed point";
  auto two = run_cli(dir, {"validate", "--print", spec, spec});
  EXPECT_EQ(two.code, 2);
  EXPECT_THAT(two.err, HasSubstr("--print takes one SPEC"));
}

TEST_F(Validate, RefusesWhatCanNeverRun) {
  auto spec = write("spec.yaml", R"(version: v1
deployment: stack
services:
  api:
    image: {name: api}
    command: {entrypoint: [sleep, "300"]}
    env: {TOKEN: "a\0b"}
    scale: {mode: fixed, replicas: 10001}
)");
  auto r = run_cli(dir, {"validate", spec});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr(spec + ": services.api.env.TOKEN: NAME=value contains a NUL byte"));
  EXPECT_THAT(r.err, HasSubstr(spec + ": services.api.scale: 10001 replicas is more than "
                                      "nodevisor starts for one service (at most 10000)"));
  auto huge = write("huge.json", R"({"version":"v1","deployment":"stack","services":{"api":{)"
                                 R"("image":{"name":"api"},"env":{"BIG":")" +
                                     std::string(128 * 1024, 'x') + "\"}}}}");
  auto h = run_cli(dir, {"validate", huge});
  EXPECT_EQ(h.code, 2);
  EXPECT_THAT(h.err, HasSubstr("services.api.env.BIG: NAME=value is 131076 bytes; the kernel takes "
                               "at most 131071 (MAX_ARG_STRLEN, 128 KiB)"));
}

TEST_F(Validate, WarnsAboutAnUnsetEnvReferenceWhichRunRefuses) {
  auto spec = write("spec.yaml", R"(version: v1
deployment: stack
services:
  api:
    image: {name: api}
    command: {entrypoint: [sleep, "300"]}
    env: {PASSWORD: $E:NV_TEST_UNSET_PASSWORD}
)");
  std::vector<std::string> kept;
  for (char** e = environ; *e; ++e)
    if (!std::string_view{*e}.starts_with("NV_TEST_UNSET_PASSWORD="))
      kept.emplace_back(*e);
  std::vector<char*> env;
  for (auto& e : kept)
    env.push_back(e.data());
  env.push_back(nullptr);
  auto r = run_cli(dir, {"validate", spec}, "", env.data());
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, spec + ": services.api.env.PASSWORD: warning: $E:NV_TEST_UNSET_PASSWORD names "
                          "a variable that is not set in nodevisor's environment; `run` refuses "
                          "to start until it is set\n");
  auto ran = run_cli(dir, {"run", spec, "--until", "healthy", "--timeout", "30s"}, "", env.data());
  EXPECT_EQ(ran.code, 2) << ran.out << ran.err;
  EXPECT_THAT(ran.err, HasSubstr(spec + ": services.api.env.PASSWORD: $E:NV_TEST_UNSET_PASSWORD "
                                        "names a variable that is not set in nodevisor's "
                                        "environment; set it, or change the spec"));
  EXPECT_THAT(ran.out, Not(HasSubstr("healthy"))) << "nothing started";
}

TEST_F(Validate, RunWarnsAboutResourcesTheProcessRuntimeDoesNotEnforce) {
  auto spec = write("spec.yaml", R"(version: v1
deployment: stack
services:
  api:
    image: {name: api}
    command: {entrypoint: [sleep, "300"]}
    resources: {cpu: 0.5, memory: 64Mi}
    stop_grace_period: 5s
  db:
    image: {name: db}
    command: {entrypoint: [sleep, "300"]}
    stop_grace_period: 5s
)");
  auto r = run_cli(dir, {"run", spec, "--until", "healthy", "--timeout", "60s"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr(spec + ": services.api.resources.cpu: warning: the process runtime "
                                      "does not enforce it; the replicas run without a CPU limit"));
  EXPECT_THAT(r.err, HasSubstr(spec + ": services.api.resources.memory: warning: the process "
                                      "runtime does not enforce it"));
  EXPECT_THAT(r.err, Not(HasSubstr("services.db.resources")));
}
