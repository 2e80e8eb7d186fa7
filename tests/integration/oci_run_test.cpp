// `nodevisor run --runtime oci`: a two-service deployment of real containers from a registry on
// loopback (oci_fixture.hpp), healthy through a tcp and a command check, and nothing left once
// it stops, or once it is killed.
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/nodevisor_process.hpp"
#include "tests/runtimes/oci_fixture.hpp"

using namespace nv_test;
using nv::oci_test::registry_environment;

namespace {

class OciRun : public Run {
protected:
  std::string spec() {
    port = free_port();
    return write_spec(replace_all(replace_all(R"(
version: v1
deployment: shop
services:
  web:
    image: {name: IMAGE}
    command:
      entrypoint: [httpd, -f, -p, "127.0.0.1:PORT", -h, /var/www]
    resources: {memory: 64Mi}
    health:
      start_grace: 0s
      interval: 500ms
      timeout: 1s
      check: {type: tcp, port: PORT}
    stop_grace_period: 2s
  worker:
    image: {name: IMAGE}
    command:
      entrypoint: [sh, -c]
      args: ["trap 'exit 0' TERM; touch /tmp/ready; while true; do wget -q -O - http://127.0.0.1:PORT/; sleep 1 & wait; done"]
    user: nobody
    depends:
      - {service: web, condition: healthy}
    health:
      start_grace: 0s
      interval: 500ms
      timeout: 2s
      check: {type: command, command: test -f /tmp/ready}
    stop_grace_period: 2s
)",
                                              "IMAGE", registry_environment::get()->image()),
                                  "PORT", port));
  }

  std::string state() const { return (dir / "state").string(); }

  std::string port;
};

} // namespace

TEST_F(OciRun, TwoServicesBecomeHealthyInContainersAndNothingIsLeftAfterTheStop) {
  NV_NEEDS_OCI();
  nodevisor_process run{{"run", spec(), "--runtime", "oci", "--state-dir", state(), "--until",
                         "healthy", "--timeout", "60s", "--trace", trace_path()}};
  ASSERT_EQ(run.wait_exit(90s), 0) << run.stderr_text;
  EXPECT_NE(run.stdout_text.find("hello from a nodevisor container"), std::string::npos)
      << run.stdout_text;
  EXPECT_GT(first("/shop/web/web-rep-1", "state", "healthy"), 0u);
  EXPECT_GT(first("/shop/worker/worker-rep-1", "state", "healthy"), 0u);
  EXPECT_LT(first("/shop/web/web-rep-1", "state", "healthy"),
            first("/shop/worker/worker-rep-1", "state", "running"));
  // Its runc state, bundles and cgroup parents went with it; the image stays in the store.
  EXPECT_FALSE(fs::exists(state() + "/runc/run-" + std::to_string(run.pid)));
  EXPECT_FALSE(fs::exists(state() + "/bundles/run-" + std::to_string(run.pid)));
  EXPECT_FALSE(fs::exists("/sys/fs/cgroup/memory/nodevisor-oci/run-" + std::to_string(run.pid)));
  EXPECT_TRUE(fs::exists(state() + "/images/index.json"));
}

TEST_F(OciRun, AKilledRunLeavesNoRunningContainerAndTheNextRunClearsItsRest) {
  NV_NEEDS_OCI();
  auto file = spec();
  pid_t first_pid = 0;
  std::set<int> container_pids;
  {
    nodevisor_process run{
        {"run", file, "--runtime", "oci", "--state-dir", state(), "--trace", trace_path()}};
    first_pid = run.pid;
    ASSERT_TRUE(run.wait_for_stdout("hello from a nodevisor container", 60s)) << run.stderr_text;
    container_pids = pids();
    ASSERT_EQ(nv::oci_test::runc_list(state() + "/runc/run-" + std::to_string(run.pid)).size(), 2u);
    ::kill(run.pid, SIGKILL);
    run.wait_exit(30s);
  }
  ASSERT_FALSE(container_pids.empty());
  // The keeper dies with the run it is attached to, and takes every container with it.
  auto deadline = std::chrono::steady_clock::now() + 30s;
  for (int pid : container_pids)
    while (running(pid) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(20ms);
  for (int pid : container_pids)
    EXPECT_FALSE(running(pid)) << "container process " << pid << " outlived its run";
  for (const auto& c : nv::oci_test::runc_list(state() + "/runc/run-" + std::to_string(first_pid)))
    EXPECT_EQ(c.substr(c.find(' ') + 1), "stopped") << c;

  // The next run on this state directory deletes what the killed one left.
  nodevisor_process again{{"run", file, "--runtime", "oci", "--state-dir", state(), "--until",
                           "healthy", "--timeout", "60s"}};
  ASSERT_EQ(again.wait_exit(90s), 0) << again.stderr_text;
  EXPECT_NE(again.stderr_text.find("clearing what run " + std::to_string(first_pid) + " left"),
            std::string::npos)
      << again.stderr_text;
  EXPECT_FALSE(fs::exists(state() + "/runc/run-" + std::to_string(first_pid)));
  EXPECT_FALSE(fs::exists(state() + "/bundles/run-" + std::to_string(first_pid)));
}

TEST_F(OciRun, AWindowsImageIsRoutedToAPeerAndTheRestRunsOn) {
  NV_NEEDS_OCI();
  auto file =
      write_spec(replace_all(replace_all(R"(
version: v1
deployment: mixed
services:
  web:
    image: {name: IMAGE}
    command: {entrypoint: [sleep, "3600"]}
    stop_grace_period: 1s
  desk:
    image: {name: WINDOWS}
)",
                                         "WINDOWS", registry_environment::get()->windows_image()),
                             "IMAGE", registry_environment::get()->image()));
  nodevisor_process run{
      {"run", file, "--runtime", "oci", "--state-dir", state(), "--trace", trace_path()}};
  auto routed = [&] {
    for (auto& e : trace())
      if (e["event"] == "escalate" && e["to"] == "/" && e["error"]["kind"] == "RouteToPeer")
        return e;
    return nlohmann::json{};
  };
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while ((routed().is_null() || first("/mixed/web/web-rep-1", "state", "running") == 0) &&
         std::chrono::steady_clock::now() < deadline)
    run.pump(100ms);
  auto e = routed();
  ASSERT_FALSE(e.is_null()) << run.stderr_text;
  // The node receives it as itself, not wrapped: the service, the image's OS, the reason.
  EXPECT_EQ(e["origin"], "/mixed/desk/desk-rep-1");
  EXPECT_EQ(e["error"]["service"], "desk");
  EXPECT_EQ(e["error"]["required_os"], "windows");
  EXPECT_NE(e["error"]["reason"].get<std::string>().find("wrong-platform"), std::string::npos);
  EXPECT_GT(first("/mixed/web/web-rep-1", "state", "running"), 0u);
  ::kill(run.pid, SIGTERM);
  // A service that only a peer could run does not fail the run.
  EXPECT_EQ(run.wait_exit(60s), 0) << run.stderr_text;
}

// An init.run step of a service of images runs in a container of that image, as a Kubernetes
// init container does: its hostname is the step's container, its env the service's, its files
// the image's. A failing one names its exit and its last output line.
TEST_F(OciRun, InitRunStepsRunInAContainerOfTheServicesImage) {
  NV_NEEDS_OCI();
  auto deployment = [&](const std::string& command, const std::string& with = "") {
    return write_spec(
        replace_all(replace_all(replace_all(R"(
version: v1
deployment: shop
supervision: {max_restarts: 1, backoff: {initial: 100ms}}
services:
  api:
    image: {name: IMAGE}
    command: {entrypoint: [sleep, "3600"]}
    env: {GREETING: hi}
    stop_grace_period: 1s
    init:
      steps:
        - {id: setup, uses: init.run, with: {command: 'COMMAND'WITH}}
)",
                                            "IMAGE", registry_environment::get()->image()),
                                "COMMAND", command),
                    "WITH", with));
  };
  nodevisor_process run{
      {"run",
       deployment("test \"$(hostname)\" = api-init-setup && test \"$GREETING\" = hi && "
                  "test -x /bin/busybox && test ! -e /etc/debian_version"),
       "--runtime", "oci", "--state-dir", state(), "--until", "healthy", "--timeout", "60s",
       "--trace", trace_path()}};
  ASSERT_EQ(run.wait_exit(90s), 0) << run.stderr_text;
  EXPECT_GT(first("/shop/api/init:setup", "exit"), 0u);
  EXPECT_LT(first("/shop/api/init:setup", "exit"), first("/shop/api/api-rep-1", "spawn"));
  EXPECT_FALSE(fs::exists(state() + "/runc/run-" + std::to_string(run.pid)));

  nodevisor_process broken{{"run", deployment("echo it broke; exit 3"), "--runtime", "oci",
                            "--state-dir", state(), "--until", "healthy", "--timeout", "60s"}};
  EXPECT_EQ(broken.wait_exit(90s), 1) << broken.stderr_text;
  EXPECT_NE(broken.stderr_text.find("Init action failed for 'setup': command 'echo it broke; "
                                    "exit 3' exited 3: it broke (in its container)"),
            std::string::npos)
      << broken.stderr_text;
  EXPECT_FALSE(fs::exists(state() + "/runc/run-" + std::to_string(broken.pid)));

  // One that outlives its timeout is killed with its container.
  nodevisor_process hung{{"run", deployment("sleep 600", ", timeout: 1"), "--runtime", "oci",
                          "--state-dir", state(), "--until", "healthy", "--timeout", "60s"}};
  EXPECT_EQ(hung.wait_exit(90s), 1) << hung.stderr_text;
  EXPECT_NE(hung.stderr_text.find(
                "Init action failed for 'setup': command 'sleep 600': Timeout after 1s"),
            std::string::npos)
      << hung.stderr_text;
  EXPECT_FALSE(fs::exists(state() + "/runc/run-" + std::to_string(hung.pid)));
}
