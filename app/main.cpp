// nodevisor: supervises containers the way Erlang/OTP supervises processes.
//
// `run`, `validate` and `trace` are here; the node's verbs (the daemon and its clients) are in
// nodevisor-node next to this executable, which takes over the process for them
// (app/node_verbs.hpp).
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <unistd.h>

#include "app/cli_main.hpp"
#include "app/node_verbs.hpp"
#include "app/run_command.hpp"
#include "app/trace_command.hpp"
#include "app/validate_command.hpp"

namespace {

// Replaces this process with nodevisor-node and the same arguments: the pid stays, so a
// `nodevisor daemon` under systemd is still the unit's main process. Returns only on failure.
int exec_node(char** argv) {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const auto node = (ec ? std::filesystem::path{argv[0]} : self).parent_path() / "nodevisor-node";
  ::execv(node.c_str(), argv);
  std::fprintf(stderr,
               "nodevisor %s: cannot run %s: %s\nThe daemon and its client verbs live in "
               "nodevisor-node, installed next to nodevisor.\n",
               argv[1], node.c_str(), std::strerror(errno));
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  if (argc > 1 && !nv::node_verb_summary(argv[1]).empty())
    return exec_node(argv);
  CLI::App app{"Supervises containers the way Erlang/OTP supervises processes.", "nodevisor"};
  nv::set_up_cli(app);
  nv::add_run_command(app);
  nv::add_validate_command(app);
  nv::add_trace_command(app);
  // Listed in --help; a command line that names one never gets here.
  for (const auto& v : nv::node_verbs)
    app.add_subcommand(std::string{v.name}, std::string{v.summary})->allow_extras();
  return nv::run_cli(app, argc, argv);
}
