#include "runtimes/oci/oci_runtime.hpp"

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <sys/mount.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/after.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "messages/digest.hpp"
#include "posix/file_text.hpp"
#include "posix/machine_arch.hpp"
#include "posix/port_holder.hpp"
#include "runtimes/oci/bundle_config.hpp"
#include "runtimes/oci/tool_command.hpp"

namespace nv {

namespace fs = std::filesystem;
using oci::run_tool;

namespace {

constexpr std::chrono::milliseconds tool_timeout{std::chrono::minutes{2}};

bool write_file(const fs::path& path, const std::string& text) {
  auto temp = path;
  temp += ".new";
  {
    std::ofstream out{temp, std::ios::binary | std::ios::trunc};
    out << text;
    if (!out.flush())
      return false;
  }
  std::error_code ec;
  fs::rename(temp, path, ec);
  return !ec;
}

bool alive(pid_t pid) {
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

} // namespace

oci_runtime::oci_runtime(process_runtime& keeper, oci_runtime_options options)
    : keeper_(keeper), options_(std::move(options)),
      root_(options_.state_dir + "/runc/" + options_.instance),
      bundles_(options_.state_dir + "/bundles/" + options_.instance),
      store_(
          oci::image_store_options{options_.state_dir + "/images", options_.insecure_registries}) {
  std::error_code ec;
  for (const auto& dir : {root_, bundles_}) {
    fs::create_directories(dir, ec);
    if (ec)
      throw std::runtime_error("oci runtime: " + dir + ": " + ec.message());
  }
  for (const auto& init : options_.inits)
    if (init_.empty() && ::access(init.c_str(), X_OK) == 0)
      init_ = init;
  sweep();
  keeper_.annotate_exits([this](const std::string& key, container_exited& news) {
    if (news.signal == SIGKILL && oom_killed(key))
      news.oom_killed = true;
  });
}

oci_runtime::~oci_runtime() {
  keeper_.annotate_exits({});
  std::list<std::pair<std::thread, std::shared_ptr<bool>>> jobs;
  {
    std::lock_guard lock{mu_};
    quitting_ = true;
    jobs.swap(jobs_);
  }
  for (auto& [thread, done] : jobs)
    thread.join();
  if (options_.instance.starts_with("run-"))
    release(options_.instance);
}

void oci_runtime::release(const std::string& instance) const {
  std::error_code ec;
  fs::remove(options_.state_dir + "/runc/" + instance, ec);
  fs::remove(options_.state_dir + "/bundles/" + instance, ec);
  for (const auto& controller : fs::directory_iterator{"/sys/fs/cgroup", ec})
    fs::remove(controller.path() / "nodevisor-oci" / instance, ec);
}

std::string oci_runtime::runc_id(const std::string& key) const {
  std::string id = key;
  for (auto& c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      c = '.';
  return id;
}

std::string oci_runtime::bundle_of(const std::string& key) const {
  return bundles_ + "/" + runc_id(key);
}

std::string oci_runtime::cgroups_path(const std::string& key) const {
  return "/nodevisor-oci/" + options_.instance + "/" + runc_id(key);
}

std::vector<std::string> oci_runtime::runc(std::initializer_list<std::string> args) const {
  std::vector<std::string> argv{options_.runc, "--root", root_};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

void oci_runtime::run_job(std::function<void()> job) {
  std::lock_guard lock{mu_};
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    if (*it->second) {
      it->first.join();
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
  auto done = std::make_shared<bool>(false);
  // `done` is set under mu_ by the job's last step, so that a join above never waits.
  jobs_.emplace_back(std::thread{[this, job = std::move(job), done] {
                       job();
                       std::lock_guard finished{mu_};
                       *done = true;
                     }},
                     done);
}

void oci_runtime::pull(const container_spec& spec, caf::actor reply_to) {
  run_job([this, image = spec.image, policy = spec.pull, key = runtime_key(spec),
           reply_to = std::move(reply_to)] {
    if (auto error = store_.pull(image, policy))
      caf::anon_send(reply_to, reply_failed(key, runtime_op::pull, PullFailed{image, *error}));
    else
      caf::anon_send(reply_to, reply_ok(key, runtime_op::pull));
  });
}

void oci_runtime::create(const container_spec& spec, caf::actor reply_to) {
  run_job([this, spec, reply_to = std::move(reply_to)] {
    auto key = runtime_key(spec);
    {
      std::unique_lock lock{mu_};
      removed_.wait(lock, [&] { return removing_.count(key) == 0; });
    }
    if (auto platform = store_.platform_of(spec.image);
        platform && !(platform->os == "linux" &&
                      (platform->arch == arch_ || (arch_ == "amd64" && platform->arch == "386")))) {
      WrongPlatform wrong{"oci", "linux/" + arch_, platform->os + "/" + platform->arch, spec.image};
      platform_fallback fallback;
      {
        std::lock_guard lock{mu_};
        fallback = fallback_;
      }
      if (fallback)
        fallback(spec, wrong, reply_to);
      else
        caf::anon_send(reply_to, reply_failed(key, runtime_op::create, std::move(wrong)));
      return;
    }
    if (spec.init_process && init_.empty()) {
      std::string looked;
      for (const auto& init : options_.inits)
        looked += (looked.empty() ? "" : ", ") + init;
      caf::anon_send(reply_to, reply_failed(key, runtime_op::create,
                                            Unsupported{"'" + spec.id +
                                                        "' asks for an init (init: true), and this "
                                                        "node has none of " +
                                                        looked + ": apt-get install catatonit"}));
      return;
    }
    oci::gpu_grant gpus;
    if (spec.gpu) {
      auto granted = oci::grant_gpus(*spec.gpu, options_.gpus, spec.id);
      if (auto* error = std::get_if<AgentError>(&granted)) {
        caf::anon_send(reply_to, reply_failed(key, runtime_op::create, std::move(*error)));
        return;
      }
      gpus = std::get<oci::gpu_grant>(std::move(granted));
    }
    // The host's network: a port its endpoints declare that something holds would fail its bind.
    if (auto held = held_endpoint(spec)) {
      caf::anon_send(reply_to, reply_failed(key, runtime_op::create, std::move(*held)));
      return;
    }
    container_spec launched;
    if (auto error = prepare(spec, gpus, launched); !error.empty()) {
      caf::anon_send(reply_to, reply_failed(key, runtime_op::create, CreateFailed{spec.id, error}));
      return;
    }
    keeper_.create(launched, reply_to);
  });
}

std::string oci_runtime::prepare(const container_spec& spec, const oci::gpu_grant& gpus,
                                 container_spec& launched) {
  auto key = runtime_key(spec);
  auto id = runc_id(key);
  fs::path bundle = bundle_of(key);
  oci::bundle_options how{cgroups_path(key), (bundle / "rootfs").string(), gpus, init_};
  auto configure = [&](std::string& text) -> std::string {
    auto config = nlohmann::json::parse(file_text(bundle / "image-config.json"), nullptr, false);
    if (config.is_discarded())
      return "the bundle's image-config.json is not JSON";
    if (auto error = oci::apply_spec(config, spec, how); !error.empty())
      return error;
    text = config.dump(2);
    return {};
  };
  std::string config;
  bool adopt = false;
  if (keeper_.adoptable(key) && fs::exists(bundle / "image-config.json")) {
    // Running since before this runtime: the same config, or a new container.
    adopt = configure(config).empty() && config == file_text(bundle / "config.json");
  }
  if (!adopt) {
    delete_container(key); // what a runtime before this one left under this id
    if (auto error = make_rootfs(spec.image, bundle); !error.empty())
      return error;
    if (auto error = configure(config); !error.empty())
      return error;
    if (!write_file(bundle / "config.json", config))
      return "bundle " + bundle.string() + ": cannot write config.json";
  }
  launched = spec;
  launched.command = runc(
      {"create", "--bundle", bundle.string(), "--pid-file", (bundle / "init.pid").string(), id});
  launched.workdir = bundle.string();
  // The container's user and GPUs are in its config; runc runs as ours, with no devices of its own.
  launched.user.clear();
  launched.gpu.reset();
  launched.ports.clear(); // checked above
  // runc create execs the entrypoint before it returns: when that fails, the start has.
  keeper::launch launch{(bundle / "init.pid").string(), runc({"start", id}),
                        "unable to start container process: exec:"};
  launched.options = process_launch{std::move(launch), text_digest(config)};
  return {};
}

// The image unpacked once and overlaid per container: its writes go to the bundle's upper/, the
// image stays as it was. Where overlayfs cannot be mounted, the image is unpacked into the bundle.
std::string oci_runtime::make_rootfs(const std::string& image, const fs::path& bundle) {
  std::string error;
  auto shared = store_.unpacked(image, error);
  if (!shared)
    return "umoci unpack of " + image + ": " + error;
  std::error_code ec;
  for (const char* dir : {"rootfs", "upper", "work"})
    fs::create_directories(bundle / dir, ec);
  fs::copy_file(fs::path{*shared} / "config.json", bundle / "image-config.json",
                fs::copy_options::overwrite_existing, ec);
  if (ec)
    return "bundle " + bundle.string() + ": " + ec.message();
  auto layers = "lowerdir=" + *shared + "/rootfs,upperdir=" + (bundle / "upper").string() +
                ",workdir=" + (bundle / "work").string();
  if (::mount("overlay", (bundle / "rootfs").c_str(), "overlay", 0, layers.c_str()) == 0)
    return {};
  spdlog::debug("[/_oci] overlayfs: {}; unpacking {} into {}", std::strerror(errno), image,
                bundle.string());
  remove_bundle(bundle);
  auto unpacked =
      run_tool({options_.umoci, "unpack", "--image", store_.umoci_ref(image), bundle.string()},
               tool_timeout);
  if (!unpacked.ok())
    return "umoci unpack of " + image + ": " + unpacked.reason();
  fs::rename(bundle / "config.json", bundle / "image-config.json", ec);
  return ec ? "bundle " + bundle.string() + ": " + ec.message() : std::string{};
}

void oci_runtime::remove_bundle(const fs::path& bundle) {
  ::umount2((bundle / "rootfs").c_str(), MNT_DETACH); // not mounted: EINVAL, nothing to do
  std::error_code ec;
  fs::remove_all(bundle, ec);
  if (ec)
    spdlog::warn("[/_oci] removing bundle {}: {}", bundle.string(), ec.message());
}

void oci_runtime::start(const std::string& id, caf::actor reply_to) {
  keeper_.start(id, std::move(reply_to));
}

void oci_runtime::stop(const std::string& id, duration grace, int signal, caf::actor reply_to) {
  keeper_.stop(id, grace, signal, std::move(reply_to));
}

void oci_runtime::remove(const std::string& id, caf::actor reply_to) {
  keeper_.remove(id, caf::actor{}); // kills it; what runc keeps of it goes below
  {
    std::lock_guard lock{mu_};
    ++removing_[id];
  }
  run_job([this, id, reply_to = std::move(reply_to)] {
    delete_container(id);
    // Answered before a waiting create is let go, so that the answers arrive in the order
    // of the requests.
    caf::anon_send(reply_to, reply_ok(id, runtime_op::remove));
    {
      std::lock_guard lock{mu_};
      if (--removing_[id] == 0)
        removing_.erase(id);
    }
    removed_.notify_all();
  });
}

// runc's state and cgroups of the container, and its bundle.
void oci_runtime::delete_container(const std::string& key) {
  auto id = runc_id(key);
  if (fs::exists(root_ + "/" + id)) {
    auto deleted = run_tool(runc({"delete", "--force", id}), tool_timeout);
    if (!deleted.ok() && fs::exists(root_ + "/" + id))
      spdlog::warn("[/_oci] {}: runc delete: {}", key, deleted.reason());
  }
  remove_bundle(bundle_of(key));
}

void oci_runtime::exec(const std::string& id, uint64_t exec_id, std::vector<std::string> cmd,
                       duration timeout, caf::actor reply_to) {
  auto pid_file = (fs::path{bundle_of(id)} / ("exec-" + std::to_string(exec_id) + ".pid")).string();
  auto argv = runc({"exec", "--pid-file", pid_file, runc_id(id)});
  argv.insert(argv.end(), std::make_move_iterator(cmd.begin()), std::make_move_iterator(cmd.end()));
  if (!reply_to) { // nobody to answer, nobody to kill it for
    keeper_.exec(id, exec_id, std::move(argv), timeout, std::move(reply_to));
    return;
  }
  // At its timeout the keeper kills `runc exec`, which cannot pass a SIGKILL on: the command in the
  // container is killed here, by the pid runc wrote, before the caller hears of the timeout.
  auto relay = reply_to->home_system().spawn([id, exec_id, pid_file, timeout, reply_to](
                                                 caf::event_based_actor* self) -> caf::behavior {
    auto finish = [self, pid_file, reply_to](exec_result r, bool kill) {
      if (kill) {
        std::ifstream in{pid_file};
        if (pid_t pid = 0; in >> pid && pid > 1)
          ::kill(pid, SIGKILL);
      }
      std::error_code ec;
      fs::remove(pid_file, ec);
      caf::anon_send(reply_to, std::move(r));
      self->quit();
    };
    auto answered = [finish](exec_result& r) { finish(std::move(r), r.timed_out); };
    if (timeout <= duration::zero())
      return {answered};
    // The keeper answers by the timeout; one that does not must not leave the caller, or this
    // actor, waiting for good.
    auto patience = timeout + std::chrono::seconds{10};
    return {answered, caf::after(patience) >> [=] {
              finish(exec_result{id, exec_id, -1,
                                 "no answer from the keeper within " + format_duration(patience),
                                 false},
                     true);
            }};
  });
  keeper_.exec(id, exec_id, std::move(argv), timeout, std::move(relay));
}

container_status oci_runtime::state(const std::string& id) const {
  return keeper_.state(id);
}

std::vector<std::string> oci_runtime::logs(const std::string& id, std::size_t tail) const {
  return keeper_.logs(id, tail);
}

std::optional<int> oci_runtime::pid(const std::string& id) const {
  return keeper_.pid(id);
}

bool oci_runtime::adoptable(const std::string& id) const {
  return keeper_.adoptable(id);
}

void oci_runtime::on_wrong_platform(platform_fallback fallback) {
  std::lock_guard lock{mu_};
  fallback_ = std::move(fallback);
}

bool oci_runtime::oom_killed(const std::string& key) const {
  auto dir = cgroups_path(key);
  // cgroup v1's memory controller, else v2's unified tree.
  for (auto [file, field] :
       {std::pair{"/sys/fs/cgroup/memory" + dir + "/memory.oom_control", std::string{"oom_kill"}},
        {"/sys/fs/cgroup" + dir + "/memory.events", "oom_kill"}}) {
    std::ifstream in{file};
    std::string name;
    uint64_t count = 0;
    while (in >> name >> count)
      if (name == field)
        return count > 0;
  }
  return false;
}

// Stopped containers of this instance, and everything of runs that are gone.
void oci_runtime::sweep() {
  auto clear_root = [this](const std::string& root, bool only_stopped) {
    auto listed =
        run_tool({options_.runc, "--root", root, "list", "--format", "json"}, tool_timeout);
    auto list = nlohmann::json::parse(listed.output, nullptr, false);
    if (!listed.ok() || !list.is_array())
      return;
    for (const auto& c : list) {
      auto id = c.value("id", "");
      if (id.empty() || (only_stopped && c.value("status", "") != "stopped"))
        continue;
      run_tool({options_.runc, "--root", root, "delete", "--force", id}, tool_timeout);
      if (auto bundle = c.value("bundle", ""); !bundle.empty())
        remove_bundle(bundle);
    }
  };
  clear_root(root_, true);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator{options_.state_dir + "/runc", ec}) {
    auto name = entry.path().filename().string();
    if (!name.starts_with("run-") || name == options_.instance)
      continue;
    auto pid = std::atoi(name.c_str() + 4);
    if (pid <= 0 || alive(pid))
      continue;
    spdlog::info("[/_oci] clearing what run {} left (it is gone)", pid);
    clear_root(entry.path().string(), false);
    fs::remove_all(entry.path(), ec);
    for (const auto& bundle : fs::directory_iterator{options_.state_dir + "/bundles/" + name, ec})
      remove_bundle(bundle.path());
    fs::remove_all(options_.state_dir + "/bundles/" + name, ec);
    release(name);
  }
}

} // namespace nv
