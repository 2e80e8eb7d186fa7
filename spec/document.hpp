// A parsed spec file, whatever its syntax: YAML and JSON both become this tree, so that one
// walk (spec_reader.cpp) validates both with the same rules and the same messages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spec/problem.hpp"

namespace nv::spec {

struct node {
  // YAML's plain scalars are typed by the YAML 1.2 core schema; quoted ones are strings.
  enum class kind : uint8_t { null, boolean, integer, number, string, list, map };
  kind type = kind::null;
  std::string text;              // scalars: the value (numbers as written, strings unescaped)
  std::vector<node> items;       // list items, or map values
  std::vector<std::string> keys; // map: keys[i] names items[i], in file order
  uint32_t line = 0;             // 1-based; 0 when unknown
  uint32_t column = 0;
};

// Bounds for untrusted input: a spec is a few hundred values, nests about eight deep.
inline constexpr std::size_t max_document_depth = 64;
// Counts values after YAML alias expansion, so an alias bomb stops here.
inline constexpr std::size_t max_document_values = 100'000;

// nullopt: the text is not a readable document; `problems` says why (with line and column).
std::optional<node> parse_yaml(std::string_view text, const std::string& file,
                               std::vector<problem>& problems);
std::optional<node> parse_json(std::string_view text, const std::string& file,
                               std::vector<problem>& problems);

} // namespace nv::spec
