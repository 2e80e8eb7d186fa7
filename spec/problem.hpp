// One finding of the spec loader. Loading reports every problem it finds, not only the first.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nv::spec {

enum class severity : uint8_t { error, warning };

struct problem {
  std::string file;
  std::string path; // field path, e.g. "services.api.health.interval"; empty: the whole file
  std::string message;
  severity level = severity::error;
  // 1-based position in the file; 0 when unknown. Not printed for field problems, whose path
  // already says where (design.md §5: file, field path, what was expected).
  uint32_t line = 0;
  uint32_t column = 0;
  bool operator==(const problem&) const = default;
};

// "FILE: services.api.health.interval: expected a duration such as 10s, got \"ten\"";
// warnings say "warning: " before the message; a problem without a path gives its position
// instead ("FILE:3:7: ...") when it is known.
std::string to_string(const problem& p);

bool has_errors(const std::vector<problem>& problems);

} // namespace nv::spec
