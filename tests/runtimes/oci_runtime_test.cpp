// The oci runtime against real runc containers of a real image, pulled from a real registry on
// loopback (oci_fixture.hpp); and the bundle's config.json as the spec makes it.
#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtimes/composite/composite_runtime.hpp"
#include "runtimes/oci/bundle_config.hpp"
#include "runtimes/oci/oci_runtime.hpp"
#include "runtimes/sim/sim_runtime.hpp"
#include "tests/runtimes/oci_fixture.hpp"
#include "tests/runtimes/runtime_replies.hpp"

using namespace nv;
using namespace nv::runtime_test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using oci_test::registry_environment;

registry_environment& env() {
  return *registry_environment::get();
}

container_spec replica(const std::string& id, std::vector<std::string> command) {
  container_spec s;
  s.deployment = "shop";
  s.service = "api";
  s.id = id;
  s.image = env().image();
  s.command = std::move(command);
  return s;
}

// A process runtime attached to its own keeper, and the oci runtime on it, with a state
// directory of the test's own.
struct oci_node {
  oci_node() = default;
  explicit oci_node(std::vector<std::string> inits) : inits(std::move(inits)) {}

  std::vector<std::string> inits = oci_runtime_options{}.inits;
  fs::path state = env().dir() / ::testing::UnitTest::GetInstance()->current_test_info()->name() /
                   std::to_string(++made); // a test may have two nodes
  static inline int made = 0;
  process_runtime keeper{};
  oci_runtime oci{keeper, options()};

  oci_runtime_options options() {
    oci_runtime_options o;
    o.state_dir = state.string();
    o.instance = "run-" + std::to_string(::getpid());
    o.inits = inits;
    // A host with no GPU and a kernel that is not WSL2's, of the test's own, to put GPUs into.
    fs::create_directories(state / "host/dev");
    std::ofstream{state / "host/version"} << "Linux version 6.1.0-13-amd64\n";
    o.gpus = {(state / "host/version").string(), (state / "host/dev").string(),
              (state / "host/wsl").string()};
    return o;
  }

  std::vector<std::string> runc_list() { return oci_test::runc_list(oci.runc_root()); }
};

std::string exec_output(caf::scoped_actor& self, runtime& rt, const std::string& key,
                        std::vector<std::string> cmd, int32_t* code = nullptr) {
  static uint64_t next = 1;
  auto id = next++;
  rt.exec(key, id, std::move(cmd), 10s, self);
  auto r = take<exec_result>(self);
  EXPECT_EQ(r.exec_id, id);
  if (code)
    *code = r.code;
  return r.output;
}

// pull, create and start, each answered ok; the container's pid.
int32_t run_up(caf::scoped_actor& self, runtime& rt, const container_spec& s) {
  auto key = runtime_key(s);
  rt.pull(s, self);
  take_ok(self, runtime_op::pull, key);
  rt.create(s, self);
  take_ok(self, runtime_op::create, key);
  rt.start(key, self);
  return take_ok(self, runtime_op::start, key);
}

// The end of a test's container: killed, its exit and both answers taken.
void kill_and_remove(caf::scoped_actor& self, runtime& rt, const std::string& key) {
  rt.stop(key, 1s, SIGKILL, self);
  take_exit(self, key, 128 + SIGKILL, SIGKILL);
  take_ok(self, runtime_op::stop, key);
  rt.remove(key, self);
  take_ok(self, runtime_op::remove, key);
}

std::string status_field(int pid, const std::string& field) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with(field + ":"))
      return line.substr(field.size() + 1);
  return {};
}

} // namespace

TEST(OciRuntime, RunsAnImageFromTheRegistryAsAContainerAndLeavesNothingBehind) {
  NV_NEEDS_OCI();
  config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  oci_node node;
  auto s = replica("api-rep-1", {"sh", "-c",
                                 "trap 'echo bye; exit 0' TERM; echo up; "
                                 "while true; do sleep 1 & wait; done"});
  s.user = "nobody";
  s.env = {{"GREETING", "hello"}};
  auto key = runtime_key(s);
  auto pid = run_up(self, node.oci, s);
  ASSERT_GT(pid, 0);
  // Its own PID namespace: PID 1 inside, a child of the keeper outside.
  EXPECT_NE(status_field(pid, "NSpid").find("\t1"), std::string::npos)
      << status_field(pid, "NSpid");
  EXPECT_EQ(std::stoi(status_field(pid, "PPid")), node.keeper.keeper_pid());
  EXPECT_EQ(node.oci.state(key).state, container_state::running);
  EXPECT_EQ(exec_output(self, node.oci, key, {"id", "-u"}), "65534\n");
  EXPECT_EQ(exec_output(self, node.oci, key, {"hostname"}), "api-rep-1\n");
  // Its root is the image overlaid: what it writes stays in its bundle, not in the image.
  EXPECT_EQ(exec_output(self, node.oci, key, {"sh", "-c", "echo mine > /tmp/mine"}), "");
  EXPECT_TRUE(fs::exists(fs::path{node.oci.bundle_of(key)} / "upper/tmp/mine"));
  EXPECT_EQ(exec_output(self, node.oci, key, {"sh", "-c", "echo $GREETING $NODEVISOR_REPLICA"}),
            "hello 1\n");
  // The host's network: the registry the test started answers from inside.
  int32_t code = -1;
  exec_output(self, node.oci, key,
              {"wget", "-q", "-O", "/dev/null", "http://" + env().registry() + "/v2/"}, &code);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(node.runc_list(), std::vector<std::string>{node.oci.runc_id(key) + " running"});

  node.oci.stop(key, 10s, SIGTERM, self);
  take_exit(self, key, 0, 0);
  take_ok(self, runtime_op::stop, key);
  EXPECT_NE(node.oci.logs(key, 10).size(), 0u);
  node.oci.remove(key, self);
  take_ok(self, runtime_op::remove, key);
  EXPECT_TRUE(node.runc_list().empty());
  EXPECT_FALSE(fs::exists(node.oci.bundle_of(key)));
  EXPECT_TRUE(node.oci.images().has(s.image)); // images stay
  std::ifstream mounts{"/proc/self/mountinfo"};
  for (std::string line; std::getline(mounts, line);)
    EXPECT_EQ(line.find(node.state.string()), std::string::npos) << "still mounted: " << line;
}

TEST(OciRuntime, AKillNineIsAnExitAndTheSameReplicaRunsAgainAtOnce) {
  NV_NEEDS_OCI();
  config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  oci_node node;
  auto s = replica("api-rep-1", {"sleep", "3600"});
  auto key = runtime_key(s);
  auto pid = run_up(self, node.oci, s);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  take_exit(self, key, 128 + SIGKILL, SIGKILL);
  // A restart: remove, then create of the same key, which waits for the remove to be done.
  node.oci.remove(key, self);
  node.oci.create(s, self);
  take_ok(self, runtime_op::remove, key);
  take_ok(self, runtime_op::create, key);
  node.oci.start(key, self);
  auto again = take_ok(self, runtime_op::start, key);
  EXPECT_GT(again, 0);
  EXPECT_NE(again, pid);
  // PID 1 of sleep has no handler for SIGTERM: it is killed at the end of the grace.
  node.oci.stop(key, 300ms, SIGTERM, self);
  take_exit(self, key, 128 + SIGKILL, SIGKILL);
  take_ok(self, runtime_op::stop, key);
  node.oci.remove(key, self);
  take_ok(self, runtime_op::remove, key);
  EXPECT_TRUE(node.runc_list().empty());
}

TEST(OciRuntime, PullFailuresArePullFailedWithSkopeosReason) {
  NV_NEEDS_OCI();
  config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  oci_node node;
  auto unknown = replica("api-rep-1", {"true"});
  unknown.image = env().registry() + "/nodevisor/busybox:no-such-tag";
  node.oci.pull(unknown, self);
  auto error = take_error(self, runtime_op::pull);
  ASSERT_TRUE(std::holds_alternative<PullFailed>(error)) << to_string(error);
  EXPECT_EQ(std::get<PullFailed>(error).image, unknown.image);
  EXPECT_NE(to_string(error).find("manifest unknown"), std::string::npos) << to_string(error);

  auto down = replica("api-rep-1", {"true"});
  auto port = oci_test::free_loopback_port();
  down.image = "127.0.0.1:" + std::to_string(port) + "/nodevisor/busybox:1";
  node.oci.pull(down, self);
  error = take_error(self, runtime_op::pull);
  ASSERT_TRUE(std::holds_alternative<PullFailed>(error)) << to_string(error);
  EXPECT_NE(to_string(error).find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << to_string(error);
  EXPECT_NE(to_string(error).find("connection refused"), std::string::npos) << to_string(error);

  // `never` does not ask the registry, so its reason is the store's, not the connection's.
  down.pull = pull_policy::never;
  node.oci.pull(down, self);
  error = take_error(self, runtime_op::pull);
  EXPECT_NE(to_string(error).find("pull_policy is never"), std::string::npos) << to_string(error);
  EXPECT_EQ(to_string(error).find("connection refused"), std::string::npos) << to_string(error);
}

TEST(OciRuntime, TwoReplicasPullingOneImageBothGetIt) {
  NV_NEEDS_OCI();
  config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  oci_node node;
  auto a = replica("api-rep-1", {"true"});
  auto b = replica("api-rep-2", {"true"});
  a.pull = b.pull = pull_policy::always;
  node.oci.pull(a, self);
  node.oci.pull(b, self);
  for (int i = 0; i < 2; ++i) {
    auto r = take<runtime_reply>(self);
    EXPECT_TRUE(r.ok) << to_string(r.error);
  }
  EXPECT_TRUE(node.oci.images().has(a.image));
}

TEST(OciRuntime, ARefusedConfigIsCreateFailedAndAMissingEntrypointStartFailed) {
  NV_NEEDS_OCI();
  config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  oci_node node;
  // A memory limit below what runc's own init uses: runc refuses to set it.
  auto tiny = replica("api-rep-1", {"sleep", "10"});
  tiny.memory = 4096;
  auto key = runtime_key(tiny);
  node.oci.pull(tiny, self);
  take_ok(self, runtime_op::pull, key);
  node.oci.create(tiny, self);
  take_ok(self, runtime_op::create, key);
  node.oci.start(key, self);
  auto error = take_error(self, runtime_op::start);
  ASSERT_TRUE(std::holds_alternative<CreateFailed>(error)) << to_string(error);
  EXPECT_NE(to_string(error).find("memory limit"), std::string::npos) << to_string(error);
  node.oci.remove(key, self);
  take_ok(self, runtime_op::remove, key);

  auto missing = replica("api-rep-1", {"/bin/no-such-program"});
  node.oci.create(missing, self);
  take_ok(self, runtime_op::create, key);
  node.oci.start(key, self);
  error = take_error(self, runtime_op::start);
  ASSERT_TRUE(std::holds_alternative<StartFailed>(error)) << to_string(error);
  EXPECT_NE(to_string(error).find("/bin/no-such-program"), std::string::npos) << to_string(error);
  node.oci.remove(key, self);
  take_ok(self, runtime_op::remove, key);

  auto nobody = replica("api-rep-1", {"true"});
  nobody.user = "no-such-user";
  node.oci.create(nobody, self);
  error = take_error(self, runtime_op::create);
  ASSERT_TRUE(std::holds_alternative<CreateFailed>(error)) << to_string(error);
  EXPECT_NE(to_string(error).find("no user 'no-such-user' in the image's /etc/passwd"),
            std::string::npos)
      << to_string(error);
  EXPECT_TRUE(node.runc_list().empty());
}

TEST(OciRuntime, AContainerPastItsMemoryLimitIsOomKilledAndSaysSo) {
  NV_NEEDS_OCI();
  config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  oci_node node;
  auto hungry = replica("api-rep-1", {"sh", "-c", "x=0123456789; while true; do x=$x$x; done"});
  hungry.memory = 32 << 20;
  auto key = runtime_key(hungry);
  run_up(self, node.oci, hungry);
  auto exit = take<container_exited>(self);
  EXPECT_EQ(exit.signal, SIGKILL);
  EXPECT_TRUE(exit.oom_killed);
  node.oci.remove(key, self);
  take_ok(self, runtime_op::remove, key);
}

TEST(OciRuntime, AnImageForAnotherOsIsWrongPlatformAndTheCompositeRoutesItOrRunsItElsewhere) {
  NV_NEEDS_OCI();
  config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  oci_node node;
  auto win = replica("api-rep-1", {"cmd.exe"}); // the spec does not say platform.os
  win.image = env().windows_image();
  auto key = runtime_key(win);
  node.oci.pull(win, self);
  take_ok(self, runtime_op::pull, key);
  // Alone, the runtime says what is wrong.
  node.oci.create(win, self);
  auto error = take_error(self, runtime_op::create);
  ASSERT_TRUE(std::holds_alternative<WrongPlatform>(error)) << to_string(error);
  auto wrong = std::get<WrongPlatform>(error);
  EXPECT_EQ(wrong.runtime, "oci");
  EXPECT_EQ(wrong.actual.substr(0, 8), "windows/");
  EXPECT_EQ(wrong.expected.substr(0, 6), "linux/");
  EXPECT_EQ(wrong.image, win.image);
  EXPECT_TRUE(is_permanent(error)); // a restart would meet the same image
  {
    // No local runtime runs windows images (the process runtime runs none): a peer's job.
    composite_runtime rt{{&node.oci, &node.keeper}};
    rt.create(win, self);
    error = take_error(self, runtime_op::create);
    ASSERT_TRUE(std::holds_alternative<RouteToPeer>(error)) << to_string(error);
    EXPECT_EQ(std::get<RouteToPeer>(error).required_os, "windows");
    EXPECT_EQ(std::get<RouteToPeer>(error).service, "api");
    EXPECT_NE(to_string(error).find("windows/"), std::string::npos) << to_string(error);
  }
  {
    // A local runtime for windows (a sim playing one) takes it.
    sim_runtime windows{{"windows"}};
    composite_runtime rt{{&node.oci, &node.keeper, &windows}};
    rt.create(win, self);
    take_ok(self, runtime_op::create, key);
    rt.start(key, self);
    take_ok(self, runtime_op::start, key);
    EXPECT_EQ(windows.state(key).state, container_state::running);
    rt.remove(key, self);
    take_ok(self, runtime_op::remove, key);
  }
  EXPECT_TRUE(node.runc_list().empty());
}

TEST(OciRuntime, AnEndpointPortHeldOnTheHostIsNetworkNamingItsHolderBeforeAnythingStarts) {
  NV_NEEDS_OCI();
  config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  oci_node node;
  int held = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(held, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(held, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(held, reinterpret_cast<sockaddr*>(&addr), &len);
  auto port = ntohs(addr.sin_port);
  auto web = replica("web-rep-1", {"httpd", "-f", "-p", std::to_string(port)});
  web.ports = {{port, false}};
  auto key = runtime_key(web);
  node.oci.pull(web, self);
  take_ok(self, runtime_op::pull, key);
  node.oci.create(web, self);
  auto error = take_error(self, runtime_op::create);
  ASSERT_TRUE(std::holds_alternative<Network>(error)) << to_string(error);
  EXPECT_NE(to_string(error).find("port " + std::to_string(port) + "/tcp"), std::string::npos)
      << to_string(error);
  EXPECT_NE(to_string(error).find("pid " + std::to_string(::getpid())), std::string::npos)
      << to_string(error);
  EXPECT_FALSE(is_permanent(error)); // a port is freed: restarted after backoff
  EXPECT_FALSE(fs::exists(node.oci.bundle_of(key))) << "nothing is unpacked for it";
  ::close(held);
  node.oci.create(web, self);
  take_ok(self, runtime_op::create, key);
  node.oci.remove(key, self);
  take_ok(self, runtime_op::remove, key);
}

// The pids of processes on this host whose command line is `cmdline` (its words, NUL-joined).
std::vector<int> processes_running(const std::string& cmdline) {
  std::vector<int> out;
  for (const auto& entry : fs::directory_iterator{"/proc"}) {
    auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::ifstream in{entry.path() / "cmdline"};
    std::string text{std::istreambuf_iterator<char>{in}, {}};
    if (text == cmdline)
      out.push_back(std::stoi(name));
  }
  return out;
}

TEST(OciRuntime, AnExecPastItsTimeoutIsKilledInsideTheContainerToo) {
  NV_NEEDS_OCI();
  config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  oci_node node;
  auto s = replica("api-rep-1", {"sleep", "3600"});
  auto key = runtime_key(s);
  run_up(self, node.oci, s);
  node.oci.exec(key, 7, {"sleep", "4321"}, 500ms, self);
  auto r = take<exec_result>(self);
  EXPECT_EQ(r.exec_id, 7u);
  EXPECT_TRUE(r.timed_out);
  const std::string hung{"sleep\0"
                         "4321\0",
                         11};
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!processes_running(hung).empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(processes_running(hung).empty()) << "the exec'd command outlived its timeout";
  EXPECT_FALSE(fs::exists(fs::path{node.oci.bundle_of(key)} / "exec-7.pid"));
  kill_and_remove(self, node.oci, key);
}

TEST(OciRuntime, AnInitAsPidOneForwardsTheStopSignalToACommandWithoutAHandler) {
  NV_NEEDS_OCI();
  config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  if (::access("/usr/bin/catatonit", X_OK) != 0 && ::access("/usr/bin/tini-static", X_OK) != 0)
    GTEST_SKIP() << "neither catatonit nor tini-static is installed: apt-get install catatonit";
  oci_node node;
  auto s = replica("api-rep-1", {"sleep", "3600"});
  s.init_process = true;
  auto key = runtime_key(s);
  run_up(self, node.oci, s);
  auto init = exec_output(self, node.oci, key, {"cat", "/proc/1/cmdline"});
  EXPECT_EQ(init, (std::string{"/dev/init\0--\0sleep\0"
                               "3600\0",
                               24}))
      << init;
  // Without the init, sleep as PID 1 ignores SIGTERM and is killed at the end of the grace (the
  // test above); with it, SIGTERM reaches sleep, which it ends. The grace is never reached.
  node.oci.stop(key, 60s, SIGTERM, self);
  auto exit = take<container_exited>(self);
  EXPECT_EQ(exit.code, 128 + SIGTERM);
  EXPECT_NE(exit.signal, SIGKILL);
  take_ok(self, runtime_op::stop, key);
  node.oci.remove(key, self);
  take_ok(self, runtime_op::remove, key);

  // A node without an init binary cannot honour it.
  oci_node bare{{"/nonexistent/catatonit"}};
  bare.oci.pull(s, self);
  take_ok(self, runtime_op::pull, key);
  bare.oci.create(s, self);
  auto error = take_error(self, runtime_op::create);
  ASSERT_TRUE(std::holds_alternative<Unsupported>(error)) << to_string(error);
  EXPECT_EQ(to_string(error), "Operation not supported by this runtime: 'api-rep-1' asks for an "
                              "init (init: true), and this node has none of "
                              "/nonexistent/catatonit: apt-get install catatonit");
}

TEST(OciRuntime, AGpuOfTheNodeIsADeviceOfTheContainerWithItsMpsDirectories) {
  NV_NEEDS_OCI();
  config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  oci_node node;
  // This machine has no GPU: its "nvidia0" is the kernel log (1:11, which runc's defaults do not
  // allow), opened for writing only when the container's device cgroup allows it. Nothing is
  // written to it.
  auto dev = node.state / "host/dev";
  if (::mknod((dev / "nvidia0").c_str(), S_IFCHR | 0666, makedev(1, 11)) != 0)
    GTEST_SKIP() << "this machine does not let the test make device nodes (mknod needs root)";
  auto mps = node.state / "host/mps";
  fs::create_directories(mps);
  auto s = replica("train-rep-1", {"sleep", "3600"});
  s.gpu = gpu_request{};
  s.gpu->sharing = gpu_sharing::mps;
  s.gpu->mps_pipe_dir = s.gpu->mps_log_dir = mps.string();
  auto key = runtime_key(s);
  run_up(self, node.oci, s);
  int32_t code = -1;
  EXPECT_EQ(exec_output(self, node.oci, key,
                        {"sh", "-c", "test -c /dev/nvidia0 && : > /dev/nvidia0 && echo ok"}, &code),
            "ok\n");
  EXPECT_EQ(code, 0);
  EXPECT_EQ(exec_output(self, node.oci, key, {"sh", "-c", "echo $CUDA_MPS_PIPE_DIRECTORY"}),
            mps.string() + "\n");
  EXPECT_EQ(exec_output(self, node.oci, key, {"sh", "-c", "echo pipe > " + mps.string() + "/p"}),
            "");
  EXPECT_TRUE(fs::exists(mps / "p")) << "the MPS directory is the host's, mounted";
  // A device it was not given stays out of reach.
  exec_output(self, node.oci, key, {"sh", "-c", "mknod /tmp/zero c 1 5 && head -c1 /tmp/zero"},
              &code);
  EXPECT_NE(code, 0);
  kill_and_remove(self, node.oci, key);
}

TEST(BundleConfig, TheSpecDecidesOverTheImageAndTheNodeGivesItsNetworkLimitsAndGpus) {
  auto config = nlohmann::json::parse(R"({
    "process": {"args": ["/bin/sh"], "env": ["PATH=/bin", "MODE=image"], "cwd": "/",
                "user": {"uid": 0, "gid": 0}, "terminal": true},
    "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "mount"}],
              "resources": {}},
    "mounts": []})");
  auto root = fs::temp_directory_path() / ("nv-bundle-" + std::to_string(::getpid()));
  fs::create_directories(root / "etc");
  std::ofstream{root / "etc/passwd"} << "root:x:0:0::/:/bin/sh\napp:x:1000:1001::/:/bin/sh\n";
  std::ofstream{root / "etc/group"} << "root:x:0:\nstaff:x:50:\n";
  container_spec s;
  s.deployment = "shop";
  s.service = "api";
  s.replica = 2;
  s.id = "api-rep-2";
  s.command = {"server", "--port", "80"};
  s.env = {{"MODE", "spec"}};
  s.workdir = "/srv";
  s.user = "app:staff";
  s.cpu = 0.5;
  s.memory = 64 << 20;
  oci::gpu_grant gpus{{{"/host/dev/nvidia1", "/dev/nvidia1", 195, 1, 0666}},
                      {{"/tmp/nvidia-mps", "/tmp/nvidia-mps", false}},
                      {{"CUDA_MPS_PIPE_DIRECTORY", "/tmp/nvidia-mps"}}};
  EXPECT_EQ(
      oci::apply_spec(config, s, {"/nodevisor-oci/x/shop.api-rep-2", root.string(), gpus, ""}), "");
  EXPECT_EQ(config["process"]["args"], nlohmann::json({"server", "--port", "80"}));
  EXPECT_EQ(config["process"]["terminal"], false);
  auto env = config["process"]["env"];
  EXPECT_EQ(std::count(env.begin(), env.end(), "MODE=spec"), 1);
  EXPECT_EQ(std::count(env.begin(), env.end(), "MODE=image"), 0);
  EXPECT_EQ(std::count(env.begin(), env.end(), "NODEVISOR_REPLICA=2"), 1);
  EXPECT_EQ(config["process"]["cwd"], "/srv");
  EXPECT_EQ(config["process"]["user"], nlohmann::json({{"uid", 1000}, {"gid", 50}}));
  EXPECT_EQ(config["hostname"], "api-rep-2");
  for (const auto& n : config["linux"]["namespaces"])
    EXPECT_NE(n["type"], "network");
  EXPECT_EQ(config["linux"]["cgroupsPath"], "/nodevisor-oci/x/shop.api-rep-2");
  EXPECT_EQ(config["linux"]["resources"]["memory"]["limit"], 64 << 20);
  EXPECT_EQ(config["linux"]["resources"]["cpu"]["quota"], 50000);
  EXPECT_EQ(config["linux"]["resources"]["cpu"]["period"], 100000);
  // Its GPU: the device in the container and allowed by its device cgroup, after umoci's deny-all.
  EXPECT_EQ(config["linux"]["devices"],
            nlohmann::json::parse(R"([{"path": "/dev/nvidia1", "type": "c", "major": 195,
                                       "minor": 1, "fileMode": 438, "uid": 0, "gid": 0}])"));
  auto rules = config["linux"]["resources"]["devices"];
  ASSERT_FALSE(rules.empty());
  EXPECT_EQ(rules.back(), nlohmann::json::parse(R"({"allow": true, "type": "c", "major": 195,
                                                     "minor": 1, "access": "rwm"})"));
  EXPECT_EQ(std::count(env.begin(), env.end(), "CUDA_MPS_PIPE_DIRECTORY=/tmp/nvidia-mps"), 1);
  auto mounts = config["mounts"];
  EXPECT_TRUE(std::any_of(mounts.begin(), mounts.end(), [](const nlohmann::json& m) {
    return m["destination"] == "/tmp/nvidia-mps" && m["source"] == "/tmp/nvidia-mps";
  }));

  // An init goes in front of the command, from the host.
  auto with_init = nlohmann::json::parse(R"({"process": {}, "linux": {"namespaces": []}})");
  s.init_process = true;
  s.user.clear();
  EXPECT_EQ(oci::apply_spec(with_init, s, {"/x", root.string(), {}, "/usr/bin/catatonit"}), "");
  EXPECT_EQ(with_init["process"]["args"],
            nlohmann::json({"/dev/init", "--", "server", "--port", "80"}));
  EXPECT_EQ(with_init["mounts"][0]["destination"], "/dev/init");
  EXPECT_EQ(with_init["mounts"][0]["source"], "/usr/bin/catatonit");
  s.init_process = false;

  // No command anywhere is the spec's to fix; a user the image lacks, too.
  auto bare = nlohmann::json::parse(R"({"process": {}, "linux": {"namespaces": []}})");
  s.command.clear();
  EXPECT_NE(oci::apply_spec(bare, s, {"/x", root.string(), {}, ""}).find("command.entrypoint"),
            std::string::npos);
  s.command = {"true"};
  s.user = "ghost";
  EXPECT_EQ(oci::apply_spec(bare, s, {"/x", root.string(), {}, ""}),
            "user: no user 'ghost' in the image's /etc/passwd");
  fs::remove_all(root);
}
