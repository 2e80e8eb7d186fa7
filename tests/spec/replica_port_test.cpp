// nodevisor's `replica_port` extension: what the loader accepts, the errors it names, and the
// per-replica expansion of ${NODEVISOR_PORT} and ${NODEVISOR_REPLICA}.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spec/replica_vars.hpp"
#include "spec_test_util.hpp"

using namespace nv;
using namespace nv::spec;
using namespace nv::spec::test;
using testing::Contains;
using testing::ElementsAre;
using testing::HasSubstr;

namespace {

std::string spec_with(std::string_view services) {
  return "version: v1\ndeployment: ports\nservices:\n" + std::string{services};
}

const char* api_with_port = R"(  api:
    image: {name: local/demo}
    replica_port: 17011
    scale: {mode: fixed, replicas: 2}
    command:
      entrypoint: ["nodevisor-demo"]
      args: ["--port", "${NODEVISOR_PORT}", "--name", "api-${NODEVISOR_REPLICA}"]
    health:
      check: {type: http, url: "http://127.0.0.1:${NODEVISOR_PORT}/health"}
    init:
      steps:
        - id: self
          uses: init.wait_tcp
          with: {host: 127.0.0.1, port: 0}
)";

} // namespace

TEST(ReplicaPort, IsReadAndItsReferencesAreAccepted) {
  auto result = load_yaml(spec_with(api_with_port));
  ASSERT_TRUE(result.spec) << testing::PrintToString(printed(result));
  EXPECT_THAT(printed(result), ElementsAre());
  EXPECT_EQ(result.spec->services[0].replica_port, std::optional<uint16_t>{17011});
  // Expansion happens at planning, per replica: the spec keeps the text as written.
  EXPECT_EQ(result.spec->services[0].command.args[1], "${NODEVISOR_PORT}");
}

TEST(ReplicaPort, ARangePastPort65535IsAnError) {
  auto result = load_yaml(spec_with(R"(  api:
    image: {name: local/demo}
    replica_port: 65535
    scale: {mode: fixed, replicas: 2}
)"));
  EXPECT_FALSE(result.spec);
  EXPECT_THAT(printed(result),
              ElementsAre("spec.yaml: services.api.replica_port: replica_port 65535 with 2 "
                          "replicas goes past port 65535 (65536); choose a base of at most 65534"));
}

TEST(ReplicaPort, ThePortReferencedWithoutAReplicaPortIsAnError) {
  auto result = load_yaml(spec_with(R"(  api:
    image: {name: local/demo}
    command: {entrypoint: ["srv"], args: ["--port", "${NODEVISOR_PORT}"]}
    health: {check: {type: tcp, port: 0}}
    init:
      steps:
        - {id: w, uses: init.wait_http, with: {url: "http://127.0.0.1:${NODEVISOR_PORT}/"}}
)"));
  EXPECT_FALSE(result.spec);
  auto out = printed(result);
  EXPECT_THAT(out, Contains(HasSubstr("services.api.command.args[1]: ${NODEVISOR_PORT} needs the "
                                      "service's replica_port")));
  EXPECT_THAT(out, Contains(HasSubstr("services.api.health.check.port: port 0 means the "
                                      "replica's own port, which needs the service's "
                                      "replica_port")));
  EXPECT_THAT(out, Contains(HasSubstr("services.api.init.steps[0].with.url: ${NODEVISOR_PORT} "
                                      "needs the service's replica_port")));
  EXPECT_EQ(out.size(), 3u) << testing::PrintToString(out);
}

TEST(ReplicaPort, TheReplicaNumberNeedsNoReplicaPort) {
  auto result = load_yaml(spec_with(R"(  api:
    image: {name: local/demo}
    command: {entrypoint: ["srv"], args: ["--name", "api-${NODEVISOR_REPLICA}"]}
)"));
  EXPECT_TRUE(result.spec) << testing::PrintToString(printed(result));
}

TEST(ReplicaPort, OverlappingRangesOfTwoServicesAreAnError) {
  auto result = load_yaml(spec_with(R"(  api:
    image: {name: local/demo}
    replica_port: 17011
    scale: {mode: fixed, replicas: 3}
  web:
    image: {name: local/demo}
    replica_port: 17013
  db:
    image: {name: local/demo}
    replica_port: 17014
)"));
  EXPECT_FALSE(result.spec);
  EXPECT_THAT(printed(result),
              ElementsAre("spec.yaml: services.web.replica_port: ports 17013-17013 overlap those "
                          "of service 'api' (17011-17013)"));
}

TEST(ReplicaPort, AnUnknownNodevisorVariableIsAnError) {
  auto result = load_yaml(spec_with(R"(  api:
    image: {name: local/demo}
    replica_port: 17011
    health: {check: {type: command, command: "probe ${NODEVISOR_PROT}"}}
)"));
  EXPECT_FALSE(result.spec);
  EXPECT_THAT(printed(result),
              ElementsAre("spec.yaml: services.api.health.check.command: ${NODEVISOR_PROT} is not "
                          "a variable nodevisor expands; use ${NODEVISOR_PORT} or "
                          "${NODEVISOR_REPLICA}"));
}

TEST(ReplicaVariables, ExpandPortAndReplicaAndLeaveOtherTextAlone) {
  replica_values second{2, replica_port(17011, 2)};
  EXPECT_EQ(second.port, std::optional<uint16_t>{17012});
  EXPECT_EQ(expand_replica_variables("http://127.0.0.1:${NODEVISOR_PORT}/health", second),
            "http://127.0.0.1:17012/health");
  EXPECT_EQ(expand_replica_variables("api-${NODEVISOR_REPLICA} ${HOME} $NODEVISOR_PORT", second),
            "api-2 ${HOME} $NODEVISOR_PORT");
  EXPECT_EQ(expand_replica_variables("${NODEVISOR_PORT}${NODEVISOR_PORT}", second), "1701217012");
  EXPECT_EQ(expand_replica_variables("${NODEVISOR_PORT", second), "${NODEVISOR_PORT");
  EXPECT_EQ(expand_replica_variables("${NODEVISOR_PORT}", replica_values{1, std::nullopt}),
            "${NODEVISOR_PORT}");
  EXPECT_THAT(nodevisor_references("a ${NODEVISOR_PORT} b ${NODEVISOR_X} ${PATH}"),
              ElementsAre("NODEVISOR_PORT", "NODEVISOR_X"));
}
