// The node config: its defaults, every field, every problem with its path, the flags that
// override it, and the example in packaging/.
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spec/node_config.hpp"

using namespace nv::spec;
using testing::ElementsAre;
using testing::IsEmpty;

namespace {

node_config_result load(std::string_view yaml, const node_config_overrides& flags = {}) {
  return load_node_config_text(yaml, "node.yaml", flags);
}

std::vector<std::string> printed(const std::vector<problem>& problems) {
  std::vector<std::string> out;
  for (const auto& p : problems)
    out.push_back(to_string(p));
  return out;
}

// The one error a config gives, as printed.
std::string only_error(std::string_view yaml, const node_config_overrides& flags = {}) {
  auto result = load(yaml, flags);
  EXPECT_FALSE(result.config) << yaml;
  if (result.problems.size() != 1)
    return "expected one error, got " + std::to_string(result.problems.size()) + ": " +
           testing::PrintToString(printed(result.problems));
  return to_string(result.problems[0]);
}

std::string host() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

} // namespace

TEST(NodeConfig, EmptyTextIsTheDefaults) {
  for (std::string_view text : {"", "\n", "{}", "# only a comment\n"}) {
    auto result = load(text);
    ASSERT_TRUE(result.config) << testing::PrintToString(printed(result.problems));
    EXPECT_THAT(result.problems, IsEmpty());
    EXPECT_THAT(result.warnings, IsEmpty());
    const auto& c = *result.config;
    EXPECT_EQ(c.name, host()) << "the name defaults to the hostname";
    EXPECT_EQ(c.state_dir, "/var/lib/nodevisor");
    EXPECT_EQ(c.socket, "/run/nodevisor/nodevisor.sock");
    EXPECT_EQ(c.socket_group, std::nullopt);
    EXPECT_EQ(c.listen, std::nullopt);
    EXPECT_EQ(c.tls, std::nullopt);
    EXPECT_EQ(c.token_file, std::nullopt);
    EXPECT_EQ(c.manifests, std::nullopt);
    EXPECT_EQ(c.runtimes, (std::map<std::string, runtime_name>{{"linux", runtime_name::process}}));
    EXPECT_EQ(c.logs.max_size, 10u * 1024 * 1024);
    EXPECT_EQ(c.logs.max_files, 5u);
    EXPECT_EQ(c.cluster, std::nullopt);
    EXPECT_EQ(c.registries, std::nullopt);
  }
}

TEST(NodeConfig, ReadsEveryField) {
  auto result = load(R"(name: node-1.example
state_dir: /srv/nv
socket: /srv/nv/api.sock
socket_group: ops
listen: tcp://127.0.0.1:7070
token_file: /etc/nodevisor/token
manifests: /etc/nodevisor/manifests
runtimes: {linux: process, windows: sim, macos: oci}
logs: {max_size: 512KiB, max_files: 3}
cluster:
  name: prod
  listen: 10.0.0.1:7071
  peers: ["10.0.0.2:7071", "10.0.0.3:7071"]
  tls: {ca: /etc/nv/ca.pem, cert: /etc/nv/node.pem, key: /etc/nv/node.key}
registries:
  insecure: [registry.lan:5000]
)");
  ASSERT_TRUE(result.config) << testing::PrintToString(printed(result.problems));
  const auto& c = *result.config;
  EXPECT_EQ(c.name, "node-1.example");
  EXPECT_EQ(c.state_dir, "/srv/nv");
  EXPECT_EQ(c.socket, "/srv/nv/api.sock");
  EXPECT_EQ(c.socket_group, "ops");
  EXPECT_EQ(c.listen, (tcp_listen{"127.0.0.1", 7070}));
  EXPECT_EQ(c.token_file, "/etc/nodevisor/token");
  EXPECT_EQ(c.manifests, "/etc/nodevisor/manifests");
  EXPECT_EQ(c.runtimes, (std::map<std::string, runtime_name>{{"darwin", runtime_name::oci},
                                                             {"linux", runtime_name::process},
                                                             {"windows", runtime_name::sim}}))
      << "a runtimes map replaces the default; the spec's macos is darwin";
  EXPECT_EQ(c.logs, (log_rotation{512 * 1024, 3}));
  ASSERT_TRUE(c.cluster);
  EXPECT_EQ(c.cluster->name, "prod");
  EXPECT_EQ(c.cluster->listen, "10.0.0.1:7071");
  EXPECT_THAT(c.cluster->peers, ElementsAre("10.0.0.2:7071", "10.0.0.3:7071"));
  EXPECT_EQ(c.cluster->tls, (tls_files{"/etc/nv/node.pem", "/etc/nv/node.key", "/etc/nv/ca.pem"}));
  ASSERT_TRUE(c.registries);
  EXPECT_THAT(c.registries->insecure, ElementsAre("registry.lan:5000"));
  EXPECT_THAT(printed(result.warnings), ElementsAre());
}

TEST(NodeConfig, JsonIsReadTheSameWay) {
  auto result = load_node_config_text(
      R"({"name": "n1", "listen": "tcp://[::1]:8080", "token_file": "/t",
          "logs": {"max_size": 65536}, "cluster": {"etcd": ["http://127.0.0.1:2379"]}})",
      "node.json");
  ASSERT_TRUE(result.config) << testing::PrintToString(printed(result.problems));
  EXPECT_EQ(result.config->listen, (tcp_listen{"::1", 8080}));
  EXPECT_EQ(result.config->logs.max_size, 65536u);
  EXPECT_THAT(result.config->cluster->etcd, ElementsAre("http://127.0.0.1:2379"));
  EXPECT_EQ(only_error(R"({"stat_dir": "/x"})"),
            "node.yaml: stat_dir: unknown field; did you mean 'state_dir'?");
}

TEST(NodeConfig, SizesTakeBinaryUnitsOrBytes) {
  auto size = [](std::string_view value) {
    auto result = load("logs: {max_size: " + std::string{value} + "}\n");
    return result.config ? result.config->logs.max_size : 0;
  };
  EXPECT_EQ(size("10MiB"), 10u << 20);
  EXPECT_EQ(size("10Mi"), 10u << 20);
  EXPECT_EQ(size("1GiB"), 1u << 30);
  EXPECT_EQ(size("4096B"), 4096u);
  EXPECT_EQ(size("8192"), 8192u);
  EXPECT_EQ(size("\"8192\""), 0u) << "a quoted number has no unit";
  EXPECT_EQ(size("10MB"), 0u) << "decimal units are not taken: 10MB is ambiguous";
  EXPECT_EQ(size("1KiB"), 0u) << "below 4KiB";
}

TEST(NodeConfig, EachProblemNamesItsFieldAndWhatWasExpected) {
  EXPECT_EQ(only_error("state_dri: /x\n"),
            "node.yaml: state_dri: unknown field; did you mean 'state_dir'?");
  EXPECT_EQ(only_error("watchdog: 30s\n"), "node.yaml: watchdog: unknown field")
      << "the watchdog is systemd's WatchdogSec=, not a config key";
  EXPECT_EQ(only_error("name: -bad\n"),
            "node.yaml: name: expected 1 to 253 letters, digits, '-', '.' or '_', starting with "
            "a letter or digit, got \"-bad\"");
  EXPECT_EQ(only_error("state_dir: var/lib/nv\n"),
            "node.yaml: state_dir: expected an absolute path, got \"var/lib/nv\"");
  EXPECT_EQ(only_error("state_dir: [a]\n"), "node.yaml: state_dir: expected a string, got a list");
  EXPECT_EQ(only_error("socket: /" + std::string(120, 's') + "\n"),
            "node.yaml: socket: the socket path is 121 bytes; a Unix socket's path may have at "
            "most 107");
  EXPECT_EQ(only_error("socket_group: ''\n"),
            "node.yaml: socket_group: expected a group name, got \"\"");
  EXPECT_EQ(only_error("manifests: specs\n"),
            "node.yaml: manifests: expected an absolute path, got \"specs\"");
  EXPECT_EQ(only_error("token_file: token\n"),
            "node.yaml: token_file: expected an absolute path, got \"token\"");
  EXPECT_EQ(only_error("listen: 127.0.0.1:7070\ntoken_file: /t\n"),
            "node.yaml: listen: expected tcp://HOST:PORT with HOST an IP address "
            "(tcp://127.0.0.1:7070, tcp://[::1]:7070), got \"127.0.0.1:7070\"");
  EXPECT_EQ(only_error("listen: tcp://localhost:7070\ntoken_file: /t\n"),
            "node.yaml: listen: expected tcp://HOST:PORT with HOST an IP address "
            "(tcp://127.0.0.1:7070, tcp://[::1]:7070), got \"tcp://localhost:7070\"")
      << "a name could resolve to any address";
  EXPECT_EQ(only_error("listen: tcp://127.0.0.1:70000\ntoken_file: /t\n"),
            "node.yaml: listen: expected a port from 1 to 65535 in tcp://HOST:PORT with HOST an "
            "IP address (tcp://127.0.0.1:7070, tcp://[::1]:7070), got \"tcp://127.0.0.1:70000\"");
  EXPECT_EQ(only_error("runtimes: {linux: docker}\n"),
            "node.yaml: runtimes.linux: expected one of process|sim|oci, got \"docker\"");
  EXPECT_EQ(only_error("runtimes: {plan9: sim}\n"),
            "node.yaml: runtimes.plan9: expected one of linux|windows|darwin|macos, got \"plan9\"");
  EXPECT_EQ(only_error("runtimes: {}\n"),
            "node.yaml: runtimes: expected at least one OS, such as {linux: process}");
  EXPECT_EQ(only_error("runtimes: process\n"),
            "node.yaml: runtimes: expected a mapping of OS to runtime, such as {linux: process}, "
            "got \"process\"");
  EXPECT_EQ(only_error("runtimes: {macos: sim, darwin: sim}\n"),
            "node.yaml: runtimes.darwin: darwin is named twice (macos is darwin)");
  EXPECT_EQ(only_error("logs: {max_size: ten}\n"),
            "node.yaml: logs.max_size: expected a size of at least 4KiB, such as \"10MiB\", "
            "\"512KiB\" or a number of bytes, got \"ten\"");
  EXPECT_EQ(only_error("logs: {max_files: 0}\n"),
            "node.yaml: logs.max_files: expected an integer from 1 to 1000, got 0");
  EXPECT_EQ(only_error("logs: {max_file: 2}\n"),
            "node.yaml: logs.max_file: unknown field; did you mean 'max_files'?");
  EXPECT_EQ(only_error("name: a\nname: b\n"), "node.yaml: name: duplicate key");
  EXPECT_EQ(only_error("- a\n"), "node.yaml:1:1: expected a mapping, got a list");
  EXPECT_EQ(only_error("name: [\n").rfind("node.yaml:", 0), 0u) << "a syntax error";
}

TEST(NodeConfig, ClusterAndRegistriesAreChecked) {
  auto result = load("cluster: {peers: [a:1], etcd: [http://b:2], tsl: {}}\nregistries: "
                     "{insecur: [x]}\n");
  EXPECT_FALSE(result.config);
  EXPECT_THAT(
      printed(result.problems),
      ElementsAre("node.yaml: cluster.tsl: unknown field; did you mean 'tls'?",
                  "node.yaml: cluster.etcd: give either cluster.peers (a static list) or "
                  "cluster.etcd, not both",
                  "node.yaml: registries.insecur: unknown field; did you mean 'insecure'?"));
  EXPECT_EQ(only_error("cluster: {tls: {ca: /ca, cert: /c}}\n"),
            "node.yaml: cluster.tls.key: required field is missing");
  EXPECT_EQ(only_error("cluster: {name: t, listen: 7071}\n"),
            "node.yaml: cluster.listen: expected HOST:PORT, such as 10.0.0.1:7071, got 7071");
  EXPECT_EQ(only_error("cluster: {name: t, listen: 'h:1', peers: ['a:1', 'b:99999']}\n"),
            "node.yaml: cluster.peers[1]: expected HOST:PORT, such as 10.0.0.1:7071, got "
            "\"b:99999\"");
}

TEST(NodeConfig, ListenNeedsATokenFileAndALoopbackAddress) {
  EXPECT_EQ(only_error("listen: tcp://127.0.0.1:7070\n"),
            "node.yaml: token_file: required when listen is set (tcp://127.0.0.1:7070, by listen "
            "in this file): name a file of mode 0600 holding the API token");
  EXPECT_EQ(only_error("listen: tcp://0.0.0.0:7070\ntoken_file: /t\n"),
            "node.yaml: listen: 0.0.0.0 is not a loopback address: the API speaks plain HTTP, "
            "so it listens only on 127.0.0.0/8 or [::1] (tcp://127.0.0.1:7070)");
  EXPECT_EQ(only_error("listen: tcp://[::]:7070\ntoken_file: /t\n"),
            "node.yaml: listen: :: is not a loopback address: the API speaks plain HTTP, so it "
            "listens only on 127.0.0.0/8 or [::1] (tcp://127.0.0.1:7070)");
  for (std::string_view loopback :
       {"tcp://127.0.0.1:1", "tcp://127.1.2.3:65535", "tcp://[::1]:80"}) {
    auto result = load("listen: " + std::string{loopback} + "\ntoken_file: /t\n");
    EXPECT_TRUE(result.config) << loopback;
  }
}

TEST(NodeConfig, TlsIsReadButNotSupportedYet) {
  // With tls the loopback rule is lifted, and the one problem is that tls is not served yet.
  EXPECT_EQ(only_error("listen: tcp://10.0.0.1:7070\ntoken_file: /t\n"
                       "tls: {cert: /c.pem, key: /k.pem}\n"),
            "node.yaml: tls: not supported yet: the control API serves plain HTTP; listen on a "
            "loopback address and put a TLS-terminating proxy in front of it for remote clients");
  auto result = load("tls: {cert: c.pem}\n");
  EXPECT_THAT(printed(result.problems),
              ElementsAre("node.yaml: tls.cert: expected an absolute path, got \"c.pem\"",
                          "node.yaml: tls.key: required field is missing",
                          "node.yaml: tls: not supported yet: the control API serves plain "
                          "HTTP; listen on a loopback address and put a TLS-terminating proxy in "
                          "front of it for remote clients"));
}

TEST(NodeConfig, FlagsOverrideTheFileAndAreCheckedToo) {
  node_config_overrides flags;
  flags.name = "flagged";
  flags.state_dir = "/from/flag";
  flags.socket = "/from/flag.sock";
  flags.manifests = "/from/manifests";
  auto result = load("name: filed\nstate_dir: /from/file\nmanifests: /m\n", flags);
  ASSERT_TRUE(result.config) << testing::PrintToString(printed(result.problems));
  EXPECT_EQ(result.config->name, "flagged");
  EXPECT_EQ(result.config->state_dir, "/from/flag");
  EXPECT_EQ(result.config->socket, "/from/flag.sock");
  EXPECT_EQ(result.config->manifests, "/from/manifests");

  node_config_overrides relative;
  relative.state_dir = "state/../nv";
  result = load("", relative);
  ASSERT_TRUE(result.config);
  EXPECT_EQ(result.config->state_dir, std::filesystem::current_path() / "nv")
      << "a flag's relative path is taken from the working directory";

  node_config_overrides listen;
  listen.listen = "tcp://127.0.0.1:9090";
  EXPECT_EQ(only_error("", listen),
            "node.yaml: token_file: required when listen is set (tcp://127.0.0.1:9090, by "
            "--listen): name a file of mode 0600 holding the API token");
  result = load("token_file: /t\nlisten: tcp://127.0.0.1:1\n", listen);
  ASSERT_TRUE(result.config);
  EXPECT_EQ(result.config->listen, (tcp_listen{"127.0.0.1", 9090}));

  listen.listen = "tcp://10.1.1.1:9090";
  EXPECT_EQ(only_error("token_file: /t\n", listen),
            "command line: --listen: 10.1.1.1 is not a loopback address: the API speaks plain "
            "HTTP, so it listens only on 127.0.0.0/8 or [::1] (tcp://127.0.0.1:9090)");
  listen.listen = "http://127.0.0.1:9090";
  EXPECT_EQ(only_error("token_file: /t\n", listen),
            "command line: --listen: expected tcp://HOST:PORT with HOST an IP address "
            "(tcp://127.0.0.1:7070, tcp://[::1]:7070), got \"http://127.0.0.1:9090\"");
  node_config_overrides bad;
  bad.name = "no spaces";
  bad.state_dir = "";
  EXPECT_THAT(printed(load("", bad).problems),
              ElementsAre("command line: --name: expected 1 to 253 letters, digits, '-', '.' or "
                          "'_', starting with a letter or digit, got \"no spaces\"",
                          "command line: --state-dir: expected a path, got \"\""));
}

TEST(NodeConfig, TheExampleInPackagingLoadsCleanly) {
  auto result = load_node_config(NV_SOURCE_DIR "/packaging/node.yaml");
  ASSERT_TRUE(result.config) << testing::PrintToString(printed(result.problems));
  EXPECT_THAT(printed(result.warnings), IsEmpty());
  EXPECT_EQ(result.config->socket_group, "nodevisor");
  EXPECT_EQ(result.config->logs, log_rotation{});
}

TEST(NodeConfig, AFileThatCannotBeReadIsOneProblem) {
  auto result = load_node_config("/nonexistent/node.yaml");
  EXPECT_THAT(printed(result.problems),
              ElementsAre("/nonexistent/node.yaml: cannot read the node config: No such file or "
                          "directory"));
  result = load_node_config("/");
  EXPECT_THAT(printed(result.problems),
              ElementsAre("/: cannot read the node config: it is a directory"));
}
