// A dependency timeout names its first cause: the dependency's own failure, printed after
// `because` in the final failure and linked as the trace cause, so `trace why` reaches it.
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/nodevisor_process.hpp"

using namespace nv_test;

namespace {

// db cannot start (its binary does not exist) and keeps being restarted; api gives up waiting
// for it after 1s, and the deployment gives up at api's first failure.
const char* missing_db = R"(version: v1
deployment: causes
supervision: {max_restarts: 0}
services:
  db:
    image: {name: local/test}
    command: {entrypoint: ["/nonexistent/nodevisor-no-such-server"]}
    supervision: {max_restarts: 1000, window: 60s, backoff: {initial: 100ms, max: 200ms}}
  api:
    image: {name: local/test}
    command: {entrypoint: ["sleep", "300"]}
    depends: [{service: db, condition: healthy, timeout: 1s}]
)";

std::string line_with(const std::string& text, const std::string& what) {
  auto at = text.find(what);
  if (at == std::string::npos)
    return {};
  auto begin = text.rfind('\n', at);
  begin = begin == std::string::npos ? 0 : begin + 1;
  return text.substr(begin, text.find('\n', at) - begin);
}

struct command_result {
  int code = -1;
  std::string out, err;
};

command_result run_cli(std::vector<std::string> args) {
  nodevisor_process p{std::move(args)};
  command_result r;
  r.code = p.wait_exit();
  r.out = p.stdout_text;
  r.err = p.stderr_text;
  return r;
}

TEST_F(Run, ADependencyTimeoutEndsWithTheDependencysOwnFailure) {
  auto spec = write_spec(missing_db);
  nodevisor_process nv{{"run", spec, "--trace", trace_path()}};
  ASSERT_TRUE(nv.wait_for_stdout("deployment failed")) << nv.stdout_text << nv.stderr_text;
  ASSERT_TRUE(nv.wait_for_stdout("\n", 10s)) << nv.stdout_text;
  kill(nv.pid, SIGTERM);
  nv.wait_exit(); // 0 or 1 depending on how run reports a failed deployment: not asserted here
  auto printed = line_with(nv.stdout_text, "deployment failed");
  // The error stays the seed's text; the first cause follows it.
  EXPECT_NE(printed.find("Dependency timeout: 'api' waiting for 'db' (healthy) after 1s because "
                         "db: Failed to start container 'db-rep-1': "),
            std::string::npos)
      << nv.stdout_text;
  EXPECT_NE(printed.find("No such file or directory"), std::string::npos) << printed;
  auto tail = std::string{"No such file or directory"};
  EXPECT_EQ(printed.rfind(tail) + tail.size() <= printed.size(), true);

  // The api failure's trace cause is db's failure (or the replica's exit with that error, which
  // the deployment learned it from), and its cause in turn db's failure event.
  auto events = trace();
  uint64_t api_failure_cause = 0;
  std::map<uint64_t, nlohmann::json> by_seq;
  for (auto& e : events) {
    by_seq[e["seq"].get<uint64_t>()] = e;
    if (e["actor"] == "/causes/api/wait:db" && e["event"] == "failure")
      api_failure_cause = e.value("cause", uint64_t{0});
  }
  ASSERT_NE(api_failure_cause, 0u);
  ASSERT_TRUE(by_seq.count(api_failure_cause));
  auto cause = by_seq[api_failure_cause];
  EXPECT_EQ(cause["actor"], "/causes/db/db-rep-1") << cause.dump();
  EXPECT_EQ(cause["error"]["kind"], "StartFailed") << cause.dump();
  for (int step = 0; step < 3 && cause["event"] != "failure" && cause.contains("cause"); ++step)
    cause = by_seq[cause["cause"].get<uint64_t>()];
  EXPECT_EQ(cause["actor"], "/causes/db/db-rep-1") << cause.dump();
  EXPECT_EQ(cause["event"], "failure") << cause.dump();
  EXPECT_EQ(cause["error"]["kind"], "StartFailed") << cause.dump();

  // `trace why api` walks from api's failure back to db's StartFailed.
  auto why = run_cli({"trace", "why", "api", trace_path()});
  ASSERT_EQ(why.code, 0) << why.err;
  EXPECT_NE(why.out.find("/causes/db/db-rep-1  failure  Failed to start container 'db-rep-1'"),
            std::string::npos)
      << why.out;
  EXPECT_NE(why.out.find("/causes/api/wait:db  failure  Dependency timeout"), std::string::npos)
      << why.out;
  EXPECT_LT(why.out.find("/causes/db/db-rep-1  failure"),
            why.out.find("/causes/api/wait:db  failure"))
      << why.out;
}

} // namespace
