#include "runtimes/oci/gpu_devices.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <optional>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "posix/file_text.hpp"

namespace nv::oci {

namespace {

namespace fs = std::filesystem;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The character device at `host_path`, to be `path` in the container; none if it is not one.
std::optional<granted_device> char_device(const fs::path& host_path, const std::string& path) {
  struct stat st {};
  if (::stat(host_path.c_str(), &st) != 0 || !S_ISCHR(st.st_mode))
    return std::nullopt;
  return granted_device{host_path.string(), path, static_cast<int64_t>(major(st.st_rdev)),
                        static_cast<int64_t>(minor(st.st_rdev)),
                        static_cast<uint32_t>(st.st_mode & 0777)};
}

// The devices under `dir` (relative to the host's dev) whose names start with `prefix` and go on
// with digits only, in the order of their numbers: nvidia0, nvidia1, …; renderD128, …
std::vector<granted_device> numbered(const gpu_host& host, const std::string& dir,
                                     const std::string& prefix) {
  std::vector<std::pair<long, granted_device>> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator{fs::path{host.dev} / dir, ec}) {
    auto name = entry.path().filename().string();
    if (!name.starts_with(prefix) || name.size() == prefix.size() ||
        !std::all_of(name.begin() + static_cast<long>(prefix.size()), name.end(),
                     [](unsigned char c) { return std::isdigit(c); }))
      continue;
    auto in_container = "/dev/" + (dir.empty() ? name : dir + "/" + name);
    if (auto device = char_device(entry.path(), in_container))
      found.emplace_back(std::stol(name.substr(prefix.size())), std::move(*device));
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<granted_device> out;
  for (auto& [number, device] : found)
    out.push_back(std::move(device));
  return out;
}

// The GPUs of `vendor` that this node shows, and the devices that every user of them needs too.
struct vendor_devices {
  std::vector<granted_device> gpus;
  std::vector<granted_device> shared;
  std::string looked_for; // what was looked for, for the message when nothing is there
};

vendor_devices find_devices(const std::string& vendor, const gpu_host& host) {
  vendor_devices out;
  auto add_shared = [&](const std::string& name) {
    if (auto device = char_device(fs::path{host.dev} / name, "/dev/" + name))
      out.shared.push_back(std::move(*device));
  };
  if (vendor == "nvidia") {
    out.gpus = numbered(host, "", "nvidia");
    for (const char* name : {"nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset"})
      add_shared(name);
    out.looked_for = host.dev + "/nvidia[0-9]*";
    return out;
  }
  // AMD and Intel GPUs are render nodes; AMD's compute needs its kfd as well.
  out.gpus = numbered(host, "dri", "renderD");
  out.looked_for = host.dev + "/dri/renderD*";
  if (vendor == "amd") {
    add_shared("kfd");
    out.looked_for += " with " + host.dev + "/kfd";
    if (out.shared.empty())
      out.gpus.clear();
  }
  return out;
}

std::string gpus(uint32_t count, const std::string& vendor) {
  return std::to_string(count) + " " + vendor + (count == 1 ? " GPU" : " GPUs");
}

bool is_dir(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

// NVIDIA's MPS: the container talks to the node's control daemon through its pipe directory.
std::optional<AgentError> share_by_mps(const gpu_request& request, gpu_grant& grant) {
  if (request.vendor != "nvidia")
    return GpuSharingUnavailable{"mps", "MPS is NVIDIA's; " + request.vendor +
                                            " GPUs are shared with sharing: time-slice"};
  for (const auto& [dir, what, field] : {std::tuple{request.mps_pipe_dir, "pipe", "mps_pipe_dir"},
                                         std::tuple{request.mps_log_dir, "log", "mps_log_dir"}})
    if (!is_dir(dir))
      return GpuSharingUnavailable{
          "mps", std::string{"the MPS "} + what + " directory " + dir +
                     " does not exist: start the MPS control daemon on this node "
                     "(CUDA_MPS_PIPE_DIRECTORY=" +
                     request.mps_pipe_dir + " CUDA_MPS_LOG_DIRECTORY=" + request.mps_log_dir +
                     " nvidia-cuda-mps-control -d), or set resources.gpu." + field +
                     " to where it runs"};
  grant.mounts.push_back({request.mps_pipe_dir, request.mps_pipe_dir, false});
  grant.mounts.push_back({request.mps_log_dir, request.mps_log_dir, false});
  grant.env.emplace_back("CUDA_MPS_PIPE_DIRECTORY", request.mps_pipe_dir);
  grant.env.emplace_back("CUDA_MPS_LOG_DIRECTORY", request.mps_log_dir);
  return std::nullopt;
}

} // namespace

std::variant<gpu_grant, AgentError> grant_gpus(const gpu_request& request, const gpu_host& host,
                                               const std::string& replica) {
  gpu_grant grant;
  const auto asked =
      "'" + replica + "' asks for " + gpus(request.count, request.vendor) + " (resources.gpu)";
  if (request.vendor == "apple")
    return Unsupported{asked + ", which only macOS nodes have; this node runs Linux"};
  if (lower(file_text(host.proc_version)).find("microsoft") != std::string::npos) {
    // WSL2: Windows' driver serves every GPU through one device, whatever the vendor.
    auto dxg = char_device(fs::path{host.dev} / "dxg", "/dev/dxg");
    if (!dxg)
      return WslGpuUnavailable{"this is a WSL2 kernel (" + host.proc_version +
                               " says Microsoft) and " + host.dev +
                               "/dxg does not exist: install a Windows GPU driver with WSL "
                               "support and run `wsl --update`, or run '" +
                               replica + "' without resources.gpu"};
    grant.devices.push_back(std::move(*dxg));
    if (is_dir(host.wsl_lib)) {
      grant.mounts.push_back({host.wsl_lib, "/usr/lib/wsl", true});
      grant.env.emplace_back("LD_LIBRARY_PATH", "/usr/lib/wsl/lib");
    }
  } else {
    auto found = find_devices(request.vendor, host);
    if (found.gpus.empty())
      return Unsupported{asked + " and this node has none (no " + found.looked_for +
                         "): install the " + request.vendor +
                         " driver here, or run it on a node with a GPU"};
    if (found.gpus.size() < request.count)
      return Unsupported{asked + " and this node has " + std::to_string(found.gpus.size()) + " (" +
                         found.looked_for +
                         "): lower resources.gpu.count, or run it on a node with more"};
    found.gpus.resize(request.count);
    grant.devices = std::move(found.gpus);
    grant.devices.insert(grant.devices.end(), found.shared.begin(), found.shared.end());
  }
  if (request.sharing == gpu_sharing::mps)
    if (auto error = share_by_mps(request, grant))
      return std::move(*error);
  return grant;
}

} // namespace nv::oci
