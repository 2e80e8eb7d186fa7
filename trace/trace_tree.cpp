#include "trace/trace_tree.hpp"

#include <algorithm>

#include "messages/printable.hpp"

namespace nv {

namespace {

std::string parent_of_path(std::string_view path) {
  if (path.empty() || path == "/")
    return {};
  auto slash = path.rfind('/');
  if (slash == std::string_view::npos)
    return {};
  return slash == 0 ? std::string{"/"} : std::string{path.substr(0, slash)};
}

std::size_t ensure(actor_tree& tree, const std::string& path, uint64_t seq,
                   const std::string* spawn_parent) {
  if (auto it = tree.index.find(path); it != tree.index.end())
    return it->second;
  tree_actor actor;
  actor.path = path;
  actor.parent = spawn_parent ? *spawn_parent : parent_of_path(path);
  actor.first_seq = seq;
  const std::size_t i = tree.actors.size();
  tree.actors.push_back(std::move(actor));
  tree.index.emplace(path, i);
  // Its ancestors exist even when their own events are not in the file (the node, "/", emits
  // none). Seen now, they sort before this actor among their siblings.
  const std::string parent = tree.actors[i].parent;
  if (!parent.empty())
    ensure(tree, parent, seq, nullptr);
  return i;
}

} // namespace

void add_to_tree(actor_tree& tree, const trace_record& rec) {
  if (rec.ts_us > tree.at_us || kind(rec.ev) == trace_kind::dropped)
    return;
  const auto* spawn = std::get_if<spawn_event>(&rec.ev.data);
  const std::size_t i = ensure(tree, rec.ev.actor, rec.seq, spawn ? &spawn->parent : nullptr);
  tree_actor& actor = tree.actors[i];
  if (spawn) {
    actor.exited = false;
    actor.exit_error.clear();
  } else if (const auto* exit = std::get_if<exit_event>(&rec.ev.data)) {
    actor.exited = true;
    actor.exit_reason = exit->reason;
    actor.exit_error = exit->error ? std::string{kind_name(*exit->error)} : std::string{};
  } else if (const auto* state = std::get_if<state_event>(&rec.ev.data)) {
    actor.state = state->to;
  } else if (const auto* restart = std::get_if<restart_event>(&rec.ev.data)) {
    ensure(tree, restart->child, rec.seq, nullptr);
  }
}

void finish_tree(actor_tree& tree) {
  tree.roots.clear();
  for (auto& actor : tree.actors)
    actor.children.clear();
  // Actors were appended in first-seen order, so each child list comes out in that order.
  for (std::size_t i = 0; i < tree.actors.size(); ++i) {
    const auto& parent = tree.actors[i].parent;
    auto it = parent.empty() ? tree.index.end() : tree.index.find(parent);
    if (it == tree.index.end() || it->second == i)
      tree.roots.push_back(i);
    else
      tree.actors[it->second].children.push_back(i);
  }
  const auto by_seq = [&tree](std::size_t a, std::size_t b) {
    return tree.actors[a].first_seq < tree.actors[b].first_seq;
  };
  for (auto& actor : tree.actors)
    std::stable_sort(actor.children.begin(), actor.children.end(), by_seq);
  std::stable_sort(tree.roots.begin(), tree.roots.end(), by_seq);
  walk_tree(tree, [&tree](std::size_t i, std::size_t) {
    tree_actor& actor = tree.actors[i];
    auto it = tree.index.find(actor.parent);
    if (it == tree.index.end() || it->second == i)
      return;
    const tree_actor& parent = tree.actors[it->second];
    actor.gone = !actor.exited && (parent.exited || parent.gone);
  });
}

std::string_view last_component(std::string_view path) {
  auto slash = path.rfind('/');
  if (slash == std::string_view::npos || path == "/")
    return path;
  return path.substr(slash + 1);
}

std::string describe_state(const tree_actor& actor) {
  std::string out = actor.state ? std::string{to_string(*actor.state)} : std::string{};
  if (actor.exited) {
    out += out.empty() ? "exited (" : ", exited (";
    out += to_string(actor.exit_reason);
    if (!actor.exit_error.empty())
      out += ": " + actor.exit_error;
    out += ")";
  } else if (actor.gone) {
    out += out.empty() ? "gone with its parent" : ", gone with its parent";
  } else if (out.empty()) {
    out = "spawned";
  }
  return out;
}

void print_tree(std::FILE* out, const actor_tree& tree) {
  // more[d]: the ancestor at depth d has later siblings, so its column continues with "│".
  // Iterative, so a hand-made trace with absurdly deep paths cannot exhaust the stack.
  std::vector<bool> more;
  struct item {
    std::size_t index, depth;
    bool last;
  };
  std::vector<item> stack;
  for (auto it = tree.roots.rbegin(); it != tree.roots.rend(); ++it)
    stack.push_back({*it, 0, true});
  std::string line;
  while (!stack.empty()) {
    const item cur = stack.back();
    stack.pop_back();
    const tree_actor& actor = tree.actors[cur.index];
    more.resize(cur.depth + 1);
    more[cur.depth] = !cur.last;
    line.clear();
    for (std::size_t d = 1; d < cur.depth; ++d)
      line += more[d] ? "│  " : "   ";
    if (cur.depth > 0)
      line += cur.last ? "└─ " : "├─ ";
    line += cur.depth == 0 ? std::string_view{actor.path} : last_component(actor.path);
    if (actor.path != "/" || actor.state || actor.exited)
      line += "  " + describe_state(actor);
    std::fprintf(out, "%s\n", printable(line).c_str()); // actor names come from the file
    const auto& kids = actor.children;
    for (std::size_t k = kids.size(); k-- > 0;)
      stack.push_back({kids[k], cur.depth + 1, k + 1 == kids.size()});
  }
}

} // namespace nv
