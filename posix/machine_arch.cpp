#include "posix/machine_arch.hpp"

#include <sys/utsname.h>
#include <utility>

namespace nv {

std::string machine_arch() {
  utsname u{};
  ::uname(&u);
  const std::string machine = u.machine;
  for (auto [kernel, oci] :
       {std::pair{"x86_64", "amd64"}, {"aarch64", "arm64"}, {"i686", "386"}, {"armv7l", "arm"}})
    if (machine == kernel)
      return oci;
  return machine;
}

} // namespace nv
