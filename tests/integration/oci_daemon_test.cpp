// The daemon with `runtimes: {linux: oci}`: a deployment of real containers survives a kill -9
// of the daemon (the keeper holds them and the next daemon adopts them, same pids), and deleting
// it leaves nothing of its containers in runc or on disk.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/daemon_fixture.hpp"
#include "tests/runtimes/oci_fixture.hpp"

using namespace nv_test;
using nv::oci_test::registry_environment;

namespace {

class OciDaemon : public Daemon {
protected:
  std::vector<std::string> oci_node() {
    auto config = dir / "node.yaml";
    std::ofstream{config} << "runtimes: {linux: oci}\n";
    return {"--config", config.string()};
  }

  std::string spec() {
    port = free_port();
    return replace_all(replace_all(R"(
version: v1
deployment: shop
services:
  web:
    image: {name: IMAGE}
    command:
      entrypoint: [httpd, -f, -p, "127.0.0.1:PORT", -h, /var/www]
    health:
      start_grace: 0s
      interval: 500ms
      timeout: 1s
      check: {type: tcp, port: PORT}
    stop_grace_period: 2s
)",
                                   "IMAGE", registry_environment::get()->image()),
                       "PORT", port);
  }

  std::string port;
};

} // namespace

TEST_F(OciDaemon, ContainersOutliveAKilledDaemonAndADeleteLeavesNothing) {
  NV_NEEDS_OCI();
  std::set<int> pids;
  {
    auto d = start_daemon(oci_node());
    ASSERT_EQ(request("POST", "/api/v1/deployments", spec_body(spec())).status, 201);
    auto j = wait_deployment(
        "shop",
        [](const nlohmann::json& j) {
          for (auto& s : j["service_details"])
            for (auto& i : s["instances"])
              if (i["state"] == "healthy")
                return true;
          return false;
        },
        60s, d.get());
    for (auto& s : j["service_details"])
      for (auto& i : s["instances"])
        if (i["state"] == "healthy")
          pids.insert(i["pid"].get<int>());
    ASSERT_FALSE(pids.empty()) << j.dump(1);
    kill(d->pid, SIGKILL);
    EXPECT_EQ(d->wait_exit(), 128 + SIGKILL);
  }
  for (int pid : pids)
    EXPECT_TRUE(running(pid)) << "container " << pid << " died with the daemon";

  auto d = start_daemon(oci_node());
  auto j = wait_deployment(
      "shop",
      [&](const nlohmann::json& j) {
        for (auto& s : j["service_details"])
          for (auto& i : s["instances"])
            if (i["state"] == "healthy" && pids.count(i["pid"].get<int>()))
              return true;
        return false;
      },
      60s, d.get());
  EXPECT_NE(j.dump().find("healthy"), std::string::npos);

  ASSERT_EQ(request("DELETE", "/api/v1/deployments/shop").status, 204);
  auto deadline = std::chrono::steady_clock::now() + 30s;
  auto root = state() / "runc" / "node";
  auto leftovers = [&] {
    std::size_t n = 0;
    std::error_code ec;
    for ([[maybe_unused]] auto& e : fs::directory_iterator{root, ec})
      ++n;
    for ([[maybe_unused]] auto& e : fs::directory_iterator{state() / "bundles" / "node", ec})
      ++n;
    return n;
  };
  while (leftovers() > 0 && std::chrono::steady_clock::now() < deadline)
    d->pump(100ms);
  EXPECT_EQ(leftovers(), 0u) << "runc state or bundles left after the delete";
  for (int pid : pids)
    EXPECT_FALSE(running(pid));
}
