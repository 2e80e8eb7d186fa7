// The daemon's /metrics in the Prometheus text format (version 0.0.4), every metric named
// `nodevisor_…`. Counters come from the trace (every event the tree emits, read from the trace
// ring by the daemon's metrics reader), gauges from a walk of the tree at scrape time.
// Written by hand rather than with prometheus-cpp: a dozen series, and the text format is four
// lines of rules; a registry with its own threads and allocation would be more than the metrics.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "node/tree_walk.hpp"

namespace nv {

class trace_metrics {
public:
  // One trace line (§7 JSON); only failure, restart, escalate, probe and dropped are counted.
  void observe(std::string_view event_kind, std::string_view line);
  // The whole exposition: the counters so far and the tree's gauges now.
  std::string render(const tree_sample& tree, const std::string& node) const;
  uint64_t last_seq() const;

private:
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> failures_; // by AgentError kind
  std::map<std::string, uint64_t> restarts_; // by strategy
  uint64_t escalations_ = 0;
  uint64_t dropped_ = 0;
  uint64_t probes_ok_ = 0, probes_failed_ = 0;
  // Probe latency histogram, seconds: cumulative buckets as Prometheus wants them.
  static constexpr std::array<double, 10> bounds_{0.001, 0.0025, 0.005, 0.01, 0.025,
                                                  0.05,  0.1,    0.25,  1,    5};
  std::array<uint64_t, bounds_.size()> buckets_{};
  uint64_t probe_count_ = 0;
  double probe_sum_ = 0;
  uint64_t last_seq_ = 0;
};

class trace_ring;

// Feeds `metrics` with every trace line, on a thread of its own that follows the ring; cut off
// (it fell behind in a storm), it resumes from the trace files with the seq it had reached.
class trace_metrics_feed {
public:
  trace_metrics_feed(std::shared_ptr<const trace_ring> ring, std::filesystem::path file,
                     trace_metrics& metrics);
  ~trace_metrics_feed();
  trace_metrics_feed(const trace_metrics_feed&) = delete;
  trace_metrics_feed& operator=(const trace_metrics_feed&) = delete;

private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

} // namespace nv
