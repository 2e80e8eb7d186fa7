#include "app/service_output.hpp"

#include <algorithm>
#include <cstdlib>

#include "messages/printable.hpp"

namespace nv {

namespace {

// compose's order: cyan, yellow, green, magenta, blue, then their bright forms.
constexpr const char* palette[] = {"36", "33", "32", "35", "34", "96", "93", "92", "95", "94"};

} // namespace

bool stdout_wants_color(bool stdout_is_tty) {
  return stdout_is_tty && std::getenv("NO_COLOR") == nullptr;
}

service_output::service_output(const deployment_plan& plan, bool color) {
  for (auto& s : plan.services)
    for (auto& r : s.replicas)
      width_ = std::max(width_, r->spec.id.size());
  std::size_t index = 0;
  for (auto& s : plan.services) {
    const char* code = palette[index++ % std::size(palette)];
    for (auto& r : s.replicas) {
      auto padded = r->spec.id + std::string(width_ - r->spec.id.size(), ' ') + " |";
      prefixes_[r->spec.id] =
          color ? std::string{"\x1b["} + code + "m" + padded + "\x1b[0m " : padded + " ";
    }
  }
}

std::string service_output::format(const std::string& id, std::string_view line) const {
  std::string out;
  if (auto it = prefixes_.find(id); it != prefixes_.end())
    out = it->second;
  else // not in the plan (cannot happen today): still say whose it is
    out = printable(id) + " | ";
  append_printable(out, line);
  return out;
}

} // namespace nv
