#include "actors/node_actor.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/deployment_actor.hpp"
#include "actors/node_protocol.hpp"
#include "messages/caf/atoms.hpp"
#include "trace/emit.hpp"

namespace nv {

namespace {

// The observer is whoever runs the node (the CLI, the daemon's control API).
const std::string observer_path = "/_observer";

template <class Message>
void tell_observer(node_actor_t* self, Message msg) {
  if (auto obs = caf::actor_cast<caf::actor>(self->state.observer))
    self->send(obs, std::move(msg));
}

} // namespace

std::string route_remedy(const RouteToPeer& r) {
  return "service '" + r.service + "' needs OS '" + r.required_os +
         "' and no peer of this node runs it. Remedies: enable a local runtime for '" +
         r.required_os + "' on this node, or add a peer node that runs '" + r.required_os + "'";
}

// The control protocol (actors/node_protocol.hpp).

caf::error make_error(node_errc code, std::string what) {
  return caf::error{static_cast<uint8_t>(code), node_error_category,
                    caf::make_message(std::move(what))};
}

node_errc node_error_code(const caf::error& err) {
  if (err.category() != node_error_category)
    return node_errc::none;
  return static_cast<node_errc>(err.code());
}

std::string node_error_text(const caf::error& err) {
  if (err.category() != node_error_category || err.context().empty() ||
      !err.context().match_element<std::string>(0))
    return {};
  return err.context().get_as<std::string>(0);
}

void register_node_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<deployment_change>("nv::deployment_change");
  cfg.add_error_category(
      node_error_category, [](uint8_t code, caf::atom_value, const caf::message& ctx) {
        std::string out =
            code == static_cast<uint8_t>(node_errc::not_found) ? "not_found" : "not_running";
        if (!ctx.empty() && ctx.match_element<std::string>(0))
          out += ": " + ctx.get_as<std::string>(0);
        return out;
      });
}

namespace {

// Every service of `wanted` starts: the deployment was not running before.
deployment_change started_whole(const deployment_plan& before, const deployment_plan& wanted,
                                deployment_change::kind whole) {
  auto change = diff_plans(before, wanted);
  change.whole = whole;
  change.unchanged.clear();
  change.added.clear();
  change.replaced.clear();
  change.rolled.clear();
  for (auto& s : wanted.services)
    (whole == deployment_change::kind::created ? change.added : change.replaced).push_back(s.name);
  return change;
}

void start_again(node_actor_t* self, const std::string& name) {
  auto& st = self->state;
  auto it = st.deployments.find(name);
  if (it == st.deployments.end() || it->second.removing)
    return;
  it->second.replacing = false;
  if (auto i = supervisor_find_child(st.sup, name))
    supervisor_restart_child(self, st.sup, *i);
}

deployment_change deploy(node_actor_t* self, deployment_plan plan) {
  auto& st = self->state;
  auto name = plan.name;
  auto it = st.deployments.find(name);
  if (it == st.deployments.end()) {
    spdlog::info("[/] adding deployment {}", name);
    auto change =
        started_whole(deployment_plan{name, {}, {}}, plan, deployment_change::kind::created);
    st.deployments.emplace(name, node_deployment{plan, false, false, {}, {}});
    supervisor_add_child(self, st.sup, deployment_child(std::move(plan)));
    return change;
  }
  auto& entry = it->second;
  auto i = supervisor_find_child(st.sup, name);
  auto& rec = st.sup.children[*i];
  if (entry.replacing || !rec.handle || !(entry.plan.flags == plan.flags)) {
    // Not running (it failed), or its own supervision changed, or it is already stopping to
    // start again: it (re)starts as a whole with this plan.
    auto change = started_whole(entry.plan, plan, deployment_change::kind::replaced);
    supervisor_set_child_spec(st.sup, *i, deployment_child(plan));
    entry.plan = std::move(plan);
    if (entry.replacing)
      return change;
    if (!rec.handle) {
      spdlog::info("[/] starting deployment {} again with its new plan", name);
      supervisor_restart_child(self, st.sup, *i);
      return change;
    }
    spdlog::info("[/] replacing deployment {} as a whole: its supervision changed", name);
    entry.replacing = true;
    supervisor_terminate_child(self, st.sup, *i, [self, name] { start_again(self, name); });
    return change;
  }
  auto change = diff_plans(entry.plan, plan);
  supervisor_set_child_spec(st.sup, *i, deployment_child(plan));
  entry.plan = plan;
  if (!change.empty()) {
    spdlog::info("[/] applying a new plan to deployment {}", name);
    self->send(rec.handle, apply_atom::value, std::move(plan));
  }
  return change;
}

void removed(node_actor_t* self, const std::string& name) {
  auto& st = self->state;
  auto it = st.deployments.find(name);
  if (it == st.deployments.end())
    return;
  auto entry = std::move(it->second);
  st.deployments.erase(it);
  if (auto i = supervisor_find_child(st.sup, name))
    supervisor_delete_child(st.sup, *i);
  spdlog::info("[/] deployment {} removed", name);
  for (auto& rp : entry.removed)
    rp.deliver(caf::unit);
  for (auto& [plan, rp] : entry.queued)
    rp.deliver(deploy(self, std::move(plan)));
}

caf::message_handler control(node_actor_t* self) {
  return {
      [self](deploy_atom, deployment_plan& plan) -> caf::result<deployment_change> {
        auto& st = self->state;
        if (auto it = st.deployments.find(plan.name);
            it != st.deployments.end() && it->second.removing) {
          // "rm then deploy" must not race: it is added anew once the old one is gone.
          auto rp = self->make_response_promise();
          it->second.queued.emplace_back(std::move(plan), rp);
          return rp;
        }
        return deploy(self, std::move(plan));
      },
      [self](remove_atom, std::string& name) -> caf::result<void> {
        auto& st = self->state;
        auto it = st.deployments.find(name);
        if (it == st.deployments.end())
          return make_error(node_errc::not_found, "no deployment '" + name + "' on this node");
        auto rp = self->make_response_promise();
        auto& entry = it->second;
        entry.removed.push_back(rp);
        if (!entry.removing) {
          spdlog::info("[/] removing deployment {}", name);
          entry.removing = true;
          supervisor_terminate_child(self, st.sup, *supervisor_find_child(st.sup, name),
                                     [self, name] { removed(self, name); });
        }
        return rp;
      },
      [self](restart_atom, std::string& deployment, std::string& service) -> caf::result<void> {
        auto& st = self->state;
        auto it = st.deployments.find(deployment);
        if (it == st.deployments.end() || it->second.removing)
          return make_error(node_errc::not_found,
                            "no deployment '" + deployment + "' on this node");
        auto& rec = st.sup.children[*supervisor_find_child(st.sup, deployment)];
        if (!rec.handle)
          return make_error(node_errc::not_running, "deployment '" + deployment +
                                                        "' is not running (" +
                                                        std::string{to_string(rec.state)} + ")");
        auto rp = self->make_response_promise();
        self->request(rec.handle, caf::infinite, restart_atom::value, std::move(service))
            .then([rp]() mutable { rp.deliver(caf::unit); },
                  [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
        return rp;
      },
  };
}

} // namespace

caf::behavior node_actor(node_actor_t* self, node_config cfg) {
  self->trace_as("/", cfg.services->trace);
  auto& st = self->state;
  st.observer = cfg.observer;
  supervisor_config sc;
  sc.path = "/";
  sc.noun = "node";
  sc.parent = cfg.observer;
  sc.parent_path = observer_path;
  sc.services = cfg.services;
  // The root of the tree: nobody supervises it, so it records its own spawn.
  trace::spawn("/", "");
  for (auto& d : cfg.deployments) {
    st.deployments.emplace(d.name, node_deployment{d, false, false, {}, {}});
    sc.children.push_back(deployment_child(std::move(d)));
  }
  sc.hooks.on_child_state = [self](std::size_t i, lifecycle from, lifecycle to) {
    tell_observer(self, state_change{self->state.sup.children[i].path, from, to});
  };
  sc.hooks.on_child_failure = [self](std::size_t i, failure& report) {
    spdlog::error("[/] deployment {} failed: {} (first failure at {}); the node stays up",
                  self->state.sup.children[i].spec.id, to_string(report.error), report.path);
    tell_observer(self, report);
    return true; // marked failed, never restarted by the node
  };
  sc.hooks.on_reschedule = [self](failure& report) {
    auto& r = std::get<RouteToPeer>(report.error);
    // No peers yet: the _peers router has nobody to place the service on.
    trace::because(report.cause);
    report.cause = trace::route("/_peers", r.service, r.required_os, "");
    spdlog::error("[/_peers] {}: {}", to_string(report.error), route_remedy(r));
    tell_observer(self, report);
  };
  auto behavior = supervisor_init(self, st.sup, std::move(sc));
  return caf::behavior{control(self).or_else(behavior)};
}

} // namespace nv
