#include "app/validate_command.hpp"

#include <cstdio>
#include <memory>
#include <string>

#include "app/cli.hpp"
#include "spec/loader.hpp"

namespace nv {

namespace {

int validate(const std::string& spec_file) {
  auto result = spec::load_spec_file(spec_file);
  for (auto& p : result.problems)
    std::fprintf(stderr, "%s\n", spec::to_string(p).c_str());
  if (!result.spec)
    return 2;
  std::printf("%s: valid (%zu services)\n", spec_file.c_str(), result.spec->services.size());
  return 0;
}

} // namespace

void add_validate_command(CLI::App& app) {
  auto spec_file = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "validate", "Check a deployment spec: exit 0 when valid, 2 with one line per problem");
  cmd->add_option("SPEC", *spec_file, "The deployment spec (ZLayer's format, YAML or JSON)")
      ->required();
  on_parsed(cmd, [spec_file] { return validate(*spec_file); });
}

} // namespace nv
