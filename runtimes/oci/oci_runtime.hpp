// Real Linux containers (design §11): images pulled by skopeo into the node's image store,
// bundles unpacked by umoci, containers run by runc. The node's keeper is their parent, as it is
// the process runtime's processes' (keeper/keeper.hpp): `runc create` is a launched start whose
// container process the keeper adopts as a subreaper, so a container outlives a daemon restart,
// its output goes to the same logs, its exit comes as SIGCHLD to the keeper and as a message
// from there, never polled. This runtime is the process runtime's client for that, so both share
// one keeper; what is runc's alone (the bundle, runc's own state and cgroups) it does here.
//
// Threads: pulls, unpacks and runc's delete run on a job thread each, never on a CAF thread; the
// answer is a message, like every runtime's.
//
// Semantics beyond runtime.hpp:
// - create makes the bundle `<state_dir>/bundles/<instance>/<runc id>`: its rootfs an overlay of
//   the image, unpacked once per image version (image_store::unpacked), with the container's
//   writes in the bundle (a fresh one per create: a restarted container starts from the image, as
//   in Kubernetes); where overlayfs cannot be mounted, the image unpacked into the bundle. Then
//   its config.json (bundle_config.hpp); `runc create` runs at start, so a config that runc refuses
//   fails the start with CreateFailed and runc's message, a missing entrypoint with StartFailed.
// - runc ids are the runtime key, unique per node and per instance (`node` for the daemon,
//   `run-<pid>` for a run); runc's state lives under `<state_dir>/runc/<instance>`.
// - stop signals the container's PID 1, which ignores a signal it has no handler for (a PID
//   namespace's rule): then it is killed at the end of the grace.
// - remove kills the container, deletes it from runc and removes its bundle before it answers;
//   a create of the same key waits for that.
// - exec is `runc exec` in the running container; at its timeout the command is killed in there
//   too (a SIGKILL of runc exec does not reach it).
// - At construction, what runc still lists of stopped containers, and every container of a run
//   whose process is gone, is deleted with its bundle: nothing outlives its runtime but
//   containers that its keeper still holds. A run's runtime takes its directories and cgroup
//   parents with it.
// - An exit of a container that its memory cgroup saw OOM-killed says so (container_exited).
// - init_process puts the first of options.inits that exists in front of the command, as PID 1;
//   with none, the create fails with Unsupported.
// - A create that asks for GPUs gets their devices (gpu_devices.hpp), or fails with the error that
//   says why this node has none to give, before anything is unpacked.
// - A port of the spec's endpoints that something on the host holds fails the create with
//   Network, naming the holder, before anything starts.
// - An image for another OS, or for an architecture this machine does not run, fails the create
//   with WrongPlatform, or goes to the platform fallback (runtime.hpp).
#pragma once

#include <condition_variable>
#include <filesystem>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "posix/machine_arch.hpp"
#include "runtimes/oci/gpu_devices.hpp"
#include "runtimes/oci/image_store.hpp"
#include "runtimes/process/process_runtime.hpp"
#include "runtimes/runtime.hpp"

namespace nv {

struct oci_runtime_options {
  std::string state_dir = "/var/lib/nodevisor"; // images/, bundles/, runc/
  std::string instance = "node";
  std::vector<std::string> insecure_registries; // host[:port], besides loopback ones
  std::string runc = "runc";
  std::string umoci = "umoci";
  oci::gpu_host gpus; // where resources.gpu's devices are looked for
  // Static inits for `init: true`, the first that exists is used (Debian's catatonit, tini).
  std::vector<std::string> inits = {"/usr/bin/catatonit", "/usr/bin/tini-static"};
};

class oci_runtime final : public runtime {
public:
  // `keeper` serves the containers and must outlive this runtime. Throws std::runtime_error with
  // the reason when the image store or runc's state directory cannot be set up.
  oci_runtime(process_runtime& keeper, oci_runtime_options options);
  ~oci_runtime() override; // waits for its jobs

  oci_runtime(const oci_runtime&) = delete;
  oci_runtime& operator=(const oci_runtime&) = delete;

  std::string_view name() const override { return "oci"; }
  bool runs_os(std::string_view os) const override { return os == "linux"; }

  void pull(const container_spec& spec, caf::actor reply_to) override;
  void create(const container_spec& spec, caf::actor reply_to) override;
  void start(const std::string& id, caf::actor reply_to) override;
  void stop(const std::string& id, duration grace, int signal, caf::actor reply_to) override;
  void remove(const std::string& id, caf::actor reply_to) override;
  void exec(const std::string& id, uint64_t exec_id, std::vector<std::string> cmd, duration timeout,
            caf::actor reply_to) override;

  container_status state(const std::string& id) const override;
  std::vector<std::string> logs(const std::string& id, std::size_t tail) const override;
  std::optional<int> pid(const std::string& id) const override;
  bool adoptable(const std::string& id) const override;
  void on_wrong_platform(platform_fallback fallback) override;

  std::string runc_id(const std::string& key) const;
  std::string bundle_of(const std::string& key) const;
  // runc's linux.cgroupsPath for the container, under every controller.
  std::string cgroups_path(const std::string& key) const;
  const std::string& runc_root() const { return root_; }
  oci::image_store& images() { return store_; }

private:
  void run_job(std::function<void()> job);
  // The create's work, on a job thread: empty, or why the bundle could not be made.
  std::string prepare(const container_spec& spec, const oci::gpu_grant& gpus,
                      container_spec& launched);
  void delete_container(const std::string& key);
  std::string make_rootfs(const std::string& image, const std::filesystem::path& bundle);
  static void remove_bundle(const std::filesystem::path& bundle);
  void sweep();
  // The instance's directories and cgroup parents, where empty.
  void release(const std::string& instance) const;
  std::vector<std::string> runc(std::initializer_list<std::string> args) const;
  bool oom_killed(const std::string& key) const;

  process_runtime& keeper_;
  oci_runtime_options options_;
  std::string root_, bundles_;
  oci::image_store store_;

  std::mutex mu_;
  std::condition_variable removed_;
  std::map<std::string, int> removing_; // keys whose remove is still under way
  std::list<std::pair<std::thread, std::shared_ptr<bool>>> jobs_; // bool: finished
  bool quitting_ = false;
  platform_fallback fallback_; // under mu_
  std::string arch_ = machine_arch();
  std::string init_; // the first of options_.inits that exists; empty: none
};

} // namespace nv
