// The command check: does `sh -c command` exit 0 within the timeout?
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "actors/checks/check_bounds.hpp"

namespace nv {

// Runs `sh -c command` in its own process group with exactly `env` ("NAME=value" entries, the
// complete environment; `sh` itself is found in the daemon's PATH) in `workdir` (empty: the
// daemon's). stdin is /dev/null; stdout and stderr are captured, the last 4 KiB kept. Fails with
// "exit code 3: <last output line>", a spawn error, or `Timeout after <timeout>` at the
// deadline, when the whole group is killed. Background processes the command leaves behind are
// not waited for. Blocks its thread: for check_runner's workers.
check_result run_shell(const std::string& command, const std::vector<std::string>& env,
                       const std::string& workdir, const check_bounds& bounds);

// "exit code 3: <the last non-empty line of output>", or "exit code 3" when there is none. The
// code follows the shell convention: 128 + signal for a process killed by a signal.
std::string exit_code_reason(int32_t code, std::string_view output);

} // namespace nv
