// Environment values: `$E:VAR` stands for nodevisor's own VAR, read once, when the deployment is
// planned (so the spec can name secrets without holding them); any other value is literal.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nv::spec {

using env_list = std::vector<std::pair<std::string, std::string>>;
using env_lookup = std::function<std::optional<std::string>(const std::string& name)>;

// VAR when `raw` is "$E:VAR" (VAR may be empty: the loader rejects that), else nullopt.
std::optional<std::string_view> env_reference(std::string_view raw);

// The daemon's environment (getenv).
std::optional<std::string> daemon_env(const std::string& name);

struct resolved_env {
  env_list vars;                    // in the spec's order, references replaced
  std::vector<std::string> missing; // referenced variables that are not set
};

// ZLayer fails a container whose `$E:` variable is unset; `missing` lets the caller do so.
resolved_env resolve_env(const env_list& env, const env_lookup& lookup = daemon_env);

} // namespace nv::spec
