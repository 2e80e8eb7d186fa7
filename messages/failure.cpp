#include "messages/failure.hpp"

#include <chrono>

namespace nv {

int64_t now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

std::string service_of(const std::string& path) {
  // "/deployment/service/..." : the part after the second slash.
  auto first = path.find('/', 1);
  if (path.empty() || path[0] != '/' || first == std::string::npos)
    return path;
  auto end = path.find('/', first + 1);
  return path.substr(first + 1, end == std::string::npos ? std::string::npos : end - first - 1);
}

std::string describe(const failure& f) {
  auto text = to_string(f.error);
  if (!f.because_path.empty())
    text += " because " + service_of(f.because_path) + ": " + to_string(f.because_error);
  return text;
}

} // namespace nv
