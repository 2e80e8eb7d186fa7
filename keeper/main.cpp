// nodevisor-keeper: started by the process runtime, never by hand (keeper/keeper.hpp).
#include <CLI/CLI.hpp>

#include "keeper/keeper.hpp"

int main(int argc, char** argv) {
  CLI::App app{"nodevisor-keeper: holds a node's containers for the process runtime that starts "
               "it (design §9); not meant to be run by hand"};
  nv::keeper::options opts;
  auto* attach = app.add_option("--attach", opts.attach_fd,
                                "Attached mode: the connected socket inherited on this descriptor");
  auto* listen = app.add_option("--listen", opts.listen_path,
                                "Listening mode: the socket each new runtime connects to");
  attach->excludes(listen);
  app.add_option("--log-dir", opts.log_dir, "Where the containers' log files go");
  app.add_option("--cgroup", opts.cgroup_name, "Its cgroups: <freezer>/nodevisor/NAME")->required();
  CLI11_PARSE(app, argc, argv);
  if (opts.attach_fd < 0 && opts.listen_path.empty()) {
    std::fprintf(stderr, "nodevisor-keeper: --attach or --listen is required\n");
    return 2;
  }
  return nv::keeper::run(opts);
}
