#include "spec/dependency_graph.hpp"

#include <algorithm>
#include <functional>
#include <queue>
#include <string_view>
#include <unordered_map>

#include "spec/suggest.hpp"

namespace nv::spec {

namespace {

struct edge {
  std::size_t to;
  std::size_t entry; // index in the service's `depends`
};

// Edges to services that exist, without self-edges (reported, not followed).
std::vector<std::vector<edge>> edges_of(const deployment_spec& spec) {
  std::unordered_map<std::string_view, std::size_t> index;
  for (std::size_t i = 0; i < spec.services.size(); ++i)
    index.emplace(spec.services[i].name, i);
  std::vector<std::vector<edge>> edges(spec.services.size());
  for (std::size_t i = 0; i < spec.services.size(); ++i) {
    const auto& depends = spec.services[i].depends;
    for (std::size_t j = 0; j < depends.size(); ++j)
      if (auto it = index.find(depends[j].service); it != index.end() && it->second != i)
        edges[i].push_back({it->second, j});
  }
  return edges;
}

std::string dependency_path(const deployment_spec& spec, std::size_t service, std::size_t entry) {
  return "services." + spec.services[service].name + ".depends[" + std::to_string(entry) +
         "].service";
}

// "a -> b -> c -> a"; a long cycle keeps its ends, which is enough to find it.
std::string cycle_text(const deployment_spec& spec, const std::vector<std::size_t>& cycle) {
  constexpr std::size_t shown = 8;
  std::string out;
  for (std::size_t k = 0; k < cycle.size(); ++k) {
    if (cycle.size() > shown && k == shown / 2) {
      out += " -> ... (" + std::to_string(cycle.size() - shown) + " more)";
      k = cycle.size() - shown / 2;
    }
    out += (out.empty() ? "" : " -> ") + spec.services[cycle[k]].name;
  }
  return out + " -> " + spec.services[cycle.front()].name;
}

// Depth-first search without recursion (a spec may have many services); every edge that
// closes a cycle reports the cycle it closes.
void check_cycles(const deployment_spec& spec, const std::vector<std::vector<edge>>& edges,
                  reader& r) {
  enum class colour : uint8_t { white, grey, black };
  std::vector<colour> state(edges.size(), colour::white);
  struct frame {
    std::size_t service;
    std::size_t next = 0; // next edge to follow
  };
  for (std::size_t root = 0; root < edges.size(); ++root) {
    if (state[root] != colour::white)
      continue;
    std::vector<frame> stack{{root}};
    state[root] = colour::grey;
    while (!stack.empty()) {
      auto& top = stack.back();
      if (top.next == edges[top.service].size()) {
        state[top.service] = colour::black;
        stack.pop_back();
        continue;
      }
      auto e = edges[top.service][top.next++];
      if (state[e.to] == colour::white) {
        state[e.to] = colour::grey;
        stack.push_back({e.to});
      } else if (state[e.to] == colour::grey && !r.full(severity::error)) {
        std::vector<std::size_t> cycle;
        auto start = std::find_if(stack.begin(), stack.end(),
                                  [&](const frame& f) { return f.service == e.to; });
        for (auto it = start; it != stack.end(); ++it)
          cycle.push_back(it->service);
        r.add({r.file, dependency_path(spec, top.service, e.entry),
               "dependency cycle: " + cycle_text(spec, cycle)});
      }
    }
  }
}

} // namespace

void check_dependencies(const deployment_spec& spec, reader& r) {
  std::vector<std::string_view> names;
  for (const auto& s : spec.services)
    names.push_back(s.name);
  std::unordered_map<std::string_view, std::size_t> index;
  for (std::size_t i = 0; i < spec.services.size(); ++i)
    index.emplace(spec.services[i].name, i);
  for (std::size_t i = 0; i < spec.services.size(); ++i) {
    const auto& service = spec.services[i];
    for (std::size_t j = 0; j < service.depends.size(); ++j) {
      const auto& target = service.depends[j].service;
      if (target.empty())
        continue;
      if (target == service.name) {
        r.add({r.file, dependency_path(spec, i, j), "a service cannot depend on itself"});
      } else if (!index.contains(target) && !r.full(severity::error)) {
        auto suggestion = nearest(target, names);
        r.add({r.file, dependency_path(spec, i, j),
               "no service named '" + target + "' in this deployment" +
                   (suggestion ? "; did you mean '" + std::string{*suggestion} + "'?" : "")});
      }
    }
  }
  check_cycles(spec, edges_of(spec), r);
}

std::vector<std::size_t> start_order(const deployment_spec& spec) {
  auto edges = edges_of(spec);
  std::vector<std::size_t> waiting(edges.size()); // dependencies not yet started
  std::vector<std::vector<std::size_t>> dependents(edges.size());
  for (std::size_t i = 0; i < edges.size(); ++i)
    for (const auto& e : edges[i]) {
      ++waiting[i];
      dependents[e.to].push_back(i);
    }
  std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> ready;
  for (std::size_t i = 0; i < edges.size(); ++i)
    if (waiting[i] == 0)
      ready.push(i);
  std::vector<std::size_t> order;
  while (!ready.empty()) {
    auto next = ready.top();
    ready.pop();
    order.push_back(next);
    for (auto d : dependents[next])
      if (--waiting[d] == 0)
        ready.push(d);
  }
  return order;
}

} // namespace nv::spec
