#include "node/tree_walk.hpp"

#include <caf/all.hpp>

#include "messages/caf/atoms.hpp"

namespace nv {

namespace {

using children = std::vector<child_info>;

// Asks every handle at once, then takes the answers in order: `on_answer(i, children)` for each
// one that answered in time.
template <class OnAnswer>
void ask_all(caf::scoped_actor& self, const std::vector<caf::actor>& whom,
             std::chrono::milliseconds timeout, OnAnswer on_answer) {
  using handle = decltype(self->request(whom.front(), timeout, which_children_atom::value));
  std::vector<handle> pending;
  pending.reserve(whom.size());
  for (auto& h : whom)
    pending.push_back(self->request(h, timeout, which_children_atom::value));
  for (std::size_t i = 0; i < pending.size(); ++i)
    pending[i].receive([&](children& c) { on_answer(i, c); }, [](caf::error&) {});
}

} // namespace

const deployment_sample* tree_sample::find(const std::string& deployment) const {
  for (auto& d : deployments)
    if (d.record.id == deployment)
      return &d;
  return nullptr;
}

tree_sample walk_tree(caf::actor_system& sys, const caf::actor& node,
                      std::chrono::milliseconds timeout) {
  tree_sample out;
  caf::scoped_actor self{sys};
  self->request(node, timeout, which_children_atom::value)
      .receive(
          [&](children& ds) {
            out.answered = true;
            for (auto& d : ds)
              out.deployments.push_back(deployment_sample{std::move(d), {}, false});
          },
          [](caf::error&) {});
  if (!out.answered)
    return out;

  std::vector<caf::actor> asked;
  std::vector<std::size_t> which;
  for (std::size_t i = 0; i < out.deployments.size(); ++i)
    if (out.deployments[i].record.handle) {
      asked.push_back(out.deployments[i].record.handle);
      which.push_back(i);
    }
  ask_all(self, asked, timeout, [&](std::size_t k, children& services) {
    auto& d = out.deployments[which[k]];
    d.services_known = true;
    for (auto& s : services)
      d.services.push_back(service_sample{d.record.id, std::move(s), {}, false});
  });

  asked.clear();
  std::vector<service_sample*> samples;
  for (auto& d : out.deployments)
    for (auto& s : d.services)
      if (s.service.handle) {
        asked.push_back(s.service.handle);
        samples.push_back(&s);
      }
  ask_all(self, asked, timeout, [&](std::size_t k, children& c) {
    samples[k]->children = std::move(c);
    samples[k]->children_known = true;
  });
  // The answers hold strong handles; the walk's result must not keep an exited actor alive.
  for (auto& d : out.deployments) {
    d.record.handle = nullptr;
    for (auto& s : d.services) {
      s.service.handle = nullptr;
      for (auto& c : s.children)
        c.handle = nullptr;
    }
  }
  return out;
}

} // namespace nv
