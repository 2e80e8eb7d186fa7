#include "spec/env.hpp"

#include <cstdlib>

namespace nv::spec {

std::optional<std::string_view> env_reference(std::string_view raw) {
  constexpr std::string_view prefix = "$E:";
  if (!raw.starts_with(prefix))
    return std::nullopt;
  return raw.substr(prefix.size());
}

std::optional<std::string> daemon_env(const std::string& name) {
  if (const char* value = std::getenv(name.c_str()))
    return std::string{value};
  return std::nullopt;
}

resolved_env resolve_env(const env_list& env, const env_lookup& lookup) {
  resolved_env out;
  for (const auto& [name, raw] : env) {
    auto reference = env_reference(raw);
    if (!reference) {
      out.vars.emplace_back(name, raw);
    } else if (auto value = lookup(std::string{*reference})) {
      out.vars.emplace_back(name, std::move(*value));
    } else {
      out.missing.emplace_back(*reference);
    }
  }
  return out;
}

} // namespace nv::spec
