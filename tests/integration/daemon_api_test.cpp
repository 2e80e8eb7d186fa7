// The daemon driven as its users drive it: ZLayer's clients (every answer on ZLayer's paths
// checked against ZLayer's own OpenAPI schemas), the nodevisor CLI, the trace stream, many
// requests at once, and systemd's notify socket.
#include <sys/un.h>
#include <thread>

#include "daemon_fixture.hpp"
#include "tests/support/openapi_schema.hpp"

using namespace nv_test;
namespace openapi = nv::test::openapi;

namespace {

std::string one_service(const std::string& name, const std::string& command = "sleep 300") {
  return "version: v1\ndeployment: " + name + R"(
services:
  web:
    image: {name: process}
    command: {entrypoint: [sh, -c, ")" +
         command + R"("]}
    stop_grace_period: 2s
    scale: {mode: fixed, replicas: 2}
    health:
      start_grace: 0s
      interval: 200ms
      check: {type: command, command: "true"}
)";
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (auto nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', start)) {
    out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

} // namespace

TEST_F(Daemon, EveryAnswerOnZLayersPathsValidatesAgainstItsSchema) {
  auto d = start_daemon();
  auto check = [&](const std::string& method, const std::string& path, const http_answer& a) {
    auto problems = openapi::validate_response(method, path, a.status, a.content_type, a.body);
    for (auto& p : problems)
      ADD_FAILURE() << p << "\n  body: " << a.body;
  };
  auto created = request("POST", "/api/v1/deployments", spec_body(one_service("zlayer")));
  ASSERT_EQ(created.status, 201) << created.body;
  check("post", "/api/v1/deployments", created);
  wait_deployment("zlayer", all_healthy, 60s, d.get());
  for (auto path :
       {"/health/live", "/health/ready", "/api/v1/daemon/capabilities", "/api/v1/deployments",
        "/api/v1/deployments/zlayer", "/api/v1/deployments/zlayer/spec",
        "/api/v1/deployments/zlayer/services", "/api/v1/deployments/zlayer/services/web"}) {
    auto a = request("GET", path);
    EXPECT_EQ(a.status, 200) << path << ": " << a.body;
    check("get", path, a);
  }
  auto scaled =
      request("POST", "/api/v1/deployments/zlayer/services/web/scale", R"({"replicas": 3})");
  EXPECT_EQ(scaled.status, 200) << scaled.body;
  check("post", "/api/v1/deployments/zlayer/services/web/scale", scaled);
  EXPECT_EQ(scaled.json()["desired_replicas"], 3);
  auto internal = request("POST", "/api/v1/internal/scale", R"({"service": "web", "replicas": 2})");
  EXPECT_EQ(internal.status, 200) << internal.body;
  check("post", "/api/v1/internal/scale", internal);
  auto logs = request("GET", "/api/v1/deployments/zlayer/services/web/logs?lines=5");
  EXPECT_EQ(logs.status, 200);
  check("get", "/api/v1/deployments/zlayer/services/web/logs", logs);
  auto deleted = request("DELETE", "/api/v1/deployments/zlayer");
  EXPECT_EQ(deleted.status, 204);
  check("delete", "/api/v1/deployments/zlayer", deleted);
}

TEST_F(Daemon, TheCliDrivesIt) {
  auto d = start_daemon();
  auto host = "unix://" + socket();
  auto spec = write_spec(one_service("cli"));
  nodevisor_process deploy{{"deploy", spec, "--host", host, "--wait", "--timeout", "60s"}};
  EXPECT_EQ(deploy.wait_exit(), 0) << deploy.stderr_text;
  nodevisor_process ps{{"ps", "cli", "-o", "json", "--host", host}};
  ASSERT_EQ(ps.wait_exit(), 0) << ps.stderr_text;
  auto j = nlohmann::json::parse(ps.stdout_text, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << ps.stdout_text;
  EXPECT_EQ(j["name"], "cli");
  EXPECT_EQ(j["service_details"][0]["replicas_healthy"], 2);
  nodevisor_process table{{"ps", "cli", "--host", host}};
  EXPECT_EQ(table.wait_exit(), 0);
  EXPECT_NE(table.stdout_text.find("web"), std::string::npos) << table.stdout_text;
  nodevisor_process missing{{"stop", "ghost", "--host", host}};
  EXPECT_EQ(missing.wait_exit(), 1);
  nodevisor_process bad{
      {"deploy", write_spec("version: v1\ndeployment: x\nservices: 3\n"), "--host", host}};
  EXPECT_EQ(bad.wait_exit(), 2);
  nodevisor_process rm{{"rm", "cli", "--host", host}};
  EXPECT_EQ(rm.wait_exit(), 0) << rm.stderr_text;
  kill(d->pid, SIGTERM);
  EXPECT_EQ(d->wait_exit(), 0);
  nodevisor_process down{{"ps", "--host", host}};
  EXPECT_EQ(down.wait_exit(), 3);
  EXPECT_NE(down.stderr_text.find(socket()), std::string::npos) << down.stderr_text;
}

TEST_F(Daemon, TheTraceStreamResumesWithSinceAndMissesNothing) {
  auto d = start_daemon();
  ASSERT_EQ(request("POST", "/api/v1/deployments", spec_body(one_service("tracing"))).status, 201);
  wait_deployment("tracing", all_healthy, 60s, d.get());
  auto first = lines_of(request("GET", "/api/v1/trace").body);
  ASSERT_FALSE(first.empty());
  uint64_t last = 0;
  for (auto& l : first) {
    auto seq = nlohmann::json::parse(l)["seq"].get<uint64_t>();
    EXPECT_EQ(seq, last + 1) << "a gap before " << l;
    last = seq;
  }
  ASSERT_EQ(request("POST", "/api/v1/deployments/tracing/stop").status, 200);
  auto rest = lines_of(request("GET", "/api/v1/trace?since=" + std::to_string(last)).body);
  ASSERT_FALSE(rest.empty());
  for (auto& l : rest) {
    auto seq = nlohmann::json::parse(l)["seq"].get<uint64_t>();
    EXPECT_EQ(seq, last + 1) << "a gap before " << l;
    last = seq;
  }
  auto failures = lines_of(request("GET", "/api/v1/trace?event=state&actor=/tracing/web").body);
  ASSERT_FALSE(failures.empty());
  for (auto& l : failures) {
    auto j = nlohmann::json::parse(l);
    EXPECT_EQ(j["event"], "state");
    EXPECT_EQ(j["actor"].get<std::string>().rfind("/tracing/web", 0), 0u);
  }
  auto events = lines_of(request("GET", "/api/v1/events?follow=false").body);
  int starts = 0;
  for (auto& l : events)
    if (nlohmann::json::parse(l)["kind"] == "start")
      ++starts;
  EXPECT_EQ(starts, 2) << "one start per replica";
  auto metrics = request("GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("nodevisor_probes_total"), std::string::npos) << metrics.body;
}

// `why` over the daemon's own trace: the chain behind a replica's last failure, first cause
// first, through the API and the CLI; a name that matches nothing, or an actor that never
// failed, is an answer a person can act on.
TEST_F(Daemon, WhyWalksALastFailureBackToItsCause) {
  auto d = start_daemon();
  auto host = "unix://" + socket();
  ASSERT_EQ(request("POST", "/api/v1/deployments", spec_body(one_service("whys", "exit 7"))).status,
            201);
  auto failed = [&] {
    auto j = request("GET", "/api/v1/trace?event=failure&actor=/whys/web/web-rep-1").body;
    return !j.empty();
  };
  auto until = std::chrono::steady_clock::now() + 60s;
  while (!failed() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(failed()) << "web-rep-1 never failed";

  auto why = request("GET", "/api/v1/why?actor=web-rep-1");
  ASSERT_EQ(why.status, 200) << why.body;
  auto j = why.json();
  EXPECT_EQ(j["actor"], "/whys/web/web-rep-1");
  ASSERT_TRUE(j["chain"].is_array());
  ASSERT_FALSE(j["chain"].empty());
  bool exit_seen = false;
  for (auto& ev : j["chain"])
    exit_seen = exit_seen || (ev["event"] == "exit" && ev.value("code", 0) == 7) ||
                ev.dump().find("exited with code 7") != std::string::npos;
  EXPECT_TRUE(exit_seen) << j.dump();
  uint64_t prev = 0;
  for (auto& ev : j["chain"]) {
    EXPECT_GT(ev["seq"].get<uint64_t>(), prev) << "in seq order";
    prev = ev["seq"].get<uint64_t>();
  }

  nodevisor_process cli{{"why", "/whys/web/web-rep-1", "--host", host}};
  EXPECT_EQ(cli.wait_exit(), 0) << cli.stderr_text;
  EXPECT_NE(cli.stdout_text.find("/whys/web/web-rep-1"), std::string::npos) << cli.stdout_text;
  EXPECT_NE(cli.stdout_text.find("failure"), std::string::npos) << cli.stdout_text;

  EXPECT_EQ(request("GET", "/api/v1/why?actor=nothing-like-it").status, 404);
  EXPECT_EQ(request("GET", "/api/v1/why").status, 400);
  EXPECT_EQ(request("GET", "/api/v1/why?actor=/whys/web/web-rep").status, 400) << "both replicas";
  nodevisor_process never{{"why", "/whys", "--host", host}};
  EXPECT_EQ(never.wait_exit(), 1);
  EXPECT_NE(never.stderr_text.find("has not failed"), std::string::npos) << never.stderr_text;
}

TEST_F(Daemon, FiftyConcurrentRequestsWhileAServiceCrashLoops) {
  auto d = start_daemon();
  ASSERT_EQ(request("POST", "/api/v1/deployments", spec_body(one_service("loop", "exit 3"))).status,
            201);
  ASSERT_EQ(request("POST", "/api/v1/deployments", spec_body(one_service("calm"))).status, 201);
  // The requests come once the loop has restarted at least once, however slow the machine.
  wait_deployment(
      "loop",
      [](const nlohmann::json& j) {
        return !j["service_details"].empty() && j["service_details"][0]["restarts"] > 0;
      },
      60s, d.get());
  std::vector<std::thread> threads;
  std::vector<http_answer> answers(50);
  for (int i = 0; i < 50; ++i)
    threads.emplace_back([&, i] {
      switch (i % 5) {
      case 0:
        answers[i] = request("GET", "/api/v1/deployments");
        break;
      case 1:
        answers[i] = request("GET", "/api/v1/deployments/loop");
        break;
      case 2:
        answers[i] = request("GET", "/api/v1/tree");
        break;
      case 3:
        answers[i] = request("GET", "/metrics");
        break;
      default:
        answers[i] = request("PUT", "/api/v1/deployments/calm",
                             spec_body(one_service("calm", "sleep " + std::to_string(300 + i))));
      }
    });
  for (auto& t : threads)
    t.join();
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(answers[i].status, 200) << "request " << i << ": " << answers[i].body;
  // One of the applies won last: the stored spec is one of them, whole.
  auto spec = request("GET", "/api/v1/deployments/calm/spec").json();
  EXPECT_NE(spec["spec_text"].get<std::string>().find("sleep 3"), std::string::npos);
  EXPECT_GE(spec["generation"].get<int>(), 2);
  auto loop = request("GET", "/api/v1/deployments/loop").json();
  EXPECT_GT(loop["service_details"][0]["restarts"].get<int>(), 0) << loop.dump();
  EXPECT_EQ(loop["service_details"][0]["last_error"]["kind"], "UnexpectedExit") << loop.dump();
}

TEST_F(Daemon, OnLoopbackTcpOnlyTheBearerTokenGetsIn) {
  // A free port: bound, read, closed (the daemon binds it with SO_REUSEADDR).
  int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  getsockname(probe, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  close(probe);

  const fs::path token = dir / "token";
  std::ofstream{token} << "s3cret-token\n";
  fs::permissions(token, fs::perms::owner_read | fs::perms::owner_write);
  const fs::path config = dir / "node.yaml";
  auto write_config = [&](const std::string& listen) {
    std::ofstream{config} << "listen: " << listen << "\ntoken_file: " << token.string() << "\n";
  };
  write_config("tcp://127.0.0.1:" + std::to_string(port));

  {
    auto d = start_daemon({"--config", config.string()});
    auto tcp = [&](const std::string& auth) {
      httplib::Client c{"127.0.0.1", port};
      c.set_connection_timeout(5, 0);
      httplib::Headers h;
      if (!auth.empty())
        h.emplace("Authorization", auth);
      auto r = c.Get("/api/v1/deployments", h);
      return r ? http_answer{r->status, r->body, r->get_header_value("Content-Type")}
               : http_answer{};
    };
    auto none = tcp("");
    EXPECT_EQ(none.status, 401) << none.body;
    EXPECT_EQ(none.json()["error"]["kind"], "Configuration") << none.body;
    auto wrong = tcp("Bearer s3cret-tokeN");
    EXPECT_EQ(wrong.status, 401) << wrong.body;
    EXPECT_NE(wrong.body.find("wrong bearer token"), std::string::npos) << wrong.body;
    EXPECT_EQ(tcp("Bearer s3cret-token").status, 200);
    EXPECT_EQ(request("GET", "/api/v1/deployments").status, 200) << "the socket needs no token";

    const std::string host = "tcp://127.0.0.1:" + std::to_string(port);
    nodevisor_process ps{{"ps", "--host", host, "--token-file", token.string()}};
    EXPECT_EQ(ps.wait_exit(), 0) << ps.stderr_text;
    const fs::path other = dir / "other-token";
    std::ofstream{other} << "not-it\n";
    fs::permissions(other, fs::perms::owner_read | fs::perms::owner_write);
    nodevisor_process refused{{"ps", "--host", host, "--token-file", other.string()}};
    EXPECT_EQ(refused.wait_exit(), 3) << refused.stderr_text;
    EXPECT_NE(refused.stderr_text.find("token"), std::string::npos) << refused.stderr_text;
    kill(d->pid, SIGTERM);
    EXPECT_EQ(d->wait_exit(), 0) << d->stderr_text;
  }

  // A token others can read, and a listener off loopback: the daemon does not start.
  fs::permissions(token, fs::perms::group_read, fs::perm_options::add);
  nodevisor_process readable{{"daemon", "--state-dir", state().string(), "--socket", socket(),
                              "--config", config.string()}};
  EXPECT_EQ(readable.wait_exit(), 2);
  EXPECT_NE(readable.stderr_text.find("chmod 600"), std::string::npos) << readable.stderr_text;
  fs::permissions(token, fs::perms::group_read, fs::perm_options::remove);
  write_config("tcp://0.0.0.0:" + std::to_string(port));
  nodevisor_process open{{"daemon", "--state-dir", state().string(), "--socket", socket(),
                          "--config", config.string()}};
  EXPECT_EQ(open.wait_exit(), 2);
  EXPECT_NE(open.stderr_text.find("loopback"), std::string::npos) << open.stderr_text;
}

TEST_F(Daemon, TellsSystemdReadyAndStopping) {
  auto path = (dir / "notify.sock").string();
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  setenv("NOTIFY_SOCKET", path.c_str(), 1);
  setenv("WATCHDOG_USEC", "400000", 1);
  auto d = start_daemon();
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");
  std::string seen;
  auto read_until = [&](const std::string& what) {
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (seen.find(what) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 100) > 0) {
        char buf[512];
        auto n = recv(fd, buf, sizeof buf, 0);
        if (n > 0)
          seen.append(buf, static_cast<std::size_t>(n)).append("\n");
      }
      d->pump(10ms);
    }
    return seen.find(what) != std::string::npos;
  };
  EXPECT_TRUE(read_until("READY=1")) << seen;
  EXPECT_TRUE(read_until("WATCHDOG=1")) << seen;
  kill(d->pid, SIGTERM);
  EXPECT_TRUE(read_until("STOPPING=1")) << seen;
  EXPECT_EQ(d->wait_exit(), 0);
  close(fd);
}
