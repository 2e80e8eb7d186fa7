// The fixture of the daemon's end-to-end tests: the real `nodevisor daemon` in a temporary
// state directory, driven over its real Unix socket with plain HTTP (cpp-httplib's client).
#pragma once

#include <httplib.h>
#include <map>
#include <thread>

#include "nodevisor_process.hpp"

namespace nv_test {

struct http_answer {
  int status = -1; // -1: no answer (connection failed)
  std::string body;
  std::string content_type;
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

class Daemon : public Run {
protected:
  // A daemon killed by a test leaves its keeper with the containers, as it should; the test's
  // end takes them.
  void TearDown() override { end_keeper(); }

  void end_keeper() {
    std::ifstream in{state() / "keeper.pid"};
    int pid = 0;
    if (!(in >> pid) || pid <= 0)
      return;
    ::kill(pid, SIGTERM);
    for (int i = 0; i < 500 && ::kill(pid, 0) == 0; ++i)
      std::this_thread::sleep_for(10ms);
  }

  fs::path state() const { return dir / "state"; }
  std::string socket() const { return (dir / "api.sock").string(); }

  std::unique_ptr<nodevisor_process> start_daemon(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"daemon", "--state-dir", state().string(), "--socket", socket(),
                                  "--name", "test-node",   "--log-level",    "info"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto p = std::make_unique<nodevisor_process>(args);
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      p->pump(50ms);
      if (request("GET", "/health/ready").status == 200)
        return p;
      int st;
      if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
        p->status = st;
        ADD_FAILURE() << "the daemon exited: " << p->stderr_text;
        return p;
      }
    }
    ADD_FAILURE() << "the daemon never became ready: " << p->stderr_text;
    return p;
  }

  http_answer request(const std::string& method, const std::string& path,
                      const std::string& body = "", const std::string& type = "application/json") {
    httplib::Client c{socket(), 80};
    c.set_address_family(AF_UNIX);
    c.set_connection_timeout(5, 0);
    c.set_read_timeout(60, 0);
    httplib::Result r{nullptr, httplib::Error::Unknown};
    if (method == "GET")
      r = c.Get(path.c_str());
    else if (method == "POST")
      r = c.Post(path.c_str(), body, type.c_str());
    else if (method == "PUT")
      r = c.Put(path.c_str(), body, type.c_str());
    else if (method == "DELETE")
      r = c.Delete(path.c_str());
    else if (method == "PATCH")
      r = c.Patch(path.c_str(), body, type.c_str());
    if (!r)
      return {};
    return {r->status, r->body, r->get_header_value("Content-Type")};
  }

  static std::string spec_body(const std::string& spec) {
    return nlohmann::json{{"spec", spec}}.dump();
  }

  // Waits until GET /api/v1/deployments/NAME satisfies `pred`; the last answer.
  template <class Pred>
  nlohmann::json wait_deployment(const std::string& name, Pred pred,
                                 std::chrono::seconds limit = 60s, nodevisor_process* d = nullptr) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    nlohmann::json last;
    while (std::chrono::steady_clock::now() < deadline) {
      auto a = request("GET", "/api/v1/deployments/" + name);
      last = a.json();
      if (a.status == 200 && pred(last))
        return last;
      if (d)
        d->pump(100ms);
      else
        std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "deployment " << name << " never got there; last: " << last.dump();
    return last;
  }

  static bool all_healthy(const nlohmann::json& d) {
    if (!d.contains("service_details") || d["service_details"].empty())
      return false;
    for (auto& s : d["service_details"])
      if (s["state"] != "healthy" || s["replicas_healthy"] != s["desired_replicas"])
        return false;
    return true;
  }

  static std::map<std::string, std::set<int>> pids_by_service(const nlohmann::json& d) {
    std::map<std::string, std::set<int>> out;
    for (auto& s : d["service_details"])
      for (auto& i : s["instances"])
        if (i["pid"].is_number())
          out[s["name"]].insert(i["pid"].get<int>());
    return out;
  }
};

} // namespace nv_test
