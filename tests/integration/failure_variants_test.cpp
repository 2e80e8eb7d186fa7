// The seed's variants that a container agent meets (design §3, §11), raised by the real runtimes
// and carried through the whole tree: a spec read from YAML, planned, run by the node on the
// process runtime or the oci runtime with real runc. Each test checks the kind, the seed's text,
// and the escalation rule of design §3: a permanent one fails the service at once, with no
// restart, and reaches the node as itself; Network is transient and restarted after its backoff.
#include <arpa/inet.h>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <optional>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <thread>
#include <unistd.h>

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/node_actor.hpp"
#include "node/plan_from_spec.hpp"
#include "posix/unique_fd.hpp"
#include "runtimes/oci/oci_runtime.hpp"
#include "spec/loader.hpp"
#include "tests/runtimes/oci_fixture.hpp"
#include "tests/support/tree_config.hpp"
#include "trace/trace_sink.hpp"

using namespace nv;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

// A process runtime on its own keeper, and the oci runtime on it, looking for GPUs on a host of
// the test's making: its own /proc/version and /dev.
struct oci_node {
  explicit oci_node(const fs::path& host) : host(host) {
    fs::create_directories(host / "dev");
    kernel("Linux version 6.1.0-13-amd64 (debian-kernel@lists.debian.org)");
  }
  void kernel(const std::string& text) { std::ofstream{host / "version"} << text << "\n"; }
  oci_runtime_options options() {
    oci_runtime_options o;
    o.state_dir = (host / "state").string();
    o.instance = "run-" + std::to_string(::getpid());
    o.gpus.proc_version = (host / "version").string();
    o.gpus.dev = (host / "dev").string();
    o.gpus.wsl_lib = (host / "wsl").string();
    return o;
  }
  fs::path host;
  process_runtime keeper{};
  oci_runtime oci{keeper, options()};
};

// The trace is the test's window on every actor: it is read from its file as the writer
// appends, every 50 ms, until what a test waits for is there or a generous deadline passes.
class FailureVariants : public ::testing::Test {
protected:
  FailureVariants() {
    sys = std::make_unique<caf::actor_system>(cfg);
    fs::create_directories(trace_file.parent_path());
    trace = std::make_unique<trace_sink>(trace_file, "t1");
  }
  ~FailureVariants() override {
    stop();
    fs::remove(trace_file);
  }

  // `yaml` planned for `runtime_name` and run by a node on `rt`.
  void run(runtime& rt, const std::string& runtime_name, const std::string& yaml) {
    auto loaded = spec::load_spec_string(yaml, "spec.yaml");
    ASSERT_TRUE(loaded.spec) << yaml;
    auto planned = plan_from_spec(*loaded.spec, runtime_name);
    ASSERT_TRUE(planned.errors.empty()) << planned.errors.front();
    services = node_services{&rt, nullptr, trace.get()};
    node_config nc;
    nc.deployments.push_back(std::move(planned.plan));
    nc.services = &services;
    node = sys->spawn(node_actor, std::move(nc));
  }
  void stop() {
    if (node) {
      caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
      node = nullptr;
    }
    if (sys)
      sys->await_all_actors_done();
  }
  std::vector<nlohmann::json> events(const std::string& actor, const std::string& event) {
    std::vector<nlohmann::json> out;
    std::ifstream in{trace_file};
    for (std::string line; std::getline(in, line);) {
      auto e = nlohmann::json::parse(line, nullptr, false);
      if (!e.is_discarded() && e["actor"] == actor && e["event"] == event)
        out.push_back(std::move(e));
    }
    return out;
  }
  // The first event of `actor` of this kind (and, for a state, to `to`), within 60 s.
  std::optional<nlohmann::json> await(const std::string& actor, const std::string& event,
                                      const std::string& to = "") {
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
      for (auto& e : events(actor, event))
        if (to.empty() || e.value("to", "") == to)
          return e;
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "no " << event << " " << to << " of " << actor << " within 60 s";
    return std::nullopt;
  }
  // The failure of `replica` that failed its service at once: one, no restart of it, the
  // service failed. Its error as the trace wrote it.
  AgentError failed_for_good(const std::string& service, const std::string& replica) {
    if (!await(service, "state", "failed"))
      return Internal{"not failed"};
    auto failures = events(replica, "failure");
    EXPECT_EQ(failures.size(), 1u) << "a permanent error is not retried";
    EXPECT_TRUE(events(service, "restart").empty());
    if (failures.empty())
      return Internal{"no failure"};
    EXPECT_EQ(failures.front()["attempt"], 0);
    // At once, and as itself: the deployment fails with the original error and origin.
    auto deployment = service.substr(0, service.rfind('/'));
    auto escalated = await(deployment, "escalate");
    EXPECT_TRUE(escalated && (*escalated)["to"] == "/" && (*escalated)["origin"] == replica &&
                (*escalated)["error"] == failures.front()["error"])
        << (escalated ? escalated->dump() : "");
    EXPECT_TRUE(await(deployment, "state", "failed"));
    EXPECT_TRUE(events(deployment, "restart").empty());
    return failures.front()["error"].get<AgentError>();
  }

  // The runtimes outlive the node, which the destructor stops first.
  std::unique_ptr<process_runtime> process;
  std::unique_ptr<oci_node> oci;
  nv::test::tree_config cfg;
  node_services services;
  fs::path trace_file =
      fs::temp_directory_path() / ("nv-variants-" + std::to_string(::getpid()) + "/trace.jsonl");
  std::unique_ptr<trace_sink> trace;
  std::unique_ptr<caf::actor_system> sys;
  caf::actor node;
};

fs::path host_dir() {
  return oci_test::registry_environment::get()->dir() /
         ::testing::UnitTest::GetInstance()->current_test_info()->name();
}

// A deployment with a service that asks for a GPU (FIELDS go into resources.gpu) and one that
// does not, both of the test image.
std::string gpu_deployment(const std::string& gpu_fields) {
  return replace_all(replace_all(R"(
version: v1
deployment: lab
services:
  web:
    image: {name: IMAGE}
    command: {entrypoint: [sleep, "3600"]}
    stop_grace_period: 1s
  train:
    image: {name: IMAGE}
    command: {entrypoint: [sleep, "3600"]}
    resources: {gpu: {FIELDS}}
)",
                                 "IMAGE", oci_test::registry_environment::get()->image()),
                     "FIELDS", gpu_fields);
}

} // namespace

TEST_F(FailureVariants, AGpuOnTheProcessRuntimeIsUnsupportedAndFailTheDeploymentAtOnce) {
  process = std::make_unique<process_runtime>();
  run(*process, "process", R"(
version: v1
deployment: lab
services:
  web:
    image: {name: process}
    command: {entrypoint: [sleep, "3600"]}
    stop_grace_period: 1s
  train:
    image: {name: process}
    command: {entrypoint: [sleep, "3600"]}
    resources: {gpu: {count: 1}}
)");
  auto error = failed_for_good("/lab/train", "/lab/train/train-rep-1");
  ASSERT_TRUE(std::holds_alternative<Unsupported>(error)) << to_string(error);
  EXPECT_EQ(to_string(error),
            "Operation not supported by this runtime: 'train-rep-1' asks for a GPU "
            "(resources.gpu), and a process of the process runtime gets no devices of its own: "
            "run it with the oci runtime");
}

TEST_F(FailureVariants, AHeldEndpointPortIsNetworkNamingTheHolderAndIsRestartedOnceFree) {
  // The test holds the port, so it is the holder the error names.
  unique_fd listener{::socket(AF_INET, SOCK_STREAM, 0)};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener.get(), 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  auto port = std::to_string(ntohs(addr.sin_port));
  process = std::make_unique<process_runtime>();
  run(*process, "process",
      replace_all(R"(
version: v1
deployment: lab
services:
  api:
    image: {name: process}
    command: {entrypoint: [sleep, "3600"]}
    endpoints: [{name: http, protocol: http, port: PORT}]
    stop_grace_period: 1s
    supervision: {backoff: {initial: 200ms}}
)",
                  "PORT", port));
  auto failed = await("/lab/api/api-rep-1", "failure");
  ASSERT_TRUE(failed);
  auto error = (*failed)["error"].get<AgentError>();
  ASSERT_TRUE(std::holds_alternative<Network>(error)) << to_string(error);
  std::string self_name;
  std::getline(std::ifstream{"/proc/self/comm"}, self_name);
  EXPECT_EQ(to_string(error), "Network error: port " + port +
                                  "/tcp of 'api-rep-1' (its service's endpoints) is already in "
                                  "use by pid " +
                                  std::to_string(::getpid()) + " (" + self_name +
                                  ") on this host: stop that, or change the endpoint's port");
  // Transient: restarted after its backoff, and running once the port is free.
  listener.reset();
  EXPECT_TRUE(await("/lab/api/api-rep-1", "state", "running"));
  EXPECT_FALSE(events("/lab/api", "restart").empty());
}

TEST_F(FailureVariants, GpusThisNodeLacksAreUnsupportedAndFailTheDeploymentAtOnce) {
  NV_NEEDS_OCI();
  oci = std::make_unique<oci_node>(host_dir());
  auto& n = *oci;
  run(n.oci, "oci", gpu_deployment("count: 2"));
  auto error = failed_for_good("/lab/train", "/lab/train/train-rep-1");
  ASSERT_TRUE(std::holds_alternative<Unsupported>(error)) << to_string(error);
  EXPECT_EQ(to_string(error), "Operation not supported by this runtime: 'train-rep-1' asks for 2 "
                              "nvidia GPUs (resources.gpu) and this node has none (no " +
                                  (n.host / "dev").string() +
                                  "/nvidia[0-9]*): install the nvidia driver here, or run it on "
                                  "a node with a GPU");
}

TEST_F(FailureVariants, AWsl2KernelWithoutDxgIsWslGpuUnavailable) {
  NV_NEEDS_OCI();
  oci = std::make_unique<oci_node>(host_dir());
  auto& n = *oci;
  n.kernel("Linux version 5.15.153.1-microsoft-standard-WSL2 (root@941d701f84f1)");
  run(n.oci, "oci", gpu_deployment("count: 1"));
  auto error = failed_for_good("/lab/train", "/lab/train/train-rep-1");
  ASSERT_TRUE(std::holds_alternative<WslGpuUnavailable>(error)) << to_string(error);
  EXPECT_TRUE(to_string(error).starts_with(
      "GPU requested but WSL2 GPU support not available on this host: this is a WSL2 kernel"))
      << to_string(error);
  EXPECT_NE(to_string(error).find("/dxg does not exist"), std::string::npos) << to_string(error);
}

TEST_F(FailureVariants, MpsWithoutItsDaemonIsGpuSharingUnavailable) {
  NV_NEEDS_OCI();
  oci = std::make_unique<oci_node>(host_dir());
  auto& n = *oci;
  if (::mknod((n.host / "dev/nvidia0").c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0)
    GTEST_SKIP() << "this machine does not let the test make device nodes (mknod needs root)";
  auto pipes = (n.host / "mps").string();
  run(n.oci, "oci", gpu_deployment("sharing: mps, mps_pipe_dir: " + pipes));
  auto error = failed_for_good("/lab/train", "/lab/train/train-rep-1");
  ASSERT_TRUE(std::holds_alternative<GpuSharingUnavailable>(error)) << to_string(error);
  EXPECT_EQ(std::get<GpuSharingUnavailable>(error).mode, "mps");
  EXPECT_TRUE(to_string(error).starts_with(
      "GPU sharing mode 'mps' is unavailable: the MPS pipe directory " + pipes +
      " does not exist: start the MPS control daemon on this node"))
      << to_string(error);
  EXPECT_NE(to_string(error).find("nvidia-cuda-mps-control -d"), std::string::npos);
}
