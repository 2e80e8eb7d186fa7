// The CLI clients of the daemon (design.md §8 "CLI clients"): deploy, ps, logs, events, stop,
// start, rm, restart, scale, tree, why, node ls. Each asks the control API and prints the
// answer; exit codes 0 ok, 1 the operation failed, 2 invalid spec or usage, 3 unreachable or
// not permitted.
#pragma once

#include <CLI/CLI.hpp>

namespace nv {

void add_client_commands(CLI::App& app);

} // namespace nv
