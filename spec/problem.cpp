#include "spec/problem.hpp"

#include <algorithm>

namespace nv::spec {

std::string to_string(const problem& p) {
  std::string out = p.file;
  if (p.path.empty() && p.line > 0)
    out += ':' + std::to_string(p.line) + ':' + std::to_string(p.column);
  out += ": ";
  if (!p.path.empty())
    out += p.path + ": ";
  if (p.level == severity::warning)
    out += "warning: ";
  return out + p.message;
}

bool has_errors(const std::vector<problem>& problems) {
  return std::any_of(problems.begin(), problems.end(),
                     [](const problem& p) { return p.level == severity::error; });
}

} // namespace nv::spec
