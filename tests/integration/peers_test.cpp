// Real daemons on 127.0.0.1 linked into a mesh over CAF's middleman (design §10), membership by
// a static cluster.peers list: every node sees every other up; a peer killed with SIGKILL is
// seen down at once, one frozen with SIGSTOP (no FIN) through the heartbeat timeout, and both
// are linked again, once each, when they are back; a node of another cluster is refused.
// Deadlines are generous; nothing here asserts how fast the links are.
#include <httplib.h>
#include <map>
#include <thread>

#include "nodevisor_process.hpp"

using namespace nv_test;

namespace {

struct peer_node {
  std::string name;
  uint16_t port = 0;
  fs::path dir;
  std::unique_ptr<nodevisor_process> daemon;

  std::string address() const { return "127.0.0.1:" + std::to_string(port); }
  std::string socket() const { return (dir / "api.sock").string(); }
};

class Peers : public Run {
protected:
  ~Peers() override {
    for (auto& [name, n] : nodes)
      if (n.daemon && n.daemon->pid > 0)
        ::kill(n.daemon->pid, SIGCONT);
  }

  peer_node& add(const std::string& name) {
    auto& n = nodes[name];
    n.name = name;
    n.port = nv_test_support::free_loopback_port();
    n.dir = dir / name;
    fs::create_directories(n.dir);
    return n;
  }

  // Writes its config, listing every node added so far as peers, and starts it.
  void start(peer_node& n, const std::string& cluster = "test",
             const std::string& runtimes = "{linux: sim}") {
    std::string peers;
    for (auto& [name, other] : nodes)
      peers += (peers.empty() ? "" : ", ") + other.address();
    auto config = n.dir / "node.yaml";
    std::ofstream{config} << "name: " << n.name << "\nstate_dir: " << (n.dir / "state").string()
                          << "\nsocket: " << n.socket() << "\nruntimes: " << runtimes << "\n"
                          << "cluster:\n  name: " << cluster << "\n  listen: " << n.address()
                          << "\n  peers: [" << peers << "]\n";
    n.daemon = std::make_unique<nodevisor_process>(
        std::vector<std::string>{"daemon", "--config", config.string(), "--log-level", "info"});
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline && links(n).empty())
      n.daemon->pump(50ms);
    ASSERT_FALSE(links(n).empty()) << n.name << " never answered: " << n.daemon->stderr_text;
  }

  // GET /api/v1/nodes of `n`: link state by node name (the node itself is "self").
  std::map<std::string, std::string> links(peer_node& n) {
    httplib::Client c{n.socket(), 80};
    c.set_address_family(AF_UNIX);
    c.set_connection_timeout(2, 0);
    c.set_read_timeout(10, 0);
    auto r = c.Get("/api/v1/nodes");
    std::map<std::string, std::string> out;
    if (!r || r->status != 200)
      return out;
    auto body = nlohmann::json::parse(r->body, nullptr, false);
    entries[n.name] = body;
    if (body.is_array())
      for (auto& e : body)
        out[e.value("name", "?")] = e.value("link", "?");
    return out;
  }

  // Waits until `n` sees `peer` in `state`; pumps every daemon's output meanwhile.
  bool sees(peer_node& n, const std::string& peer, const std::string& state,
            std::chrono::seconds limit = 60s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      auto l = links(n);
      if (l.count(peer) && l[peer] == state)
        return true;
      for (auto& [name, other] : nodes)
        if (other.daemon)
          other.daemon->pump(10ms);
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << n.name << " never saw " << peer << " " << state
                  << "; last: " << entries[n.name].dump() << "\n"
                  << n.daemon->stderr_text;
    return false;
  }

  std::map<std::string, peer_node> nodes;
  std::map<std::string, nlohmann::json> entries; // the last answer of each
};

} // namespace

TEST_F(Peers, ThreeDaemonsMeshAndALostPeerIsSeenDownThenLinkedAgainOnce) {
  auto& a = add("node-a");
  auto& b = add("node-b");
  auto& c = add("node-c");
  // Each lists all three (itself too, as one config for a cluster would).
  for (auto* n : {&a, &b, &c})
    start(*n);
  for (auto* n : {&a, &b, &c}) {
    for (auto* peer : {&a, &b, &c}) {
      if (peer != n) {
        EXPECT_TRUE(sees(*n, peer->name, "up")) << n->name << " → " << peer->name;
      }
    }
  }
  for (auto& e : entries["node-a"]) {
    if (e["name"] != "node-b")
      continue;
    EXPECT_EQ(e["address"], b.address());
    EXPECT_EQ(e["os"], "linux");
    EXPECT_EQ(e["runtimes"], nlohmann::json({{"linux", "sim"}}));
  }

  // Killed: its connection closes, and both peers see it at once.
  ::kill(c.daemon->pid, SIGKILL);
  c.daemon->wait_exit(10s);
  EXPECT_TRUE(sees(a, "node-c", "down"));
  EXPECT_TRUE(sees(b, "node-c", "down"));
  // Back, as a new node with a new node id: linked again, and listed once.
  start(c);
  EXPECT_TRUE(sees(a, "node-c", "up"));
  EXPECT_TRUE(sees(b, "node-c", "up"));
  EXPECT_TRUE(sees(c, "node-a", "up"));
  EXPECT_EQ(links(a).size(), 3u) << entries["node-a"].dump();
}

// A node whose sim runtime serves windows says so to its peers, and runs a windows service
// itself rather than route it away.
TEST_F(Peers, ANodeServingWindowsWithSimSaysSoAndRunsAWindowsService) {
  auto& a = add("node-a");
  auto& w = add("node-w");
  start(a);
  start(w, "test", "{linux: sim, windows: sim}");
  ASSERT_TRUE(sees(a, "node-w", "up"));
  for (auto& e : entries["node-a"]) {
    if (e["name"] == "node-w") {
      EXPECT_EQ(e["runtimes"], nlohmann::json({{"linux", "sim"}, {"windows", "sim"}}));
    }
  }
  httplib::Client c{w.socket(), 80};
  c.set_address_family(AF_UNIX);
  c.set_read_timeout(30, 0);
  auto spec = "version: v1\ndeployment: desk\nservices:\n  iis:\n    image: {name: "
              "mcr.microsoft.com/windows/servercore/iis}\n    platform: {os: windows}\n";
  auto posted =
      c.Post("/api/v1/deployments", nlohmann::json{{"spec", spec}}.dump(), "application/json");
  ASSERT_TRUE(posted);
  EXPECT_EQ(posted->status, 201) << posted->body;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  std::string state;
  while (std::chrono::steady_clock::now() < deadline && state != "healthy") {
    auto r = c.Get("/api/v1/deployments/desk");
    if (r && r->status == 200) {
      auto d = nlohmann::json::parse(r->body, nullptr, false);
      if (d.contains("service_details") && !d["service_details"].empty())
        state = d["service_details"][0].value("state", "");
    }
    w.daemon->pump(100ms);
  }
  EXPECT_EQ(state, "healthy") << w.daemon->stderr_text;
}

TEST_F(Peers, AFrozenPeerIsSeenDownThroughTheHeartbeatAndUpOnceItThaws) {
  auto& a = add("node-a");
  auto& b = add("node-b");
  start(a);
  start(b);
  ASSERT_TRUE(sees(a, "node-b", "up"));
  // No FIN: only the missing heartbeats (connection-timeout 5 s) tell.
  ::kill(b.daemon->pid, SIGSTOP);
  EXPECT_TRUE(sees(a, "node-b", "down"));
  for (auto& e : entries["node-a"]) {
    if (e["name"] == "node-b") {
      // The middleman's heartbeat timeout or the mesh's own unanswered ping, whichever first.
      auto why = e.value("last_error", "");
      EXPECT_TRUE(why == "exit_reason(remote_link_unreachable)" ||
                  why.starts_with("no answer to a ping"))
          << e.dump();
    }
  }
  ::kill(b.daemon->pid, SIGCONT);
  EXPECT_TRUE(sees(a, "node-b", "up"));
  EXPECT_TRUE(sees(b, "node-a", "up"));
}

TEST_F(Peers, ANodeOfAnotherClusterIsRefused) {
  auto& a = add("node-a");
  start(a);
  auto& stranger = add("stranger");
  start(stranger, "other");
  EXPECT_TRUE(sees(stranger, a.address(), "down")) << "refused at the handshake";
  auto refused = entries["stranger"].dump();
  EXPECT_NE(refused.find("connect:"), std::string::npos) << refused;
  // Nothing of it reached node-a.
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(links(a), (std::map<std::string, std::string>{{"node-a", "self"}}));
}
