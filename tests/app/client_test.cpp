// The CLI clients (deploy, ps, logs, events, ...) as the real binary, against a fake daemon the
// test serves with httplib on a Unix socket in a temp dir (or on 127.0.0.1): each verb sends the
// method, path, query and body of design.md §8, and prints and exits as §8 says.
#include <condition_variable>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <grp.h>
#include <httplib.h>
#include <map>
#include <mutex>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

struct recorded {
  std::string method, path, body, authorization;
  std::multimap<std::string, std::string> params;
  std::string param(const std::string& k) const {
    auto it = params.find(k);
    return it == params.end() ? std::string{"<absent>"} : it->second;
  }
};

struct canned {
  int status = 200;
  std::string body;
};

// The daemon's API as the test scripts it: "METHOD /path" answers with the next of its canned
// answers (the last one repeats); anything else is a NotFound.
class fake_daemon {
public:
  // `socket`: serve on this Unix socket; empty: on 127.0.0.1, any port, wanting `token`.
  explicit fake_daemon(const std::string& socket, std::string token = "")
      : token_{std::move(token)} {
    auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      answer(req, res);
    };
    srv_.Get(".*", handler);
    srv_.Post(".*", handler);
    srv_.Put(".*", handler);
    srv_.Delete(".*", handler);
    if (!socket.empty()) {
      srv_.set_address_family(AF_UNIX);
      EXPECT_TRUE(srv_.bind_to_port(socket, 80)) << socket;
    } else {
      port_ = srv_.bind_to_any_port("127.0.0.1");
      EXPECT_GT(port_, 0);
    }
    thread_ = std::thread{[this] { srv_.listen_after_bind(); }};
  }
  ~fake_daemon() {
    release_stream();
    srv_.stop();
    thread_.join();
  }

  void on(const std::string& method_path, int status, const json& body) {
    std::lock_guard<std::mutex> g{mu_};
    answers_[method_path].push_back({status, body.is_null() ? "" : body.dump() + "\n"});
  }
  void on_text(const std::string& method_path, int status, std::string body) {
    std::lock_guard<std::mutex> g{mu_};
    answers_[method_path].push_back({status, std::move(body)});
  }
  // A chunked body: `first`, then (once release_stream) `second`, then the end.
  void on_stream(const std::string& method_path, std::string first, std::string second) {
    std::lock_guard<std::mutex> g{mu_};
    streams_[method_path] = {std::move(first), std::move(second)};
  }
  void release_stream() {
    std::lock_guard<std::mutex> g{mu_};
    released_ = true;
    cv_.notify_all();
  }

  std::vector<recorded> requests() {
    std::lock_guard<std::mutex> g{mu_};
    return requests_;
  }
  int port() const { return port_; }

private:
  void answer(const httplib::Request& req, httplib::Response& res) {
    std::unique_lock<std::mutex> g{mu_};
    recorded r{req.method, req.path, req.body, req.get_header_value("Authorization"), {}};
    for (auto& [k, v] : req.params)
      r.params.emplace(k, v);
    requests_.push_back(r);
    if (!token_.empty() && r.authorization != "Bearer " + token_) {
      res.status = 401;
      res.set_content(R"({"error":{"kind":"Configuration","message":"wrong bearer token"}})",
                      "application/json");
      return;
    }
    const auto key = req.method + " " + req.path;
    if (auto s = streams_.find(key); s != streams_.end()) {
      auto parts = s->second;
      g.unlock();
      res.set_chunked_content_provider(
          "text/plain", [this, parts, sent = 0](std::size_t, httplib::DataSink& sink) mutable {
            if (sent == 0) {
              sink.write(parts.first.data(), parts.first.size());
            } else if (sent == 1) {
              std::unique_lock<std::mutex> lock{mu_};
              // Not released: the client held the first part back. Say so in the output.
              const bool released = cv_.wait_for(lock, 30s, [this] { return released_; });
              lock.unlock();
              const std::string second = released ? parts.second : "never released\n";
              sink.write(second.data(), second.size());
            } else
              sink.done();
            ++sent;
            return true;
          });
      return;
    }
    auto it = answers_.find(key);
    if (it == answers_.end() || it->second.empty()) {
      res.status = 404;
      res.set_content(
          json{{"error", {{"kind", "NotFound"}, {"message", "no route " + key}}}}.dump(),
          "application/json");
      return;
    }
    auto a = it->second.front();
    if (it->second.size() > 1)
      it->second.erase(it->second.begin());
    res.status = a.status;
    if (!a.body.empty())
      res.set_content(a.body, "application/json");
  }

  httplib::Server srv_;
  std::thread thread_;
  int port_ = 0;
  std::string token_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  std::map<std::string, std::vector<canned>> answers_;
  std::map<std::string, std::pair<std::string, std::string>> streams_;
  std::vector<recorded> requests_;
};

struct cli_result {
  int code = -1;
  std::string out, err;
};

struct cli_run {
  std::vector<std::string> args;
  std::map<std::string, std::string> env; // on top of the test's, NODEVISOR_* removed
  uid_t as_uid = 0;                       // 0: as the test; else setresuid to it first
  gid_t as_gid = 0;
  // Called with what stdout holds so far; true once it has done its part (e.g. released a
  // stream).
  std::function<bool(const std::string&)> on_output;
};

// Runs the real binary (or a copy of it) to its exit (60 s at most), collecting stdout and
// stderr.
cli_result run_cli(const cli_run& run, const std::string& binary = NV_BINARY) {
  std::vector<std::string> args{binary};
  args.insert(args.end(), run.args.begin(), run.args.end());
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e)
    if (!std::string_view{*e}.starts_with("NODEVISOR_"))
      env.emplace_back(*e);
  for (auto& [k, v] : run.env)
    env.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  int out[2], err[2];
  EXPECT_EQ(pipe2(out, O_CLOEXEC), 0);
  EXPECT_EQ(pipe2(err, O_CLOEXEC), 0);
  pid_t pid = fork();
  if (pid == 0) {
    // Only async-signal-safe calls here: the test has server threads.
    if (run.as_uid != 0 &&
        (setgroups(0, nullptr) != 0 || setresgid(run.as_gid, run.as_gid, run.as_gid) != 0 ||
         setresuid(run.as_uid, run.as_uid, run.as_uid) != 0))
      _exit(120);
    dup2(out[1], 1);
    dup2(err[1], 2);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  cli_result r;
  bool hooked = !run.on_output;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  bool out_open = true, err_open = true;
  while ((out_open || err_open) && std::chrono::steady_clock::now() < deadline) {
    pollfd fds[2] = {{out[0], short(out_open ? POLLIN : 0), 0},
                     {err[0], short(err_open ? POLLIN : 0), 0}};
    if (poll(fds, 2, 100) <= 0)
      continue;
    char buf[4096];
    for (int i = 0; i < 2; ++i)
      if (fds[i].revents & (POLLIN | POLLHUP)) {
        auto n = read(fds[i].fd, buf, sizeof buf);
        if (n > 0)
          (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
        else
          (i == 0 ? out_open : err_open) = false;
      }
    if (!hooked)
      hooked = run.on_output(r.out);
  }
  if (out_open || err_open)
    kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  close(out[0]);
  close(err[0]);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

json agent_error(const std::string& kind, const std::string& message) {
  return {{"error", {{"kind", kind}, {"message", message}, {"extra", "ignored"}}}};
}

json details(const std::string& name, int generation, const std::string& status,
             const std::string& state) {
  return {{"name", name},
          {"status", status},
          {"services", {"api"}},
          {"service_health", json::array()},
          {"service_count", 1},
          {"created_at", "2026-12-02T20:00:00.000Z"},
          {"updated_at", "2026-12-02T20:05:00.000Z"},
          {"generation", generation},
          {"desired", "running"},
          {"state", state},
          {"a_field_from_a_newer_daemon", {{"x", 1}}},
          {"service_details",
           {{{"name", "api"},
             {"deployment", name},
             {"status", state},
             {"replicas", 2},
             {"desired_replicas", 2},
             {"state", state},
             {"node", "n1"},
             {"replicas_running", 2},
             {"replicas_healthy", state == "healthy" ? 2 : 0},
             {"restarts", 3},
             {"last_error", nullptr},
             {"instances",
              {{{"id", "api-rep-1"},
                {"state", state},
                {"pid", 4242},
                {"restarts", 1},
                {"started_at", "2026-12-02T20:01:00.000Z"}},
               {{"id", "api-rep-2"},
                {"state", state},
                {"pid", nullptr},
                {"restarts", 2},
                {"started_at", nullptr}}}}}}}};
}

class Client : public ::testing::Test {
protected:
  Client() {
    // Short: a Unix socket's path has to fit in 108 bytes.
    static int count = 0;
    dir = fs::temp_directory_path() /
          ("nv-cl-" + std::to_string(getpid()) + "-" + std::to_string(++count));
    fs::remove_all(dir);
    fs::create_directories(dir);
    socket = (dir / "nodevisor.sock").string();
  }
  ~Client() override { fs::remove_all(dir); }

  fake_daemon& daemon() {
    if (!daemon_)
      daemon_ = std::make_unique<fake_daemon>(socket);
    return *daemon_;
  }
  cli_result cli(std::vector<std::string> args) {
    daemon();
    args.push_back("--host");
    args.push_back("unix://" + socket);
    return run_cli({args, {}, 0, 0, {}});
  }
  std::string write(const std::string& name, const std::string& text, mode_t mode = 0600) {
    auto path = dir / name;
    std::ofstream{path} << text;
    fs::permissions(path, static_cast<fs::perms>(mode));
    return path.string();
  }

  fs::path dir;
  std::string socket;
  std::unique_ptr<fake_daemon> daemon_;
};

const std::string spec_text = "version: v1\ndeployment: web\nservices:\n  api:\n    image:\n"
                              "      name: demo\n";

TEST_F(Client, deploy_posts_the_spec_text_and_says_created) {
  daemon().on("POST /api/v1/deployments", 201, details("web", 1, "deploying", "starting"));
  auto spec = write("web.yaml", spec_text);
  auto r = cli({"deploy", spec});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("web: created (generation 1)"), std::string::npos) << r.out;
  auto reqs = daemon().requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].path, "/api/v1/deployments");
  EXPECT_EQ(reqs[0].param("dry_run"), "<absent>");
  EXPECT_EQ(json::parse(reqs[0].body), (json{{"spec", spec_text}}));
}

TEST_F(Client, deploy_of_an_existing_name_applies_it_with_put_to_the_name_in_the_spec) {
  daemon().on("POST /api/v1/deployments", 409,
              agent_error("InvalidSpec", "deployment 'web' exists, generation 1"));
  daemon().on("PUT /api/v1/deployments/web", 200, details("web", 2, "running", "healthy"));
  auto r = cli({"deploy", write("web.yaml", spec_text)});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("web: applied (generation 2)"), std::string::npos) << r.out;
  auto reqs = daemon().requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].method, "PUT");
  EXPECT_EQ(reqs[1].path, "/api/v1/deployments/web");
  EXPECT_EQ(json::parse(reqs[1].body), (json{{"spec", spec_text}}));
}

TEST_F(Client, deploy_dry_run_asks_for_the_plan_and_prints_it) {
  daemon().on("POST /api/v1/deployments", 200,
              {{"dry_run", true},
               {"deployment", "web"},
               {"change", {{"start", {"/web/api"}}, {"stop", json::array()}}}});
  auto r = cli({"deploy", "--dry-run", write("web.yaml", spec_text)});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("start: /web/api"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nothing was changed"), std::string::npos) << r.out;
  auto reqs = daemon().requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].method + " " + reqs[0].path, "GET /api/v1/deployments/web");
  EXPECT_EQ(reqs[1].method + " " + reqs[1].path, "POST /api/v1/deployments");
  EXPECT_EQ(reqs[1].param("dry_run"), "true");
}

TEST_F(Client, deploy_dry_run_of_an_existing_deployment_asks_for_the_plan_of_an_apply) {
  daemon().on("GET /api/v1/deployments/web", 200, details("web", 2, "running", "healthy"));
  daemon().on("PUT /api/v1/deployments/web", 200,
              {{"dry_run", true},
               {"deployment", "web"},
               {"generation", 2},
               {"change", {{"restart", {"/web/api"}}}}});
  auto r = cli({"deploy", "--dry-run", write("web.yaml", spec_text)});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("restart: /web/api"), std::string::npos) << r.out;
  auto reqs = daemon().requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].method + " " + reqs[1].path, "PUT /api/v1/deployments/web");
  EXPECT_EQ(reqs[1].param("dry_run"), "true");
  EXPECT_EQ(json::parse(reqs[1].body), (json{{"spec", spec_text}}));
}

TEST_F(Client, deploy_of_an_invalid_spec_prints_each_problem_on_its_line_and_exits_2) {
  daemon().on("POST /api/v1/deployments", 400,
              agent_error("InvalidSpec", "<request>: services.api.image: expected a map\n"
                                         "<request>: services.db.replicas: expected a number"));
  auto r = cli({"deploy", write("web.yaml", spec_text)});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("<request>: services.api.image: expected a map\n"
                       "<request>: services.db.replicas: expected a number\n"),
            std::string::npos)
      << r.err;
}

TEST_F(Client, deploy_wait_polls_until_every_service_is_healthy) {
  daemon().on("POST /api/v1/deployments", 201, details("web", 1, "deploying", "starting"));
  daemon().on("GET /api/v1/deployments/web", 200, details("web", 1, "deploying", "starting"));
  daemon().on("GET /api/v1/deployments/web", 200, details("web", 1, "running", "healthy"));
  auto r = cli({"deploy", "--wait", "--timeout", "60s", write("web.yaml", spec_text)});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("web: healthy (1 services)"), std::string::npos) << r.out;
  EXPECT_EQ(daemon().requests().size(), 3u);
}

TEST_F(Client, deploy_wait_exits_1_with_the_failure_when_the_deployment_fails) {
  daemon().on("POST /api/v1/deployments", 201, details("web", 1, "deploying", "starting"));
  daemon().on("GET /api/v1/deployments/web", 200,
              details("web", 1, "failed: api escalated past its intensity", "failed"));
  auto r = cli({"deploy", "--wait", write("web.yaml", spec_text)});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("api escalated past its intensity"), std::string::npos) << r.err;
}

TEST_F(Client, deploy_wait_exits_1_when_a_service_failed_while_the_others_run) {
  auto d = details("web", 1, "running", "failed");
  d["state"] = "running";
  d["service_details"][0]["last_error"] =
      agent_error("RouteToPeer", "no peer runs windows for 'api'")["error"];
  daemon().on("POST /api/v1/deployments", 201, details("web", 1, "deploying", "starting"));
  daemon().on("GET /api/v1/deployments/web", 200, d);
  auto r = cli({"deploy", "--wait", write("web.yaml", spec_text)});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("service 'api' failed: no peer runs windows for 'api'"), std::string::npos)
      << r.err;
}

TEST_F(Client, deploy_wait_gives_up_after_its_timeout_naming_what_is_not_healthy) {
  daemon().on("POST /api/v1/deployments", 201, details("web", 1, "deploying", "starting"));
  daemon().on("GET /api/v1/deployments/web", 200, details("web", 1, "deploying", "starting"));
  auto r = cli({"deploy", "--wait", "--timeout", "1s", write("web.yaml", spec_text)});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("not healthy after the --timeout: api starting"), std::string::npos)
      << r.err;
  auto bad = cli({"deploy", "--wait", "--timeout", "soon", write("web.yaml", spec_text)});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("--timeout soon"), std::string::npos) << bad.err;
}

TEST_F(Client, deploy_of_a_spec_it_cannot_read_exits_2_naming_it_without_asking) {
  auto r = cli({"deploy", (dir / "missing.yaml").string()});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("missing.yaml: cannot read"), std::string::npos) << r.err;
  EXPECT_TRUE(daemon().requests().empty());
}

TEST_F(Client, ps_lists_the_deployments_as_a_table_or_unchanged_json) {
  auto list = json::array(
      {details("web", 3, "running", "healthy"), details("batch", 1, "stopped", "stopped")});
  daemon().on("GET /api/v1/deployments", 200, list);
  auto r = cli({"ps"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.find("DEPLOYMENT  STATUS   SERVICES  GENERATION  DESIRED  UPDATED"), 0u) << r.out;
  EXPECT_NE(r.out.find("web         running  1         3           running  2026-12-02T20:05"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("batch       stopped"), std::string::npos) << r.out;
  auto j = cli({"ps", "-o", "json"});
  EXPECT_EQ(j.code, 0) << j.err;
  EXPECT_EQ(json::parse(j.out), list);
  EXPECT_NE(j.out.find("\n  {\n    \""), std::string::npos) << "2-space indent: " << j.out;
}

TEST_F(Client, ps_of_a_deployment_draws_the_service_table_with_printable_reasons) {
  auto d = details("web", 3, "running", "degraded");
  d["service_details"][0]["last_error"] =
      agent_error("ContainerCrashed", "Container 'api-rep-1' exited \x1b[2Jwith code 3")["error"];
  daemon().on("GET /api/v1/deployments/web", 200, d);
  auto r = cli({"ps", "web"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("web: running (generation 3, desired running)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("SERVICE  REPLICAS  RUNNING  HEALTHY  RESTARTS  STATE"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("api             2        2        0         3  degraded  4242"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Container 'api-rep-1' exited \\x1b[2Jwith code 3"), std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << "a raw escape reached the terminal";
}

TEST_F(Client, ps_of_an_unknown_deployment_exits_1_with_the_daemons_message) {
  daemon().on("GET /api/v1/deployments/nope", 404,
              agent_error("NotFound", "no deployment 'nope' on this node"));
  auto r = cli({"ps", "nope"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("nodevisor ps: no deployment 'nope' on this node"), std::string::npos)
      << r.err;
}

TEST_F(Client, logs_finds_the_only_deployment_with_the_service_and_passes_lines_and_instance) {
  daemon().on("GET /api/v1/deployments", 200,
              json::array({details("web", 1, "running", "healthy")}));
  daemon().on_text("GET /api/v1/deployments/web/services/api/logs", 200,
                   "hello\nbell\x07 here\nno newline at the end");
  auto r = cli({"logs", "api", "-n", "5", "-i", "2"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "hello\nbell\\x07 here\nno newline at the end\n");
  auto reqs = daemon().requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].param("lines"), "5");
  EXPECT_EQ(reqs[1].param("instance"), "2");
  EXPECT_EQ(reqs[1].param("follow"), "<absent>");
}

TEST_F(Client, logs_follow_prints_each_line_as_it_arrives) {
  daemon().on_stream("GET /api/v1/deployments/web/services/api/logs", "first line\n",
                     "second line\n");
  daemon();
  // The stream's second part is held back until the first has reached stdout: the client must
  // print what has arrived, not wait for the end of the body.
  auto r = run_cli({{"logs", "--deployment", "web", "api", "-f", "--host", "unix://" + socket},
                    {},
                    0,
                    0,
                    [&](const std::string& out) {
                      if (out.find("first line\n") == std::string::npos)
                        return false;
                      daemon().release_stream();
                      return true;
                    }});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "first line\nsecond line\n");
  ASSERT_EQ(daemon().requests().size(), 1u);
  EXPECT_EQ(daemon().requests()[0].param("follow"), "1");
}

TEST_F(Client, a_service_in_two_deployments_needs_deployment_and_exits_2_naming_both) {
  daemon().on("GET /api/v1/deployments", 200,
              json::array({details("web", 1, "running", "healthy"),
                           details("web2", 1, "running", "healthy")}));
  auto r = cli({"restart", "api"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("'web', 'web2'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--deployment"), std::string::npos) << r.err;
  EXPECT_EQ(daemon().requests().size(), 1u) << "nothing restarted";
}

TEST_F(Client, events_passes_its_filters_and_prints_trace_lines) {
  const std::string ndjson =
      R"({"seq":42,"ts_us":1732600000123456,"node":"n1","actor":"/web/api/api-rep-1","event":"state","from":"running","to":"healthy"})"
      "\n"
      R"({"seq":43,"ts_us":1732600001123456,"node":"n1","actor":"/web/api","event":"restart","child":"api-rep-1","strategy":"one_for_one","delay_ms":100})"
      "\n";
  daemon().on_text("GET /api/v1/trace", 200, ndjson);
  auto r = cli({"events", "--since", "41", "--actor", "/web/api", "--event", "state,restart"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("#42"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/web/api/api-rep-1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("healthy"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("#43"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("{\"seq\""), std::string::npos) << "human lines, not JSON: " << r.out;
  auto reqs = daemon().requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].param("since"), "41");
  EXPECT_EQ(reqs[0].param("actor"), "/web/api");
  EXPECT_EQ(reqs[0].param("event"), "state,restart");
  EXPECT_EQ(reqs[0].param("follow"), "<absent>");

  auto j = cli({"events", "-o", "json", "-f"});
  EXPECT_EQ(j.code, 0) << j.err;
  auto first = j.out.substr(0, j.out.find('\n'));
  EXPECT_EQ(json::parse(first)["seq"], 42);
  EXPECT_EQ(daemon().requests().back().param("follow"), "1");
}

TEST_F(Client, stop_start_and_rm_use_their_methods_and_paths) {
  daemon().on("POST /api/v1/deployments/web/stop", 200, details("web", 1, "stopped", "stopped"));
  daemon().on("POST /api/v1/deployments/web/start", 200,
              details("web", 1, "deploying", "starting"));
  daemon().on("DELETE /api/v1/deployments/web", 204, nullptr);
  for (auto [verb, said] :
       {std::pair{"stop", "web: stopped"}, {"start", "web: started"}, {"rm", "web: removed"}}) {
    auto r = cli({verb, "web"});
    EXPECT_EQ(r.code, 0) << verb << ": " << r.err;
    EXPECT_NE(r.out.find(said), std::string::npos) << r.out;
  }
  auto reqs = daemon().requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].method + " " + reqs[0].path, "POST /api/v1/deployments/web/stop");
  EXPECT_EQ(reqs[1].method + " " + reqs[1].path, "POST /api/v1/deployments/web/start");
  EXPECT_EQ(reqs[2].method + " " + reqs[2].path, "DELETE /api/v1/deployments/web");
  auto missing = cli({"rm", "gone"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("no route DELETE /api/v1/deployments/gone"), std::string::npos)
      << missing.err;
}

TEST_F(Client, restart_and_scale_post_to_the_service) {
  daemon().on("GET /api/v1/deployments", 200,
              json::array({details("web", 1, "running", "healthy")}));
  daemon().on("POST /api/v1/deployments/web/services/api/restart", 200, json::object());
  daemon().on("POST /api/v1/deployments/web/services/api/scale", 200, json::object());
  auto r = cli({"restart", "--deployment", "web", "api"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("web/api: restarting its replicas one at a time"), std::string::npos)
      << r.out;
  auto s = cli({"scale", "api", "3"});
  EXPECT_EQ(s.code, 0) << s.err;
  EXPECT_NE(s.out.find("web/api: scaled to 3 replicas"), std::string::npos) << s.out;
  auto reqs = daemon().requests();
  ASSERT_EQ(reqs.size(), 3u) << "--deployment given: no lookup for restart";
  EXPECT_EQ(reqs[0].path, "/api/v1/deployments/web/services/api/restart");
  EXPECT_EQ(reqs[2].path, "/api/v1/deployments/web/services/api/scale");
  EXPECT_EQ(json::parse(reqs[2].body), (json{{"replicas", 3}}));
}

TEST_F(Client, tree_why_and_node_ls) {
  json tree = {{"path", "/"},
               {"state", "running"},
               {"children",
                {{{"id", "web"},
                  {"path", "/web"},
                  {"state", "running"},
                  {"restarts", 0},
                  {"pid", nullptr},
                  {"children",
                   {{{"id", "api-rep-1"},
                     {"path", "/web/api-rep-1"},
                     {"state", "healthy"},
                     {"restarts", 2},
                     {"pid", 4242},
                     {"children", json::array()}}}}}}}};
  daemon().on("GET /api/v1/tree", 200, tree);
  daemon().on("GET /api/v1/why", 200,
              {{"actor", "/web/api"},
               {"chain",
                {{{"seq", 7},
                  {"ts_us", 1732600000000000},
                  {"node", "n1"},
                  {"actor", "/web/api/api-rep-1"},
                  {"event", "state"},
                  {"from", "running"},
                  {"to", "failed"}}}}});
  daemon().on(
      "GET /api/v1/nodes", 200,
      json::array({{{"name", "n1"},
                    {"os", "linux"},
                    {"arch", "x86_64"},
                    {"runtimes", {{"linux", "process"}}},
                    {"link", "self"},
                    {"runs", {{{"deployment", "web"}, {"service", "api"}, {"origin", "n1"}}}}}}));
  auto t = cli({"tree"});
  EXPECT_EQ(t.code, 0) << t.err;
  EXPECT_EQ(t.out, "/  running\n  web  running\n    api-rep-1  healthy  pid 4242  restarts 2\n");
  auto tj = cli({"tree", "-o", "json"});
  EXPECT_EQ(json::parse(tj.out), tree);
  auto w = cli({"why", "/web/api"});
  EXPECT_EQ(w.code, 0) << w.err;
  EXPECT_NE(w.out.find("#7"), std::string::npos) << w.out;
  EXPECT_NE(w.out.find("/web/api/api-rep-1"), std::string::npos) << w.out;
  EXPECT_EQ(daemon().requests()[2].param("actor"), "/web/api");
  auto n = cli({"node", "ls"});
  EXPECT_EQ(n.code, 0) << n.err;
  EXPECT_NE(n.out.find("NAME  OS     ARCH    RUNTIMES       LINK  RUNS"), std::string::npos)
      << n.out;
  EXPECT_NE(n.out.find("n1    linux  x86_64  linux=process  self  web/api"), std::string::npos)
      << n.out;
}

TEST_F(Client, an_answer_that_is_not_json_exits_1_showing_the_status) {
  daemon().on_text("GET /api/v1/deployments", 500, "<html>oops</html>");
  auto r = cli({"ps"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("HTTP 500"), std::string::npos) << r.err;
}

TEST_F(Client, no_daemon_on_the_socket_exits_3_naming_it) {
  // No file at all, then a socket file nobody listens on (what a crashed daemon leaves).
  auto r = run_cli({{"ps", "--host", "unix://" + socket}, {}, 0, 0, {}});
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("not running"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(socket), std::string::npos) << r.err;

  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  close(fd); // bound, never listened: connect is refused
  auto refused = run_cli({{"ps", "--host", "unix://" + socket}, {}, 0, 0, {}});
  EXPECT_EQ(refused.code, 3);
  EXPECT_NE(refused.err.find(socket), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("Connection refused"), std::string::npos) << refused.err;
}

TEST_F(Client, the_host_comes_from_NODEVISOR_HOST_when_not_given) {
  daemon().on("GET /api/v1/deployments", 200, json::array());
  auto r = run_cli({{"ps"}, {{"NODEVISOR_HOST", "unix://" + socket}}, 0, 0, {}});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(daemon().requests().size(), 1u);
  auto bad = run_cli({{"ps"}, {{"NODEVISOR_HOST", "http://x"}}, 0, 0, {}});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("unix:///path/to/socket or tcp://127.0.0.1:PORT"), std::string::npos)
      << bad.err;
}

TEST_F(Client, a_socket_the_user_may_not_reach_exits_3_naming_it_and_the_group_to_join) {
  // Root passes every permission check, so the client runs as nobody; the socket's directory
  // lets in only root and group root.
  const passwd* nobody = getpwnam("nobody");
  if (!nobody || getuid() != 0)
    GTEST_SKIP() << "needs root, to run the client as the user nobody";
  auto locked = dir / "locked";
  fs::create_directories(locked);
  fs::permissions(dir, fs::perms::owner_all | fs::perms::others_exec | fs::perms::group_exec);
  fs::permissions(locked, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
  auto path = (locked / "nodevisor.sock").string();
  fake_daemon d{path};
  auto r = run_cli({{"ps", "--host", "unix://" + path}, {}, nobody->pw_uid, nobody->pw_gid, {}});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("not permitted"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("add yourself to group root"), std::string::npos) << r.err;
  EXPECT_TRUE(d.requests().empty());
}

TEST_F(Client, tcp_sends_the_bearer_token_from_a_0600_file_and_refuses_a_0644_one) {
  fake_daemon tcp{"", "s3cret"};
  tcp.on("GET /api/v1/deployments", 200, json::array());
  const std::string host = "tcp://127.0.0.1:" + std::to_string(tcp.port());
  auto good = write("token", "s3cret\n", 0600);
  auto r = run_cli({{"ps", "--host", host, "--token-file", good}, {}, 0, 0, {}});
  EXPECT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(tcp.requests().size(), 1u);
  EXPECT_EQ(tcp.requests()[0].authorization, "Bearer s3cret");

  auto from_env = run_cli({{"ps", "--host", host}, {{"NODEVISOR_TOKEN_FILE", good}}, 0, 0, {}});
  EXPECT_EQ(from_env.code, 0) << from_env.err;

  auto open = write("open-token", "s3cret\n", 0644);
  auto refused = run_cli({{"ps", "--host", host, "--token-file", open}, {}, 0, 0, {}});
  EXPECT_EQ(refused.code, 2);
  EXPECT_NE(refused.err.find(open), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("0644"), std::string::npos) << refused.err;
  EXPECT_EQ(tcp.requests().size(), 2u) << "the refused token was not sent";

  auto wrong = write("wrong-token", "nope\n", 0600);
  auto denied = run_cli({{"ps", "--host", host, "--token-file", wrong}, {}, 0, 0, {}});
  EXPECT_EQ(denied.code, 3);
  EXPECT_NE(denied.err.find("wrong bearer token"), std::string::npos) << denied.err;

  auto none = run_cli({{"ps", "--host", host}, {}, 0, 0, {}});
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.err.find("--token-file"), std::string::npos) << none.err;
}

} // namespace

// nodevisor execs the executable of each verb from its own directory (app/verbs.hpp).
TEST_F(Client, every_verb_is_listed_and_answered_by_the_executable_beside_nodevisor) {
  auto help = run_cli({{"--help"}, {}, 0, 0, {}});
  EXPECT_EQ(help.code, 0);
  for (const char* verb : {"run", "validate", "trace", "daemon", "deploy", "ps", "why", "node"})
    EXPECT_NE(help.out.find(std::string{"  "} + verb + " "), std::string::npos) << verb;
  auto unknown = run_cli({{"bogus"}, {}, 0, 0, {}});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_NE(unknown.err.find("unknown command 'bogus'"), std::string::npos) << unknown.err;
  auto ps_help = run_cli({{"ps", "--help"}, {}, 0, 0, {}});
  EXPECT_EQ(ps_help.code, 0) << ps_help.err;
  EXPECT_NE(ps_help.out.find("Usage: nodevisor ps"), std::string::npos) << ps_help.out;

  // A nodevisor copied alone: each verb says what is missing; --version needs nothing else.
  const auto alone = dir / "nodevisor";
  fs::copy_file(NV_BINARY, alone);
  fs::permissions(alone, fs::perms::owner_all);
  auto ps = run_cli({{"ps"}, {}, 0, 0, {}}, alone.string());
  EXPECT_EQ(ps.code, 2);
  EXPECT_NE(ps.err.find((dir / "nodevisor-node").string()), std::string::npos) << ps.err;
  EXPECT_NE(ps.err.find("installed next to it"), std::string::npos) << ps.err;
  auto validate = run_cli({{"validate", "-"}, {}, 0, 0, {}}, alone.string());
  EXPECT_EQ(validate.code, 2);
  EXPECT_NE(validate.err.find((dir / "nodevisor-run").string()), std::string::npos) << validate.err;
  EXPECT_EQ(run_cli({{"--version"}, {}, 0, 0, {}}, alone.string()).code, 0);
}
