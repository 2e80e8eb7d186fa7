// `nodevisor daemon`: the long-lived node with its control API and durable desired state
// (design.md §8).
#pragma once

#include <CLI/CLI.hpp>

namespace nv {

void add_daemon_command(CLI::App& app);

} // namespace nv
