#include "app/cli_main.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace nv {

void set_up_cli(CLI::App& app) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("nodevisor"));
  cli_conventions(app);
}

} // namespace nv
