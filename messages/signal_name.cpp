#include "messages/signal_name.hpp"

#include <csignal>
#include <cstring>

namespace nv {

std::string signal_name(int signal) {
  if (const char* abbrev = ::sigabbrev_np(signal))
    return std::string{"SIG"} + abbrev;
  if (signal >= SIGRTMIN && signal <= SIGRTMAX)
    return "SIGRTMIN+" + std::to_string(signal - SIGRTMIN);
  return std::to_string(signal);
}

} // namespace nv
