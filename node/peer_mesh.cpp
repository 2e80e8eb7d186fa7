#include "node/peer_mesh.hpp"

#include <algorithm>
#include <set>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "messages/failure.hpp"
#include "spec/node_config.hpp"

namespace nv {

namespace {

using hello_atom = caf::atom_constant<caf::atom("hello")>;
using reconnect_atom = caf::atom_constant<caf::atom("reconnect")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;

const char* const path = "/_peers";

// The link to `address`, made on first use.
peer_link& link_to(mesh_state& st, const std::string& address) {
  auto& link = st.links[address];
  link.address = address;
  return link;
}

void enter(peer_link& link, link_state state, std::string error = {}) {
  link.state = state;
  link.since_us = now_us();
  if (!error.empty() || state == link_state::up)
    link.last_error = std::move(error);
}

std::chrono::milliseconds backoff(const mesh_config& cfg, uint32_t attempts) {
  auto delay = cfg.backoff_initial;
  for (uint32_t i = 1; i < attempts && delay < cfg.backoff_max; ++i)
    delay *= 2;
  return std::min(delay, cfg.backoff_max);
}

// Tried again after the backoff of its attempts so far.
void retry_later(mesh_actor_t* self, const std::string& address) {
  auto& link = link_to(self->state, address);
  auto delay = backoff(self->state.cfg, link.attempts);
  self->delayed_send(self, delay, reconnect_atom::value, address);
}

void link_down(mesh_actor_t* self, const std::string& address, std::string why) {
  auto& st = self->state;
  if (auto h = st.handles.find(address); h != st.handles.end()) {
    st.by_handle.erase(h->second.address());
    self->demonitor(h->second);
    st.handles.erase(h);
  }
  auto& link = link_to(self->state, address);
  if (link.state == link_state::up)
    spdlog::warn("[{}] lost {} ({}): {}", path, link.info ? link.info->name : address, address,
                 why);
  enter(link, link_state::down, std::move(why));
  retry_later(self, address);
}

void link_up(mesh_actor_t* self, const std::string& address, const caf::actor& peer,
             node_info info) {
  auto& st = self->state;
  auto& link = link_to(st, address);
  if (link.state != link_state::up)
    spdlog::info("[{}] linked to {} ({}, {}/{})", path, info.name, address, info.os, info.arch);
  link.info = std::move(info);
  link.attempts = 0;
  enter(link, link_state::up);
  if (!st.by_handle.count(peer.address())) {
    st.by_handle[peer.address()] = address;
    st.handles[address] = peer;
    self->monitor(peer);
  }
}

// One ping to each peer that is up and has none in flight; an unanswered one loses the link.
void ping_all(mesh_actor_t* self) {
  auto& st = self->state;
  for (const auto& [address, peer] : st.handles) {
    if (!st.pinging.insert(address).second)
      continue;
    self->request(peer, st.cfg.request_timeout, ping_atom::value)
        .then([self, address = address]() { self->state.pinging.erase(address); },
              [self, address = address, peer = peer](caf::error& e) {
                auto& st = self->state;
                st.pinging.erase(address);
                auto h = st.handles.find(address);
                if (h == st.handles.end() || h->second != peer)
                  return; // already lost, or linked again since
                link_down(self, address,
                          "no answer to a ping: " + self->system().render(e) +
                              " (frozen, or cut off)");
              });
  }
  self->delayed_send(self, st.cfg.ping_every, tick_atom::value);
}

// A connect through the middleman actor, then the hello; never a blocking call.
void connect(mesh_actor_t* self, const std::string& address) {
  auto& st = self->state;
  auto& link = link_to(st, address);
  if (link.state == link_state::up)
    return;
  ++link.attempts;
  // A peer's hello names its address: one that is not HOST:PORT is not tried again.
  auto where = spec::parse_host_port(address);
  if (!where) {
    enter(link, link_state::down, "not a HOST:PORT address");
    return;
  }
  auto mm = self->system().middleman().actor_handle();
  self->request(mm, st.cfg.request_timeout, caf::connect_atom::value, where->host, where->port)
      .then(
          [self, address](caf::node_id&, caf::strong_actor_ptr& ptr, std::set<std::string>&) {
            auto peer = caf::actor_cast<caf::actor>(ptr);
            if (!peer) {
              link_down(self, address, "no actor is published there");
              return;
            }
            self->request(peer, self->state.cfg.request_timeout, hello_atom::value,
                          self->state.cfg.self)
                .then([self, address, peer](
                          node_info& theirs) { link_up(self, address, peer, std::move(theirs)); },
                      [self, address](caf::error& e) {
                        link_down(self, address, "hello: " + self->system().render(e));
                      });
          },
          [self, address](caf::error& e) {
            link_down(self, address, "connect: " + self->system().render(e));
          });
}

} // namespace

std::string_view to_string(link_state s) {
  switch (s) {
  case link_state::connecting:
    return "connecting";
  case link_state::up:
    return "up";
  case link_state::down:
    return "down";
  }
  return "";
}

void register_mesh_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<served_os>("nv::served_os");
  cfg.add_message_type<node_info>("nv::node_info");
}

void configure_middleman(caf::actor_system_config& cfg, const std::string& cluster) {
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.app-identifiers", std::vector<std::string>{"nodevisor/" + cluster});
  cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::seconds{1}});
  cfg.set("middleman.connection-timeout", caf::timespan{std::chrono::seconds{5}});
}

caf::behavior peer_mesh(mesh_actor_t* self, mesh_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  for (const auto& address : st.cfg.peers)
    if (address != st.cfg.self.address) {
      enter(link_to(st, address), link_state::connecting);
      connect(self, address);
    }
  self->set_down_handler([self](caf::down_msg& down) {
    auto& st = self->state;
    auto it = st.by_handle.find(down.source);
    if (it == st.by_handle.end())
      return;
    auto address = it->second;
    st.by_handle.erase(it);
    st.handles.erase(address);
    link_down(self, address, self->system().render(down.reason));
  });
  // A peer's unhandled message must not leave it waiting for an answer.
  self->set_default_handler(caf::print_and_drop);
  self->delayed_send(self, st.cfg.ping_every, tick_atom::value);
  return {
      [self](hello_atom, node_info& theirs) -> node_info {
        // A node that links to this one is linked back: the mesh is full whatever the lists say.
        auto& st = self->state;
        if (!theirs.address.empty() && theirs.address != st.cfg.self.address &&
            !st.links.count(theirs.address)) {
          auto& link = link_to(st, theirs.address);
          enter(link, link_state::connecting);
          link.info = theirs;
          connect(self, theirs.address);
        }
        return st.cfg.self;
      },
      [self](reconnect_atom, const std::string& address) { connect(self, address); },
      [](ping_atom) {},
      [self](tick_atom) { ping_all(self); },
      [self](nodes_atom) {
        std::vector<peer_link> out;
        for (const auto& [address, link] : self->state.links)
          out.push_back(link);
        return out;
      },
  };
}

} // namespace nv
