// Actor paths (design §1): "/" is the node, "/web-stack" a deployment, "/web-stack/api/api-rep-1"
// a replica. A path names an actor in logs, failures and the trace; its parent is its prefix.
#pragma once

#include <string>
#include <string_view>

namespace nv {

// Path of a child named `id` under `parent_path`.
inline std::string child_path(const std::string& parent_path, const std::string& id) {
  if (parent_path.empty() || parent_path == "/")
    return "/" + id;
  return parent_path + "/" + id;
}

// Path of the actor that spawned `path`: a prefix of it, so no string is built.
inline std::string_view parent_path_of(std::string_view path) {
  auto slash = path.rfind('/');
  if (slash == std::string_view::npos || slash == 0)
    return "/";
  return path.substr(0, slash);
}

} // namespace nv
