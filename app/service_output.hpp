// How `run` shows what a replica prints, as `docker compose up` does: `api-rep-2 | text`, the
// prefix padded to the longest replica id of the deployment and, on a terminal, coloured per
// service. The text is made printable: a workload cannot move the cursor or retitle the
// operator's terminal.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

#include "actors/plan.hpp"

namespace nv {

class service_output {
public:
  // `color`: stdout is a terminal and NO_COLOR is not set.
  service_output(const deployment_plan& plan, bool color);

  // The line to show for `line` of container `id`.
  std::string format(const std::string& id, std::string_view line) const;

private:
  std::unordered_map<std::string, std::string> prefixes_; // by container id, "api-rep-2  | "
  std::size_t width_ = 0;
};

// Colour on stdout: a terminal, and no NO_COLOR in the environment (whatever its value).
bool stdout_wants_color(bool stdout_is_tty);

} // namespace nv
