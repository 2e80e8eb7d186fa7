// The status table's model: one row per service, built from what the supervisors report
// (which_children), kept across samples where the tree forgets: a restarted service's replicas
// count their restarts from 0 again, and a failure stays the service's REASON after it
// recovers. Plain data, apart from drawing: `run`'s live status renders it on a terminal, and
// a status command can render the same rows.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "messages/dependency.hpp"
#include "node/tree_walk.hpp"
#include "supervisor/supervisor.hpp"

namespace nv {

struct service_row {
  std::string name; // deployment/service
  lifecycle state = lifecycle::pending;
  std::string waiting_for; // while it waits: "db (healthy)", several joined by ", "
  uint32_t replicas = 0, running = 0, healthy = 0;
  uint32_t restarts = 0;     // never decreases
  std::vector<int32_t> pids; // of its replicas that are up
  int64_t up_since_us = 0;   // 0: not up
  std::string reason;        // its last failure's text, printable; empty: none yet
  int64_t reason_ts_us = 0;
};

class status_table {
public:
  // `depends`: each service's dependencies, by "deployment/service", to say what a wait waits for.
  explicit status_table(std::map<std::string, std::vector<dependency>> depends = {});

  void update(const std::vector<service_sample>& samples);
  // The node is down: nothing runs any more, and every service that had not ended is stopped.
  void node_down();

  const std::vector<service_row>& rows() const { return rows_; }

private:
  // Restarts of one child path across incarnations of its parent, which count from 0 again.
  struct restart_count {
    uint32_t earlier = 0; // counted by incarnations that are gone
    uint32_t last = 0;    // what the current one said last
    uint32_t total() const { return earlier + last; }
  };

  service_row& row_of(const std::string& name);

  std::map<std::string, std::vector<dependency>> depends_;
  std::vector<service_row> rows_;                 // in the order services first appeared
  std::map<std::string, restart_count> restarts_; // by child path
};

// The table as text lines (a header, then a row per service), columns padded to their
// widest cell; not cut to any width (the console does that). `now_us`: for UPTIME.
std::vector<std::string> render_status(const std::vector<service_row>& rows, int64_t now_us);

// 5s, 3m07s, 2h05m, 3d04h.
std::string format_uptime(int64_t seconds);

} // namespace nv
