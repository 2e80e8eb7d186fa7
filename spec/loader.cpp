#include "spec/loader.hpp"

#include <cerrno>
#include <cstring>
#include <exception>
#include <fstream>

#include "spec/dependency_graph.hpp"
#include "spec/document.hpp"
#include "spec/field_reader.hpp"
#include "spec/replica_port.hpp"
#include "spec/runnable.hpp"
#include "spec/spec_reader.hpp"

namespace nv::spec {

namespace {

bool looks_like_json(std::string_view text, std::string_view file_name) {
  if (file_name.ends_with(".json"))
    return true;
  if (text.starts_with("\xEF\xBB\xBF")) // UTF-8 byte order mark
    text.remove_prefix(3);
  auto first = text.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && text[first] == '{';
}

std::string too_large() {
  return "the file is larger than " + std::to_string(max_spec_bytes) + " bytes";
}

load_result whole_file_problem(std::string file, std::string message) {
  load_result result;
  result.problems.push_back({std::move(file), "", std::move(message)});
  return result;
}

load_result load(std::string_view text, std::string file, spec_format format) {
  if (text.size() > max_spec_bytes)
    return whole_file_problem(std::move(file), too_large());
  if (format == spec_format::auto_detect)
    format = looks_like_json(text, file) ? spec_format::json : spec_format::yaml;
  reader r;
  r.file = std::move(file);
  auto root = format == spec_format::json ? parse_json(text, r.file, r.problems)
                                          : parse_yaml(text, r.file, r.problems);
  load_result result;
  if (root) {
    auto spec = read_deployment(r, *root);
    check_dependencies(spec, r);
    check_runnable(spec, r);
    // Only on a spec read without errors: a tcp port that failed to read is 0 here, which
    // would read as "the replica's own port" and give a misleading second error.
    if (!has_errors(r.problems))
      check_replica_ports(spec, r);
    r.finish();
    if (!has_errors(r.problems))
      result.spec = std::move(spec);
  }
  result.problems = std::move(r.problems);
  return result;
}

} // namespace

load_result load_spec_string(std::string_view text, std::string_view file_name_for_messages,
                             spec_format format) {
  try {
    return load(text, std::string{file_name_for_messages}, format);
  } catch (const std::exception& e) { // std::bad_alloc, in practice
    return whole_file_problem(std::string{file_name_for_messages},
                              std::string{"cannot load the spec: "} + e.what());
  }
}

load_result load_spec_file(const std::filesystem::path& path) {
  auto file = path.string();
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return whole_file_problem(file, "cannot read the file: it is a directory");
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return whole_file_problem(file, std::string{"cannot read the file: "} + std::strerror(errno));
  // Read in bounded steps: the path may name a device or a pipe that never ends.
  std::string text;
  char buffer[64 * 1024];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_spec_bytes)
      return whole_file_problem(file, too_large());
  }
  if (in.bad())
    return whole_file_problem(file, std::string{"cannot read the file: "} + std::strerror(errno));
  return load_spec_string(text, file, spec_format::auto_detect);
}

} // namespace nv::spec
