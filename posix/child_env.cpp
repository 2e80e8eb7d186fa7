#include "posix/child_env.hpp"

#include <algorithm>

namespace nv {

namespace {

void set_var(std::vector<std::string>& env, std::string_view name, std::string_view value) {
  std::string entry;
  entry.reserve(name.size() + 1 + value.size());
  entry.append(name).append("=").append(value);
  auto same_name = [&](const std::string& e) {
    return e.size() > name.size() && e[name.size()] == '=' && e.starts_with(name);
  };
  // Linear: environments have tens of entries, and this runs once per spawn.
  if (auto it = std::find_if(env.begin(), env.end(), same_name); it != env.end())
    *it = std::move(entry);
  else
    env.push_back(std::move(entry));
}

// The value of `name` in `base`, or nullptr.
const char* find_var(const char* const* base, std::string_view name) {
  for (auto p = base; p != nullptr && *p != nullptr; ++p) {
    std::string_view entry{*p};
    if (entry.size() > name.size() && entry[name.size()] == '=' && entry.starts_with(name))
      return *p + name.size() + 1;
  }
  return nullptr;
}

} // namespace

std::vector<std::string> child_environment(const container_spec& spec, const char* const* base,
                                           std::string_view home) {
  std::vector<std::string> env;
  set_var(env, "PATH", default_child_path);
  if (!home.empty())
    set_var(env, "HOME", home);
  // The operator's language is not a secret, and messages in it are what they read.
  const char* lang = find_var(base, "LANG");
  set_var(env, "LANG", lang != nullptr && *lang != '\0' ? lang : "C.UTF-8");
  for (const auto& [name, value] : spec.env)
    set_var(env, name, value);
  set_var(env, "NODEVISOR_DEPLOYMENT", spec.deployment);
  set_var(env, "NODEVISOR_SERVICE", spec.service);
  set_var(env, "NODEVISOR_REPLICA", std::to_string(spec.replica));
  return env;
}

} // namespace nv
