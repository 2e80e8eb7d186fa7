// What crosses between nodes (design §10) over a real middleman connection on loopback: two actor
// systems, two node ids, one TCP connection. Every AgentError variant and a failure come back as
// themselves, kind and fields; a node of another cluster (another app identifier) is refused at
// the handshake.
#include <chrono>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <gtest/gtest.h>

#include "messages/caf/inspect.hpp"
#include "messages/caf/register_types.hpp"
#include "messages/failure.hpp"
#include "tests/messages/agent_error_samples.hpp"

using namespace nv;
using namespace std::chrono_literals;

namespace {

struct node_config : caf::actor_system_config {
  explicit node_config(const std::string& cluster) {
    load<caf::io::middleman>();
    set("scheduler.policy", caf::atom("sharing"));
    set("scheduler.max-threads", 2);
    set("middleman.app-identifiers", std::vector<std::string>{"nodevisor/" + cluster});
    register_message_types(*this);
  }
};

// Answers each message with itself: what a peer received is what comes back.
caf::behavior echo() {
  return {
      [](AgentError& e) { return e; },
      [](failure& f) { return f; },
  };
}

struct two_nodes {
  explicit two_nodes(const std::string& other_cluster = "test") : b_cfg{other_cluster} {}
  node_config a_cfg{"test"};
  node_config b_cfg;
  caf::actor_system a{a_cfg};
  caf::actor_system b{b_cfg};
};

} // namespace

TEST(Wire, EveryAgentErrorAndAFailureCrossALoopbackConnectionAsThemselves) {
  two_nodes nodes;
  auto server = nodes.a.spawn(echo);
  auto port = nodes.a.middleman().publish(server, 0, "127.0.0.1");
  ASSERT_TRUE(port) << nodes.a.render(port.error());
  auto remote = nodes.b.middleman().remote_actor("127.0.0.1", *port);
  ASSERT_TRUE(remote) << nodes.b.render(remote.error());
  EXPECT_NE((*remote)->node(), nodes.b.node()) << "a proxy of the other node";

  caf::scoped_actor self{nodes.b};
  std::size_t kinds = 0;
  for (const auto& sample : nv::test::samples()) {
    self->request(*remote, 10s, sample.error)
        .receive(
            [&](AgentError& back) {
              EXPECT_EQ(back.index(), sample.error.index()) << kind_name(back);
              EXPECT_EQ(back, sample.error) << to_string(back);
              EXPECT_EQ(to_string(back), sample.text);
              ++kinds;
            },
            [&](caf::error& e) { ADD_FAILURE() << nodes.b.render(e); });
  }
  EXPECT_EQ(kinds, nv::test::samples().size());

  failure routed;
  routed.path = "/web/iis/iis-rep-1";
  routed.error = RouteToPeer{"iis", "windows", "no local runtime serves windows"};
  routed.attempt = 2;
  routed.ts_us = 1732600000123456;
  routed.cause = 42;
  routed.because_path = "/web/iis";
  routed.because_error = WrongPlatform{"oci", "linux/amd64", "windows/amd64", "iis:10"};
  self->request(*remote, 10s, routed)
      .receive(
          [&](failure& back) {
            EXPECT_EQ(back.path, routed.path);
            EXPECT_EQ(back.error, routed.error);
            EXPECT_EQ(back.attempt, routed.attempt);
            EXPECT_EQ(back.ts_us, routed.ts_us);
            EXPECT_EQ(back.cause, routed.cause);
            EXPECT_EQ(back.because_path, routed.because_path);
            EXPECT_EQ(back.because_error, routed.because_error);
          },
          [&](caf::error& e) { ADD_FAILURE() << nodes.b.render(e); });
  caf::anon_send_exit(server, caf::exit_reason::user_shutdown);
}

TEST(Wire, ANodeOfAnotherClusterIsRefusedAtTheHandshake) {
  two_nodes nodes{"elsewhere"};
  auto server = nodes.a.spawn(echo);
  auto port = nodes.a.middleman().publish(server, 0, "127.0.0.1");
  ASSERT_TRUE(port) << nodes.a.render(port.error());
  auto remote = nodes.b.middleman().remote_actor("127.0.0.1", *port);
  EXPECT_FALSE(remote) << "a node with app identifier nodevisor/elsewhere joined nodevisor/test";
  caf::anon_send_exit(server, caf::exit_reason::user_shutdown);
}
