#pragma once

#include <CLI/CLI.hpp>

namespace nv {

// `nodevisor validate SPEC`: 0 when valid (warnings on stderr), 2 with one line per problem.
void add_validate_command(CLI::App& app);

} // namespace nv
