// The node's links to its peers (design §10): the `/_peers` actor, published on the cluster's
// middleman port. It keeps a direct link to every peer of a static `cluster.peers` list, and to
// every node that links to it (a full mesh): a connect through the middleman actor, then a hello
// that trades what each node is (name, os, arch, the runtimes that serve each OS), then a monitor
// of the peer's `/_peers`. A link goes down with that monitor (the peer exited, or the middleman
// killed its proxies with remote_link_unreachable: a closed connection, or no heartbeat within
// the connection timeout), or with a ping unanswered within the request timeout (which is how a
// frozen peer is noticed for certain), and is tried again with backoff; a restarted peer is a
// new node, linked again like a new one.
//
// Every request to a peer has a timeout: a plain send to a lost node is dropped, and nothing here
// may wait for one.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/stateful_actor.hpp>

#include "messages/agent_error.hpp"

namespace nv {

// Which runtime serves an OS on a node (the node config's `runtimes`).
struct served_os {
  std::string os;
  std::string runtime;
  bool operator==(const served_os&) const = default;
};

// What a node says of itself in its hello.
struct node_info {
  std::string name;
  std::string os;
  std::string arch;
  std::vector<served_os> runtimes;
  std::string address; // HOST:PORT of its middleman
  bool operator==(const node_info&) const = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, served_os& x) {
  return f(caf::meta::type_name("nv::served_os"), x.os, x.runtime);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_info& x) {
  return f(caf::meta::type_name("nv::node_info"), x.name, x.os, x.arch, x.runtimes, x.address);
}

enum class link_state : uint8_t { connecting, up, down };
std::string_view to_string(link_state s);

// One peer as this node sees it.
struct peer_link {
  std::string address; // HOST:PORT, as listed or as the peer said in its hello
  link_state state = link_state::connecting;
  std::optional<node_info> info; // from its last hello
  std::string last_error;        // why it is down, or why the last attempt failed
  int64_t since_us = 0;          // when it entered its state (wall clock)
  uint32_t attempts = 0;         // connects tried since it was last up
};

struct mesh_config {
  node_info self;
  std::vector<std::string> peers; // HOST:PORT
  std::chrono::milliseconds request_timeout{5000};
  // Every linked peer is pinged this often and is lost when a ping goes unanswered for
  // `request_timeout`: the middleman's own heartbeat timeout did not always close the connection
  // to a frozen peer (seen under load), and this does not depend on it.
  std::chrono::milliseconds ping_every{1000};
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{30000};
};

struct mesh_state {
  mesh_config cfg;
  std::map<std::string, peer_link> links; // by address
  std::map<caf::actor_addr, std::string> by_handle;
  std::map<std::string, caf::actor> handles; // of the links that are up, by address
  std::set<std::string> pinging;             // addresses with a ping in flight
  static inline const char* name = "nv.peer_mesh";
};

using mesh_actor_t = caf::stateful_actor<mesh_state>;

// Registers what crosses between nodes for the mesh; on every node, before the system starts.
void register_mesh_types(caf::actor_system_config& cfg);

// The middleman settings of design §10: the cluster's app identifier, heartbeats every second, a
// connection that hears nothing for five seconds closed. Loads the middleman.
void configure_middleman(caf::actor_system_config& cfg, const std::string& cluster);

caf::behavior peer_mesh(mesh_actor_t* self, mesh_config cfg);

// Answered by the mesh with std::vector<peer_link>: every peer it knows, by address.
using nodes_atom = caf::atom_constant<caf::atom("nodes")>;

} // namespace nv

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<nv::peer_link>)
