// The daemon's node config (design.md §8): YAML or JSON, loaded and checked like a spec, so that
// each problem names the file, the field path and what was expected.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spec/problem.hpp"

namespace nv::spec {

// Which runtime serves an OS (`runtimes`). `oci` is in the schema ahead of the runtime itself
// (design.md §11): the daemon refuses it until it exists.
enum class runtime_name : uint8_t { process, sim, oci };
std::string_view to_string(runtime_name runtime);

// `listen: tcp://HOST:PORT`.
struct tcp_listen {
  std::string host; // an IP address as written, without brackets ("127.0.0.1", "::1")
  uint16_t port = 0;
  bool operator==(const tcp_listen&) const = default;
};

// "HOST:PORT" with a port 1–65535 (a middleman's address: `cluster.listen`, `cluster.peers`):
// HOST as written, and the port; nullopt when the text is not of that form.
std::optional<tcp_listen> parse_host_port(std::string_view text);

// `tls` for the control API, read so that its paths are checked; serving it is not supported
// yet, which the loader reports as an error.
struct tls_files {
  std::string cert;
  std::string key;
  std::string ca; // optional: clients must present a certificate it signed
  bool operator==(const tls_files&) const = default;
};

// `logs`: per-replica log files (design.md §9), rotated by size.
struct log_rotation {
  uint64_t max_size = 10 * 1024 * 1024; // bytes
  uint32_t max_files = 5;               // rotated files kept: .1 … .max_files
  bool operator==(const log_rotation&) const = default;
};

// `cluster` (design.md §10): kept as data for the peers issue; not acted on yet.
struct cluster_config {
  std::string name;
  std::string listen;             // "HOST:PORT", the middleman's port
  std::vector<std::string> peers; // "HOST:PORT", a static membership ...
  std::vector<std::string> etcd;  // ... or etcd endpoints, "http://HOST:PORT"
  std::optional<tls_files> tls;   // the cluster CA and this node's certificate
  bool operator==(const cluster_config&) const = default;
};

// `registries` (design.md §11): what the oci runtime's image store is told.
struct registries_config {
  std::vector<std::string> insecure; // registries spoken to over plain HTTP
  bool operator==(const registries_config&) const = default;
};

struct node_config {
  std::string name; // default: the hostname
  std::filesystem::path state_dir = "/var/lib/nodevisor";
  std::filesystem::path socket = "/run/nodevisor/nodevisor.sock";
  std::optional<std::string> socket_group; // the 0660 socket's group; none: the daemon's own
  std::optional<tcp_listen> listen;        // none: no TCP listener
  std::optional<tls_files> tls;
  std::optional<std::filesystem::path> token_file; // required with `listen`
  std::optional<std::filesystem::path> manifests;  // a directory of specs, like static pods
  std::map<std::string, runtime_name> runtimes{{"linux", runtime_name::process}}; // OS → runtime
  log_rotation logs;
  std::optional<cluster_config> cluster;
  std::optional<registries_config> registries;
  bool operator==(const node_config&) const = default;
};

// The daemon's flags, which override the file's values (design.md §8). Relative paths are taken
// from the working directory, as a flag's path is expected to be.
struct node_config_overrides {
  std::optional<std::string> name;      // --name
  std::optional<std::string> state_dir; // --state-dir
  std::optional<std::string> socket;    // --socket
  std::optional<std::string> listen;    // --listen
  std::optional<std::string> manifests; // --manifests
};

struct node_config_result {
  std::optional<node_config> config; // set only when `problems` is empty
  std::vector<problem> problems;     // errors, in the order found
  std::vector<problem> warnings;
};

// Never throws: an unreadable file, a syntax error or a schema error is a problem. The file is
// read first, then the overrides are applied (each checked, a problem naming its flag), then the
// rules between fields are checked on the result: `listen` without `token_file` is an error
// whether `listen` came from the file or the flag. Paths in the file must be absolute.
node_config_result load_node_config(const std::filesystem::path& path,
                                    const node_config_overrides& overrides = {});
// `file_name` names the text in problems; JSON when it ends in .json or the text starts with
// '{', else YAML. Empty text is the defaults: the daemon without --config loads "".
node_config_result load_node_config_text(std::string_view text, std::string_view file_name,
                                         const node_config_overrides& overrides = {});

} // namespace nv::spec
