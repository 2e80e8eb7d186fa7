// A container's runtime config (the bundle's config.json): the one `umoci unpack` made from the
// image's config (entrypoint and cmd, env, workdir, user), with what the spec and the node
// decide on top, as design §11 lists: the spec's command, env, workdir and user; its cpu and
// memory as cgroup limits under the runtime's cgroup parent; its GPUs' devices, mounts and
// environment; an init as PID 1 when the spec asks (the host's, bind-mounted at /dev/init); the
// host's network; no terminal; the host's resolv.conf and hosts.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "messages/container_spec.hpp"
#include "runtimes/oci/gpu_devices.hpp"

namespace nv::oci {

struct bundle_options {
  std::string cgroups_path; // runc's linux.cgroupsPath for this container
  std::string rootfs;       // the unpacked root, for the user's names (its /etc/passwd, /etc/group)
  gpu_grant gpus;           // what the node gives for the spec's resources.gpu
  std::string init;         // the host's init binary (static), for the spec's init_process
};

// Changes `config` in place. Empty when it could; else what is wrong, naming the spec's field.
std::string apply_spec(nlohmann::json& config, const container_spec& spec,
                       const bundle_options& options);

} // namespace nv::oci
