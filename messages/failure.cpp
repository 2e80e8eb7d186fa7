#include "messages/failure.hpp"

#include <chrono>

namespace nv {

int64_t now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

} // namespace nv
