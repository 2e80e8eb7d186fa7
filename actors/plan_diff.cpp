#include "actors/plan_diff.hpp"

#include <algorithm>
#include <unordered_map>

#include <nlohmann/json.hpp>

namespace nv {

bool same_fingerprint(const std::string& a, const std::string& b) {
  return !a.empty() && a == b;
}

bool deployment_change::empty() const {
  return whole == kind::apply && added.empty() && removed.empty() && replaced.empty() &&
         rolled.empty();
}

const char* to_string(deployment_change::kind k) {
  switch (k) {
  case deployment_change::kind::apply:
    return "apply";
  case deployment_change::kind::created:
    return "created";
  case deployment_change::kind::replaced:
    return "replaced";
  }
  return "apply";
}

std::string deployment_change::to_json() const {
  nlohmann::json rolls = nlohmann::json::array();
  for (auto& r : rolled)
    rolls.push_back({{"service", r.name},
                     {"unchanged", r.replicas.unchanged},
                     {"added", r.replicas.added},
                     {"removed", r.replicas.removed},
                     {"replaced", r.replicas.replaced}});
  nlohmann::json out = {{"deployment", deployment},  {"kind", to_string(whole)},
                        {"unchanged", unchanged},    {"added", added},
                        {"removed", removed},        {"replaced", replaced},
                        {"rolled", std::move(rolls)}};
  // Service names and ids come from a spec: invalid UTF-8 is replaced, never thrown on.
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

replica_changes diff_replicas(const service_plan& running, const service_plan& wanted) {
  replica_changes out;
  std::unordered_map<std::string, const container_config*> now;
  for (auto& r : running.replicas)
    now.emplace(r->spec.id, r.get());
  for (auto& w : wanted.replicas) {
    auto it = now.find(w->spec.id);
    if (it == now.end())
      out.added.push_back(w->spec.id);
    else if (same_fingerprint(it->second->fingerprint, w->fingerprint))
      out.unchanged.push_back(w->spec.id);
    else
      out.replaced.push_back(w->spec.id);
  }
  std::unordered_map<std::string, bool> kept;
  for (auto& w : wanted.replicas)
    kept.emplace(w->spec.id, true);
  for (auto& r : running.replicas)
    if (!kept.count(r->spec.id))
      out.removed.push_back(r->spec.id);
  return out;
}

bool listed(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

namespace {

// The services that run on after an apply follow the deployment's strategy when one of them is
// replaced, as on a restart of that service: rest_for_one replaces those after it in start order
// too, one_for_all every one.
void follow_strategy(deployment_change& out, const deployment_plan& wanted) {
  if (out.replaced.empty() || wanted.flags.strategy == restart_strategy::one_for_one)
    return;
  bool after_first = false;
  std::vector<std::string> replaced;
  for (auto& s : wanted.services) {
    bool was_replaced = listed(out.replaced, s.name);
    after_first |= was_replaced;
    bool follows = wanted.flags.strategy == restart_strategy::one_for_all || after_first;
    if (was_replaced || (follows && !listed(out.added, s.name)))
      replaced.push_back(s.name);
  }
  auto drop = [&](std::vector<std::string>& names) {
    std::erase_if(names, [&](const std::string& n) { return listed(replaced, n); });
  };
  drop(out.unchanged);
  std::erase_if(out.rolled, [&](const rolled_service& r) { return listed(replaced, r.name); });
  out.replaced = std::move(replaced);
}

} // namespace

deployment_change diff_plans(const deployment_plan& running, const deployment_plan& wanted) {
  deployment_change out;
  out.deployment = wanted.name;
  std::unordered_map<std::string, const service_plan*> now;
  for (auto& s : running.services)
    now.emplace(s.name, &s);
  std::unordered_map<std::string, bool> kept;
  for (auto& w : wanted.services) {
    kept.emplace(w.name, true);
    auto it = now.find(w.name);
    if (it == now.end()) {
      out.added.push_back(w.name);
      continue;
    }
    auto& r = *it->second;
    if (!same_fingerprint(r.shape, w.shape)) {
      out.replaced.push_back(w.name);
      continue;
    }
    auto replicas = diff_replicas(r, w);
    if (replicas.added.empty() && replicas.removed.empty() && replicas.replaced.empty())
      out.unchanged.push_back(w.name);
    else
      out.rolled.push_back({w.name, std::move(replicas)});
  }
  for (auto& r : running.services)
    if (!kept.count(r.name))
      out.removed.push_back(r.name);
  follow_strategy(out, wanted);
  return out;
}

} // namespace nv
