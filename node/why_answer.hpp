// GET /api/v1/why?actor=PATH: `nodevisor trace why` over the daemon's own trace, as JSON: the
// chain of trace events behind the actor's last failure, first cause first.
#pragma once

#include <filesystem>
#include <string>

#include "node/api_answer.hpp"

namespace nv {

// {"actor": the resolved path, "chain": [trace events, as the file has them],
//  "missing_cause": seq the walk stopped at (only when the file no longer holds it)}.
// 404 when no actor matches or the actor never failed, 400 when the name is ambiguous.
api_answer why_answer(const std::filesystem::path& trace_file, const std::string& actor);

} // namespace nv
