// nodevisor-run: the verbs of nodevisor that need no daemon (run, validate, trace), which the
// `nodevisor` launcher execs with its own arguments (app/verbs.hpp).
#include "app/cli_main.hpp"
#include "app/run_command.hpp"
#include "app/trace_command.hpp"
#include "app/validate_command.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Supervises containers the way Erlang/OTP supervises processes.", "nodevisor"};
  nv::set_up_cli(app);
  nv::add_run_command(app);
  nv::add_validate_command(app);
  nv::add_trace_command(app);
  return nv::run_cli(app, argc, argv);
}
