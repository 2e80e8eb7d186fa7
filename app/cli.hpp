#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace nv {

// Makes `command` what `sub` does once the whole command line has parsed. A non-zero exit code
// leaves through CLI::RuntimeError, CLI11's way out of a callback, for main to return.
inline void on_parsed(CLI::App* sub, std::function<int()> command) {
  sub->callback([command = std::move(command)] {
    if (const int code = command())
      throw CLI::RuntimeError{code};
  });
}

} // namespace nv
