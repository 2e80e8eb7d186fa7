#include "trace/trace_dot.hpp"

#include <string>

namespace nv {

namespace {

// A DOT double-quoted string: only `"` and `\` need escaping; newlines become \n.
std::string dot_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + '"';
}

} // namespace

std::string_view dot_color(const tree_actor& actor) {
  if (actor.gone)
    return "#eeeeee";
  if (!actor.state)
    return actor.exited ? "#eeeeee" : "#ffffff";
  switch (*actor.state) {
  case lifecycle::healthy:
  case lifecycle::running:
    return actor.exited ? "#eeeeee" : "#7fd07f";
  case lifecycle::completed:
    return "#c8ecc8";
  case lifecycle::pending:
  case lifecycle::waiting:
  case lifecycle::initializing:
  case lifecycle::creating:
  case lifecycle::starting:
    return actor.exited ? "#eeeeee" : "#bdbdbd";
  case lifecycle::unhealthy:
  case lifecycle::crash_loop_backoff:
  case lifecycle::degraded:
    return "#f5a742";
  case lifecycle::failed:
    return "#e5534b";
  case lifecycle::stopping:
  case lifecycle::stopped:
    return "#eeeeee";
  }
  return "#ffffff";
}

void print_dot(std::FILE* out, const actor_tree& tree) {
  std::fprintf(out, "digraph nodevisor {\n"
                    "  graph [rankdir=TB, fontname=\"Helvetica\", nodesep=0.25, ranksep=0.4];\n"
                    "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", "
                    "fontsize=11];\n"
                    "  edge [arrowhead=none, color=\"#777777\"];\n");
  walk_tree(tree, [&](std::size_t i, std::size_t) {
    const tree_actor& a = tree.actors[i];
    std::string label{last_component(a.path)};
    if (a.state || a.exited)
      label += "\n" + describe_state(a);
    std::fprintf(out, "  %s [label=%s, fillcolor=\"%s\"];\n", dot_string(a.path).c_str(),
                 dot_string(label).c_str(), std::string{dot_color(a)}.c_str());
  });
  walk_tree(tree, [&](std::size_t i, std::size_t) {
    for (std::size_t child : tree.actors[i].children)
      std::fprintf(out, "  %s -> %s;\n", dot_string(tree.actors[i].path).c_str(),
                   dot_string(tree.actors[child].path).c_str());
  });
  std::fprintf(out, "}\n");
}

} // namespace nv
