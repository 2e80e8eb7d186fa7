// This machine's architecture by OCI's name (amd64, arm64, …), as images and nodes state theirs.
#pragma once

#include <string>

namespace nv {

// From uname's machine: x86_64 is amd64, aarch64 arm64, i686 386, armv7l arm; others as the
// kernel names them.
std::string machine_arch();

} // namespace nv
