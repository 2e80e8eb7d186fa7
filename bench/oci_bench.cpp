// The oci runtime against the floor and podman (issue 15), in one run on one machine:
// - pull of the test image from a docker-registry on loopback: cold (empty store) and warm (the
//   image is there: pull_policy always asks the registry, if_not_present does not);
// - start of N containers (create + start until the entrypoint has exec'd: runc start returned),
//   from the image (start: the bundle made, then runc create and start) and from a bundle that is
//   there (start_runc: what the keeper runs; the floor also on roots made as nodevisor makes
//   them, an overlay on the image unpacked once: start_runc_overlay);
//   restart after kill -9 (exit seen, remove, create, start), and stop (SIGTERM to a PID 1 that
//   handles it, until the exit is seen and the container deleted), for N = 1 and 100;
// - the floor: the same bundles (same config.json, made by the same code) driven by a plain
//   /bin/sh script of runc commands, N at once with `&` and `wait`;
// - podman (Debian's, configured with runc and cgroupfs) running the same image, N at once.
// The image is the tests' (examples/oci/busybox-image.sh). Needs root, runc, umoci, skopeo,
// docker-registry, busybox-static; podman is measured when it is installed and works.
//
//   oci_bench [--n 1,100] [--reps 3] [--no-podman]
//
// Each measurement is a JSON line:
//   {"bench":"oci","metric":"start|start_runc|start_runc_overlay|restart|stop|pull_cold|
//              pull_warm_always|pull_warm_present|unpack",
//    "impl":"nodevisor|floor|podman","n":N,"rep":R,"value":SECONDS}
// and a line {"bench":"oci","metric":"podman_error","impl":"podman","text":...} when podman
// could not run, with what it said.
#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <netinet/in.h>
#include <sstream>
#include <string>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "messages/caf/register_types.hpp"
#include "runtimes/oci/bundle_config.hpp"
#include "runtimes/oci/oci_runtime.hpp"
#include "runtimes/oci/tool_command.hpp"
#include "tests/support/free_port.hpp"

using namespace nv;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using clk = std::chrono::steady_clock;

namespace {

struct config : caf::actor_system_config {
  config() { register_message_types(*this); }
};

double seconds_since(clk::time_point t) {
  return std::chrono::duration<double>(clk::now() - t).count();
}

void report(const std::string& metric, const std::string& impl, int n, int rep, double value) {
  std::cout << nlohmann::json{{"bench", "oci"}, {"metric", metric}, {"impl", impl},
                              {"n", n},         {"rep", rep},       {"value", value}}
                   .dump()
            << std::endl;
}

int sh(const std::string& script) {
  int status = std::system(script.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string sh_output(const std::string& script) {
  std::string out;
  if (FILE* p = ::popen((script + " 2>&1").c_str(), "r")) {
    char buf[4096];
    while (auto n = std::fread(buf, 1, sizeof buf, p))
      out.append(buf, n);
    ::pclose(p);
  }
  return out;
}

// The replies of the runtime calls, counted by kind as they come (a create's may come before
// the remove's that it waited for was taken).
struct replies {
  caf::scoped_actor& self;
  std::vector<int32_t> pids;
  std::map<runtime_op, int> got{};
  int exited = 0;
  bool ok = true;

  // Waits until n replies to `op` (and `exits` exits) arrived since the last take of them;
  // false when one failed or nothing came for 2 minutes.
  bool take(runtime_op op, int n, int exits = 0) {
    while (got[op] < n || exited < exits) {
      bool timed_out = false;
      self->receive(
          [&](runtime_reply& r) {
            ++got[r.op];
            if (!r.ok) {
              std::cerr << "oci_bench: " << to_string(r.op) << " " << r.id << ": "
                        << to_string(r.error) << "\n";
              ok = false;
            }
            if (r.op == runtime_op::start)
              pids.push_back(r.pid);
          },
          [&](container_exited&) { ++exited; }, [&](exec_result&) {},
          caf::after(std::chrono::seconds{120}) >> [&] { timed_out = true; });
      if (timed_out) {
        std::cerr << "oci_bench: no answer to " << to_string(op) << " within 2 minutes\n";
        return false;
      }
    }
    got[op] -= n;
    exited -= exits;
    bool was = ok;
    ok = true;
    return was;
  }
};

container_spec replica(const std::string& image, int i) {
  container_spec s;
  s.deployment = "bench";
  s.service = "c";
  s.replica = static_cast<uint32_t>(i);
  s.id = replica_id("c", s.replica);
  s.image = image;
  s.command = {"sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait; done"};
  return s;
}

void measure_nodevisor(const std::string& image, const fs::path& state, int n, int rep) {
  config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  process_runtime keeper{};
  oci_runtime_options opts;
  opts.state_dir = state.string();
  opts.instance = "run-" + std::to_string(::getpid());
  oci_runtime oci{keeper, opts};
  std::vector<container_spec> specs;
  for (int i = 1; i <= n; ++i)
    specs.push_back(replica(image, i));
  replies r{self, {}};
  for (auto& s : specs)
    oci.pull(s, self);
  r.take(runtime_op::pull, n);

  auto t = clk::now();
  for (auto& s : specs)
    oci.create(s, self);
  bool ok = r.take(runtime_op::create, n);
  auto created = clk::now();
  for (auto& s : specs)
    oci.start(runtime_key(s), self);
  ok = r.take(runtime_op::start, n) && ok;
  if (ok) {
    report("start", "nodevisor", n, rep, seconds_since(t));
    report("start_runc", "nodevisor", n, rep, seconds_since(created));
  }

  // kill -9 of every container, then what a supervisor does: remove, create, start.
  auto killed = r.pids;
  r.pids.clear();
  t = clk::now();
  for (auto pid : killed)
    ::kill(pid, SIGKILL);
  ok = r.take(runtime_op::start, 0, n);
  for (auto& s : specs)
    oci.remove(runtime_key(s), self);
  for (auto& s : specs)
    oci.create(s, self);
  ok = r.take(runtime_op::remove, n) && ok;
  ok = r.take(runtime_op::create, n) && ok;
  for (auto& s : specs)
    oci.start(runtime_key(s), self);
  ok = r.take(runtime_op::start, n) && ok;
  if (ok)
    report("restart", "nodevisor", n, rep, seconds_since(t));

  // A PID 1 drops a signal it has no handler for yet: give sh the time to run its trap.
  std::this_thread::sleep_for(300ms);
  t = clk::now();
  for (auto& s : specs)
    oci.stop(runtime_key(s), 10s, SIGTERM, self);
  ok = r.take(runtime_op::stop, n, n);
  for (auto& s : specs)
    oci.remove(runtime_key(s), self);
  ok = r.take(runtime_op::remove, n) && ok;
  if (ok)
    report("stop", "nodevisor", n, rep, seconds_since(t));
}

// The floor: bundles made as the runtime makes them, driven by a plain script of runc commands.
void measure_floor(const oci::image_store& store, const std::string& image, const fs::path& dir,
                   int n, int rep) {
  auto root = dir / "floor-runc";
  fs::create_directories(root);
  std::vector<std::string> ids;
  for (int i = 1; i <= n; ++i) {
    auto id = "floor-" + std::to_string(i);
    auto bundle = dir / "floor-bundles" / id;
    fs::remove_all(bundle);
    fs::create_directories(bundle.parent_path());
    if (!oci::run_tool({"umoci", "unpack", "--image", store.umoci_ref(image), bundle.string()}, 60s)
             .ok())
      return;
    std::ifstream in{bundle / "config.json"};
    auto cfg = nlohmann::json::parse(in);
    oci::apply_spec(cfg, replica(image, i),
                    {"/nodevisor-bench/" + id, (bundle / "rootfs").string(), {}, ""});
    std::ofstream{bundle / "config.json"} << cfg.dump();
    ids.push_back(id);
  }
  auto each = [&](const std::string& body, const fs::path& bundles = {}) {
    std::string script = "set -e; R=" + root.string() +
                         "; B=" + (bundles.empty() ? dir / "floor-bundles" : bundles).string() +
                         "; for id in";
    for (auto& id : ids)
      script += " " + id;
    // Every one's failure counts: a bare `wait` would answer 0 whatever they did.
    return script + "; do (" + body + ") & pids=\"$pids $!\"; done; " +
           "for p in $pids; do wait $p; done";
  };
  auto create_start = "runc --root $R create --bundle $B/$id $id </dev/null >/dev/null 2>&1; "
                      "runc --root $R start $id";
  // The whole start, from the image: unpack into a bundle, the same config.json, runc create and
  // start (the config is written by this program beforehand, as a script would copy it).
  sh("for id in $(ls " + (dir / "floor-bundles").string() + "); do cp " +
     (dir / "floor-bundles").string() + "/$id/config.json " + dir.string() + "/$id.json; rm -rf " +
     (dir / "floor-bundles").string() + "/$id; done");
  auto t = clk::now();
  if (sh(each("umoci unpack --image " + store.umoci_ref(image) + " $B/$id >/dev/null && cp " +
              dir.string() + "/$id.json $B/$id/config.json && " + create_start)) == 0) {
    report("start", "floor", n, rep, seconds_since(t));
  }
  // runc alone, on bundles that are there: the part the keeper runs.
  sh(each("runc --root $R delete --force $id"));
  t = clk::now();
  if (sh(each(create_start)) == 0)
    report("start_runc", "floor", n, rep, seconds_since(t));
  // runc alone on roots made as nodevisor makes them (an overlay on the image unpacked once):
  // what of start_runc is the overlay's, and what is the keeper's.
  sh(each("runc --root $R delete --force $id"));
  auto overlays = dir / "floor-overlays";
  if (oci::run_tool(
          {"umoci", "unpack", "--image", store.umoci_ref(image), (dir / "floor-shared").string()},
          60s)
          .ok()) {
    bool mounted = true;
    for (auto& id : ids) {
      auto b = overlays / id;
      for (const char* d : {"rootfs", "upper", "work"})
        fs::create_directories(b / d);
      fs::copy_file(dir / "floor-bundles" / id / "config.json", b / "config.json");
      auto layers = "lowerdir=" + (dir / "floor-shared/rootfs").string() +
                    ",upperdir=" + (b / "upper").string() + ",workdir=" + (b / "work").string();
      mounted =
          ::mount("overlay", (b / "rootfs").c_str(), "overlay", 0, layers.c_str()) == 0 && mounted;
    }
    t = clk::now();
    if (mounted && sh(each(create_start, overlays)) == 0)
      report("start_runc_overlay", "floor", n, rep, seconds_since(t));
    sh(each("runc --root $R delete --force $id", overlays));
    for (auto& id : ids)
      ::umount2((overlays / id / "rootfs").c_str(), MNT_DETACH);
    fs::remove_all(overlays);
    fs::remove_all(dir / "floor-shared");
  }
  sh(each(create_start)); // the plain ones again, for the restart and the stop
  // kill -9 of the container's process, seen gone, deleted, created and started again.
  t = clk::now();
  // A zombie nobody reaps is gone for runc (it reads the process's state), as for us.
  if (sh(each(std::string{"p=$(runc --root $R state $id | sed -n "
                          "'s/.*\"pid\": *\\([0-9]*\\).*/\\1/p'); kill -9 $p; "
                          "while runc --root $R state $id | grep -q '\"running\"'; do :; done; "
                          "runc --root $R delete --force $id; umoci unpack --image "} +
              store.umoci_ref(image) +
              " $B/$id.new >/dev/null && rm -rf $B/$id && mv $B/$id.new "
              "$B/$id && cp " +
              dir.string() + "/$id.json $B/$id/config.json && " + create_start)) == 0)
    report("restart", "floor", n, rep, seconds_since(t));
  std::this_thread::sleep_for(300ms); // as for nodevisor: the trap is set
  t = clk::now();
  if (sh(each("runc --root $R kill $id TERM; "
              "while runc --root $R state $id | grep -q '\"running\"'; do :; done; "
              "runc --root $R delete $id")) == 0)
    report("stop", "floor", n, rep, seconds_since(t));
  sh("for id in $(runc --root " + root.string() + " list -q); do runc --root " + root.string() +
     " delete --force $id; done");
  fs::remove_all(dir / "floor-bundles");
}

// Podman on this kind of machine: cgroupfs, file events, the host's network, runc.
const std::string podman = "podman --cgroup-manager=cgroupfs --events-backend=file "
                           "--runtime=runc";
// Podman asks for more open files and processes than this kind of machine allows (runc: "error
// setting rlimit type 7: operation not permitted").
const std::string podman_limits = " --ulimit nofile=1024:1024 --ulimit nproc=1024:1024";

bool measure_podman(const std::string& image, int n, int rep) {
  auto each = [&](const std::string& body) {
    return "set -e; for i in $(seq " + std::to_string(n) + "); do (" + body +
           ") & pids=\"$pids $!\"; done; for p in $pids; do wait $p; done";
  };
  sh(podman + " rm -f -a >/dev/null 2>&1"); // what a run cut short left
  auto t = clk::now();
  auto run = podman + " run -d --network=host" + podman_limits + " --name nvb-$i " + image +
             " sh -c \"trap 'exit 0' TERM; while true; do sleep 1 & wait; done\" >/dev/null";
  if (sh(each(run)) != 0)
    return false;
  report("start", "podman", n, rep, seconds_since(t));
  t = clk::now();
  if (sh(each("p=$(" + podman + " inspect -f '{{.State.Pid}}' nvb-$i); kill -9 $p; " + podman +
              " wait nvb-$i >/dev/null; " + podman + " start nvb-$i >/dev/null")) == 0)
    report("restart", "podman", n, rep, seconds_since(t));
  std::this_thread::sleep_for(300ms);
  t = clk::now();
  if (sh(each(podman + " stop -t 10 nvb-$i >/dev/null; " + podman + " rm nvb-$i >/dev/null")) == 0)
    report("stop", "podman", n, rep, seconds_since(t));
  sh(podman + " rm -f -a >/dev/null 2>&1");
  return true;
}

std::vector<int> parse_list(const std::string& text) {
  std::vector<int> out;
  std::stringstream in{text};
  for (std::string item; std::getline(in, item, ',');)
    out.push_back(std::stoi(item));
  return out;
}

} // namespace

int run_bench(int argc, char** argv);

int main(int argc, char** argv) {
  try {
    return run_bench(argc, argv);
  } catch (const std::exception& e) { // no keeper, no image store: say so, not abort
    std::cerr << "oci_bench: " << e.what() << "\n";
    return 1;
  }
}

int run_bench(int argc, char** argv) {
  std::vector<int> sizes{1, 100};
  int reps = 3;
  bool with_podman = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--n" && i + 1 < argc)
      sizes = parse_list(argv[++i]);
    else if (a == "--reps" && i + 1 < argc)
      reps = std::stoi(argv[++i]);
    else if (a == "--no-podman")
      with_podman = false;
    else {
      std::cerr << "usage: oci_bench [--n 1,100] [--reps 3] [--no-podman]\n";
      return 2;
    }
  }
  if (::geteuid() != 0) {
    std::cerr << "oci_bench: runc needs root\n";
    return 2;
  }
  auto dir = fs::temp_directory_path() / ("nv-oci-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir / "registry");
  if (sh(std::string{NV_SOURCE_DIR} + "/examples/oci/busybox-image.sh " +
         (dir / "layout").string() + " busybox:1 >/dev/null") != 0)
    return 1;
  auto port = nv_test_support::free_loopback_port();
  auto registry = "127.0.0.1:" + std::to_string(port);
  std::ofstream{dir / "registry.yml"}
      << "version: 0.1\nlog:\n  level: error\nstorage:\n"
      << "  filesystem:\n    rootdirectory: " << (dir / "registry").string()
      << "\nhttp:\n  addr: " << registry << "\n";
  pid_t reg = ::fork();
  if (reg == 0) {
    ::setpgid(0, 0);
    std::freopen("/dev/null", "w", stdout);
    std::freopen("/dev/null", "w", stderr); // a 404 on a blob it is asked about is logged
    ::execlp("docker-registry", "docker-registry", "serve", (dir / "registry.yml").c_str(),
             nullptr);
    ::_exit(127);
  }
  auto image = registry + "/nodevisor/busybox:1";
  for (int i = 0;
       i < 500 &&
       sh("skopeo copy --quiet --dest-tls-verify=false oci:" + (dir / "layout").string() +
          ":busybox:1 docker://" + image + " 2>/dev/null") != 0;
       ++i)
    std::this_thread::sleep_for(10ms);

  for (int rep = 1; rep <= reps; ++rep) {
    // Pulls, each into a store of its own.
    auto state = dir / ("state-" + std::to_string(rep));
    {
      oci::image_store store{{(state / "images").string(), {}}};
      auto t = clk::now();
      if (!store.pull(image, pull_policy::always))
        report("pull_cold", "nodevisor", 1, rep, seconds_since(t));
      t = clk::now();
      if (!store.pull(image, pull_policy::always))
        report("pull_warm_always", "nodevisor", 1, rep, seconds_since(t));
      t = clk::now();
      if (!store.pull(image, pull_policy::if_not_present))
        report("pull_warm_present", "nodevisor", 1, rep, seconds_since(t));
      // Once per image version, shared by its containers (as podman's pull extracts layers).
      std::string error;
      t = clk::now();
      if (store.unpacked(image, error))
        report("unpack", "nodevisor", 1, rep, seconds_since(t));
      for (int n : sizes) {
        measure_nodevisor(image, state, n, rep);
        measure_floor(store, image, dir, n, rep);
      }
    }
    if (with_podman) {
      if (sh("command -v podman >/dev/null") != 0) {
        with_podman = false;
        continue;
      }
      if (rep == 1) {
        auto t = clk::now();
        auto said = sh_output(podman + " pull -q --tls-verify=false " + image);
        if (said.find("Error") != std::string::npos) {
          std::cout << nlohmann::json{{"bench", "oci"},
                                      {"metric", "podman_error"},
                                      {"impl", "podman"},
                                      {"text", said}}
                           .dump()
                    << std::endl;
          with_podman = false;
          continue;
        }
        report("pull_cold", "podman", 1, rep, seconds_since(t));
      }
      for (int n : sizes)
        if (!measure_podman(image, n, rep)) {
          std::cout << nlohmann::json{{"bench", "oci"},
                                      {"metric", "podman_error"},
                                      {"impl", "podman"},
                                      {"text", sh_output(podman + " run --rm --network=host" +
                                                         podman_limits + " " + image + " true")}}
                           .dump()
                    << std::endl;
          with_podman = false;
          break;
        }
    }
    fs::remove_all(state);
  }
  ::kill(-reg, SIGTERM);
  ::waitpid(reg, nullptr, 0);
  fs::remove_all(dir);
  return 0;
}
