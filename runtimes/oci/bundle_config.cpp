#include "runtimes/oci/bundle_config.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>

#include "posix/user.hpp"

namespace nv::oci {

namespace {

// Field `want` (0-based) of the line of a passwd or group file whose first field is `name`.
std::optional<uint32_t> lookup(const std::string& file, const std::string& name, int want) {
  std::ifstream in{file};
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string_view> fields;
    std::string_view rest{line};
    for (std::size_t at; (at = rest.find(':')) != std::string_view::npos;
         rest.remove_prefix(at + 1))
      fields.push_back(rest.substr(0, at));
    fields.push_back(rest);
    if (fields.size() > static_cast<std::size_t>(want) && fields[0] == name)
      return as_id(fields[static_cast<std::size_t>(want)]);
  }
  return std::nullopt;
}

// docker's user forms, resolved in the image's own files: the host's users mean nothing there.
std::string set_user(nlohmann::json& user, const std::string& spec_user, const std::string& root) {
  auto colon = spec_user.find(':');
  std::string who = spec_user.substr(0, colon);
  std::string group = colon == std::string::npos ? "" : spec_user.substr(colon + 1);
  auto uid = as_id(who);
  if (!uid)
    uid = lookup(root + "/etc/passwd", who, 2);
  if (!uid)
    return "user: no user '" + who + "' in the image's /etc/passwd";
  std::optional<uint32_t> gid;
  if (!group.empty()) {
    gid = as_id(group);
    if (!gid)
      gid = lookup(root + "/etc/group", group, 2);
    if (!gid)
      return "user: no group '" + group + "' in the image's /etc/group";
  } else if (!as_id(who)) {
    gid = lookup(root + "/etc/passwd", who, 3);
  }
  user["uid"] = *uid;
  user["gid"] = gid.value_or(0);
  return {};
}

void set_env(nlohmann::json& env, const std::string& name, const std::string& value) {
  auto prefix = name + "=";
  auto& list = env.get_ref<nlohmann::json::array_t&>();
  list.erase(std::remove_if(list.begin(), list.end(),
                            [&prefix](const nlohmann::json& e) {
                              return e.is_string() &&
                                     e.get_ref<const std::string&>().starts_with(prefix);
                            }),
             list.end());
  list.emplace_back(prefix + value);
}

void bind_host_file(nlohmann::json& mounts, const std::string& path) {
  if (!std::filesystem::exists(path))
    return;
  for (const auto& m : mounts)
    if (m.value("destination", "") == path)
      return;
  mounts.push_back({{"destination", path},
                    {"type", "bind"},
                    {"source", path},
                    {"options", {"rbind", "ro", "nosuid", "nodev", "noexec"}}});
}

// The device in the container and in its device cgroup, which denies every device not allowed.
void grant_device(nlohmann::json& linux_, const granted_device& d) {
  linux_["devices"].push_back({{"path", d.path},
                               {"type", "c"},
                               {"major", d.major},
                               {"minor", d.minor},
                               {"fileMode", d.mode},
                               {"uid", 0},
                               {"gid", 0}});
  linux_["resources"]["devices"].push_back(
      {{"allow", true}, {"type", "c"}, {"major", d.major}, {"minor", d.minor}, {"access", "rwm"}});
}

} // namespace

std::string apply_spec(nlohmann::json& config, const container_spec& spec,
                       const bundle_options& options) {
  auto& process = config["process"];
  // runc would hand the container a terminal of ours; its output goes to the keeper's pipe.
  process["terminal"] = false;
  if (!spec.command.empty())
    process["args"] = spec.command;
  if (!process.contains("args") || process["args"].empty())
    return "command: the image names no entrypoint or cmd, and the spec gives no "
           "command.entrypoint";
  if (spec.init_process) {
    if (options.init.empty())
      return "init: no init binary on this node";
    auto args = nlohmann::json::array({"/dev/init", "--"});
    for (auto& arg : process["args"])
      args.push_back(arg);
    process["args"] = std::move(args);
    // /dev is the container's own tmpfs: the image is not touched.
    config["mounts"].push_back({{"destination", "/dev/init"},
                                {"type", "bind"},
                                {"source", options.init},
                                {"options", {"bind", "ro", "nosuid", "nodev"}}});
  }
  if (!process["env"].is_array())
    process["env"] = nlohmann::json::array();
  for (const auto& [k, v] : spec.env)
    set_env(process["env"], k, v);
  set_env(process["env"], "NODEVISOR_DEPLOYMENT", spec.deployment);
  set_env(process["env"], "NODEVISOR_SERVICE", spec.service);
  set_env(process["env"], "NODEVISOR_REPLICA", std::to_string(spec.replica));
  if (!spec.workdir.empty())
    process["cwd"] = spec.workdir;
  if (!spec.user.empty())
    if (auto error = set_user(process["user"], spec.user, options.rootfs); !error.empty())
      return error;
  config["hostname"] = spec.id;

  auto& linux_ = config["linux"];
  // The host's network (a network of its own is later work, design §11).
  auto& namespaces = linux_["namespaces"].get_ref<nlohmann::json::array_t&>();
  namespaces.erase(
      std::remove_if(namespaces.begin(), namespaces.end(),
                     [](const nlohmann::json& n) { return n.value("type", "") == "network"; }),
      namespaces.end());
  linux_["cgroupsPath"] = options.cgroups_path;
  auto& resources = linux_["resources"];
  if (spec.memory)
    resources["memory"]["limit"] = *spec.memory;
  if (spec.cpu) {
    constexpr uint64_t period = 100000; // µs, the kernel's default CFS period
    resources["cpu"]["period"] = period;
    resources["cpu"]["quota"] =
        static_cast<int64_t>(std::max(1000.0, *spec.cpu * static_cast<double>(period)));
  }
  auto& mounts = config["mounts"];
  bind_host_file(mounts, "/etc/resolv.conf");
  bind_host_file(mounts, "/etc/hosts");
  for (const auto& device : options.gpus.devices)
    grant_device(linux_, device);
  for (const auto& m : options.gpus.mounts) {
    nlohmann::json flags = {"rbind", m.read_only ? "ro" : "rw", "nosuid", "nodev"};
    mounts.push_back({{"destination", m.destination},
                      {"type", "bind"},
                      {"source", m.source},
                      {"options", flags}});
  }
  for (const auto& [k, v] : options.gpus.env)
    set_env(process["env"], k, v);
  return {};
}

} // namespace nv::oci
