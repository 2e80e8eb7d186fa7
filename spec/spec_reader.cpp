#include "spec/spec_reader.hpp"

#include <charconv>
#include <cstdint>
#include <limits>
#include <unordered_set>

#include "spec/env.hpp"
#include "spec/signal.hpp"

namespace nv::spec {

namespace {

// ZLayer fields (crates/zlayer-types/src/spec/types.rs) that nodevisor accepts and ignores.
constexpr std::string_view deployment_zlayer_only[] = {"externals", "tunnels", "api"};
constexpr std::string_view service_zlayer_only[] = {
    "schedule",       "network",       "replica_groups", "lifecycle",
    "isolation",      "devices",       "storage",        "port_mappings",
    "capabilities",   "cap_add",       "cap_drop",       "privileged",
    "node_mode",      "node_selector", "affinity",       "service_type",
    "wasm",           "wasm_http",     "logs",           "host_network",
    "hostname",       "dns",           "extra_hosts",    "labels",
    "sysctls",        "ulimits",       "security_opt",   "pid_mode",
    "ipc_mode",       "network_mode",  "extra_groups",   "read_only_root_fs",
    "init_container", "tty",           "stdin_open",     "userns_mode",
    "cgroup_parent",  "expose",        "overlay"};
constexpr std::string_view image_zlayer_only[] = {"source_policy"};
constexpr std::string_view resources_zlayer_only[] = {
    "pids_limit",        "cpuset",        "cpu_shares",       "memory_swap", "memory_reservation",
    "memory_swappiness", "oom_score_adj", "oom_kill_disable", "blkio_weight"};
// The scheduler's (placement, gang scheduling) or a driver's (model, time-slicing config).
constexpr std::string_view gpu_zlayer_only[] = {
    "mode", "model", "scheduling", "distributed", "time_slice_index", "time_slicing_config_path"};
// nodevisor starts `min` replicas and does not autoscale.
constexpr std::string_view adaptive_zlayer_only[] = {"max", "cooldown", "targets"};
constexpr std::string_view platform_zlayer_only[] = {"osVersion"};
constexpr std::string_view restart_policy_zlayer_only[] = {"max_attempts", "delay"};

constexpr int64_t max_u32 = std::numeric_limits<uint32_t>::max();

const auto already_read = [](const node&, const std::string&) {};

// Service names and step ids become actor paths and replica ids ("/web/api/api-rep-1",
// "init:wait-db"), so they keep to a DNS-label-like alphabet; a leading '_' is reserved for
// the node's own actors.
bool is_name(std::string_view s) {
  if (s.empty() || s.size() > 63 || !is_alnum(s.front()))
    return false;
  for (char c : s)
    if (!is_alnum(c) && c != '-' && c != '_')
      return false;
  return true;
}

constexpr std::string_view name_rule =
    "1 to 63 letters, digits, '-' or '_', starting with a letter or digit";

// ZLayer's rule for deployment names (validate.rs, validate_deployment_name).
bool is_deployment_name(std::string_view s) {
  if (s.size() < 3 || s.size() > 63 || !is_alnum(s.front()))
    return false;
  for (char c : s)
    if (!is_alnum(c) && c != '-')
      return false;
  return true;
}

bool is_env_name(std::string_view s) {
  if (s.empty() || (s.front() >= '0' && s.front() <= '9'))
    return false;
  for (char c : s)
    if (!is_alnum(c) && c != '_')
      return false;
  return true;
}

std::optional<std::string> read_text(reader& r, const node& n, const std::string& path) {
  auto s = read_string(r, n, path);
  if (s && s->find_first_not_of(" \t\r\n") == std::string::npos) {
    r.error(n, path, "expected a non-empty string, got " + describe(n));
    return std::nullopt;
  }
  return s;
}

std::optional<std::string> read_url(reader& r, const node& n, const std::string& path) {
  auto s = read_string(r, n, path);
  if (s && !s->starts_with("http://") && !s->starts_with("https://")) {
    r.error(n, path, "expected an http:// or https:// URL, got " + describe(n));
    return std::nullopt;
  }
  return s;
}

std::optional<duration> read_positive_duration(reader& r, const node& n, const std::string& path) {
  auto d = read_duration(r, n, path);
  if (d && d->count() == 0) {
    r.error(n, path, "expected a duration greater than 0, got " + describe(n));
    return std::nullopt;
  }
  return d;
}

std::optional<uint16_t> read_port(reader& r, const node& n, const std::string& path) {
  auto port = read_int(r, n, path, 1, 65535);
  return port ? std::optional{static_cast<uint16_t>(*port)} : std::nullopt;
}

// A tcp check's port, where 0 means the replica's own port (ZLayer's "the service's port").
std::optional<uint16_t> read_port_or_own(reader& r, const node& n, const std::string& path) {
  auto port = read_int(r, n, path, 0, 65535);
  return port ? std::optional{static_cast<uint16_t>(*port)} : std::nullopt;
}

std::optional<uint16_t> read_status(reader& r, const node& n, const std::string& path) {
  auto status = read_int(r, n, path, 100, 599);
  return status ? std::optional{static_cast<uint16_t>(*status)} : std::nullopt;
}

// "512Mi": ZLayer's validator takes a positive integer with a binary suffix only.
std::optional<uint64_t> parse_memory(std::string_view text) {
  constexpr std::pair<std::string_view, int> suffixes[] = {
      {"Ki", 10}, {"Mi", 20}, {"Gi", 30}, {"Ti", 40}};
  for (auto [suffix, shift] : suffixes) {
    if (!text.ends_with(suffix))
      continue;
    auto digits = text.substr(0, text.size() - suffix.size());
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc{} || end != digits.data() + digits.size() || value == 0 ||
        value > (std::numeric_limits<uint64_t>::max() >> shift))
      return std::nullopt;
    return value << shift;
  }
  return std::nullopt;
}

// The tag that selects a variant (`type`, `mode`): read first, whatever the key order.
template <class E>
std::optional<E> read_tag(reader& r, const node& n, const std::string& path, std::string_view key,
                          std::initializer_list<word<E>> words) {
  if (n.type != node::kind::map) {
    r.error(n, path, "expected a mapping, got " + describe(n));
    return std::nullopt;
  }
  const node* tag = find(n, key);
  if (!tag) {
    r.error(n, child_path(path, key), "required field is missing");
    return std::nullopt;
  }
  return read_enum(r, *tag, child_path(path, key), words);
}

void read_image(reader& r, const node& n, const std::string& path, image_spec& out) {
  read_fields(r, n, path,
              {
                  {"name", [&](auto& v, auto& p) { set(out.name, read_text(r, v, p)); }, true},
                  {"pull_policy",
                   [&](auto& v, auto& p) {
                     set(out.pull,
                         read_enum<pull_policy>(r, v, p,
                                                {{"always", pull_policy::always},
                                                 {"newer", pull_policy::newer},
                                                 {"if_not_present", pull_policy::if_not_present},
                                                 {"never", pull_policy::never}}));
                   }},
              },
              image_zlayer_only);
}

void read_command(reader& r, const node& n, const std::string& path, command_spec& out) {
  read_fields(
      r, n, path,
      {
          {"entrypoint", [&](auto& v, auto& p) { set(out.entrypoint, read_string_list(r, v, p)); }},
          {"args", [&](auto& v, auto& p) { set(out.args, read_string_list(r, v, p)); }},
          {"workdir", [&](auto& v, auto& p) { set(out.workdir, read_text(r, v, p)); }},
      });
}

void read_env(reader& r, const node& n, const std::string& path, env_list& out) {
  read_entries(r, n, path, [&](const std::string& name, const node& v, const std::string& p) {
    if (!is_env_name(name))
      r.error(v, p, "not a valid environment variable name (letters, digits and '_')");
    auto value = read_string(r, v, p);
    if (!value)
      return;
    if (auto reference = env_reference(*value); reference && !is_env_name(*reference))
      r.error(v, p, "expected $E: followed by a variable name, got " + describe(v));
    else if (value->starts_with("$S:"))
      r.warning(v, p, "ZLayer secret references are not resolved by nodevisor; passed as written");
    out.emplace_back(name, std::move(*value));
  });
}

// docker's --user: name, uid, name:group or uid:gid; whether they exist is the runtime's to say.
void read_user(reader& r, const node& n, const std::string& path, std::string& out) {
  auto value = read_string(r, n, path);
  if (!value)
    return;
  auto colon = value->find(':');
  bool ok = !value->empty() && colon != 0 && colon + 1 != value->size() &&
            (colon == std::string::npos || value->find(':', colon + 1) == std::string::npos);
  if (!ok)
    r.error(n, path, "expected a user as name, uid, name:group or uid:gid, got " + describe(n));
  else
    out = std::move(*value);
}

enum class scale_mode : uint8_t { fixed, adaptive, manual };

void read_scale(reader& r, const node& n, const std::string& path, uint32_t& replicas) {
  auto mode = read_tag<scale_mode>(r, n, path, "mode",
                                   {{"fixed", scale_mode::fixed},
                                    {"adaptive", scale_mode::adaptive},
                                    {"manual", scale_mode::manual}});
  if (!mode)
    return;
  auto read_count = [&](auto& v, auto& p) { set(replicas, read_int(r, v, p, 0, max_u32)); };
  switch (*mode) {
  case scale_mode::fixed:
    read_fields(r, n, path, {{"mode", already_read}, {"replicas", read_count, true}});
    break;
  case scale_mode::adaptive:
    read_fields(r, n, path, {{"mode", already_read}, {"min", read_count, true}},
                adaptive_zlayer_only);
    break;
  case scale_mode::manual:
    read_fields(r, n, path,
                {{"mode", [&](auto& v, auto& p) {
                    r.warning(v, p, "manual scaling is not acted on; nodevisor starts 1 replica");
                  }}});
    break;
  }
}

void read_platform(reader& r, const node& n, const std::string& path,
                   std::optional<platform_spec>& out) {
  platform_spec platform;
  bool ok = read_fields(
      r, n, path,
      {
          {"os",
           [&](auto& v, auto& p) {
             set(platform.os, read_enum<std::string_view>(r, v, p,
                                                          {{"linux", "linux"},
                                                           {"windows", "windows"},
                                                           {"macos", "darwin"},
                                                           {"darwin", "darwin"}}));
           },
           true},
          {"arch",
           [&](auto& v, auto& p) {
             set(platform.arch,
                 read_enum<std::string_view>(r, v, p, {{"amd64", "amd64"}, {"arm64", "arm64"}}));
           }},
      },
      platform_zlayer_only);
  if (ok)
    out = platform;
}

void read_stop_signal(reader& r, const node& n, const std::string& path, int& out) {
  auto text = read_string(r, n, path);
  if (!text)
    return;
  if (auto number = parse_signal(*text))
    out = *number;
  else
    r.error(n, path, "expected a signal such as SIGTERM, TERM or 15, got " + describe(n));
}

void read_restart_policy(reader& r, const node& n, const std::string& path,
                         std::optional<restart_kind>& out) {
  read_fields(r, n, path,
              {{"kind",
                [&](auto& v, auto& p) {
                  set(out,
                      read_enum<restart_kind>(r, v, p,
                                              {{"no", restart_kind::no},
                                               {"always", restart_kind::always},
                                               {"unless_stopped", restart_kind::unless_stopped},
                                               {"on_failure", restart_kind::on_failure}}));
                },
                true}},
              restart_policy_zlayer_only);
}

void read_gpu(reader& r, const node& n, const std::string& path, gpu_request& out) {
  auto dir = [&](std::string& into) {
    return [&](auto& v, auto& p) {
      auto text = read_string(r, v, p);
      if (text && !text->starts_with("/"))
        r.error(v, p, "expected an absolute path, got " + describe(v));
      else if (text)
        into = *text;
    };
  };
  read_fields(r, n, path,
              {
                  {"count",
                   [&](auto& v, auto& p) {
                     if (auto count = read_int(r, v, p, 1, 1024))
                       out.count = static_cast<uint32_t>(*count);
                   }},
                  {"vendor",
                   [&](auto& v, auto& p) {
                     if (auto vendor = read_enum<std::string_view>(r, v, p,
                                                                   {{"nvidia", "nvidia"},
                                                                    {"amd", "amd"},
                                                                    {"intel", "intel"},
                                                                    {"apple", "apple"}}))
                       out.vendor = *vendor;
                   }},
                  {"sharing",
                   [&](auto& v, auto& p) {
                     set(out.sharing,
                         read_enum<gpu_sharing>(r, v, p,
                                                {{"exclusive", gpu_sharing::exclusive},
                                                 {"mps", gpu_sharing::mps},
                                                 {"time-slice", gpu_sharing::time_slice}}));
                   }},
                  {"mps_pipe_dir", dir(out.mps_pipe_dir)},
                  {"mps_log_dir", dir(out.mps_log_dir)},
              },
              gpu_zlayer_only);
}

void read_resources(reader& r, const node& n, const std::string& path, resources_spec& out) {
  read_fields(
      r, n, path,
      {
          {"cpu",
           [&](auto& v, auto& p) {
             auto cpu = read_number(r, v, p);
             if (cpu && *cpu <= 0)
               r.error(v, p, "expected a number of cores greater than 0, got " + describe(v));
             else
               set(out.cpu, cpu);
           }},
          {"memory",
           [&](auto& v, auto& p) {
             auto text = read_string(r, v, p);
             if (!text)
               return;
             if (auto bytes = parse_memory(*text))
               out.memory = bytes;
             else
               r.error(v, p,
                       "expected a size such as 512Mi (Ki, Mi, Gi or Ti), got " + describe(v));
           }},
          {"gpu", [&](auto& v, auto& p) { read_gpu(r, v, p, out.gpu.emplace()); }},
      },
      resources_zlayer_only);
}

enum class check_type : uint8_t { tcp, http, command };

void read_check(reader& r, const node& n, const std::string& path, check& out) {
  auto type = read_tag<check_type>(
      r, n, path, "type",
      {{"tcp", check_type::tcp}, {"http", check_type::http}, {"command", check_type::command}});
  if (!type)
    return;
  switch (*type) {
  case check_type::tcp: {
    tcp_check check;
    read_fields(
        r, n, path,
        {{"type", already_read},
         {"port", [&](auto& v, auto& p) { set(check.port, read_port_or_own(r, v, p)); }, true}});
    out = check;
    break;
  }
  case check_type::http: {
    http_check check{.url = {}, .expect_status = 200};
    read_fields(r, n, path,
                {{"type", already_read},
                 {"url", [&](auto& v, auto& p) { set(check.url, read_url(r, v, p)); }, true},
                 {"expect_status",
                  [&](auto& v, auto& p) { set(check.expect_status, read_status(r, v, p)); }}});
    out = check;
    break;
  }
  case check_type::command: {
    command_check check;
    read_fields(
        r, n, path,
        {{"type", already_read},
         {"command", [&](auto& v, auto& p) { set(check.command, read_text(r, v, p)); }, true}});
    out = check;
    break;
  }
  }
}

void read_health(reader& r, const node& n, const std::string& path,
                 std::optional<health_spec>& out) {
  health_spec health;
  bool ok = read_fields(
      r, n, path,
      {
          {"start_grace",
           [&](auto& v, auto& p) { set(health.start_grace, read_duration(r, v, p)); }},
          {"interval",
           [&](auto& v, auto& p) { set(health.interval, read_positive_duration(r, v, p)); }},
          {"timeout",
           [&](auto& v, auto& p) { set(health.timeout, read_positive_duration(r, v, p)); }},
          {"retries",
           [&](auto& v, auto& p) { set(health.retries, read_int(r, v, p, 1, max_u32)); }},
          {"check", [&](auto& v, auto& p) { read_check(r, v, p, health.check); }, true},
      });
  if (ok)
    out = health;
}

std::optional<failure_action> read_failure_action(reader& r, const node& n,
                                                  const std::string& path) {
  return read_enum<failure_action>(r, n, path,
                                   {{"fail", failure_action::fail},
                                    {"warn", failure_action::warn},
                                    {"continue", failure_action::proceed}});
}

void read_depends(reader& r, const node& n, const std::string& path, std::vector<dependency>& out) {
  // Every entry is kept, even a broken one, so that model indices match the file's.
  read_items(r, n, path, [&](const node& item, const std::string& item_p) {
    nv::dependency dependency;
    read_fields(
        r, item, item_p,
        {
            {"service", [&](auto& v, auto& p) { set(dependency.service, read_text(r, v, p)); },
             true},
            {"condition",
             [&](auto& v, auto& p) {
               set(dependency.condition,
                   read_enum<dependency_condition>(r, v, p,
                                                   {{"started", dependency_condition::started},
                                                    {"healthy", dependency_condition::healthy},
                                                    {"ready", dependency_condition::ready}}));
             }},
            {"timeout", [&](auto& v, auto& p) { set(dependency.timeout, read_duration(r, v, p)); }},
            {"on_timeout",
             [&](auto& v, auto& p) { set(dependency.on_timeout, read_failure_action(r, v, p)); }},
        });
    out.push_back(std::move(dependency));
  });
}

enum class action_kind : uint8_t { wait_tcp, wait_http, run };

// An action's own `timeout` parameter is integer seconds in ZLayer; a humantime string is
// accepted too.
void read_action(reader& r, const node& with, const std::string& path, action_kind kind,
                 init_step& out) {
  auto timeout = [&r, &out](auto& v, auto& p) {
    set(out.action_timeout, read_duration(r, v, p, true));
  };
  switch (kind) {
  case action_kind::wait_tcp: {
    tcp_check action;
    read_fields(
        r, with, path,
        {{"host", [&](auto& v, auto& p) { set(action.host, read_text(r, v, p)); }, true},
         {"port", [&](auto& v, auto& p) { set(action.port, read_port_or_own(r, v, p)); }, true},
         {"timeout", timeout}});
    out.action = action;
    break;
  }
  case action_kind::wait_http: {
    http_check action;
    read_fields(r, with, path,
                {{"url", [&](auto& v, auto& p) { set(action.url, read_url(r, v, p)); }, true},
                 {"expect_status",
                  [&](auto& v, auto& p) { set(action.expect_status, read_status(r, v, p)); }},
                 {"timeout", timeout}});
    out.action = action;
    break;
  }
  case action_kind::run: {
    command_check action;
    out.action_timeout = std::chrono::seconds{300};
    read_fields(
        r, with, path,
        {{"command", [&](auto& v, auto& p) { set(action.command, read_text(r, v, p)); }, true},
         {"timeout", timeout}});
    out.action = action;
    break;
  }
  }
}

void read_step(reader& r, const node& n, const std::string& path, init_step& step) {
  std::optional<action_kind> kind;
  const node* with = nullptr;
  read_fields(
      r, n, path,
      {
          {"id",
           [&](auto& v, auto& p) {
             auto id = read_string(r, v, p);
             if (id && !is_name(*id))
               r.error(v, p,
                       "expected a step id of " + std::string{name_rule} + ", got " + describe(v));
             else
               set(step.id, id);
           },
           true},
          {"uses",
           [&](auto& v, auto& p) {
             kind = read_enum<action_kind>(r, v, p,
                                           {{"init.wait_tcp", action_kind::wait_tcp},
                                            {"init.wait_http", action_kind::wait_http},
                                            {"init.run", action_kind::run}});
           },
           true},
          {"with", [&](auto& v, auto&) { with = &v; }},
          {"timeout", [&](auto& v, auto& p) { set(step.timeout, read_duration(r, v, p)); }},
          {"on_failure",
           [&](auto& v, auto& p) { set(step.on_failure, read_failure_action(r, v, p)); }},
          {"retry", [&](auto& v, auto& p) { set(step.retry, read_int(r, v, p, 0, max_u32)); }},
      });
  // `with` is read once `uses` is known, wherever it is written; omitted, it is empty.
  const node none;
  if (kind)
    read_action(r, with ? *with : none, child_path(path, "with"), *kind, step);
}

void read_init(reader& r, const node& n, const std::string& path, std::vector<init_step>& out,
               bool& process) {
  if (n.type == node::kind::boolean) {
    set(process, read_bool(r, n, path));
    return;
  }
  read_fields(r, n, path,
              {{"process", [&](auto& v, auto& p) { set(process, read_bool(r, v, p)); }},
               {"steps", [&](auto& v, auto& p) {
                  std::unordered_set<std::string> ids;
                  read_items(r, v, p, [&](const node& item, const std::string& item_p) {
                    init_step step;
                    read_step(r, item, item_p, step);
                    if (!step.id.empty() && !ids.insert(step.id).second)
                      r.error(item, child_path(item_p, "id"),
                              "duplicate step id '" + step.id + "'");
                    out.push_back(std::move(step));
                  });
                }}});
}

void read_errors(reader& r, const node& n, const std::string& path, errors_spec& out) {
  read_fields(r, n, path,
              {
                  {"on_init_failure",
                   [&](auto& v, auto& p) {
                     read_fields(r, v, p, {{"action", [&](auto& av, auto& ap) {
                                              set(out.on_init_failure,
                                                  read_enum<init_failure_policy>(
                                                      r, av, ap,
                                                      {{"fail", init_failure_policy::fail},
                                                       {"restart", init_failure_policy::restart},
                                                       {"backoff", init_failure_policy::backoff}}));
                                            }}});
                   }},
                  {"on_panic",
                   [&](auto& v, auto& p) {
                     read_fields(r, v, p, {{"action", [&](auto& av, auto& ap) {
                                              set(out.on_panic,
                                                  read_enum<panic_action>(
                                                      r, av, ap,
                                                      {{"restart", panic_action::restart},
                                                       {"shutdown", panic_action::shutdown},
                                                       {"isolate", panic_action::isolate}}));
                                            }}});
                   }},
              });
}

void read_supervision(reader& r, const node& n, const std::string& path, supervisor_flags& out) {
  const node* backoff = nullptr;
  std::string backoff_path;
  bool backoff_read = true; // both bounds, when written, were valid
  auto bound = [&](duration& target) {
    return [&r, &backoff_read, &target](auto& v, auto& p) {
      auto d = read_duration(r, v, p);
      backoff_read = backoff_read && d.has_value();
      set(target, d);
    };
  };
  read_fields(
      r, n, path,
      {
          {"strategy",
           [&](auto& v, auto& p) {
             set(out.strategy,
                 read_enum<restart_strategy>(r, v, p,
                                             {{"one_for_one", restart_strategy::one_for_one},
                                              {"one_for_all", restart_strategy::one_for_all},
                                              {"rest_for_one", restart_strategy::rest_for_one}}));
           }},
          {"max_restarts",
           [&](auto& v, auto& p) { set(out.max_restarts, read_int(r, v, p, 0, max_u32)); }},
          {"window", [&](auto& v, auto& p) { set(out.window, read_positive_duration(r, v, p)); }},
          {"backoff",
           [&](auto& v, auto& p) {
             backoff = &v;
             backoff_path = p;
             read_fields(r, v, p,
                         {{"initial", bound(out.backoff.initial)},
                          {"max", bound(out.backoff.max)},
                          {"reset_after", [&](auto& bv, auto& bp) {
                             set(out.backoff.reset_after, read_positive_duration(r, bv, bp));
                           }}});
           }},
      });
  if (backoff && backoff_read && out.backoff.initial > out.backoff.max)
    r.error(*backoff, child_path(backoff_path, "initial"),
            "must not exceed backoff.max (" + format_duration(out.backoff.max) + "), got " +
                format_duration(out.backoff.initial));
}

void read_sim(reader& r, const node& n, const std::string& path, sim_behavior& out) {
  read_fields(
      r, n, path,
      {
          {"start_delay", [&](auto& v, auto& p) { set(out.start_delay, read_duration(r, v, p)); }},
          {"exit_after", [&](auto& v, auto& p) { set(out.exit_after, read_duration(r, v, p)); }},
          {"exit_code",
           [&](auto& v, auto& p) {
             set(out.exit_code, read_int(r, v, p, std::numeric_limits<int32_t>::min(),
                                         std::numeric_limits<int32_t>::max()));
           }},
          {"fail_pull", [&](auto& v, auto& p) { set(out.fail_pull, read_string(r, v, p)); }},
          {"fail_create", [&](auto& v, auto& p) { set(out.fail_create, read_string(r, v, p)); }},
          {"fail_start", [&](auto& v, auto& p) { set(out.fail_start, read_string(r, v, p)); }},
          {"unhealthy_after",
           [&](auto& v, auto& p) { set(out.unhealthy_after, read_duration(r, v, p)); }},
          {"hang_on_stop", [&](auto& v, auto& p) { set(out.hang_on_stop, read_bool(r, v, p)); }},
      });
}

void read_endpoints(reader& r, const node& n, const std::string& path,
                    std::vector<host_port>& out) {
  read_items(r, n, path, [&](const node& item, const std::string& item_p) {
    host_port served;
    std::optional<uint16_t> port, target;
    read_fields(r, item, item_p,
                {{"port", [&](auto& v, auto& p) { set(port, read_port(r, v, p)); }, true},
                 {"target_port", [&](auto& v, auto& p) { set(target, read_port(r, v, p)); }},
                 {"protocol",
                  [&](auto& v, auto& p) {
                    if (auto protocol = read_text(r, v, p))
                      served.udp = *protocol == "udp";
                  }},
                 {"name", already_read},
                 {"path", already_read},
                 {"expose", already_read},
                 {"stream", already_read},
                 {"target_role", already_read}});
    served.port = target.value_or(port.value_or(0));
    if (served.port != 0)
      out.push_back(served);
  });
}

service_spec read_service(reader& r, const std::string& name, const node& n,
                          const std::string& path) {
  service_spec s;
  s.name = name;
  read_fields(
      r, n, path,
      {
          {"rtype",
           [&](auto& v, auto& p) {
             set(s.rtype,
                 read_enum<service_kind>(
                     r, v, p, {{"service", service_kind::service}, {"job", service_kind::job}}));
           }},
          {"image", [&](auto& v, auto& p) { read_image(r, v, p, s.image); }, true},
          {"command", [&](auto& v, auto& p) { read_command(r, v, p, s.command); }},
          {"env", [&](auto& v, auto& p) { read_env(r, v, p, s.env); }},
          {"scale", [&](auto& v, auto& p) { read_scale(r, v, p, s.replicas); }},
          {"platform", [&](auto& v, auto& p) { read_platform(r, v, p, s.platform); }},
          {"stop_signal", [&](auto& v, auto& p) { read_stop_signal(r, v, p, s.stop_signal); }},
          {"stop_grace_period",
           [&](auto& v, auto& p) { set(s.stop_grace_period, read_duration(r, v, p)); }},
          {"restart_policy",
           [&](auto& v, auto& p) { read_restart_policy(r, v, p, s.restart_policy); }},
          {"resources", [&](auto& v, auto& p) { read_resources(r, v, p, s.resources); }},
          {"health", [&](auto& v, auto& p) { read_health(r, v, p, s.health); }},
          {"depends", [&](auto& v, auto& p) { read_depends(r, v, p, s.depends); }},
          {"init", [&](auto& v, auto& p) { read_init(r, v, p, s.init, s.init_process); }},
          {"errors", [&](auto& v, auto& p) { read_errors(r, v, p, s.errors); }},
          {"supervision", [&](auto& v, auto& p) { read_supervision(r, v, p, s.supervision); }},
          {"sim", [&](auto& v, auto& p) { read_sim(r, v, p, s.sim); }},
          {"replica_port", [&](auto& v, auto& p) { set(s.replica_port, read_port(r, v, p)); }},
          {"user", [&](auto& v, auto& p) { read_user(r, v, p, s.user); }},
          {"endpoints", [&](auto& v, auto& p) { read_endpoints(r, v, p, s.endpoints); }},
      },
      service_zlayer_only);
  return s;
}

} // namespace

deployment_spec read_deployment(reader& r, const node& root) {
  deployment_spec d;
  read_fields(
      r, root, "",
      {
          {"version",
           [&](auto& v, auto& p) {
             if (auto version = read_string(r, v, p); version && *version != "v1")
               r.error(v, p, "expected v1, got " + describe(v));
           },
           true},
          {"deployment",
           [&](auto& v, auto& p) {
             auto name = read_string(r, v, p);
             if (name && !is_deployment_name(*name))
               r.error(
                   v, p,
                   "expected a name of 3 to 63 letters, digits or '-', starting with a letter or "
                   "digit, got " +
                       describe(v));
             else
               set(d.name, name);
           },
           true},
          {"services",
           [&](auto& v, auto& p) {
             read_entries(r, v, p,
                          [&](const std::string& name, const node& sv, const std::string& sp) {
                            if (!is_name(name))
                              r.error(sv, sp, "a service name must be " + std::string{name_rule});
                            d.services.push_back(read_service(r, name, sv, sp));
                          });
           }},
          {"supervision", [&](auto& v, auto& p) { read_supervision(r, v, p, d.supervision); }},
      },
      deployment_zlayer_only);
  return d;
}

} // namespace nv::spec
