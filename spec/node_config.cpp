#include "spec/node_config.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <exception>
#include <fstream>
#include <limits>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>

#include "spec/document.hpp"
#include "spec/field_reader.hpp"

namespace nv::spec {

std::optional<tcp_listen> parse_host_port(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size() ||
      text.size() - colon > 6 ||
      text.find_first_not_of("0123456789", colon + 1) != std::string_view::npos)
    return std::nullopt;
  auto port = std::stoul(std::string{text.substr(colon + 1)});
  if (port < 1 || port > 65535)
    return std::nullopt;
  return tcp_listen{std::string{text.substr(0, colon)}, static_cast<uint16_t>(port)};
}

namespace {

// A node config is a screenful; anything near this is not one.
constexpr std::size_t max_config_bytes = 1024 * 1024;

// Where the problems of a flag point: "command line: --listen: ...".
constexpr std::string_view command_line = "command line";

constexpr std::string_view listen_form =
    "tcp://HOST:PORT with HOST an IP address (tcp://127.0.0.1:7070, tcp://[::1]:7070)";

bool looks_like_json(std::string_view text, std::string_view file_name) {
  if (file_name.ends_with(".json"))
    return true;
  if (text.starts_with("\xEF\xBB\xBF")) // UTF-8 byte order mark
    text.remove_prefix(3);
  auto first = text.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && text[first] == '{';
}

// The node's name becomes an etcd key and a peer's name in `ps` (design.md §10): a hostname's
// alphabet, dots included, so that the default (the hostname) is one.
bool is_node_name(std::string_view s) {
  if (s.empty() || s.size() > 253 || !is_alnum(s.front()))
    return false;
  for (char c : s)
    if (!is_alnum(c) && c != '-' && c != '.' && c != '_')
      return false;
  return true;
}

constexpr std::string_view node_name_rule =
    "1 to 253 letters, digits, '-', '.' or '_', starting with a letter or digit";

std::optional<std::string> hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0)
    return std::nullopt;
  return std::string{name};
}

// "tcp://127.0.0.1:7070", "tcp://[::1]:7070". Empty `error` on success.
std::optional<tcp_listen> parse_listen(std::string_view text, std::string& error) {
  error.clear();
  auto fail = [&] {
    error = "expected " + std::string{listen_form} + ", got \"" + std::string{text} + "\"";
    return std::nullopt;
  };
  constexpr std::string_view scheme = "tcp://";
  if (!text.starts_with(scheme))
    return fail();
  auto rest = text.substr(scheme.size());
  std::string_view host;
  std::string_view port;
  bool v6 = false;
  if (rest.starts_with('[')) {
    auto close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      return fail();
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
    v6 = true;
  } else {
    auto colon = rest.rfind(':');
    if (colon == std::string_view::npos)
      return fail();
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  unsigned char address[sizeof(in6_addr)];
  const std::string host_text{host};
  if (::inet_pton(v6 ? AF_INET6 : AF_INET, host_text.c_str(), address) != 1)
    return fail();
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || end != port.data() + port.size() || port.empty() || value == 0 ||
      value > 65535) {
    error = "expected a port from 1 to 65535 in " + std::string{listen_form} + ", got \"" +
            std::string{text} + "\"";
    return std::nullopt;
  }
  return tcp_listen{host_text, static_cast<uint16_t>(value)};
}

bool is_loopback(const tcp_listen& listen) {
  in6_addr v6{};
  if (::inet_pton(AF_INET6, listen.host.c_str(), &v6) == 1)
    return IN6_IS_ADDR_LOOPBACK(&v6);
  in_addr v4{};
  return ::inet_pton(AF_INET, listen.host.c_str(), &v4) == 1 &&
         (ntohl(v4.s_addr) >> 24) == 127; // 127.0.0.0/8
}

// A Unix socket's path must fit sockaddr_un, with its terminating NUL.
constexpr std::size_t max_socket_path = sizeof(sockaddr_un{}.sun_path) - 1;

std::string socket_too_long(const std::filesystem::path& p) {
  return "the socket path is " + std::to_string(p.string().size()) +
         " bytes; a Unix socket's path may have at most " + std::to_string(max_socket_path);
}

std::optional<std::filesystem::path> read_absolute_path(reader& r, const node& n,
                                                        const std::string& path) {
  auto text = read_string(r, n, path);
  if (!text)
    return std::nullopt;
  if (text->empty() || text->front() != '/') {
    r.error(n, path, "expected an absolute path, got " + describe(n));
    return std::nullopt;
  }
  return std::filesystem::path{*text};
}

// "10MiB", "512KiB", "1GiB" (or Kubernetes' "10Mi"), "4096B", or a plain number of bytes.
std::optional<uint64_t> parse_size(const node& n) {
  std::string_view text = n.text;
  int shift = 0;
  if (n.type == node::kind::string) {
    constexpr std::pair<std::string_view, int> suffixes[] = {
        {"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"Ki", 10}, {"Mi", 20}, {"Gi", 30}, {"B", 0}};
    bool found = false;
    for (auto [suffix, bits] : suffixes)
      if (text.ends_with(suffix)) {
        text.remove_suffix(suffix.size());
        shift = bits;
        found = true;
        break;
      }
    if (!found)
      return std::nullopt;
  } else if (n.type != node::kind::integer) {
    return std::nullopt;
  }
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty() ||
      value > (std::numeric_limits<uint64_t>::max() >> shift))
    return std::nullopt;
  return value << shift;
}

// Rotating below this would rotate on every few lines.
constexpr uint64_t min_log_size = 4096;

void read_logs(reader& r, const node& n, const std::string& path, log_rotation& out) {
  read_fields(
      r, n, path,
      {{"max_size",
        [&](auto& v, auto& p) {
          auto size = parse_size(v);
          if (size && *size >= min_log_size)
            out.max_size = *size;
          else
            r.error(v, p,
                    "expected a size of at least 4KiB, such as \"10MiB\", \"512KiB\" or "
                    "a number of bytes, got " +
                        describe(v));
        }},
       {"max_files", [&](auto& v, auto& p) { set(out.max_files, read_int(r, v, p, 1, 1000)); }}});
}

tls_files read_tls(reader& r, const node& n, const std::string& path, bool ca_required) {
  tls_files out;
  auto file = [&](std::string& target) {
    return [&](const node& v, const std::string& p) {
      if (auto file = read_absolute_path(r, v, p))
        target = file->string();
    };
  };
  read_fields(r, n, path,
              {{"cert", file(out.cert), true},
               {"key", file(out.key), true},
               {"ca", file(out.ca), ca_required}});
  return out;
}

void read_runtimes(reader& r, const node& n, const std::string& path,
                   std::map<std::string, runtime_name>& out) {
  if (n.type != node::kind::map) {
    r.error(n, path,
            "expected a mapping of OS to runtime, such as {linux: process}, got " + describe(n));
    return;
  }
  std::map<std::string, runtime_name> runtimes;
  read_entries(r, n, path, [&](const std::string& key, const node& value, const std::string& p) {
    // The spec's `platform.os` words; its `macos` is OCI's `darwin`.
    constexpr std::string_view oses[] = {"linux", "windows", "darwin", "macos"};
    node os_node;
    os_node.type = node::kind::string;
    os_node.text = key;
    os_node.line = value.line;
    os_node.column = value.column;
    auto os = read_word(r, os_node, p, oses);
    auto runtime = read_enum<runtime_name>(r, value, p,
                                           {{"process", runtime_name::process},
                                            {"sim", runtime_name::sim},
                                            {"oci", runtime_name::oci}});
    if (!os || !runtime)
      return;
    const std::string name{oses[*os] == "macos" ? "darwin" : oses[*os]};
    if (!runtimes.emplace(name, *runtime).second)
      r.error(value, p, "darwin is named twice (macos is darwin)");
  });
  if (n.keys.empty())
    r.error(n, path, "expected at least one OS, such as {linux: process}");
  out = std::move(runtimes);
}

// "HOST:PORT" with a port 1–65535: a middleman's address.
std::optional<std::string> read_host_port(reader& r, const node& n, const std::string& path) {
  auto text = read_string(r, n, path);
  if (!text)
    return std::nullopt;
  if (!parse_host_port(*text)) {
    r.error(n, path, "expected HOST:PORT, such as 10.0.0.1:7071, got " + describe(n));
    return std::nullopt;
  }
  return text;
}

cluster_config read_cluster(reader& r, const node& n, const std::string& path) {
  cluster_config out;
  read_fields(r, n, path,
              {{"name", [&](auto& v, auto& p) { set(out.name, read_string(r, v, p)); }},
               {"listen", [&](auto& v, auto& p) { set(out.listen, read_host_port(r, v, p)); }},
               {"peers",
                [&](auto& v, auto& p) {
                  read_items(r, v, p, [&](const node& item, const std::string& item_p) {
                    if (auto address = read_host_port(r, item, item_p))
                      out.peers.push_back(*address);
                  });
                }},
               {"etcd", [&](auto& v, auto& p) { set(out.etcd, read_string_list(r, v, p)); }},
               {"tls", [&](auto& v, auto& p) { out.tls = read_tls(r, v, p, true); }}});
  if (find(n, "peers") && find(n, "etcd"))
    r.error(*find(n, "etcd"), child_path(path, "etcd"),
            "give either cluster.peers (a static list) or cluster.etcd, not both");
  return out;
}

registries_config read_registries(reader& r, const node& n, const std::string& path) {
  registries_config out;
  read_fields(r, n, path, {{"insecure", [&](auto& v, auto& p) {
                              set(out.insecure, read_string_list(r, v, p));
                            }}});
  return out;
}

// Where `listen` came from, for the problems about it.
struct listen_origin {
  std::string file;
  std::string path;
};

void read_node(reader& r, const node& root, node_config& c, listen_origin& listen_from) {
  read_fields(
      r, root, "",
      {{"name",
        [&](auto& v, auto& p) {
          auto name = read_string(r, v, p);
          if (name && is_node_name(*name))
            c.name = *name;
          else if (name)
            r.error(v, p, "expected " + std::string{node_name_rule} + ", got " + describe(v));
        }},
       {"state_dir", [&](auto& v, auto& p) { set(c.state_dir, read_absolute_path(r, v, p)); }},
       {"socket",
        [&](auto& v, auto& p) {
          auto socket = read_absolute_path(r, v, p);
          if (socket && socket->string().size() > max_socket_path)
            r.error(v, p, socket_too_long(*socket));
          else
            set(c.socket, socket);
        }},
       {"socket_group",
        [&](auto& v, auto& p) {
          auto group = read_string(r, v, p);
          if (group && group->empty())
            r.error(v, p, "expected a group name, got \"\"");
          else if (group)
            c.socket_group = *group;
        }},
       {"listen",
        [&](auto& v, auto& p) {
          if (auto text = read_string(r, v, p)) {
            std::string error;
            c.listen = parse_listen(*text, error);
            if (!c.listen)
              r.error(v, p, error);
            listen_from = {r.file, p};
          }
        }},
       {"tls", [&](auto& v, auto& p) { c.tls = read_tls(r, v, p, false); }},
       {"token_file", [&](auto& v, auto& p) { set(c.token_file, read_absolute_path(r, v, p)); }},
       {"manifests", [&](auto& v, auto& p) { set(c.manifests, read_absolute_path(r, v, p)); }},
       {"runtimes", [&](auto& v, auto& p) { read_runtimes(r, v, p, c.runtimes); }},
       {"logs", [&](auto& v, auto& p) { read_logs(r, v, p, c.logs); }},
       {"cluster", [&](auto& v, auto& p) { c.cluster = read_cluster(r, v, p); }},
       {"registries", [&](auto& v, auto& p) { c.registries = read_registries(r, v, p); }}});
}

// A flag's path, absolute as it would be for the daemon started here.
std::optional<std::filesystem::path> flag_path(reader& r, const std::string& value,
                                               std::string_view flag) {
  if (value.empty()) {
    r.add({std::string{command_line}, std::string{flag}, "expected a path, got \"\""});
    return std::nullopt;
  }
  std::error_code ec;
  auto absolute = std::filesystem::absolute(value, ec);
  if (ec) {
    r.add({std::string{command_line}, std::string{flag},
           "cannot make \"" + value + "\" absolute: " + ec.message()});
    return std::nullopt;
  }
  return absolute.lexically_normal();
}

void apply_overrides(reader& r, const node_config_overrides& o, node_config& c,
                     listen_origin& listen_from) {
  auto flag_error = [&](std::string_view flag, std::string message) {
    r.add({std::string{command_line}, std::string{flag}, std::move(message)});
  };
  if (o.name) {
    if (is_node_name(*o.name))
      c.name = *o.name;
    else
      flag_error("--name", "expected " + std::string{node_name_rule} + ", got \"" + *o.name + "\"");
  }
  if (o.state_dir)
    set(c.state_dir, flag_path(r, *o.state_dir, "--state-dir"));
  if (o.socket) {
    auto socket = flag_path(r, *o.socket, "--socket");
    if (socket && socket->string().size() > max_socket_path)
      flag_error("--socket", socket_too_long(*socket));
    else
      set(c.socket, socket);
  }
  if (o.manifests)
    set(c.manifests, flag_path(r, *o.manifests, "--manifests"));
  if (o.listen) {
    std::string error;
    c.listen = parse_listen(*o.listen, error);
    if (!c.listen)
      flag_error("--listen", error);
    listen_from = {std::string{command_line}, "--listen"};
  }
}

// The rules between fields, on the config as the flags left it.
void check_node(reader& r, const node& root, node_config& c, const listen_origin& listen_from) {
  if (c.name.empty()) {
    auto host = hostname();
    if (host && is_node_name(*host))
      c.name = *host;
    else
      r.error(root, "name",
              "the hostname" + (host ? " \"" + *host + "\"" : std::string{}) +
                  " is not a usable node name (" + std::string{node_name_rule} +
                  "); set name: in the node config or pass --name");
  }
  if (c.tls)
    r.error(*find(root, "tls"), "tls",
            "not supported yet: the control API serves plain HTTP; listen on a loopback address "
            "and put a TLS-terminating proxy in front of it for remote clients");
  if (!c.listen)
    return;
  const std::string shown =
      "tcp://" +
      (c.listen->host.find(':') != std::string::npos ? "[" + c.listen->host + "]"
                                                     : c.listen->host) +
      ":" + std::to_string(c.listen->port);
  if (!c.token_file)
    r.add({r.file, "token_file",
           "required when listen is set (" + shown + ", by " +
               (listen_from.file == command_line ? "--listen" : "listen in this file") +
               "): name a file of mode 0600 holding the API token"});
  if (!c.tls && !is_loopback(*c.listen))
    r.add({listen_from.file, listen_from.path,
           c.listen->host +
               " is not a loopback address: the API speaks plain HTTP, so it "
               "listens only on 127.0.0.0/8 or [::1] (tcp://127.0.0.1:" +
               std::to_string(c.listen->port) + ")"});
}

node_config_result load(std::string_view text, std::string file,
                        const node_config_overrides& overrides) {
  node_config_result result;
  auto whole_file = [&](std::string message) {
    result.problems.push_back({std::move(file), "", std::move(message)});
    return result;
  };
  if (text.size() > max_config_bytes)
    return whole_file("the file is larger than " + std::to_string(max_config_bytes) + " bytes");
  reader r;
  r.file = file;
  std::optional<node> root;
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos)
    root = node{}; // an empty file is the defaults in either syntax
  else
    root = looks_like_json(text, file) ? parse_json(text, r.file, r.problems)
                                       : parse_yaml(text, r.file, r.problems);
  if (root) {
    node_config config;
    listen_origin listen_from;
    read_node(r, *root, config, listen_from);
    apply_overrides(r, overrides, config, listen_from);
    check_node(r, *root, config, listen_from);
    r.finish();
    if (!has_errors(r.problems))
      result.config = std::move(config);
  }
  for (auto& p : r.problems)
    (p.level == severity::error ? result.problems : result.warnings).push_back(std::move(p));
  return result;
}

} // namespace

std::string_view to_string(runtime_name runtime) {
  switch (runtime) {
  case runtime_name::process:
    return "process";
  case runtime_name::sim:
    return "sim";
  case runtime_name::oci:
    return "oci";
  }
  return "?";
}

node_config_result load_node_config_text(std::string_view text, std::string_view file_name,
                                         const node_config_overrides& overrides) {
  try {
    return load(text, std::string{file_name}, overrides);
  } catch (const std::exception& e) { // std::bad_alloc, in practice
    node_config_result result;
    result.problems.push_back(
        {std::string{file_name}, "", std::string{"cannot load the node config: "} + e.what()});
    return result;
  }
}

node_config_result load_node_config(const std::filesystem::path& path,
                                    const node_config_overrides& overrides) {
  const auto file = path.string();
  auto unreadable = [&](std::string why) {
    node_config_result result;
    result.problems.push_back({file, "", "cannot read the node config: " + std::move(why)});
    return result;
  };
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return unreadable("it is a directory");
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return unreadable(std::strerror(errno));
  // Bounded reads: the path may name a device or a pipe that never ends.
  std::string text;
  char buffer[64 * 1024];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_config_bytes)
      return unreadable("larger than " + std::to_string(max_config_bytes) + " bytes");
  }
  if (in.bad())
    return unreadable(std::strerror(errno));
  return load_node_config_text(text, file, overrides);
}

} // namespace nv::spec
