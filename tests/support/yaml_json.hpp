// A YAML document as JSON, for test data written in YAML (ZLayer's OpenAPI description).
#pragma once

#include <filesystem>
#include <string_view>

#include <nlohmann/json.hpp>

namespace nv::test {

// Plain scalars take YAML 1.2's core schema (null, true/false, integers, floats), quoted ones stay
// strings, mapping keys are strings. Throws std::runtime_error naming the line on a YAML error or
// on a non-scalar mapping key.
nlohmann::json yaml_to_json(std::string_view text);
nlohmann::json yaml_file_to_json(const std::filesystem::path& file);

} // namespace nv::test
