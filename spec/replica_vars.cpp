#include "spec/replica_vars.hpp"

namespace nv::spec {

namespace {

constexpr std::string_view open_mark = "${NODEVISOR_";

} // namespace

uint16_t replica_port(uint16_t base, uint32_t replica) {
  return static_cast<uint16_t>(base + replica - 1);
}

std::vector<std::string> nodevisor_references(std::string_view text) {
  std::vector<std::string> out;
  for (auto at = text.find(open_mark); at != std::string_view::npos;
       at = text.find(open_mark, at + 1)) {
    auto end = text.find('}', at);
    if (end == std::string_view::npos)
      end = text.size(); // unterminated: the name is what follows, reported as unknown
    out.emplace_back(text.substr(at + 2, end - at - 2));
  }
  return out;
}

bool is_replica_variable(std::string_view name) {
  return name == "NODEVISOR_PORT" || name == "NODEVISOR_REPLICA";
}

std::string expand_replica_variables(std::string_view text, const replica_values& values) {
  std::string out;
  out.reserve(text.size());
  std::size_t from = 0;
  for (auto at = text.find(open_mark); at != std::string_view::npos;
       at = text.find(open_mark, at + 1)) {
    auto end = text.find('}', at);
    if (end == std::string_view::npos)
      break;
    auto name = text.substr(at + 2, end - at - 2);
    std::optional<std::string> value;
    if (name == "NODEVISOR_REPLICA")
      value = std::to_string(values.replica);
    else if (name == "NODEVISOR_PORT" && values.port)
      value = std::to_string(*values.port);
    if (!value)
      continue;
    out.append(text.substr(from, at - from));
    out += *value;
    from = end + 1;
  }
  out.append(text.substr(from));
  return out;
}

} // namespace nv::spec
