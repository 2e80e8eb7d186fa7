#include "app/validate_command.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "app/cli.hpp"
#include "app/verbs.hpp"
#include "spec/effective_spec.hpp"
#include "spec/loader.hpp"
#include "spec/runnable.hpp"

namespace nv {

namespace {

constexpr std::string_view stdin_name = "<stdin>";

struct validate_options {
  std::vector<std::string> files;
  bool print = false;
};

// Bounded like load_spec_file: stdin may be a pipe that never ends.
spec::load_result load_stdin() {
  std::string text;
  char buffer[64 * 1024];
  while (text.size() <= spec::max_spec_bytes) {
    auto n = std::fread(buffer, 1, sizeof buffer, stdin);
    text.append(buffer, n);
    if (n < sizeof buffer)
      break;
  }
  if (std::ferror(stdin)) {
    spec::load_result failed;
    failed.problems.push_back(
        {std::string{stdin_name}, "", std::string{"cannot read: "} + std::strerror(errno)});
    return failed;
  }
  // Larger than the limit: the loader refuses it unread, with its own message.
  return spec::load_spec_string(text, stdin_name);
}

std::string shown_name(const std::string& file) {
  return file == "-" ? std::string{stdin_name} : file;
}

// Loads one file ("-": stdin) as `run` would, and adds what only the environment decides.
spec::load_result check(const std::string& file) {
  auto result = file == "-" ? load_stdin() : spec::load_spec_file(file);
  if (result.spec)
    for (auto& p :
         spec::unset_env_references(*result.spec, shown_name(file), spec::severity::warning))
      result.problems.push_back(std::move(p));
  return result;
}

int validate(const validate_options& opts) {
  if (opts.print && opts.files.size() > 1) {
    std::fprintf(stderr, "nodevisor validate: --print takes one SPEC, got %zu\n",
                 opts.files.size());
    return 2;
  }
  int code = 0;
  for (const auto& file : opts.files) {
    auto result = check(file);
    for (auto& p : result.problems)
      std::fprintf(stderr, "%s\n", spec::to_string(p).c_str());
    if (!result.spec) {
      code = 2;
      continue;
    }
    if (opts.print)
      std::fputs(spec::effective_spec_json(*result.spec).c_str(), stdout);
    else
      std::printf("%s: valid (%zu services)\n", shown_name(file).c_str(),
                  result.spec->services.size());
  }
  return code;
}

} // namespace

void add_validate_command(CLI::App& app) {
  auto opts = std::make_shared<validate_options>();
  auto* cmd = app.add_subcommand("validate", summary_of("validate"));
  cmd->add_option("SPEC", opts->files,
                  "Deployment specs (ZLayer's format, YAML or JSON); - reads one from stdin")
      ->required()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_flag("--print", opts->print,
                "Print the effective spec, every default filled in, as JSON (which validate and "
                "run read back), instead of 'valid'");
  on_parsed(cmd, [opts] { return validate(*opts); });
}

} // namespace nv
