#include "app/validate_command.hpp"

#include <cstdio>

#include "spec/loader.hpp"

namespace nv {

int validate_command(int argc, char** argv) {
  if (argc != 1) {
    std::fprintf(stderr, "usage: nodevisor validate SPEC\n");
    return 2;
  }
  auto result = spec::load_spec_file(argv[0]);
  for (auto& p : result.problems)
    std::fprintf(stderr, "%s\n", spec::to_string(p).c_str());
  if (!result.spec)
    return 2;
  std::printf("%s: valid (%zu services)\n", argv[0], result.spec->services.size());
  return 0;
}

} // namespace nv
