// Helpers shared by the spec loader's tests.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "spec/loader.hpp"

namespace nv::spec::test {

inline load_result load_yaml(std::string_view text) {
  return load_spec_string(text, "spec.yaml", spec_format::yaml);
}

inline load_result load_json(std::string_view text) {
  return load_spec_string(text, "spec.json", spec_format::json);
}

// Every problem as the CLI prints it.
inline std::vector<std::string> printed(const load_result& result) {
  std::vector<std::string> out;
  for (const auto& p : result.problems)
    out.push_back(to_string(p));
  return out;
}

// A fresh directory per test, removed afterwards, for tests that load real files.
class temp_dir {
public:
  temp_dir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("nv-spec-" + std::to_string(::getpid()) + "-" + info->name());
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  std::filesystem::path write(const std::string& name, std::string_view text) const {
    auto file = path_ / name;
    std::ofstream{file, std::ios::binary} << text;
    return file;
  }

private:
  std::filesystem::path path_;
};

// The smallest valid spec; tests add to it.
inline constexpr std::string_view minimal_yaml = R"(version: v1
deployment: web-stack
services:
  api:
    image:
      name: api:latest
)";

} // namespace nv::spec::test
