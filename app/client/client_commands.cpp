#include "app/client/client_commands.hpp"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/cli.hpp"
#include "app/client/api_client.hpp"
#include "app/client/client_render.hpp"
#include "app/status_table.hpp"
#include "app/verbs.hpp"
#include "messages/printable.hpp"
#include "spec/duration.hpp"
#include "spec/loader.hpp"
#include "trace/trace_reader.hpp"
#include "trace/trace_render.hpp"

namespace nv {

namespace {

using namespace client;
using json = nlohmann::json;

const std::string deployments_path = "/api/v1/deployments";

std::string deployment_path(const std::string& name) {
  return deployments_path + "/" + url_encode(name);
}
std::string service_path(const std::string& deployment, const std::string& service) {
  return deployment_path(deployment) + "/services/" + url_encode(service);
}

void print_lines(const std::vector<std::string>& lines) {
  for (auto& l : lines) {
    std::fputs(l.c_str(), stdout);
    std::fputc('\n', stdout);
  }
}

json parse_body(const api_response& r) {
  auto j = json::parse(r.body, nullptr, false);
  if (j.is_discarded())
    throw client_error{exit_failed,
                       "the daemon answered HTTP " + std::to_string(r.status) +
                           " with a body that is not JSON: " + printable(r.body.substr(0, 300))};
  return j;
}

json get_json(api_client& c, const std::string& path) {
  auto r = c.get(path);
  expect_success(r);
  return parse_body(r);
}

// Runs a verb: a client_error becomes its message on stderr and its exit code.
int guarded(const std::string& verb, const std::function<int()>& body) {
  try {
    return body();
  } catch (const client_error& e) {
    std::fprintf(stderr, "nodevisor %s: %s\n", verb.c_str(), e.what());
    return e.code;
  } catch (const nlohmann::json::exception& e) {
    // A field of another type than §8 gives it: a daemon this CLI does not match.
    std::fprintf(stderr, "nodevisor %s: the daemon's answer is not what this CLI reads: %s\n",
                 verb.c_str(), printable(e.what()).c_str());
    return exit_failed;
  }
}

// --host and --token-file, on every verb.
std::shared_ptr<connection_options> add_connection(CLI::App* cmd) {
  auto conn = std::make_shared<connection_options>();
  cmd->add_option("--host", conn->host,
                  "The daemon: unix:///path/to/socket or tcp://127.0.0.1:PORT (default: "
                  "$NODEVISOR_HOST, else unix:///run/nodevisor/nodevisor.sock)");
  cmd->add_option("--token-file", conn->token_file,
                  "With a tcp:// host: the file (mode 0600) holding the daemon's bearer token "
                  "(default: $NODEVISOR_TOKEN_FILE)");
  return conn;
}

void add_output(CLI::App* cmd, std::string& output, std::vector<std::string> formats) {
  output = formats.front();
  std::string names;
  for (auto& f : formats)
    names += (names.empty() ? "" : "|") + f;
  cmd->add_option("-o,--output", output, "Output format: " + names + " (default " + output + ")")
      ->check(CLI::IsMember(formats));
}

// Changes wait for what they stop or restart: generous, as `run`'s grace periods can be long.
constexpr std::chrono::seconds change_timeout{10 * 60};

api_client connect(const connection_options& conn) {
  return api_client{resolve_endpoint(conn)};
}
api_client connect_for_change(const connection_options& conn) {
  auto c = connect(conn);
  c.set_read_timeout(change_timeout);
  return c;
}

// The deployment that has `service`, when the user did not say: the only one that has it.
std::string deployment_of(api_client& c, const std::string& service, const std::string& given) {
  if (!given.empty())
    return given;
  auto list = get_json(c, deployments_path);
  std::vector<std::string> having, all;
  if (list.is_array())
    for (auto& d : list) {
      if (!d.is_object() || !d.contains("name") || !d["name"].is_string())
        continue;
      auto name = d["name"].get<std::string>();
      all.push_back(name);
      if (d.contains("services") && d["services"].is_array())
        for (auto& s : d["services"])
          if (s.is_string() && s.get<std::string>() == service) {
            having.push_back(name);
            break;
          }
    }
  if (having.size() == 1)
    return having.front();
  auto names = [](const std::vector<std::string>& v) {
    std::string out;
    for (auto& n : v)
      out += (out.empty() ? "'" : ", '") + printable(n) + "'";
    return out.empty() ? std::string{"none"} : out;
  };
  if (having.empty())
    throw client_error{exit_usage, "no deployment on this node has a service '" +
                                       printable(service) + "' (deployments: " + names(all) + ")"};
  throw client_error{exit_usage,
                     "service '" + printable(service) + "' is in " + std::to_string(having.size()) +
                         " deployments: " + names(having) + "; say which with --deployment"};
}

// Splits a stream into lines as the pieces arrive and hands each complete one on; a service's
// last line may come without its newline, so the rest goes on at the end.
class line_splitter {
public:
  explicit line_splitter(std::function<void(std::string_view)> on_line)
      : on_line_{std::move(on_line)} {}
  void feed(std::string_view piece) {
    for (;;) {
      auto nl = piece.find('\n');
      if (nl == std::string_view::npos) {
        partial_.append(piece);
        return;
      }
      if (partial_.empty())
        on_line_(piece.substr(0, nl));
      else {
        partial_.append(piece.substr(0, nl));
        on_line_(partial_);
        partial_.clear();
      }
      piece.remove_prefix(nl + 1);
    }
  }
  void finish() {
    if (!partial_.empty())
      on_line_(partial_);
    partial_.clear();
  }

private:
  std::function<void(std::string_view)> on_line_;
  std::string partial_;
};

// Streams `path` to stdout line by line through `show`, flushed as lines arrive.
int stream_lines(api_client& c, const std::string& path,
                 const std::function<std::string(std::string_view)>& show) {
  line_splitter lines{[&](std::string_view line) {
    auto text = show(line);
    std::fwrite(text.data(), 1, text.size(), stdout);
  }};
  auto r = c.stream(path, [&](std::string_view piece) {
    lines.feed(piece);
    std::fflush(stdout);
  });
  lines.finish();
  std::fflush(stdout);
  expect_success(r);
  return 0;
}

// --- deploy ------------------------------------------------------------------------------

struct deploy_options {
  std::string file;
  bool dry_run = false, wait = false;
  std::string timeout = "5m";
};

std::string read_spec(const std::string& file) {
  std::ifstream in{file, std::ios::binary};
  if (!in)
    throw client_error{exit_usage, file + ": cannot read: " + std::strerror(errno)};
  std::string text;
  char buf[64 * 1024];
  while (in && text.size() <= spec::max_spec_bytes) {
    in.read(buf, sizeof buf);
    text.append(buf, static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad())
    throw client_error{exit_usage, file + ": cannot read: " + std::strerror(errno)};
  // Larger than the daemon takes: it answers 413, with its own message.
  return text;
}

// The spec's `deployment`, for applying it to the deployment that has its name.
std::string name_in_spec(const std::string& text, const std::string& file) {
  auto loaded = spec::load_spec_string(text, file);
  if (!loaded.spec) {
    std::string problems;
    for (auto& p : loaded.problems)
      problems += (problems.empty() ? "" : "\n") + spec::to_string(p);
    throw client_error{exit_usage, problems};
  }
  return loaded.spec->name;
}

bool healthy_word(const std::string& state) {
  return state == "healthy" || state == "completed";
}

// Polls the deployment until each service is healthy (a job: completed), the deployment or a
// service has failed, or the time is up.
int wait_healthy(api_client& c, const std::string& name, std::chrono::nanoseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::string pending;
  for (;;) {
    auto d = get_json(c, deployment_path(name));
    std::string status = d.value("status", std::string{});
    std::string state = d.value("state", std::string{});
    if (status.starts_with("failed") || state == "failed") {
      std::string why = status.starts_with("failed: ") ? status.substr(8) : status;
      throw client_error{exit_failed,
                         "deployment '" + printable(name) + "' failed: " + printable(why)};
    }
    if (d.value("desired", std::string{}) == "stopped")
      throw client_error{exit_failed, "deployment '" + printable(name) +
                                          "' is stopped (desired state stopped): start it with "
                                          "nodevisor start " +
                                          printable(name)};
    pending.clear();
    std::size_t services = 0;
    if (d.contains("service_details") && d["service_details"].is_array())
      for (auto& s : d["service_details"]) {
        ++services;
        auto word = s.value("state", std::string{});
        if (word == "failed") {
          // Failed for good while the others run (isolate, no peer): it will not get healthy.
          std::string why;
          if (s.contains("last_error") && s["last_error"].is_object())
            why = ": " + printable(s["last_error"].value("message", std::string{}));
          throw client_error{exit_failed, "deployment '" + printable(name) + "': service '" +
                                              printable(s.value("name", std::string{"?"})) +
                                              "' failed" + why};
        }
        bool scaled_to_zero = s.value("desired_replicas", 1) == 0;
        if (!healthy_word(word) && !scaled_to_zero)
          pending += (pending.empty() ? "" : ", ") + printable(s.value("name", std::string{"?"})) +
                     " " + printable(word);
      }
    if (services > 0 && pending.empty()) {
      std::printf("%s: healthy (%zu services)\n", printable(name).c_str(), services);
      return 0;
    }
    if (std::chrono::steady_clock::now() >= deadline)
      throw client_error{exit_failed, "deployment '" + printable(name) +
                                          "' is not healthy after the --timeout: " +
                                          (pending.empty() ? "no service reported" : pending)};
    std::this_thread::sleep_for(std::chrono::milliseconds{500});
  }
}

int deploy(const connection_options& conn, const deploy_options& opts) {
  std::chrono::nanoseconds limit{};
  if (opts.wait) {
    auto d = spec::parse_duration(opts.timeout);
    if (!d)
      throw client_error{exit_usage, "--timeout " + printable(opts.timeout) +
                                         ": expected a duration such as 90s or 5m"};
    limit = *d;
  }
  auto text = read_spec(opts.file);
  auto c = connect_for_change(conn);
  const std::string query = opts.dry_run ? "?dry_run=true" : "";
  const std::string body =
      json{{"spec", text}}.dump(-1, ' ', false, json::error_handler_t::replace);
  api_response r;
  bool applied = false;
  if (opts.dry_run) {
    // A dry run creates nothing, so the daemon cannot answer 409 to it: a plan against the
    // running deployment needs the PUT from the start.
    auto loaded = spec::load_spec_string(text, opts.file);
    if (loaded.spec && c.get(deployment_path(loaded.spec->name)).status == 200) {
      r = c.put(deployment_path(loaded.spec->name) + query, body);
      applied = true;
    }
  }
  if (!applied)
    r = c.post(deployments_path + query, body);
  if (r.status == 409 && !applied) {
    // An existing name: the same spec is an apply of that deployment.
    r = c.put(deployment_path(name_in_spec(text, opts.file)) + query, body);
    applied = true;
  }
  if ((r.status == 400 || r.status == 413) && error_kind(r) == "InvalidSpec") {
    // The problems, one per line, as `validate` prints them.
    std::fprintf(stderr, "%s\n", error_text(r).c_str());
    return exit_usage;
  }
  expect_success(r);
  auto j = parse_body(r);
  if (opts.dry_run) {
    print_lines(plan_lines(j));
    return 0;
  }
  std::string name = j.is_object() ? j.value("name", std::string{}) : std::string{};
  if (name.empty())
    name = name_in_spec(text, opts.file);
  std::string generation = j.is_object() && j.contains("generation") ? j["generation"].dump() : "?";
  std::printf("%s: %s (generation %s)\n", printable(name).c_str(), applied ? "applied" : "created",
              generation.c_str());
  std::fflush(stdout);
  if (opts.wait)
    return wait_healthy(c, name, limit);
  return 0;
}

// --- ps ----------------------------------------------------------------------------------

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int ps(const connection_options& conn, const std::string& name, const std::string& output) {
  auto c = connect(conn);
  if (name.empty()) {
    auto list = get_json(c, deployments_path);
    if (output == "json")
      std::printf("%s\n", json_text(list).c_str());
    else
      print_lines(deployments_table(list));
    return 0;
  }
  auto d = get_json(c, deployment_path(name));
  if (output == "json") {
    std::printf("%s\n", json_text(d).c_str());
    return 0;
  }
  auto field = [&](const char* k) {
    return d.contains(k) && d[k].is_string() ? printable(d[k].get<std::string>())
           : d.contains(k)                   ? d[k].dump()
                                             : std::string{"-"};
  };
  std::printf("%s: %s (generation %s, desired %s)\n", field("name").c_str(),
              field("status").c_str(), field("generation").c_str(), field("desired").c_str());
  print_lines(render_status(service_rows(d), now_us()));
  return 0;
}

// --- logs, events ------------------------------------------------------------------------

struct logs_options {
  std::string deployment, service;
  int lines = -1;
  bool follow = false;
  int instance = 0;
};

int logs(const connection_options& conn, const logs_options& opts) {
  auto c = connect(conn);
  auto d = deployment_of(c, opts.service, opts.deployment);
  std::string query;
  auto param = [&](const std::string& kv) { query += (query.empty() ? "?" : "&") + kv; };
  if (opts.lines >= 0)
    param("lines=" + std::to_string(opts.lines));
  if (opts.follow)
    param("follow=1");
  if (opts.instance > 0)
    param("instance=" + std::to_string(opts.instance));
  return stream_lines(c, service_path(d, opts.service) + "/logs" + query,
                      [](std::string_view line) { return printable(line) + "\n"; });
}

struct events_options {
  bool follow = false;
  std::string since, actor, event, output;
};

int events(const connection_options& conn, const events_options& opts) {
  auto c = connect(conn);
  std::string query;
  auto param = [&](const std::string& k, const std::string& v) {
    if (!v.empty())
      query += (query.empty() ? "?" : "&") + k + "=" + url_encode(v, true);
  };
  param("since", opts.since);
  param("actor", opts.actor);
  param("event", opts.event);
  if (opts.follow)
    param("follow", "1");
  const bool raw = opts.output == "json";
  int64_t origin = 0;
  bool have_origin = false;
  return stream_lines(c, "/api/v1/trace" + query, [&](std::string_view line) -> std::string {
    if (line.empty())
      return {};
    if (raw) {
      auto j = json::parse(line, nullptr, false);
      return (j.is_discarded() ? printable(line) : json_text(j, -1)) + "\n";
    }
    trace_record rec;
    std::string error;
    if (!parse_trace_line(line, rec, error))
      // A newer daemon's event, or a line cut short: shown as it came.
      return printable(line) + "\n";
    if (!have_origin) {
      origin = rec.ts_us;
      have_origin = true;
    }
    return printable(render_record(rec, origin)) + "\n";
  });
}

// --- why ---------------------------------------------------------------------------------

// The cause chain as trace lines when it is made of trace events, else as the daemon wrote it.
void print_why(const json& j) {
  const json* chain = &j;
  if (j.is_object())
    for (const char* k : {"chain", "events", "causes"})
      if (j.contains(k) && j[k].is_array()) {
        chain = &j[k];
        break;
      }
  if (chain->is_array()) {
    int64_t origin = 0;
    bool have_origin = false;
    for (auto& ev : *chain) {
      trace_record rec;
      std::string error;
      if (!parse_trace_line(ev.dump(), rec, error)) {
        std::printf("%s\n", json_text(ev, -1).c_str());
        continue;
      }
      if (!have_origin) {
        origin = rec.ts_us;
        have_origin = true;
      }
      std::printf("%s\n", printable(render_record(rec, origin)).c_str());
    }
    return;
  }
  if (j.is_object() && j.contains("text") && j["text"].is_string()) {
    auto text = j["text"].get<std::string>();
    std::istringstream in{text};
    for (std::string line; std::getline(in, line);)
      std::printf("%s\n", printable(line).c_str());
    return;
  }
  std::printf("%s\n", json_text(j).c_str());
}

// A subcommand with the connection options every verb takes (--host, --token-file).
CLI::App* add_verb(CLI::App& parent, const std::string& name, const std::string& help,
                   std::shared_ptr<connection_options>& conn) {
  auto* cmd = parent.add_subcommand(name, help);
  cmd->footer("Exit codes: 0 ok; 1 the operation failed (the daemon's message on stderr); 2 an "
              "invalid spec or usage; 3 the daemon is unreachable or you are not permitted to "
              "reach it");
  conn = add_connection(cmd);
  return cmd;
}

} // namespace

void add_client_commands(CLI::App& app) {
  std::shared_ptr<connection_options> conn;

  {
    auto opts = std::make_shared<deploy_options>();
    auto* cmd = add_verb(app, "deploy", summary_of("deploy"), conn);
    cmd->add_option("SPEC", opts->file, "The deployment spec (YAML or JSON)")->required();
    cmd->add_flag("--dry-run", opts->dry_run,
                  "Change nothing: print which actors would start, stop or restart");
    cmd->add_flag("--wait", opts->wait,
                  "Then wait until every service is healthy (exit 0) or the deployment fails "
                  "(exit 1)");
    cmd->add_option("--timeout", opts->timeout, "With --wait: how long to wait (default 5m)");
    on_parsed(cmd,
              [conn, opts] { return guarded("deploy", [&] { return deploy(*conn, *opts); }); });
  }
  {
    auto name = std::make_shared<std::string>();
    auto output = std::make_shared<std::string>();
    auto* cmd = add_verb(app, "ps", summary_of("ps"), conn);
    cmd->add_option("DEPLOYMENT", *name, "Show this deployment's services");
    add_output(cmd, *output, {"table", "json"});
    on_parsed(cmd, [conn, name, output] {
      return guarded("ps", [&] { return ps(*conn, *name, *output); });
    });
  }
  {
    auto opts = std::make_shared<logs_options>();
    auto* cmd = add_verb(app, "logs", summary_of("logs"), conn);
    cmd->add_option("SERVICE", opts->service, "The service")->required();
    cmd->add_option("--deployment", opts->deployment,
                    "The service's deployment (default: the only one that has SERVICE)");
    cmd->add_option("-n,--lines", opts->lines, "The last N lines (default: the daemon's, 100)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_flag("-f,--follow", opts->follow, "Keep printing new output as it comes");
    cmd->add_option("-i,--instance", opts->instance, "Only replica N (1-based)")
        ->check(CLI::PositiveNumber);
    on_parsed(cmd, [conn, opts] { return guarded("logs", [&] { return logs(*conn, *opts); }); });
  }
  {
    auto opts = std::make_shared<events_options>();
    auto* cmd = add_verb(app, "events", summary_of("events"), conn);
    cmd->add_flag("-f,--follow", opts->follow, "Keep printing events as they happen");
    cmd->add_option("--since", opts->since, "Only events after this seq (resume from the last)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--actor", opts->actor, "Only actors whose path starts with PATH");
    cmd->add_option("--event", opts->event, "Only these kinds, comma-separated: failure,restart");
    add_output(cmd, opts->output, {"text", "json"});
    on_parsed(cmd,
              [conn, opts] { return guarded("events", [&] { return events(*conn, *opts); }); });
  }
  struct lifecycle_verb {
    const char* name;
    std::string help;
    const char* done;
  };
  for (auto v : {lifecycle_verb{"stop", summary_of("stop"), "stopped"},
                 lifecycle_verb{"start", summary_of("start"), "started"},
                 lifecycle_verb{"rm", summary_of("rm"), "removed"}}) {
    auto name = std::make_shared<std::string>();
    auto* cmd = add_verb(app, v.name, v.help, conn);
    cmd->add_option("DEPLOYMENT", *name, "The deployment")->required();
    const std::string verb_name = v.name, done = v.done;
    on_parsed(cmd, [conn, name, verb_name, done] {
      return guarded(verb_name, [&] {
        auto c = connect_for_change(*conn);
        auto r = verb_name == "rm" ? c.del(deployment_path(*name))
                                   : c.post(deployment_path(*name) + "/" + verb_name, "{}");
        expect_success(r);
        std::printf("%s: %s\n", printable(*name).c_str(), done.c_str());
        return 0;
      });
    });
  }
  {
    auto deployment = std::make_shared<std::string>();
    auto service = std::make_shared<std::string>();
    auto* cmd = add_verb(app, "restart", summary_of("restart"), conn);
    cmd->add_option("SERVICE", *service, "The service")->required();
    cmd->add_option("--deployment", *deployment,
                    "The service's deployment (default: the only one that has SERVICE)");
    on_parsed(cmd, [conn, deployment, service] {
      return guarded("restart", [&] {
        auto c = connect_for_change(*conn);
        auto d = deployment_of(c, *service, *deployment);
        expect_success(c.post(service_path(d, *service) + "/restart", "{}"));
        // The daemon answers once the roll has begun: each replica is replaced when the one
        // before it is healthy.
        std::printf("%s/%s: restarting its replicas one at a time (nodevisor ps %s follows it)\n",
                    printable(d).c_str(), printable(*service).c_str(), printable(d).c_str());
        return 0;
      });
    });
  }
  {
    auto deployment = std::make_shared<std::string>();
    auto service = std::make_shared<std::string>();
    auto replicas = std::make_shared<int64_t>(0);
    auto* cmd = add_verb(app, "scale", summary_of("scale"), conn);
    cmd->add_option("SERVICE", *service, "The service")->required();
    cmd->add_option("N", *replicas, "Replicas")->required()->check(CLI::NonNegativeNumber);
    cmd->add_option("--deployment", *deployment,
                    "The service's deployment (default: the only one that has SERVICE)");
    on_parsed(cmd, [conn, deployment, service, replicas] {
      return guarded("scale", [&] {
        auto c = connect_for_change(*conn);
        auto d = deployment_of(c, *service, *deployment);
        expect_success(
            c.post(service_path(d, *service) + "/scale", json{{"replicas", *replicas}}.dump()));
        std::printf("%s/%s: scaled to %lld replicas\n", printable(d).c_str(),
                    printable(*service).c_str(), static_cast<long long>(*replicas));
        return 0;
      });
    });
  }
  {
    auto output = std::make_shared<std::string>();
    auto* cmd = add_verb(app, "tree", summary_of("tree"), conn);
    add_output(cmd, *output, {"text", "json"});
    on_parsed(cmd, [conn, output] {
      return guarded("tree", [&] {
        auto c = connect(*conn);
        auto t = get_json(c, "/api/v1/tree");
        if (*output == "json")
          std::printf("%s\n", json_text(t).c_str());
        else
          print_lines(tree_lines(t));
        return 0;
      });
    });
  }
  {
    auto actor = std::make_shared<std::string>();
    auto output = std::make_shared<std::string>();
    auto* cmd = add_verb(app, "why", summary_of("why"), conn);
    cmd->add_option("ACTOR", *actor, "The actor's path, e.g. /web-stack/api")->required();
    add_output(cmd, *output, {"text", "json"});
    on_parsed(cmd, [conn, actor, output] {
      return guarded("why", [&] {
        auto c = connect(*conn);
        auto j = get_json(c, "/api/v1/why?actor=" + url_encode(*actor, true));
        if (*output == "json")
          std::printf("%s\n", json_text(j).c_str());
        else
          print_why(j);
        return 0;
      });
    });
  }
  {
    auto* node = app.add_subcommand("node", summary_of("node"));
    node->require_subcommand(1);
    auto output = std::make_shared<std::string>();
    auto* cmd =
        add_verb(*node, "ls", "List this node and its peers: os, arch, runtimes, link", conn);
    add_output(cmd, *output, {"table", "json"});
    on_parsed(cmd, [conn, output] {
      return guarded("node ls", [&] {
        auto c = connect(*conn);
        auto n = get_json(c, "/api/v1/nodes");
        if (*output == "json")
          std::printf("%s\n", json_text(n).c_str());
        else
          print_lines(nodes_table(n));
        return 0;
      });
    });
  }
}

} // namespace nv
