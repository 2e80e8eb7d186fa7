#pragma once

#include <CLI/CLI.hpp>

namespace nv {

// `nodevisor run SPEC [--runtime process|oci|sim] [--state-dir DIR] [--trace FILE
//                     [--trace-messages]] [--until healthy] [--timeout DUR] [--log-level L]
//                     [--log-dir DIR]`
void add_run_command(CLI::App& app);

} // namespace nv
