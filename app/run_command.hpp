#pragma once

namespace nv {

// `nodevisor run SPEC [--runtime process|sim] [--trace FILE] [--until healthy]
//                     [--timeout DUR] [--log-level L] [--log-dir DIR]`
int run_command(int argc, char** argv);

} // namespace nv
