#include "posix/child_env.hpp"

#include <algorithm>
#include <string_view>

namespace nv {

namespace {

void set_var(std::vector<std::string>& env, std::string_view name, std::string_view value) {
  std::string entry;
  entry.reserve(name.size() + 1 + value.size());
  entry.append(name).append("=").append(value);
  auto same_name = [&](const std::string& e) {
    return e.size() > name.size() && e[name.size()] == '=' && e.starts_with(name);
  };
  // Linear: environments have tens of entries, and this runs once per create.
  if (auto it = std::find_if(env.begin(), env.end(), same_name); it != env.end())
    *it = std::move(entry);
  else
    env.push_back(std::move(entry));
}

} // namespace

std::vector<std::string> child_environment(const container_spec& spec, const char* const* base) {
  std::vector<std::string> env;
  for (auto p = base; p != nullptr && *p != nullptr; ++p)
    env.emplace_back(*p);
  for (const auto& [name, value] : spec.env)
    set_var(env, name, value);
  set_var(env, "NODEVISOR_DEPLOYMENT", spec.deployment);
  set_var(env, "NODEVISOR_SERVICE", spec.service);
  set_var(env, "NODEVISOR_REPLICA", std::to_string(spec.replica));
  return env;
}

} // namespace nv
