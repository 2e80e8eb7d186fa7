#include "tests/support/yaml_json.hpp"

#include <cmath>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>

#include <yaml-cpp/yaml.h>

namespace nv::test {
namespace {

// YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution): what a plain scalar
// means. Everything else, a timestamp such as 2025-01-27 12:00:00+00:00 included, is a string.
nlohmann::json plain_scalar(const std::string& s) {
  static const std::regex null_re{"~|null|Null|NULL|"};
  static const std::regex true_re{"true|True|TRUE"};
  static const std::regex false_re{"false|False|FALSE"};
  static const std::regex decimal_re{"[-+]?[0-9]+"};
  static const std::regex octal_re{"0o[0-7]+"};
  static const std::regex hex_re{"0x[0-9a-fA-F]+"};
  static const std::regex float_re{"[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?"};
  static const std::regex inf_re{"[-+]?\\.(inf|Inf|INF)"};
  static const std::regex nan_re{"\\.(nan|NaN|NAN)"};
  if (std::regex_match(s, null_re))
    return nullptr;
  if (std::regex_match(s, true_re))
    return true;
  if (std::regex_match(s, false_re))
    return false;
  // Integers stay integers, 64-bit exact; one beyond 64 bits is a float, as JSON has it.
  if (std::regex_match(s, decimal_re)) {
    try {
      if (s[0] == '-')
        return std::stoll(s);
      return std::stoull(s);
    } catch (const std::out_of_range&) {
      return std::stod(s);
    }
  }
  if (std::regex_match(s, octal_re))
    return std::stoull(s.substr(2), nullptr, 8);
  if (std::regex_match(s, hex_re))
    return std::stoull(s.substr(2), nullptr, 16);
  if (std::regex_match(s, float_re))
    return std::stod(s);
  if (std::regex_match(s, inf_re))
    return s[0] == '-' ? -HUGE_VAL : HUGE_VAL;
  if (std::regex_match(s, nan_re))
    return NAN;
  return s;
}

nlohmann::json to_json(const YAML::Node& node) {
  switch (node.Type()) {
  case YAML::NodeType::Undefined:
  case YAML::NodeType::Null:
    return nullptr;
  case YAML::NodeType::Scalar:
    // yaml-cpp tags a plain scalar "?" and a quoted one "!".
    return node.Tag() == "?" ? plain_scalar(node.Scalar()) : nlohmann::json(node.Scalar());
  case YAML::NodeType::Sequence: {
    auto out = nlohmann::json::array();
    for (const auto& item : node)
      out.push_back(to_json(item));
    return out;
  }
  case YAML::NodeType::Map: {
    auto out = nlohmann::json::object();
    for (const auto& entry : node) {
      if (!entry.first.IsScalar())
        throw std::runtime_error("line " + std::to_string(entry.first.Mark().line + 1) +
                                 ": a mapping key that is not a scalar has no JSON form");
      out[entry.first.Scalar()] = to_json(entry.second);
    }
    return out;
  }
  }
  return nullptr;
}

} // namespace

nlohmann::json yaml_to_json(std::string_view text) {
  try {
    return to_json(YAML::Load(std::string{text}));
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(e.what());
  }
}

nlohmann::json yaml_file_to_json(const std::filesystem::path& file) {
  std::ifstream in{file};
  if (!in)
    throw std::runtime_error(file.string() + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return yaml_to_json(text.str());
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(file.string() + ": " + e.what());
  }
}

} // namespace nv::test
