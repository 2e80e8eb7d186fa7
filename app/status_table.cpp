#include "app/status_table.hpp"

#include <algorithm>
#include <cstdio>

#include "messages/printable.hpp"
#include "messages/signal_name.hpp"

namespace nv {

namespace {

bool is_up(lifecycle s) {
  return s == lifecycle::running || s == lifecycle::healthy || s == lifecycle::unhealthy ||
         s == lifecycle::degraded;
}

bool has_ended(lifecycle s) {
  return s == lifecycle::stopped || s == lifecycle::completed || s == lifecycle::failed;
}

bool starts_with(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}

bool is_replica(const child_info& c) {
  return !starts_with(c.id, "wait:") && !starts_with(c.id, "init:");
}

std::string pids_text(const std::vector<int32_t>& pids) {
  if (pids.empty())
    return "-";
  auto text = std::to_string(pids.front());
  if (pids.size() > 1)
    text += " +" + std::to_string(pids.size() - 1);
  return text;
}

} // namespace

status_table::status_table(std::map<std::string, std::vector<dependency>> depends)
    : depends_{std::move(depends)} {}

service_row& status_table::row_of(const std::string& name) {
  for (auto& r : rows_)
    if (r.name == name)
      return r;
  auto& row = rows_.emplace_back();
  row.name = name;
  return row;
}

void status_table::update(const std::vector<service_sample>& samples) {
  for (auto& s : samples) {
    auto& row = row_of(s.deployment + "/" + s.service.id);
    row.state = s.service.state;
    row.up_since_us = s.service.up_since_us;
    if (s.children_known) {
      row.waiting_for.clear();
      row.replicas = row.running = row.healthy = 0;
      row.pids.clear();
    }

    const failure* newest = s.service.last_failure.ts_us != 0 ? &s.service.last_failure : nullptr;
    auto count = [&](const child_info& c) {
      auto& rc = restarts_[c.path];
      if (c.restarts < rc.last) // a new incarnation of its parent, counting from 0
        rc.earlier += rc.last;
      rc.last = c.restarts;
    };
    count(s.service);
    // Both branches lvalues: `newest` points into what the loop visits, so it must not be a copy.
    static const std::vector<child_info> none;
    const auto& children = s.children_known ? s.children : none;
    for (auto& c : children) {
      if (c.last_failure.ts_us != 0 && (!newest || c.last_failure.ts_us > newest->ts_us))
        newest = &c.last_failure;
      if (starts_with(c.id, "wait:") && c.handle && !has_ended(c.state)) {
        auto dep = c.id.substr(5);
        std::string what = dep;
        auto deps = depends_.find(row.name);
        if (deps != depends_.end())
          for (auto& d : deps->second)
            if (d.service == dep)
              what += " (" + std::string{to_string(d.condition)} + ")";
        row.waiting_for += (row.waiting_for.empty() ? "" : ", ") + what;
      }
      if (!is_replica(c))
        continue;
      count(c);
      ++row.replicas;
      if (is_up(c.state))
        ++row.running;
      if (c.state == lifecycle::healthy)
        ++row.healthy;
      if (is_up(c.state) && c.pid != 0)
        row.pids.push_back(c.pid);
    }
    if (newest && newest->ts_us > row.reason_ts_us) {
      row.reason = printable(to_string(newest->error));
      if (auto* exit = std::get_if<UnexpectedExit>(&newest->error); exit && exit->signal)
        row.reason += " (killed by " + signal_name(exit->signal) + ")";
      row.reason_ts_us = newest->ts_us;
    }
    // A sample of the service and of its children is what they said last; the sum over every
    // child path ever seen under the service never goes down.
    uint32_t total = 0;
    auto prefix = s.service.path + "/";
    for (auto& [path, rc] : restarts_)
      if (path == s.service.path || starts_with(path, prefix.c_str()))
        total += rc.total();
    row.restarts = std::max(row.restarts, total);
  }
}

void status_table::node_down() {
  for (auto& row : rows_) {
    if (row.state != lifecycle::completed && row.state != lifecycle::failed)
      row.state = lifecycle::stopped;
    row.waiting_for.clear();
    row.running = row.healthy = 0;
    row.pids.clear();
    row.up_since_us = 0;
  }
}

std::string format_uptime(int64_t seconds) {
  char text[32];
  if (seconds < 60)
    std::snprintf(text, sizeof text, "%llds", static_cast<long long>(seconds));
  else if (seconds < 3600)
    std::snprintf(text, sizeof text, "%lldm%02llds", static_cast<long long>(seconds / 60),
                  static_cast<long long>(seconds % 60));
  else if (seconds < 86400)
    std::snprintf(text, sizeof text, "%lldh%02lldm", static_cast<long long>(seconds / 3600),
                  static_cast<long long>(seconds % 3600 / 60));
  else
    std::snprintf(text, sizeof text, "%lldd%02lldh", static_cast<long long>(seconds / 86400),
                  static_cast<long long>(seconds % 86400 / 3600));
  return text;
}

std::vector<std::string> render_status(const std::vector<service_row>& rows, int64_t now_us) {
  std::vector<std::vector<std::string>> cells;
  cells.push_back({"SERVICE", "REPLICAS", "RUNNING", "HEALTHY", "RESTARTS", "STATE", "PID",
                   "UPTIME", "REASON"});
  for (auto& r : rows) {
    std::string state{to_string(r.state)};
    if (r.state == lifecycle::waiting && !r.waiting_for.empty())
      state = "waiting for " + r.waiting_for;
    std::string uptime = "-";
    if (r.up_since_us != 0)
      uptime = format_uptime(std::max<int64_t>(0, now_us - r.up_since_us) / 1'000'000);
    cells.push_back({r.name, std::to_string(r.replicas), std::to_string(r.running),
                     std::to_string(r.healthy), std::to_string(r.restarts), state,
                     pids_text(r.pids), uptime, r.reason.empty() ? "-" : r.reason});
  }
  const std::size_t columns = cells.front().size();
  std::vector<std::size_t> width(columns, 0);
  for (auto& line : cells)
    for (std::size_t c = 0; c < columns; ++c)
      width[c] = std::max(width[c], line[c].size());
  // Counts right-aligned, text left-aligned; the last column is not padded.
  auto numeric = [](std::size_t c) { return c >= 1 && c <= 4; };
  std::vector<std::string> out;
  for (auto& line : cells) {
    std::string text;
    for (std::size_t c = 0; c < columns; ++c) {
      if (c > 0)
        text += "  ";
      const std::string pad(width[c] - line[c].size(), ' ');
      if (numeric(c))
        text += pad + line[c];
      else if (c + 1 < columns)
        text += line[c] + pad;
      else
        text += line[c];
    }
    out.push_back(std::move(text));
  }
  return out;
}

} // namespace nv
