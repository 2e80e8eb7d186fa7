// nodevisor: supervises containers the way Erlang/OTP supervises processes.
//
// The launcher (app/verbs.hpp): it hands the command line to the executable that serves its verb,
// next to this one, and answers only --help, --version and usage errors itself.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <unistd.h>

#include "app/cli_main.hpp"
#include "app/verbs.hpp"

namespace {

// Replaces this process with `executable` and the same arguments: the pid stays, so a
// `nodevisor daemon` under systemd is still the unit's main process. Returns only on failure.
int exec_sibling(const char* executable, char** argv) {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const auto path = (ec ? std::filesystem::path{argv[0]} : self).parent_path() / executable;
  ::execv(path.c_str(), argv);
  std::fprintf(stderr,
               "nodevisor %s: cannot run %s: %s\nnodevisor runs its verbs from "
               "nodevisor-run and nodevisor-node, installed next to it.\n",
               argv[1], path.c_str(), std::strerror(errno));
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  if (argc > 1) {
    if (const nv::verb* v = nv::find_verb(argv[1]))
      return exec_sibling(v->home == nv::verb_home::run ? "nodevisor-run" : "nodevisor-node", argv);
    // CLI11 would only say that a subcommand is required.
    if (argv[1][0] != '-') {
      std::fprintf(stderr, "nodevisor: unknown command '%s'\nRun 'nodevisor --help' for usage.\n",
                   argv[1]);
      return 2;
    }
  }
  CLI::App app{"Supervises containers the way Erlang/OTP supervises processes.", "nodevisor"};
  nv::cli_conventions(app);
  for (const auto& v : nv::verbs)
    app.add_subcommand(std::string{v.name}, std::string{v.summary});
  return nv::run_cli(app, argc, argv); // --help, --version or a usage error: a verb is exec'd
}
