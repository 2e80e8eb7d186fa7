// A signal's name as the trace (design §7) and the status show it: "SIGKILL".
#pragma once

#include <string>

namespace nv {

// "SIGKILL", "SIGRTMIN+2"; the number as text for one the C library has no name for.
std::string signal_name(int signal);

} // namespace nv
