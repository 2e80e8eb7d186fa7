// The command check: does `sh -c command` exit 0? Init steps' init.run uses it too.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "actors/checks/reactor.hpp"
#include "actors/checks/running_check.hpp"

namespace nv {

struct shell_request {
  std::string command;          // run with `sh -c`
  std::vector<std::string> env; // the complete environment, "NAME=value"
  std::string workdir;          // empty: the daemon's
};

// Spawns `sh -c command` in its own process group with exactly `env` (`sh` itself is found in
// the daemon's PATH) in `workdir`, and watches it on `r`: its exit through a pidfd, its stdout
// and stderr through a non-blocking pipe whose last 4 KiB are kept. stdin is /dev/null. Fails
// with "exit code 3: <last output line>" or a spawn error. Destroying it before the exit kills
// the whole group and reaps the process once it is dead, without waiting for it. Background
// processes the command leaves behind are not waited for.
std::unique_ptr<running_check> run_shell(reactor& r, const shell_request& request,
                                         check_finished done);

// "command 'pg_isready' exited 3: <the last non-empty line of output>", or without the line when
// there is none. The code follows the shell convention: 128 + signal for a process killed by a
// signal.
std::string exit_code_reason(const std::string& command, int32_t code, std::string_view output);

} // namespace nv
