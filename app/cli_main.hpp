// What every executable's main() does around its subcommands: the conventions of the command
// line (usage errors exit 2 naming the command, an option given twice takes its last value,
// --version) and the parse. Header-only, for the launcher, which links nothing else.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace nv {

// "nodevisor trace tree: what was wrong", and how to ask that command for its usage.
inline std::string usage_error(const CLI::App* app, const CLI::Error& e) {
  std::string command = app->get_name();
  for (auto chain = app->get_subcommands(); !chain.empty();
       chain = chain.front()->get_subcommands())
    command += " " + chain.front()->get_name();
  return command + ": " + e.what() + "\nRun '" + command + " --help' for usage.\n";
}

inline void cli_conventions(CLI::App& app) {
  app.set_version_flag("--version", "nodevisor " NODEVISOR_VERSION);
  app.require_subcommand(1);
  app.failure_message(usage_error);
  // An option given twice takes its last value, as a wrapper's defaults followed by the user's
  // own expect (and as nodevisor's parsers before CLI11 did).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
}

// Logs to stderr (stdout carries only the CLI's own output), and the conventions.
void set_up_cli(CLI::App& app);

// Parses and runs the subcommand: its exit code, 0 after --help and --version, 2 on a usage
// error.
inline int run_cli(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and --version print to stdout and exit 0. A command's own exit code arrives as a
    // RuntimeError; every usage error exits 2, whichever number CLI11 gives its kind.
    const int code = app.exit(e);
    return code == 0 || e.get_name() == "RuntimeError" ? code : 2;
  }
  return 0;
}

} // namespace nv
