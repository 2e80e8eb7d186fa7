#include "node/controller.hpp"

#include <algorithm>
#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/node_protocol.hpp"
#include "actors/plan_diff.hpp"
#include "actors/restart_memory.hpp"
#include "messages/caf/atoms.hpp"
#include "node/peer_mesh.hpp"
#include "node/plan_from_spec.hpp"
#include "posix/machine_arch.hpp"
#include "spec/effective_spec.hpp"
#include "spec/loader.hpp"

namespace nv {

namespace {

// How long the node may take to stop a deployment: its services one after another, each its
// replicas' longest grace, and a margin for each (what deployment_child allows it).
std::chrono::milliseconds stop_timeout(const deployment_plan& plan) {
  duration total{std::chrono::seconds{15}};
  for (auto& s : plan.services) {
    duration longest{0};
    for (auto& r : s.replicas)
      longest = std::max(longest, r->stop_grace);
    total += longest + std::chrono::seconds{10};
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(total);
}

std::string problems_text(const std::vector<spec::problem>& problems) {
  std::string out;
  for (auto& p : problems)
    if (p.level == spec::severity::error)
      out += (out.empty() ? "" : "\n") + spec::to_string(p);
  return out;
}

AgentError tree_error(const caf::error& e, const std::string& what) {
  if (auto text = node_error_text(e); !text.empty())
    return Internal{what + ": " + text};
  return Internal{what + ": the node did not answer (" + caf::to_string(e) + ")"};
}

nlohmann::json change_json(const deployment_change& c) {
  return nlohmann::json::parse(c.to_json());
}

} // namespace

controller::controller(caf::actor_system& sys, caf::actor node, state_store& store,
                       controller_config cfg)
    : sys_{sys}, node_{std::move(node)}, store_{store}, cfg_{std::move(cfg)} {}

std::variant<controller::planned, api_answer> controller::plan_text(const std::string& text,
                                                                    const std::string& file) {
  auto loaded = spec::load_spec_string(text, file);
  if (!loaded.spec)
    return invalid_spec(problems_text(loaded.problems));
  auto runtimes = cfg_.other_runtimes;
  runtimes["linux"] = cfg_.runtime;
  auto result = plan_from_spec(*loaded.spec, runtimes);
  if (!result.errors.empty()) {
    std::string msg;
    for (auto& e : result.errors)
      msg += (msg.empty() ? "" : "\n") + file + ": " + e;
    return invalid_spec(msg);
  }
  planned p;
  p.canonical = spec::effective_spec_json(*loaded.spec);
  for (auto& s : loaded.spec->services)
    p.services.emplace_back(s.name, s.replicas);
  p.plan = std::move(result.plan);
  return p;
}

deployment_record controller::record_of(const stored_deployment& row) const {
  deployment_record r;
  r.name = row.name;
  r.generation = row.generation;
  r.desired_running = row.desired == desired_state::running;
  r.created_at_us = row.created_at_us;
  r.updated_at_us = row.updated_at_us;
  std::lock_guard<std::mutex> g{mu_};
  if (auto it = refused_.find(row.name); it != refused_.end())
    r.refused = it->second;
  if (auto it = running_.find(row.name); it != running_.end()) {
    r.services = it->second.services;
  } else if (auto loaded = spec::load_spec_string(row.spec, row.name); loaded.spec) {
    for (auto& s : loaded.spec->services)
      r.services.emplace_back(s.name, s.replicas);
  }
  return r;
}

tree_sample controller::sample() {
  return walk_tree(sys_, node_, cfg_.tree_timeout);
}

api_answer controller::details(const stored_deployment& row, int status) {
  auto tree = sample();
  auto rec = record_of(row);
  std::lock_guard<std::mutex> g{mu_};
  view_context ctx{cfg_.node_name, &restarts_, &usage_};
  return ok(deployment_details(rec, tree.find(row.name), ctx), status);
}

std::optional<AgentError> controller::tell_deploy(const deployment_plan& plan) {
  std::optional<AgentError> err;
  caf::scoped_actor self{sys_};
  self->request(node_, cfg_.tree_timeout, deploy_atom::value, plan)
      .receive([](deployment_change&) {},
               [&](caf::error& e) { err = tree_error(e, "deploying '" + plan.name + "'"); });
  std::lock_guard<std::mutex> g{mu_};
  if (err)
    refused_[plan.name] = to_string(*err);
  else
    refused_.erase(plan.name);
  return err;
}

std::optional<AgentError> controller::tell_remove(const std::string& name) {
  std::chrono::milliseconds timeout{60000};
  {
    std::lock_guard<std::mutex> g{mu_};
    if (auto it = running_.find(name); it != running_.end())
      timeout = stop_timeout(it->second.plan);
  }
  std::optional<AgentError> err;
  caf::scoped_actor self{sys_};
  self->request(node_, timeout, remove_atom::value, name)
      .receive([]() {},
               [&](caf::error& e) {
                 // Not in the tree: nothing to stop, which is what was asked.
                 if (node_error_code(e) != node_errc::not_found)
                   err = tree_error(e, "stopping '" + name + "'");
               });
  if (!err) {
    std::lock_guard<std::mutex> g{mu_};
    running_.erase(name);
    refused_.erase(name);
    restarts_.forget("/" + name + "/");
    usage_.forget("/" + name + "/");
    if (cfg_.memory != nullptr)
      cfg_.memory->forget(memory_prefix(name));
  }
  return err;
}

api_answer controller::store_failure(const store_error& e) {
  spdlog::error("[/] {}", e.what());
  return internal_error(e.what());
}

void controller::restore() {
  std::vector<stored_deployment> rows;
  try {
    rows = store_.list();
  } catch (const store_error& e) {
    spdlog::error("[/] cannot read the desired state: {}", e.what());
  }
  for (auto& row : rows) {
    if (row.desired != desired_state::running)
      continue;
    auto p = plan_text(row.spec, row.name);
    if (auto* bad = std::get_if<api_answer>(&p)) {
      // Its desired state stays; it shows as failed with the reason until an apply fixes it.
      const auto why = "the stored spec no longer validates (apply a fixed one): " +
                       bad->body["error"]["message"].get<std::string>();
      spdlog::error("[/{}] not restored: {}", row.name, why);
      std::lock_guard<std::mutex> g{mu_};
      refused_[row.name] = why;
      continue;
    }
    auto& good = std::get<planned>(p);
    // Restart counts and backoffs go on from where the daemon before this one left them.
    if (cfg_.memory != nullptr)
      recall(good.plan, cfg_.memory->recalled(), caf::actor_clock::clock_type::now());
    if (auto err = tell_deploy(good.plan)) {
      spdlog::error("[/{}] {}", row.name, to_string(*err));
      continue;
    }
    spdlog::info("[/{}] restored (generation {})", row.name, row.generation);
    std::lock_guard<std::mutex> g{mu_};
    running_[row.name] = std::move(good);
  }
  ready_ = true;
}

api_answer controller::list() {
  std::vector<stored_deployment> rows;
  try {
    rows = store_.list();
  } catch (const store_error& e) {
    return store_failure(e);
  }
  auto tree = sample();
  auto out = nlohmann::json::array();
  for (auto& row : rows) {
    auto rec = record_of(row);
    std::lock_guard<std::mutex> g{mu_};
    view_context ctx{cfg_.node_name, &restarts_, nullptr};
    out.push_back(deployment_details(rec, tree.find(row.name), ctx));
  }
  return ok(std::move(out));
}

api_answer controller::get(const std::string& name) {
  auto row = store_.get(name);
  if (!row)
    return not_found(name, "no deployment '" + name + "' on this node");
  return details(*row);
}

api_answer controller::stored_spec(const std::string& name) {
  auto row = store_.get(name);
  if (!row)
    return not_found(name, "no deployment '" + name + "' on this node");
  nlohmann::json spec = nlohmann::json::parse(row->canonical, nullptr, false);
  if (spec.is_discarded())
    spec = nlohmann::json::object();
  std::string word = row->desired == desired_state::running ? "running" : "stopped";
  return ok({
      {"name", row->name},
      {"spec", std::move(spec)},
      {"spec_text", row->spec},
      {"status", {{"state", word}}},
      {"created_at", rfc3339_us(row->created_at_us)},
      {"updated_at", rfc3339_us(row->updated_at_us)},
      {"generation", row->generation},
      {"desired", word},
  });
}

api_answer controller::create(const std::string& text, bool dry_run, const std::string& file,
                              const std::string& source) {
  auto p = plan_text(text, file);
  if (auto* bad = std::get_if<api_answer>(&p))
    return *bad;
  auto& good = std::get<planned>(p);
  auto name = good.plan.name;
  auto exists = [this](const std::string& name) -> std::optional<api_answer> {
    if (auto row = store_.get(name))
      return invalid_spec("deployment '" + name + "' exists, generation " +
                              std::to_string(row->generation) + " (PUT applies a change)",
                          409);
    return std::nullopt;
  };
  if (dry_run) {
    if (auto conflict = exists(name))
      return *conflict;
    return ok({{"dry_run", true},
               {"deployment", name},
               {"change", change_json(diff_plans(deployment_plan{name, {}, {}}, good.plan))}});
  }
  std::lock_guard<std::mutex> change{change_mu_};
  if (auto conflict = exists(name))
    return *conflict;
  stored_deployment row;
  try {
    row = store_.create(name, text, good.canonical, source);
  } catch (const store_error& e) {
    return store_failure(e);
  }
  spdlog::info("[/{}] created (generation 1)", name);
  auto plan = good.plan;
  {
    std::lock_guard<std::mutex> g{mu_};
    running_[name] = std::move(good);
  }
  if (auto err = tell_deploy(plan))
    spdlog::error("[/{}] {}", name, to_string(*err));
  return details(row, 201);
}

api_answer controller::apply(const std::string& name, const std::string& text, bool dry_run,
                             const std::string& file, const std::string& source) {
  auto p = plan_text(text, file);
  if (auto* bad = std::get_if<api_answer>(&p))
    return *bad;
  auto& good = std::get<planned>(p);
  if (!name.empty() && good.plan.name != name)
    return invalid_spec(file + ": deployment: the spec names '" + good.plan.name +
                        "', the request '" + name + "'");
  auto target = good.plan.name;
  std::lock_guard<std::mutex> change{change_mu_};
  auto row = store_.get(target);
  if (!row)
    return not_found(target, "no deployment '" + target + "' on this node (create it first)");
  if (dry_run) {
    deployment_plan before{target, {}, {}};
    {
      std::lock_guard<std::mutex> g{mu_};
      if (auto it = running_.find(target); it != running_.end())
        before = it->second.plan;
    }
    return ok({{"dry_run", true},
               {"deployment", target},
               {"generation", row->generation},
               {"change", change_json(diff_plans(before, good.plan))}});
  }
  state_store::applied result;
  try {
    result = store_.apply(target, text, good.canonical,
                          source.empty() ? std::nullopt : std::optional<std::string_view>{source});
  } catch (const store_error& e) {
    return store_failure(e);
  }
  const bool running = result.row.desired == desired_state::running;
  bool refused = false;
  {
    std::lock_guard<std::mutex> g{mu_};
    refused = refused_.count(target) > 0;
  }
  // The same spec again changes nothing, unless the tree does not run it yet: then it is the
  // retry of what failed (a restore, a deploy the node refused).
  if (!result.changed && !(running && refused))
    return details(result.row);
  spdlog::info("[/{}] applied (generation {})", target, result.row.generation);
  auto plan = good.plan;
  {
    std::lock_guard<std::mutex> g{mu_};
    if (running)
      running_[target] = std::move(good);
  }
  if (running)
    if (auto err = tell_deploy(plan))
      spdlog::error("[/{}] {}", target, to_string(*err));
  return details(result.row);
}

api_answer controller::deploy(const std::string& text, bool dry_run, const std::string& file,
                              const std::string& source) {
  auto loaded = spec::load_spec_string(text, file);
  if (loaded.spec && store_.get(loaded.spec->name))
    return apply(loaded.spec->name, text, dry_run, file, source);
  return create(text, dry_run, file, source);
}

std::vector<stored_deployment> controller::stored() const {
  return store_.list();
}

api_answer controller::stop(const std::string& name) {
  std::lock_guard<std::mutex> change{change_mu_};
  stored_deployment row;
  try {
    row = store_.set_desired(name, desired_state::stopped);
  } catch (const store_error& e) {
    if (e.why == store_error::kind::not_found)
      return not_found(name, "no deployment '" + name + "' on this node");
    return store_failure(e);
  }
  if (auto err = tell_remove(name))
    return error_answer(500, *err);
  spdlog::info("[/{}] stopped", name);
  return details(row);
}

api_answer controller::start(const std::string& name) {
  std::lock_guard<std::mutex> change{change_mu_};
  auto row = store_.get(name);
  if (!row)
    return not_found(name, "no deployment '" + name + "' on this node");
  auto p = plan_text(row->spec, name);
  if (auto* bad = std::get_if<api_answer>(&p))
    return *bad;
  try {
    *row = store_.set_desired(name, desired_state::running);
  } catch (const store_error& e) {
    return store_failure(e);
  }
  auto& good = std::get<planned>(p);
  auto plan = good.plan;
  {
    std::lock_guard<std::mutex> g{mu_};
    running_[name] = std::move(good);
  }
  if (auto err = tell_deploy(plan))
    return error_answer(500, *err);
  spdlog::info("[/{}] started", name);
  return details(*row);
}

api_answer controller::remove(const std::string& name) {
  std::lock_guard<std::mutex> change{change_mu_};
  try {
    store_.remove(name);
  } catch (const store_error& e) {
    if (e.why == store_error::kind::not_found)
      return not_found(name, "no deployment '" + name + "' on this node");
    return store_failure(e);
  }
  if (auto err = tell_remove(name))
    return error_answer(500, *err);
  spdlog::info("[/{}] deleted", name);
  return api_answer{204, nullptr};
}

api_answer controller::services(const std::string& deployment) {
  auto d = get(deployment);
  if (d.status != 200)
    return d;
  return ok(d.body["service_details"]);
}

api_answer controller::service(const std::string& deployment, const std::string& service) {
  auto d = get(deployment);
  if (d.status != 200)
    return d;
  for (auto& s : d.body["service_details"])
    if (s["name"] == service)
      return ok(s);
  return not_found(service, "deployment '" + deployment + "' has no service '" + service + "'");
}

api_answer controller::scale(const std::string& deployment, const std::string& service,
                             int64_t replicas) {
  if (replicas < 0 || replicas > 10000)
    return invalid_spec("replicas: expected an integer from 0 to 10000, got " +
                        std::to_string(replicas));
  std::string text;
  {
    auto row = store_.get(deployment);
    if (!row)
      return not_found(deployment, "no deployment '" + deployment + "' on this node");
    auto loaded = spec::load_spec_string(row->spec, deployment);
    if (!loaded.spec)
      return internal_error("the stored spec of '" + deployment + "' no longer loads");
    auto it = std::find_if(loaded.spec->services.begin(), loaded.spec->services.end(),
                           [&](auto& s) { return s.name == service; });
    if (it == loaded.spec->services.end())
      return not_found(service, "deployment '" + deployment + "' has no service '" + service + "'");
    it->replicas = static_cast<uint32_t>(replicas);
    // The stored spec becomes the effective one, with the new count as `scale.replicas`.
    text = spec::effective_spec_json(*loaded.spec);
  }
  auto applied = apply(deployment, text, false, deployment);
  if (applied.status != 200)
    return applied;
  return this->service(deployment, service);
}

api_answer controller::restart(const std::string& deployment, const std::string& service) {
  auto found = this->service(deployment, service);
  if (found.status != 200)
    return found;
  std::optional<AgentError> err;
  caf::scoped_actor self{sys_};
  self->request(node_, cfg_.tree_timeout, restart_atom::value, deployment, service)
      .receive([]() {},
               [&](caf::error& e) {
                 if (node_error_code(e) == node_errc::not_running)
                   err = Internal{node_error_text(e)};
                 else
                   err = tree_error(e, "restarting '" + service + "'");
               });
  if (err)
    return error_answer(500, *err);
  spdlog::info("[/{}/{}] restarting its replicas one at a time", deployment, service);
  return this->service(deployment, service);
}

api_answer controller::tree() {
  auto t = sample();
  if (!t.answered)
    return internal_error("the node did not answer", 503);
  auto node =
      nlohmann::json{{"path", "/"}, {"state", "running"}, {"children", nlohmann::json::array()}};
  auto child = [](const child_info& c) {
    return nlohmann::json{{"id", c.id},
                          {"path", c.path},
                          {"state", std::string{to_string(c.state)}},
                          {"restarts", c.restarts},
                          {"pid", c.pid > 0 ? nlohmann::json(c.pid) : nlohmann::json(nullptr)},
                          {"children", nlohmann::json::array()}};
  };
  for (auto& d : t.deployments) {
    auto dj = child(d.record);
    for (auto& s : d.services) {
      auto sj = child(s.service);
      for (auto& c : s.children)
        sj["children"].push_back(child(c));
      dj["children"].push_back(std::move(sj));
    }
    node["children"].push_back(std::move(dj));
  }
  return ok(std::move(node));
}

api_answer controller::nodes() {
  auto runs = nlohmann::json::array();
  for (auto& row : store_.list()) {
    if (row.desired != desired_state::running)
      continue;
    for (auto& [service, replicas] : record_of(row).services)
      runs.push_back({{"deployment", row.name}, {"service", service}, {"origin", cfg_.node_name}});
  }
  auto caps = capabilities();
  auto out = nlohmann::json::array({{{"name", cfg_.node_name},
                                     {"os", caps["os"]},
                                     {"arch", caps["arch"]},
                                     {"runtimes", caps["runtimes"]},
                                     {"link", "self"},
                                     {"address", cfg_.address},
                                     {"runs", std::move(runs)}}});
  if (!cfg_.peers)
    return ok(std::move(out));
  caf::scoped_actor self{sys_};
  std::optional<api_answer> failed;
  self->request(cfg_.peers, cfg_.tree_timeout, nodes_atom::value)
      .receive(
          [&](std::vector<peer_link>& links) {
            for (auto& link : links) {
              nlohmann::json runtimes = nlohmann::json::object();
              nlohmann::json entry{{"name", link.info ? link.info->name : link.address},
                                   {"os", link.info ? link.info->os : ""},
                                   {"arch", link.info ? link.info->arch : ""},
                                   {"link", std::string{to_string(link.state)}},
                                   {"address", link.address},
                                   {"since_us", link.since_us},
                                   {"runs", nlohmann::json::array()}};
              if (link.info)
                for (auto& served : link.info->runtimes)
                  runtimes[served.os] = served.runtime;
              entry["runtimes"] = std::move(runtimes);
              if (!link.last_error.empty())
                entry["last_error"] = link.last_error;
              out.push_back(std::move(entry));
            }
          },
          [&](caf::error& e) {
            failed = internal_error("the peers actor did not answer: " + sys_.render(e), 503);
          });
  if (failed)
    return *failed;
  return ok(std::move(out));
}

api_answer controller::internal_scale(const nlohmann::json& body) {
  auto service = body["service"].get<std::string>();
  int64_t replicas = body.value("replicas", int64_t{1});
  for (auto& row : store_.list()) {
    auto loaded = spec::load_spec_string(row.spec, row.name);
    if (!loaded.spec)
      continue;
    for (auto& s : loaded.spec->services) {
      if (s.name != service)
        continue;
      if (s.platform && !s.platform->os.empty() && !runtimes_served().contains(s.platform->os)) {
        RouteToPeer r{service, s.platform->os, "no runtime of this node serves " + s.platform->os};
        return ok({{"service", service},
                   {"replicas", 0},
                   {"success", false},
                   {"message", to_string(AgentError{r})},
                   {"reroute_to_os", s.platform->os}});
      }
      auto scaled = scale(row.name, service, replicas);
      if (scaled.status != 200)
        return scaled;
      return ok({{"service", service},
                 {"replicas", replicas},
                 {"success", true},
                 {"message", nullptr},
                 {"reroute_to_os", nullptr}});
    }
  }
  return not_found(service, "no deployment on this node has a service '" + service + "'");
}

int64_t controller::uptime_secs() const {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                          started_)
      .count();
}

nlohmann::json controller::runtimes_served() const {
  nlohmann::json out = {{"linux", cfg_.runtime}};
  for (const auto& [os, runtime] : cfg_.other_runtimes)
    out[os] = runtime;
  return out;
}

nlohmann::json controller::capabilities() const {
  const std::string arch = machine_arch();
  bool root = ::geteuid() == 0;
  bool net_admin = false;
  {
    std::ifstream status{"/proc/self/status"};
    std::string line;
    while (std::getline(status, line))
      if (line.rfind("CapBnd:", 0) == 0)
        net_admin = (std::stoull(line.substr(7), nullptr, 16) >> 12) & 1; // CAP_NET_ADMIN
  }
  bool tun = false;
  if (int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC); fd >= 0) {
    tun = true;
    ::close(fd);
  }
  nlohmann::json cgroup_parent = nullptr;
  {
    std::ifstream cg{"/proc/self/cgroup"};
    std::string line;
    while (std::getline(cg, line))
      if (line.rfind("0::", 0) == 0)
        cgroup_parent = line.substr(3);
  }
  bool nested = cgroup_parent.is_string() && cgroup_parent.get<std::string>() != "/";
  struct stat st {};
  bool cgroup_root_writable =
      ::stat("/sys/fs/cgroup/cgroup.subtree_control", &st) == 0 && (st.st_mode & S_IWUSR);
  std::string mode = nested ? "nested_adaptive" : (root && net_admin ? "full" : "degraded");
  return {
      {"name", cfg_.node_name},
      {"os", "linux"},
      {"arch", arch},
      {"runtimes", runtimes_served()},
      {"version", cfg_.version},
      {"is_root", root},
      {"has_cap_net_admin", net_admin},
      {"tun_device_available", tun},
      {"cgroup_parent", cgroup_parent},
      {"is_nested", nested},
      {"can_write_cgroup_root", cgroup_root_writable},
      {"mode", mode},
  };
}

void controller::stop_all() {
  std::vector<stored_deployment> rows;
  try {
    rows = store_.list();
  } catch (const store_error& e) {
    spdlog::error("[/] {}", e.what());
  }
  std::lock_guard<std::mutex> change{change_mu_};
  for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
    bool in_tree;
    {
      std::lock_guard<std::mutex> g{mu_};
      in_tree = running_.count(it->name) > 0;
    }
    if (!in_tree)
      continue;
    spdlog::info("[/{}] stopping (its desired state stays {})", it->name, to_string(it->desired));
    if (auto err = tell_remove(it->name))
      spdlog::error("[/{}] {}", it->name, to_string(*err));
  }
}

} // namespace nv
