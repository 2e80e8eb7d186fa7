#include "node/metrics.hpp"

#include <nlohmann/json.hpp>

#include "trace/trace_follow.hpp"

namespace nv {

namespace {

// A label value: backslash, double quote and newline escaped.
std::string label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void head(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string{"# HELP "} + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

bool is_replica_path(const std::string& service, const child_info& c) {
  return c.id.rfind(service + "-rep-", 0) == 0;
}

} // namespace

void trace_metrics::observe(std::string_view kind, std::string_view line) {
  if (kind != "failure" && kind != "restart" && kind != "escalate" && kind != "probe" &&
      kind != "dropped")
    return;
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded())
    return;
  std::lock_guard<std::mutex> g{mu_};
  last_seq_ = j.value("seq", last_seq_);
  if (kind == "failure") {
    ++failures_[j["error"].value("kind", "unknown")];
  } else if (kind == "restart") {
    ++restarts_[j.value("strategy", "unknown")];
  } else if (kind == "escalate") {
    ++escalations_;
  } else if (kind == "dropped") {
    dropped_ += j.value("count", uint64_t{0});
  } else {
    (j.value("ok", false) ? probes_ok_ : probes_failed_)++;
    double s = static_cast<double>(j.value("latency_us", int64_t{0})) / 1e6;
    ++probe_count_;
    probe_sum_ += s;
    for (std::size_t i = 0; i < bounds_.size(); ++i)
      if (s <= bounds_[i])
        ++buckets_[i];
  }
}

uint64_t trace_metrics::last_seq() const {
  std::lock_guard<std::mutex> g{mu_};
  return last_seq_;
}

std::string trace_metrics::render(const tree_sample& tree, const std::string& node) const {
  std::string out;
  auto n = "node=\"" + label(node) + "\"";
  {
    std::lock_guard<std::mutex> g{mu_};
    head(out, "nodevisor_failures_total", "counter", "Failures reported in the tree, by kind.");
    for (auto& [kind, count] : failures_)
      out += "nodevisor_failures_total{" + n + ",kind=\"" + label(kind) + "\"} " +
             std::to_string(count) + "\n";
    head(out, "nodevisor_restarts_total", "counter", "Restarts decided by supervisors.");
    for (auto& [strategy, count] : restarts_)
      out += "nodevisor_restarts_total{" + n + ",strategy=\"" + label(strategy) + "\"} " +
             std::to_string(count) + "\n";
    head(out, "nodevisor_escalations_total", "counter",
         "Failures a supervisor passed to its parent.");
    out += "nodevisor_escalations_total{" + n + "} " + std::to_string(escalations_) + "\n";
    head(out, "nodevisor_trace_dropped_total", "counter", "Trace events the writer dropped.");
    out += "nodevisor_trace_dropped_total{" + n + "} " + std::to_string(dropped_) + "\n";
    head(out, "nodevisor_probes_total", "counter", "Health checks run, by outcome.");
    out += "nodevisor_probes_total{" + n + ",ok=\"true\"} " + std::to_string(probes_ok_) + "\n";
    out +=
        "nodevisor_probes_total{" + n + ",ok=\"false\"} " + std::to_string(probes_failed_) + "\n";
    head(out, "nodevisor_probe_latency_seconds", "histogram", "How long health checks took.");
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
      char le[32];
      std::snprintf(le, sizeof le, "%g", bounds_[i]);
      out += "nodevisor_probe_latency_seconds_bucket{" + n + ",le=\"" + le + "\"} " +
             std::to_string(buckets_[i]) + "\n";
    }
    out += "nodevisor_probe_latency_seconds_bucket{" + n + ",le=\"+Inf\"} " +
           std::to_string(probe_count_) + "\n";
    out += "nodevisor_probe_latency_seconds_sum{" + n + "} " + std::to_string(probe_sum_) + "\n";
    out +=
        "nodevisor_probe_latency_seconds_count{" + n + "} " + std::to_string(probe_count_) + "\n";
  }
  // Gauges: replicas by state per service, deployments by state.
  std::map<std::string, uint64_t> deployments;
  head(out, "nodevisor_replicas", "gauge", "Replicas by lifecycle state.");
  for (auto& d : tree.deployments) {
    ++deployments[std::string{to_string(d.record.state)}];
    for (auto& s : d.services) {
      std::map<std::string, uint64_t> by_state;
      for (auto& c : s.children)
        if (is_replica_path(s.service.id, c))
          ++by_state[std::string{to_string(c.state)}];
      for (auto& [state, count] : by_state)
        out += "nodevisor_replicas{" + n + ",deployment=\"" + label(d.record.id) + "\",service=\"" +
               label(s.service.id) + "\",state=\"" + state + "\"} " + std::to_string(count) + "\n";
    }
  }
  head(out, "nodevisor_deployments", "gauge", "Deployments in the tree by lifecycle state.");
  for (auto& [state, count] : deployments)
    out +=
        "nodevisor_deployments{" + n + ",state=\"" + state + "\"} " + std::to_string(count) + "\n";
  head(out, "nodevisor_up", "gauge", "1 when the node actor answered this scrape.");
  out += "nodevisor_up{" + n + "} " + std::string{tree.answered ? "1" : "0"} + "\n";
  return out;
}

trace_metrics_feed::trace_metrics_feed(std::shared_ptr<const trace_ring> ring,
                                       std::filesystem::path file, trace_metrics& metrics) {
  thread_ = std::thread{[this, ring = std::move(ring), file = std::move(file), &metrics] {
    uint64_t since = 0;
    std::vector<std::string> lines;
    while (!stop_) {
      trace_reader_cursor cursor{ring, file, since, {}};
      for (;;) {
        auto status = cursor.next(lines, std::chrono::milliseconds{200}, true);
        for (auto& line : lines) {
          // The event word is cheap to find; only the counted kinds are parsed.
          auto at = line.find("\"event\":\"");
          if (at == std::string::npos)
            continue;
          at += 9;
          auto end = line.find('"', at);
          metrics.observe(std::string_view{line}.substr(at, end - at), line);
        }
        since = cursor.last_seq();
        if (stop_ || status == trace_reader_cursor::status::cut_off ||
            status == trace_reader_cursor::status::end)
          break;
      }
    }
  }};
}

trace_metrics_feed::~trace_metrics_feed() {
  stop_ = true;
  if (thread_.joinable())
    thread_.join();
}

} // namespace nv
