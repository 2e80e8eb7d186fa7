// nodevisor-node: the daemon and its client verbs (design.md §8), which the `nodevisor` launcher
// execs with its own arguments (app/verbs.hpp).
#include "app/cli_main.hpp"
#include "app/client/client_commands.hpp"
#include "app/daemon_command.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Supervises containers the way Erlang/OTP supervises processes.", "nodevisor"};
  nv::set_up_cli(app);
  nv::add_daemon_command(app);
  nv::add_client_commands(app);
  return nv::run_cli(app, argc, argv);
}
