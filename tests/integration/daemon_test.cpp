// The daemon end to end: the real `nodevisor daemon`, its real Unix socket, real processes.
#include <sqlite3.h>

#include "daemon_fixture.hpp"

using namespace nv_test;

namespace {

// Two services of sleepers: `db` healthy by a command check, `api` depending on it.
std::string two_services(const std::string& name, const std::string& api_env = "one",
                         int api_replicas = 2) {
  return "version: v1\ndeployment: " + name + R"(
services:
  db:
    image: {name: process}
    command: {entrypoint: [sleep, "300"]}
    stop_grace_period: 2s
    health:
      start_grace: 0s
      interval: 200ms
      check: {type: command, command: "true"}
  api:
    image: {name: process}
    command: {entrypoint: [sleep, "300"]}
    env: {FLAVOUR: )" +
         api_env + R"(}
    stop_grace_period: 2s
    scale: {mode: fixed, replicas: )" +
         std::to_string(api_replicas) + R"(}
    health:
      start_grace: 0s
      interval: 200ms
      check: {type: command, command: "true"}
    depends:
      - service: db
        condition: healthy
)";
}

} // namespace

TEST_F(Daemon, DeployThenPsShowsItHealthy) {
  auto d = start_daemon();
  auto created = request("POST", "/api/v1/deployments", spec_body(two_services("shop")));
  ASSERT_EQ(created.status, 201) << created.body;
  auto j = created.json();
  EXPECT_EQ(j["name"], "shop");
  EXPECT_EQ(j["generation"], 1);
  EXPECT_EQ(j["desired"], "running");
  auto healthy = wait_deployment("shop", all_healthy, 60s, d.get());
  EXPECT_EQ(healthy["status"], "running");
  EXPECT_EQ(healthy["service_count"], 2);
  auto pids = pids_by_service(healthy);
  EXPECT_EQ(pids["db"].size(), 1u);
  EXPECT_EQ(pids["api"].size(), 2u);
  for (auto& [s, set] : pids)
    for (int pid : set)
      EXPECT_TRUE(alive(pid)) << s << " " << pid;

  auto list = request("GET", "/api/v1/deployments");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.json().size(), 1u);
  EXPECT_EQ(list.json()[0]["name"], "shop");

  auto svc = request("GET", "/api/v1/deployments/shop/services/api");
  ASSERT_EQ(svc.status, 200) << svc.body;
  EXPECT_EQ(svc.json()["desired_replicas"], 2);
  EXPECT_EQ(svc.json()["node"], "test-node");
}

TEST_F(Daemon, ApplyingAChangeToOneServiceKeepsTheOthersPids) {
  auto d = start_daemon();
  ASSERT_EQ(request("POST", "/api/v1/deployments", spec_body(two_services("shop"))).status, 201);
  auto before = pids_by_service(wait_deployment("shop", all_healthy, 60s, d.get()));
  auto applied = request("PUT", "/api/v1/deployments/shop", spec_body(two_services("shop", "two")));
  ASSERT_EQ(applied.status, 200) << applied.body;
  EXPECT_EQ(applied.json()["generation"], 2);
  auto after = wait_deployment(
      "shop",
      [&](const nlohmann::json& j) {
        auto p = pids_by_service(j);
        if (!all_healthy(j) || p["api"].size() != 2)
          return false;
        for (int pid : p["api"])
          if (before["api"].count(pid))
            return false;
        return true;
      },
      60s, d.get());
  EXPECT_EQ(pids_by_service(after)["db"], before["db"]) << "db was not changed: same process";

  // The same spec again changes nothing: same generation, same pids.
  auto again = request("PUT", "/api/v1/deployments/shop", spec_body(two_services("shop", "two")));
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(again.json()["generation"], 2);
  EXPECT_EQ(pids_by_service(again.json()), pids_by_service(after));
}

TEST_F(Daemon, StopStartAndRemove) {
  auto d = start_daemon();
  ASSERT_EQ(request("POST", "/api/v1/deployments", spec_body(two_services("shop"))).status, 201);
  auto pids = pids_by_service(wait_deployment("shop", all_healthy, 60s, d.get()));
  auto stopped = request("POST", "/api/v1/deployments/shop/stop");
  ASSERT_EQ(stopped.status, 200) << stopped.body;
  EXPECT_EQ(stopped.json()["desired"], "stopped");
  EXPECT_EQ(stopped.json()["status"], "stopped");
  for (auto& [s, set] : pids)
    for (int pid : set)
      EXPECT_FALSE(alive(pid)) << s << " " << pid << " still runs after stop";
  EXPECT_EQ(request("GET", "/api/v1/deployments/shop/spec").json()["desired"], "stopped");

  ASSERT_EQ(request("POST", "/api/v1/deployments/shop/start").status, 200);
  auto restarted = wait_deployment("shop", all_healthy, 60s, d.get());
  EXPECT_EQ(restarted["generation"], 1) << "stop/start is not a change of the spec";

  auto pids2 = pids_by_service(restarted);
  EXPECT_EQ(request("DELETE", "/api/v1/deployments/shop").status, 204);
  for (auto& [s, set] : pids2)
    for (int pid : set)
      EXPECT_FALSE(alive(pid)) << s << " " << pid << " still runs after delete";
  EXPECT_EQ(request("GET", "/api/v1/deployments/shop").status, 404);
  EXPECT_EQ(request("GET", "/api/v1/deployments").json().size(), 0u);
}

TEST_F(Daemon, AKilledDaemonBringsBackExactlyTheRunningDeployments) {
  {
    auto d = start_daemon();
    for (auto name : {"one", "two", "three"})
      ASSERT_EQ(
          request("POST", "/api/v1/deployments", spec_body(two_services(name, "x", 1))).status,
          201);
    ASSERT_EQ(request("POST", "/api/v1/deployments/two/stop").status, 200);
    ASSERT_EQ(request("DELETE", "/api/v1/deployments/three").status, 204);
    auto one = wait_deployment("one", all_healthy, 60s, d.get());
    kill(d->pid, SIGKILL);
    EXPECT_EQ(d->wait_exit(), 128 + SIGKILL);
    // The keeper keeps them running; killed during the outage, the next daemon starts them
    // again (the keeper's own tests check the adoption of those that survive).
    for (auto& [s, set] : pids_by_service(one))
      for (int pid : set)
        kill(pid, SIGKILL);
  }
  auto d = start_daemon();
  auto list = request("GET", "/api/v1/deployments").json();
  ASSERT_EQ(list.size(), 2u) << list.dump();
  EXPECT_EQ(list[0]["name"], "one");
  EXPECT_EQ(list[1]["name"], "two");
  wait_deployment("one", all_healthy, 60s, d.get());
  auto two = request("GET", "/api/v1/deployments/two").json();
  EXPECT_EQ(two["desired"], "stopped");
  EXPECT_EQ(two["status"], "stopped");
  EXPECT_TRUE(pids_by_service(two).empty());
}

TEST_F(Daemon, BadInputGetsAClearAnswerAndChangesNothing) {
  auto d = start_daemon();
  auto kind = [](const http_answer& a) { return a.json()["error"]["kind"]; };
  auto message = [](const http_answer& a) {
    return a.json()["error"]["message"].get<std::string>();
  };

  auto malformed = request("POST", "/api/v1/deployments", "{not json");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(kind(malformed), "InvalidSpec");

  auto no_spec = request("POST", "/api/v1/deployments", R"({"name": "x"})");
  EXPECT_EQ(no_spec.status, 400);
  EXPECT_NE(message(no_spec).find("spec"), std::string::npos);

  auto bad = request("POST", "/api/v1/deployments",
                     spec_body("version: v1\ndeployment: bad\nservices:\n  a:\n    image: {name: "
                               "process}\n    command: {entrypoint: [sleep]}\n    health: "
                               "{interval: ten}\n"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(message(bad).find("services.a.health.interval"), std::string::npos) << bad.body;

  auto huge = request("POST", "/api/v1/deployments", spec_body(std::string(5 * 1024 * 1024, 'x')));
  EXPECT_EQ(huge.status, 413);
  EXPECT_EQ(kind(huge), "InvalidSpec");

  auto unknown = request("GET", "/api/v1/nothing-here");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(kind(unknown), "NotFound");

  auto method = request("PATCH", "/api/v1/deployments", "{}");
  EXPECT_EQ(method.status, 405);
  EXPECT_EQ(kind(method), "Unsupported");

  EXPECT_EQ(request("GET", "/api/v1/deployments/ghost").status, 404);
  EXPECT_EQ(request("POST", "/api/v1/deployments/ghost/stop").status, 404);
  EXPECT_EQ(request("DELETE", "/api/v1/deployments/ghost").status, 404);
  EXPECT_EQ(request("GET", "/api/v1/deployments/ghost/services/api").status, 404);

  ASSERT_EQ(request("POST", "/api/v1/deployments", spec_body(two_services("shop"))).status, 201);
  auto twice = request("POST", "/api/v1/deployments", spec_body(two_services("shop", "other")));
  EXPECT_EQ(twice.status, 409);
  EXPECT_NE(message(twice).find("generation 1"), std::string::npos) << twice.body;
  EXPECT_EQ(request("GET", "/api/v1/deployments/shop/services/ghost").status, 404);
  auto mismatch = request("PUT", "/api/v1/deployments/shop", spec_body(two_services("elsewhere")));
  EXPECT_EQ(mismatch.status, 400);

  // Nothing of the bad ones is stored.
  auto list = request("GET", "/api/v1/deployments").json();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["generation"], 1);
}

TEST_F(Daemon, ALiveSocketIsRefusedAndAStaleOneReplaced) {
  auto d = start_daemon();
  // A second daemon on the same socket (another state dir) refuses to start.
  nodevisor_process second{{"daemon", "--state-dir", (dir / "other").string(), "--socket", socket(),
                            "--name", "second"}};
  EXPECT_EQ(second.wait_exit(), 2);
  EXPECT_NE(second.stderr_text.find("another daemon"), std::string::npos) << second.stderr_text;
  // Killed: its socket stays behind, and the next daemon replaces it.
  kill(d->pid, SIGKILL);
  d->wait_exit();
  ASSERT_TRUE(fs::exists(socket()));
  auto again = start_daemon();
  EXPECT_EQ(request("GET", "/health/live").status, 200);
  EXPECT_NE(again->stderr_text.find("left by a daemon that is gone"), std::string::npos)
      << again->stderr_text;
  struct stat st {};
  ASSERT_EQ(stat(socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
}

TEST_F(Daemon, SigtermStopsEverythingAndKeepsTheDesiredState) {
  auto d = start_daemon();
  ASSERT_EQ(request("POST", "/api/v1/deployments", spec_body(two_services("shop"))).status, 201);
  auto pids = pids_by_service(wait_deployment("shop", all_healthy, 60s, d.get()));
  kill(d->pid, SIGTERM);
  EXPECT_EQ(d->wait_exit(), 0) << d->stderr_text;
  for (auto& [s, set] : pids)
    for (int pid : set)
      EXPECT_FALSE(alive(pid)) << s << " " << pid;
  EXPECT_FALSE(fs::exists(socket()));
  auto next = start_daemon();
  auto back = wait_deployment("shop", all_healthy, 60s, next.get());
  EXPECT_EQ(back["desired"], "running");
}

TEST_F(Daemon, ManifestsAreDeploymentsComparedByContentAndRemovingOneDeletesIt) {
  const fs::path manifests = dir / "manifests";
  fs::create_directories(manifests);
  auto write = [&](const std::string& file, const std::string& text) {
    // Written beside and renamed in, as editors and config managers do.
    const auto tmp = manifests / ("." + file + ".tmp");
    std::ofstream{tmp} << text;
    fs::rename(tmp, manifests / file);
  };
  auto applied_lines = [](const nodevisor_process& d, const std::string& file) {
    std::size_t n = 0;
    const std::string what = "manifest " + file + " applied";
    for (auto at = d.stderr_text.find(what); at != std::string::npos;
         at = d.stderr_text.find(what, at + 1))
      ++n;
    return n;
  };
  auto wait_applied = [&](nodevisor_process& d, const std::string& file, std::size_t count) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (applied_lines(d, file) < count && std::chrono::steady_clock::now() < deadline)
      d.pump(100ms);
    return applied_lines(d, file) >= count;
  };
  auto gone = [&](const std::string& name, nodevisor_process& d) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (request("GET", "/api/v1/deployments/" + name).status != 404 &&
           std::chrono::steady_clock::now() < deadline)
      d.pump(100ms);
    return request("GET", "/api/v1/deployments/" + name).status == 404;
  };
  const std::string shop = (manifests / "shop.yaml").string();
  const std::string other = (manifests / "other.yaml").string();
  write("shop.yaml", two_services("shop", "one", 1));
  write("other.yaml", two_services("other", "one", 1));

  {
    auto d = start_daemon({"--manifests", manifests.string()});
    auto first = wait_deployment("shop", all_healthy, 60s, d.get());
    EXPECT_EQ(first["generation"], 1);
    wait_deployment("other", all_healthy, 60s, d.get());

    // The same spec written again, with a comment added: nothing changes.
    write("shop.yaml", two_services("shop", "one", 1) + "# reviewed\n");
    ASSERT_TRUE(wait_applied(*d, shop, 2)) << d->stderr_text;
    auto same = request("GET", "/api/v1/deployments/shop").json();
    EXPECT_EQ(same["generation"], 1);
    EXPECT_EQ(pids_by_service(same), pids_by_service(first));

    // A changed spec is applied: only `api` is replaced.
    write("shop.yaml", two_services("shop", "two", 1));
    auto changed = wait_deployment(
        "shop", [](const nlohmann::json& j) { return j["generation"] == 2 && all_healthy(j); }, 60s,
        d.get());
    EXPECT_EQ(pids_by_service(changed)["db"], pids_by_service(first)["db"]);

    // A file that does not load changes nothing, and says why.
    write("shop.yaml", "version: v1\ndeployment: shop\nservices: [\n");
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (d->stderr_text.find("manifest " + shop + " not applied") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline)
      d->pump(100ms);
    EXPECT_NE(d->stderr_text.find("manifest " + shop + " not applied"), std::string::npos);
    EXPECT_EQ(request("GET", "/api/v1/deployments/shop").json()["generation"], 2);

    // Removing the file deletes the deployment.
    fs::remove(manifests / "shop.yaml");
    EXPECT_TRUE(gone("shop", *d)) << d->stderr_text;
    // The store forgets it first; its processes stop right after.
    for (auto& [s, set] : pids_by_service(changed))
      for (int pid : set) {
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        while (alive(pid) && std::chrono::steady_clock::now() < deadline)
          d->pump(50ms);
        EXPECT_FALSE(alive(pid)) << s << " " << pid;
      }

    kill(d->pid, SIGTERM);
    EXPECT_EQ(d->wait_exit(), 0) << d->stderr_text;
  }

  // Removed while the daemon was down: deleted at the next start; the others come back.
  fs::remove(manifests / "other.yaml");
  write("shop.yaml", two_services("shop", "one", 1));
  auto d = start_daemon({"--manifests", manifests.string()});
  EXPECT_TRUE(gone("other", *d)) << d->stderr_text;
  auto back = wait_deployment("shop", all_healthy, 60s, d.get());
  EXPECT_EQ(back["generation"], 1);
  auto list = request("GET", "/api/v1/deployments").json();
  ASSERT_EQ(list.size(), 1u) << list.dump();
  EXPECT_EQ(list[0]["name"], "shop");
}

TEST_F(Daemon, AStoredSpecThatNoLongerValidatesShowsFailedAndTheRestRuns) {
  {
    auto d = start_daemon();
    for (auto name : {"shop", "blog"})
      ASSERT_EQ(
          request("POST", "/api/v1/deployments", spec_body(two_services(name, "x", 1))).status,
          201);
    wait_deployment("shop", all_healthy, 60s, d.get());
    kill(d->pid, SIGTERM);
    ASSERT_EQ(d->wait_exit(), 0) << d->stderr_text;
  }
  // What an older nodevisor stored and this one refuses, as the store has it.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((state() / "state.db").c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db,
                           "UPDATE deployments SET spec = 'version: v1\ndeployment: shop\n"
                           "services: {api: {image: {name: process}, health: {interval: "
                           "ten}}}\n' WHERE name = 'shop'",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto d = start_daemon();
  wait_deployment("blog", all_healthy, 60s, d.get());
  auto shop = request("GET", "/api/v1/deployments/shop").json();
  EXPECT_EQ(shop["state"], "failed") << shop.dump();
  const std::string status = shop["status"];
  EXPECT_TRUE(status.starts_with("failed: the stored spec no longer validates")) << status;
  EXPECT_NE(status.find("services.api.health.interval"), std::string::npos) << status;
  EXPECT_EQ(shop["desired"], "running");
  // The original spec again is the fix: it runs, though its canonical form is the stored one.
  auto fixed = request("PUT", "/api/v1/deployments/shop", spec_body(two_services("shop", "x", 1)));
  ASSERT_EQ(fixed.status, 200) << fixed.body;
  wait_deployment("shop", all_healthy, 60s, d.get());
}
