#include "runtimes/composite/composite_runtime.hpp"

#include <algorithm>

#include <caf/send.hpp>

namespace nv {

namespace {

runtime_reply not_found(const std::string& id, runtime_op op) {
  return reply_failed(id, op, NotFound{id, "no dispatch record in the composite runtime"});
}

} // namespace

composite_runtime::composite_runtime(std::vector<runtime*> locals) : locals_(std::move(locals)) {
  for (auto* rt : locals_)
    rt->on_wrong_platform(
        [this](const container_spec& spec, const WrongPlatform& wrong, caf::actor reply_to) {
          place_elsewhere(spec, wrong, std::move(reply_to));
        });
}

composite_runtime::~composite_runtime() {
  for (auto* rt : locals_)
    rt->on_wrong_platform({});
}

// An image for another platform is not a container failure: another local runtime that runs
// images of its OS gets it (the process runtime runs no image), else a peer (RouteToPeer, with
// the image's OS, whatever the spec said).
void composite_runtime::place_elsewhere(const container_spec& spec, const WrongPlatform& wrong,
                                        caf::actor reply_to) {
  auto os = wrong.actual.substr(0, wrong.actual.find('/'));
  auto key = runtime_key(spec);
  for (auto* rt : locals_) {
    if (rt->name() == wrong.runtime || rt->name() == "process" || !rt->runs_os(os))
      continue;
    auto moved = spec;
    moved.os = os;
    {
      std::lock_guard<std::mutex> g{mu_};
      dispatch_[key] = rt;
    }
    rt->create(moved, std::move(reply_to));
    return;
  }
  {
    std::lock_guard<std::mutex> g{mu_};
    dispatch_.erase(key);
  }
  caf::anon_send(reply_to,
                 reply_failed(key, runtime_op::create,
                              RouteToPeer{spec.service, os,
                                          to_string(AgentError{wrong}) +
                                              "; no runtime of this node runs images for " + os}));
}

bool composite_runtime::runs_os(std::string_view os) const {
  return select(os) != nullptr;
}

runtime* composite_runtime::select(std::string_view os) const {
  for (auto* rt : locals_)
    if (rt->runs_os(os))
      return rt;
  return nullptr;
}

runtime* composite_runtime::select(const container_spec& spec) const {
  if (spec.image == "process" && spec.os == "linux")
    for (auto* rt : locals_)
      if (rt->name() == "process")
        return rt;
  return select(spec.os);
}

runtime* composite_runtime::owner(const std::string& id) const {
  std::lock_guard<std::mutex> g{mu_};
  auto it = dispatch_.find(id);
  return it == dispatch_.end() ? nullptr : it->second;
}

void composite_runtime::pull(const container_spec& spec, caf::actor reply_to) {
  if (auto* rt = select(spec))
    rt->pull(spec, std::move(reply_to));
  else // the create that follows reports the routing; an image is not ours to judge
    caf::anon_send(reply_to, runtime_reply{runtime_key(spec), runtime_op::pull, true, {}, 0});
}

void composite_runtime::create(const container_spec& spec, caf::actor reply_to) {
  auto* rt = select(spec);
  if (!rt) {
    std::string names;
    for (auto* l : locals_)
      names += (names.empty() ? "" : ", ") + std::string{l->name()};
    caf::anon_send(reply_to, runtime_reply{runtime_key(spec), runtime_op::create, false,
                                           RouteToPeer{spec.service, spec.os,
                                                       "no local runtime runs OS '" + spec.os +
                                                           "' (this node has: " + names + ")"},
                                           0});
    return;
  }
  {
    std::lock_guard<std::mutex> g{mu_};
    dispatch_[runtime_key(spec)] = rt;
  }
  rt->create(spec, std::move(reply_to));
}

void composite_runtime::start(const std::string& id, caf::actor reply_to) {
  if (auto* rt = owner(id))
    rt->start(id, std::move(reply_to));
  else
    caf::anon_send(reply_to, not_found(id, runtime_op::start));
}

void composite_runtime::stop(const std::string& id, duration grace, int signal,
                             caf::actor reply_to) {
  if (auto* rt = owner(id))
    rt->stop(id, grace, signal, std::move(reply_to));
  else
    caf::anon_send(reply_to, not_found(id, runtime_op::stop));
}

void composite_runtime::remove(const std::string& id, caf::actor reply_to) {
  runtime* rt = nullptr;
  {
    std::lock_guard<std::mutex> g{mu_};
    auto it = dispatch_.find(id);
    if (it != dispatch_.end()) {
      rt = it->second;
      dispatch_.erase(it);
    }
  }
  if (rt)
    rt->remove(id, std::move(reply_to));
  else
    caf::anon_send(reply_to, not_found(id, runtime_op::remove));
}

void composite_runtime::exec(const std::string& id, uint64_t exec_id, std::vector<std::string> cmd,
                             duration timeout, caf::actor reply_to) {
  if (auto* rt = owner(id))
    rt->exec(id, exec_id, std::move(cmd), timeout, std::move(reply_to));
  else
    caf::anon_send(reply_to, exec_result{id, exec_id, -1, "no such container: " + id, false});
}

container_status composite_runtime::state(const std::string& id) const {
  auto* rt = owner(id);
  return rt ? rt->state(id) : container_status{};
}

std::vector<std::string> composite_runtime::logs(const std::string& id, std::size_t tail) const {
  auto* rt = owner(id);
  return rt ? rt->logs(id, tail) : std::vector<std::string>{};
}

std::optional<int> composite_runtime::pid(const std::string& id) const {
  auto* rt = owner(id);
  return rt ? rt->pid(id) : std::nullopt;
}

bool composite_runtime::adoptable(const std::string& id) const {
  return std::any_of(locals_.begin(), locals_.end(),
                     [&id](const runtime* rt) { return rt->adoptable(id); });
}

} // namespace nv
