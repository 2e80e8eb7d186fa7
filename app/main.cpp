// nodevisor: supervises containers the way Erlang/OTP supervises processes.
#include <cstdio>
#include <cstring>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "app/run_command.hpp"
#include "app/trace_command.hpp"
#include "app/validate_command.hpp"

namespace {

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: nodevisor run SPEC [--runtime process|sim] [--trace FILE] "
               "[--until healthy] [--timeout DUR] [--log-level L] [--log-dir DIR]\n"
               "       nodevisor validate SPEC\n"
               "%s",
               nv::trace_usage());
}

} // namespace

int main(int argc, char** argv) {
  // Logs go to stderr; stdout carries only the CLI's own output.
  spdlog::set_default_logger(spdlog::stderr_color_mt("nodevisor"));
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (!std::strcmp(argv[1], "run"))
    return nv::run_command(argc - 2, argv + 2);
  if (!std::strcmp(argv[1], "validate"))
    return nv::validate_command(argc - 2, argv + 2);
  if (!std::strcmp(argv[1], "trace"))
    return nv::trace_command(argc - 2, argv + 2);
  if (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "help")) {
    usage(stdout);
    return 0;
  }
  std::fprintf(stderr, "nodevisor: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
