// What both executables' main() do around their subcommands: the app's conventions (usage
// errors exit 2 naming the command, an option given twice takes its last value, --version) and
// the parse.
#pragma once

#include <CLI/CLI.hpp>

namespace nv {

// Logs to stderr (stdout carries only the CLI's own output) and the app's conventions.
void set_up_cli(CLI::App& app);

// Parses and runs the subcommand: its exit code, 0 after --help and --version, 2 on a usage
// error.
int run_cli(CLI::App& app, int argc, char** argv);

} // namespace nv
