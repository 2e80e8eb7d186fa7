#include "node/api_server.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <httplib.h>
#include <map>
#include <regex>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

#include <spdlog/spdlog.h>

#include "node/controller.hpp"
#include "node/log_follow.hpp"
#include "node/metrics.hpp"
#include "node/why_answer.hpp"
#include "trace/docker_event.hpp"
#include "trace/trace_follow.hpp"

namespace nv {

namespace {

// Equal texts, in a time that does not depend on where they differ: a caller on loopback must
// not learn the token a byte at a time from how fast it is refused.
bool same_secret(std::string_view given, std::string_view expected) {
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i)
    diff |= static_cast<unsigned char>(expected[i] ^ (i < given.size() ? given[i] : 0));
  return diff == 0;
}

// Route handler: the request and the capture groups of its path.
using handler = std::function<api_answer(const httplib::Request&, const std::vector<std::string>&)>;

struct route {
  std::string pattern; // a regex over the path, as httplib takes it
  std::map<std::string, handler> methods;
};

void write_answer(httplib::Response& res, const api_answer& a) {
  res.status = a.status;
  if (!a.body.is_null())
    res.set_content(a.body.dump() + "\n", "application/json");
}

bool query_true(const httplib::Request& req, const std::string& key) {
  if (!req.has_param(key.c_str()))
    return false;
  auto v = req.get_param_value(key.c_str());
  return v.empty() || v == "1" || v == "true" || v == "yes";
}

// The body of a create/apply: {"spec": "<YAML or JSON text>"}; or the 400 that says why not.
std::variant<std::string, api_answer> spec_of(const httplib::Request& req) {
  auto body = nlohmann::json::parse(req.body, nullptr, false);
  if (body.is_discarded())
    return invalid_spec("request body: expected JSON {\"spec\": \"<YAML or JSON text>\"}, got "
                        "text that is not JSON");
  if (!body.is_object() || !body.contains("spec") || !body["spec"].is_string())
    return invalid_spec("request body: expected {\"spec\": \"<YAML or JSON text>\"}: field "
                        "'spec' (a string) is missing");
  return body["spec"].get<std::string>();
}

// A socket file nobody answers on is what a crashed daemon leaves: it may go. One that answers
// belongs to a live daemon.
void claim_socket_path(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0)
    return;
  if (!S_ISSOCK(st.st_mode))
    throw std::runtime_error{"control socket " + path +
                             ": exists and is not a socket; remove it or choose another path"};
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  ::close(fd);
  if (rc == 0)
    throw std::runtime_error{"control socket " + path +
                             ": another daemon answers on it; stop it first, or give this one "
                             "another --socket and --state-dir"};
  if (err != ECONNREFUSED)
    throw std::runtime_error{"control socket " + path + ": " + std::strerror(err)};
  spdlog::warn("[/] control socket {} was left by a daemon that is gone: replacing it", path);
  ::unlink(path.c_str());
}

} // namespace

struct api_server::impl {
  controller& ctl;
  api_server_config cfg;
  stream_source* streams;
  std::vector<route> routes;
  httplib::Server unix_srv, tcp_srv;
  bool unix_on = false, tcp_on = false;
  int port = 0;
  std::thread unix_thread, tcp_thread;
  std::atomic<bool> stopping{false}; // ends every stream
  int unix_fd = -1, tcp_fd = -1;     // the listening sockets, for their backlog

  // The streaming routes write as they go (chunked), so they answer the response themselves.
  using stream_handler = std::function<void(const httplib::Request&, httplib::Response&,
                                            const std::vector<std::string>&)>;
  std::vector<std::pair<std::string, stream_handler>> streams_routes;
  void define_streams();
  void trace_stream(const httplib::Request& req, httplib::Response& res, bool docker);

  impl(controller& c, api_server_config conf, stream_source* s)
      : ctl{c}, cfg{std::move(conf)}, streams{s} {}

  void add(std::string pattern, std::string method, handler h) {
    for (auto& r : routes)
      if (r.pattern == pattern) {
        r.methods[method] = std::move(h);
        return;
      }
    routes.push_back(route{std::move(pattern), {{std::move(method), std::move(h)}}});
  }

  void define_routes();
  void install(httplib::Server& srv, bool needs_token);
};

void api_server::impl::define_routes() {
  auto& c = ctl;
  auto health = [this](bool ready_check) {
    return [this, ready_check](const httplib::Request&, const std::vector<std::string>&) {
      bool ready = ctl.ready() && (!ready_check || ctl.sample().answered);
      auto body = nlohmann::json{{"status", ready ? "ok" : "restoring"},
                                 {"version", cfg.version},
                                 {"runtime_name", ctl.config().runtime},
                                 {"uptime_secs", ctl.uptime_secs()}};
      if (ready_check && !ready)
        return internal_error("not ready: the desired state is being restored", 503);
      return ok(std::move(body));
    };
  };
  add(R"(/health/live)", "GET", health(false));
  add(R"(/health/ready)", "GET", health(true));
  add(R"(/api/v1/daemon/capabilities)", "GET", [&c](auto&, auto&) { return ok(c.capabilities()); });
  add(R"(/api/v1/deployments)", "GET", [&c](auto&, auto&) { return c.list(); });
  add(R"(/api/v1/deployments)", "POST", [&c](const httplib::Request& req, auto&) {
    auto spec = spec_of(req);
    if (auto* bad = std::get_if<api_answer>(&spec))
      return *bad;
    return c.create(std::get<std::string>(spec), query_true(req, "dry_run"), "<request>");
  });
  add(R"(/api/v1/deployments/([^/]+))", "GET", [&c](auto&, auto& m) { return c.get(m[0]); });
  add(R"(/api/v1/deployments/([^/]+))", "PUT", [&c](const httplib::Request& req, auto& m) {
    auto spec = spec_of(req);
    if (auto* bad = std::get_if<api_answer>(&spec))
      return *bad;
    return c.apply(m[0], std::get<std::string>(spec), query_true(req, "dry_run"), "<request>");
  });
  add(R"(/api/v1/deployments/([^/]+))", "DELETE", [&c](auto&, auto& m) { return c.remove(m[0]); });
  add(R"(/api/v1/deployments/([^/]+)/spec)", "GET",
      [&c](auto&, auto& m) { return c.stored_spec(m[0]); });
  add(R"(/api/v1/deployments/([^/]+)/stop)", "POST", [&c](auto&, auto& m) { return c.stop(m[0]); });
  add(R"(/api/v1/deployments/([^/]+)/start)", "POST",
      [&c](auto&, auto& m) { return c.start(m[0]); });
  add(R"(/api/v1/deployments/([^/]+)/services)", "GET",
      [&c](auto&, auto& m) { return c.services(m[0]); });
  add(R"(/api/v1/deployments/([^/]+)/services/([^/]+))", "GET",
      [&c](auto&, auto& m) { return c.service(m[0], m[1]); });
  add(R"(/api/v1/deployments/([^/]+)/services/([^/]+)/scale)", "POST",
      [&c](const httplib::Request& req, auto& m) {
        auto body = nlohmann::json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.is_object() || !body.contains("replicas") ||
            !body["replicas"].is_number_integer())
          return invalid_spec("request body: expected {\"replicas\": N} with N an integer");
        return c.scale(m[0], m[1], body["replicas"].get<int64_t>());
      });
  add(R"(/api/v1/deployments/([^/]+)/services/([^/]+)/restart)", "POST",
      [&c](auto&, auto& m) { return c.restart(m[0], m[1]); });
  add(R"(/api/v1/tree)", "GET", [&c](auto&, auto&) { return c.tree(); });
  add(R"(/api/v1/nodes)", "GET", [&c](auto&, auto&) { return c.nodes(); });
  add(R"(/api/v1/internal/scale)", "POST", [&c](const httplib::Request& req, auto&) {
    auto body = nlohmann::json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("service") ||
        !body["service"].is_string())
      return invalid_spec("request body: expected {\"service\": NAME, \"replicas\": N}");
    return c.internal_scale(body);
  });
}

namespace {

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    auto word = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!word.empty())
      out.push_back(word);
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  return out;
}

std::optional<uint64_t> number_param(const httplib::Request& req, const char* key) {
  if (!req.has_param(key))
    return uint64_t{0};
  auto text = req.get_param_value(key);
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 19)
    return std::nullopt;
  return std::stoull(text);
}

bool param_or(const httplib::Request& req, const char* key, bool otherwise) {
  if (!req.has_param(key))
    return otherwise;
  auto v = req.get_param_value(key);
  return !(v == "0" || v == "false" || v == "no");
}

} // namespace

// /api/v1/trace (nodevisor's events) and /api/v1/events (ZLayer's, derived from them): NDJSON,
// read by a cursor of its own (trace/trace_follow.hpp) that never holds up the tree.
void api_server::impl::trace_stream(const httplib::Request& req, httplib::Response& res,
                                    bool docker) {
  // What the tree emitted before this request is in the answer (a `stop`, then its events).
  if (streams->flush_trace)
    streams->flush_trace();
  auto since = number_param(req, "since");
  if (!since) {
    write_answer(res, invalid_spec("since: expected the seq of the last event read (an integer)"));
    return;
  }
  trace_filter filter;
  std::vector<label_filter> labels;
  bool follow;
  if (docker) {
    filter.events = docker_source_events();
    for (auto i = 0u; i < req.get_param_value_count("label"); ++i) {
      auto text = req.get_param_value("label", i);
      auto l = parse_label_filter(text);
      if (!l) {
        write_answer(res, invalid_spec("label: expected k=v, got '" + text + "'"));
        return;
      }
      labels.push_back(*l);
    }
    follow = param_or(req, "follow", true);
  } else {
    filter.actor_prefix = req.get_param_value("actor");
    filter.events = split_commas(req.get_param_value("event"));
    follow = param_or(req, "follow", false);
  }
  auto cursor = std::make_shared<trace_reader_cursor>(streams->ring, streams->trace_file, *since,
                                                      std::move(filter));
  res.status = 200;
  res.set_chunked_content_provider(
      docker ? "application/json" : "application/x-ndjson",
      [this, cursor, follow, docker, labels](std::size_t, httplib::DataSink& sink) {
        std::vector<std::string> lines;
        auto status = cursor->next(lines, std::chrono::milliseconds{500}, follow);
        std::string out;
        for (auto& line : lines) {
          if (!docker) {
            out += line;
            continue;
          }
          auto j = nlohmann::json::parse(line, nullptr, false);
          if (j.is_discarded())
            continue;
          if (j.value("event", "") == "cut_off") {
            out += line;
            continue;
          }
          for (auto& ev : docker_events(j))
            if (matches_labels(ev, labels))
              out += ev.dump() + "\n";
        }
        if (!out.empty() && !sink.write(out.data(), out.size()))
          return false; // the reader went away
        using st = trace_reader_cursor::status;
        if (status == st::end || status == st::cut_off || stopping) {
          sink.done();
          return true;
        }
        return sink.is_writable();
      });
}

void api_server::impl::define_streams() {
  streams_routes.emplace_back(
      R"(/api/v1/trace)", [this](auto& req, auto& res, auto&) { trace_stream(req, res, false); });
  streams_routes.emplace_back(
      R"(/api/v1/events)", [this](auto& req, auto& res, auto&) { trace_stream(req, res, true); });
  streams_routes.emplace_back(
      R"(/api/v1/deployments/([^/]+)/services/([^/]+)/logs)",
      [this](const httplib::Request& req, httplib::Response& res,
             const std::vector<std::string>& m) {
        auto found = ctl.service(m[0], m[1]);
        if (found.status != 200) {
          write_answer(res, found);
          return;
        }
        auto lines = number_param(req, "lines");
        if (!lines || *lines > 100000) {
          write_answer(res, invalid_spec("lines: expected an integer from 0 to 100000"));
          return;
        }
        log_selection sel;
        sel.dir = streams->log_dir;
        sel.deployment = m[0];
        sel.service = m[1];
        sel.lines = req.has_param("lines") ? *lines : 100;
        if (req.has_param("instance")) {
          auto i = req.get_param_value("instance");
          // `-i 2` or the replica's id.
          sel.instance =
              i.find_first_not_of("0123456789") == std::string::npos ? m[1] + "-rep-" + i : i;
        }
        bool follow = param_or(req, "follow", false);
        auto reader = std::make_shared<log_follow>(std::move(sel));
        res.status = 200;
        res.set_chunked_content_provider(
            "text/plain; charset=utf-8",
            [this, reader, follow](std::size_t, httplib::DataSink& sink) {
              std::string out;
              bool more = reader->next(out, std::chrono::milliseconds{500}, follow);
              if (!out.empty() && !sink.write(out.data(), out.size()))
                return false;
              if (!more || stopping) {
                sink.done();
                return true;
              }
              return sink.is_writable();
            });
      });
  streams_routes.emplace_back(
      R"(/api/v1/why)", [this](const httplib::Request& req, httplib::Response& res, auto&) {
        if (streams->flush_trace)
          streams->flush_trace();
        write_answer(res, why_answer(streams->trace_file,
                                     req.has_param("actor") ? req.get_param_value("actor") : ""));
      });
  streams_routes.emplace_back(R"(/metrics)", [this](auto&, httplib::Response& res, auto&) {
    res.status = 200;
    res.set_content(streams->metrics->render(ctl.sample(), ctl.config().node_name),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
}

void api_server::impl::install(httplib::Server& srv, bool needs_token) {
  srv.set_payload_max_length(cfg.max_body);
  // httplib listens with a backlog of 5: a burst of clients would be refused. The listening
  // socket passes through here before its bind; listen() again after it raises the backlog.
  srv.set_socket_options([this, &srv](socket_t fd) {
    (&srv == &unix_srv ? unix_fd : tcp_fd) = fd;
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  // Streams (follow) hold a thread each: a pool that a few followers cannot exhaust.
  srv.new_task_queue = [] { return new httplib::ThreadPool(32); };
  srv.set_keep_alive_timeout(5);
  srv.set_read_timeout(30, 0);
  if (needs_token)
    srv.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      auto auth = req.get_header_value("Authorization");
      if (same_secret(auth, "Bearer " + cfg.token))
        return httplib::Server::HandlerResponse::Unhandled;
      write_answer(
          res, error_answer(401, Configuration{auth.empty() ? "missing Authorization: Bearer token"
                                                            : "wrong bearer token"}));
      res.set_header("WWW-Authenticate", "Bearer");
      return httplib::Server::HandlerResponse::Handled;
    });
  // httplib answers 404 and 413 itself, with no body: give them the AgentError body.
  srv.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty())
      return;
    if (res.status == 413)
      write_answer(res, invalid_spec("request body over 4 MiB", 413));
    else if (res.status == 404)
      write_answer(res, not_found(req.path, "no such route: " + req.method + " " + req.path));
    else
      write_answer(res, error_answer(res.status, Internal{"HTTP " + std::to_string(res.status)}));
  });
  srv.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        spdlog::error("[/] {} {}: {}", req.method, req.path, what);
        write_answer(res, internal_error(req.method + " " + req.path + ": " + what));
      });
  for (auto& [pattern, h] : streams_routes) {
    auto get = [h = h](const httplib::Request& req, httplib::Response& res) {
      std::vector<std::string> groups;
      for (std::size_t i = 1; i < req.matches.size(); ++i)
        groups.push_back(req.matches[i].str());
      h(req, res, groups);
    };
    auto other = [](const httplib::Request& req, httplib::Response& res) {
      res.set_header("Allow", "GET");
      write_answer(res,
                   error_answer(405, Unsupported{req.method + " " + req.path + ": allowed: GET"}));
    };
    srv.Get(pattern, get);
    srv.Post(pattern, other);
    srv.Put(pattern, other);
    srv.Delete(pattern, other);
    srv.Patch(pattern, other);
  }
  for (auto& r : routes) {
    auto dispatch = [this, &r](const httplib::Request& req, httplib::Response& res) {
      auto it = r.methods.find(req.method);
      if (it == r.methods.end()) {
        std::string allowed;
        for (auto& [m, h] : r.methods)
          allowed += (allowed.empty() ? "" : ", ") + m;
        res.set_header("Allow", allowed);
        write_answer(res, error_answer(405, Unsupported{req.method + " " + req.path +
                                                        ": allowed: " + allowed}));
        return;
      }
      std::vector<std::string> groups;
      for (std::size_t i = 1; i < req.matches.size(); ++i)
        groups.push_back(req.matches[i].str());
      write_answer(res, it->second(req, groups));
    };
    srv.Get(r.pattern, dispatch);
    srv.Post(r.pattern, dispatch);
    srv.Put(r.pattern, dispatch);
    srv.Delete(r.pattern, dispatch);
    srv.Patch(r.pattern, dispatch);
    srv.Options(r.pattern, dispatch);
  }
}

api_server::api_server(controller& ctl, api_server_config cfg, stream_source* streams)
    : impl_{std::make_unique<impl>(ctl, std::move(cfg), streams)} {
  auto& m = *impl_;
  m.define_routes();
  if (m.streams)
    m.define_streams();
  if (!m.cfg.socket_path.empty()) {
    claim_socket_path(m.cfg.socket_path);
    m.install(m.unix_srv, false);
    m.unix_srv.set_address_family(AF_UNIX);
    // Created 0660 from the start: there is no moment when others could connect.
    mode_t old = ::umask(0117);
    bool bound = m.unix_srv.bind_to_port(m.cfg.socket_path, 80);
    int err = errno;
    ::umask(old);
    if (!bound)
      throw std::runtime_error{"control socket " + m.cfg.socket_path +
                               ": cannot listen: " + std::strerror(err)};
    ::listen(m.unix_fd, SOMAXCONN);
    if (m.cfg.socket_group != (gid_t)-1 &&
        ::chown(m.cfg.socket_path.c_str(), (uid_t)-1, m.cfg.socket_group) != 0)
      throw std::runtime_error{"control socket " + m.cfg.socket_path +
                               ": cannot give it its group: " + std::strerror(errno)};
    m.unix_on = true;
  }
  if (!m.cfg.listen_host.empty()) {
    if (m.cfg.token.empty())
      throw std::runtime_error{"listen: TCP needs a bearer token (token_file)"};
    m.install(m.tcp_srv, true);
    if (m.cfg.listen_port == 0)
      m.port = m.tcp_srv.bind_to_any_port(m.cfg.listen_host);
    else if (m.tcp_srv.bind_to_port(m.cfg.listen_host, m.cfg.listen_port))
      m.port = m.cfg.listen_port;
    if (m.port <= 0)
      throw std::runtime_error{"listen tcp://" + m.cfg.listen_host + ":" +
                               std::to_string(m.cfg.listen_port) +
                               ": cannot listen: " + std::strerror(errno)};
    ::listen(m.tcp_fd, SOMAXCONN);
    m.tcp_on = true;
  }
}

api_server::~api_server() {
  stop();
}

void api_server::start() {
  auto& m = *impl_;
  if (m.unix_on)
    m.unix_thread = std::thread{[&m] { m.unix_srv.listen_after_bind(); }};
  if (m.tcp_on)
    m.tcp_thread = std::thread{[&m] { m.tcp_srv.listen_after_bind(); }};
}

void api_server::stop() {
  auto& m = *impl_;
  m.stopping = true;
  if (m.unix_on) {
    m.unix_srv.stop();
    if (m.unix_thread.joinable())
      m.unix_thread.join();
    ::unlink(m.cfg.socket_path.c_str());
    m.unix_on = false;
  }
  if (m.tcp_on) {
    m.tcp_srv.stop();
    if (m.tcp_thread.joinable())
      m.tcp_thread.join();
    m.tcp_on = false;
  }
}

int api_server::tcp_port() const {
  return impl_->port;
}

} // namespace nv
