// Loading a deployment spec (design.md §5) from YAML or JSON: same schema, same messages.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

#include "spec/deployment_spec.hpp"
#include "spec/problem.hpp"

namespace nv::spec {

enum class spec_format : uint8_t {
  auto_detect, // JSON when the file name ends in .json or the text starts with '{'; else YAML
  yaml,
  json,
};

struct load_result {
  std::optional<deployment_spec> spec; // set only when no problem is an error
  std::vector<problem> problems;       // errors and warnings, in the order found
};

// Larger input is rejected unread; a spec is a few kilobytes.
inline constexpr std::size_t max_spec_bytes = 4 * 1024 * 1024;

// Never throws: unreadable files, syntax errors and schema errors all become problems.
load_result load_spec_file(const std::filesystem::path& path);
load_result load_spec_string(std::string_view text, std::string_view file_name_for_messages,
                             spec_format format = spec_format::auto_detect);

} // namespace nv::spec
