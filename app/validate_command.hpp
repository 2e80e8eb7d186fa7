#pragma once

namespace nv {

// `nodevisor validate SPEC`: 0 when valid (warnings on stderr), 2 with one line per problem.
int validate_command(int argc, char** argv);

} // namespace nv
