// The supervision tree as a trace shows it at one moment: who spawned whom, and each actor's
// last state up to then. Built from spawn events (their parent) and, for an actor whose spawn
// is not in the file (dropped, or before the file began), from its path.
#pragma once

#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "trace/trace_reader.hpp"

namespace nv {

struct tree_actor {
  std::string path;
  std::string parent; // empty for a root
  uint64_t first_seq = 0;
  std::optional<lifecycle> state; // none: no state event yet
  bool exited = false;            // its last spawn was followed by an exit
  exit_event::reason_kind exit_reason = exit_event::reason_kind::normal;
  std::string exit_error; // AgentError kind when it exited with failure
  // An ancestor exited and this actor traced no exit of its own: probes, which stop with
  // their replica without an event.
  bool gone = false;
  std::vector<std::size_t> children; // in start order; filled by finish_tree
};

struct actor_tree {
  int64_t at_us = std::numeric_limits<int64_t>::max(); // events after this are ignored
  std::vector<tree_actor> actors;
  std::unordered_map<std::string, std::size_t> index;
  std::vector<std::size_t> roots; // filled by finish_tree
};

// Applies one event; records later than tree.at_us are ignored.
void add_to_tree(actor_tree& tree, const trace_record& rec);

// Links children to parents (each list in first-seen order), finds the roots and marks the
// actors gone with an exited ancestor.
void finish_tree(actor_tree& tree);

// Calls fn(actor index, depth) for every actor, parents before children, in start order.
template <class Fn>
void walk_tree(const actor_tree& tree, Fn&& fn) {
  std::vector<std::pair<std::size_t, std::size_t>> stack;
  for (auto it = tree.roots.rbegin(); it != tree.roots.rend(); ++it)
    stack.emplace_back(*it, 0);
  while (!stack.empty()) {
    auto [i, depth] = stack.back();
    stack.pop_back();
    fn(i, depth);
    const auto& kids = tree.actors[i].children;
    for (auto it = kids.rbegin(); it != kids.rend(); ++it)
      stack.emplace_back(*it, depth + 1);
  }
}

// The last component of a path ("api-rep-1" for "/web-stack/api/api-rep-1"), "/" for the node.
std::string_view last_component(std::string_view path);

// "healthy", "failed, exited (failure: UnexpectedExit)", "healthy, gone with its parent",
// "spawned" (no state event yet).
std::string describe_state(const tree_actor& actor);

// Draws the tree like pstree: one actor per line, its name then its state.
void print_tree(std::FILE* out, const actor_tree& tree);

} // namespace nv
