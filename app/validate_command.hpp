#pragma once

#include <CLI/CLI.hpp>

namespace nv {

// `nodevisor validate SPEC...`: 0 when every spec is valid (warnings on stderr), 2 with one line
// per problem, each naming its file; `--print` shows the effective spec instead.
void add_validate_command(CLI::App& app);

} // namespace nv
