// What a container that asks for GPUs (`resources.gpu`) gets from this node, design §11: the
// device nodes, the mounts and the environment that its config.json is given, or the seed's error
// that says why this node cannot give them. All of these are permanent (design §3): a node does
// not grow a GPU, a WSL2 driver or an MPS daemon between two restarts.
//
// What is found is what the kernel shows: /dev/nvidia<N> (with nvidiactl and the uvm devices),
// /dev/kfd with /dev/dri's render nodes for AMD, the render nodes for Intel, /dev/dxg on a WSL2
// kernel. The driver's user-space libraries are the image's to bring (or NVIDIA's container
// toolkit's, which nodevisor does not run); on WSL2 the host's /usr/lib/wsl is mounted, since
// Windows puts them there and nowhere else.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "messages/agent_error.hpp"
#include "messages/container_spec.hpp"

namespace nv::oci {

// Where the checks look. A test points them at a directory of its own, so that a WSL2 kernel,
// an MPS daemon or a GPU that this machine does not have is tested for real.
struct gpu_host {
  std::string proc_version = "/proc/version";
  std::string dev = "/dev";
  std::string wsl_lib = "/usr/lib/wsl";
};

struct granted_device {
  std::string host_path; // under gpu_host::dev
  std::string path;      // in the container, under /dev
  int64_t major = 0;
  int64_t minor = 0;
  uint32_t mode = 0666;
  bool operator==(const granted_device&) const = default;
};

struct bind_mount {
  std::string source;
  std::string destination;
  bool read_only = false;
  bool operator==(const bind_mount&) const = default;
};

struct gpu_grant {
  std::vector<granted_device> devices;
  std::vector<bind_mount> mounts;
  std::vector<std::pair<std::string, std::string>> env;
  bool operator==(const gpu_grant&) const = default;
};

// What `replica` (its id, for the messages) gets for `request` on `host`, or why it gets nothing:
// WslGpuUnavailable, GpuSharingUnavailable, or Unsupported naming what this node lacks.
std::variant<gpu_grant, AgentError> grant_gpus(const gpu_request& request, const gpu_host& host,
                                               const std::string& replica);

} // namespace nv::oci
