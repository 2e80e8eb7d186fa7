#include "messages/digest.hpp"

#include <cstdint>
#include <cstdio>

namespace nv {

std::string text_digest(std::string_view text) {
  // The basis is FNV's with its last digit cut off, as the first keepers were told: changing it
  // would make every container an older daemon started look like another one.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text)
    h = (h ^ c) * 1099511628211ull;
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
  return out;
}

} // namespace nv
