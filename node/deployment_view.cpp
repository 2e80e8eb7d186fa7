#include "node/deployment_view.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <unistd.h>

#include "messages/failure.hpp"

namespace nv {

namespace {

bool up(lifecycle s) {
  return s == lifecycle::running || s == lifecycle::healthy || s == lifecycle::unhealthy ||
         s == lifecycle::degraded;
}

bool is_replica(const std::string& service, const child_info& c) {
  return c.id.rfind(service + "-rep-", 0) == 0;
}

// ZLayer's health words for a service.
std::string health_of(lifecycle s) {
  switch (s) {
  case lifecycle::healthy:
  case lifecycle::completed:
    return "healthy";
  case lifecycle::unhealthy:
  case lifecycle::failed:
  case lifecycle::degraded:
  case lifecycle::crash_loop_backoff:
    return "unhealthy";
  default:
    return "unknown";
  }
}

const failure* later(const failure* a, const failure& b) {
  if (b.ts_us == 0)
    return a;
  return !a || b.ts_us > a->ts_us ? &b : a;
}

} // namespace

uint32_t restart_memory::total(const std::string& path, uint32_t reported) {
  auto& c = counts_[path];
  if (reported < c.last)
    c.earlier += c.last; // a new incarnation counts from 0 again
  c.last = reported;
  return c.earlier + c.last;
}

void restart_memory::forget(const std::string& path_prefix) {
  for (auto it = counts_.lower_bound(path_prefix);
       it != counts_.end() && it->first.rfind(path_prefix, 0) == 0;)
    it = counts_.erase(it);
}

std::string rfc3339_us(int64_t us) {
  if (us <= 0)
    return "";
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>((us / 1000) % 1000));
  return std::string{buf} + frac;
}

nlohmann::json service_details(const deployment_record& d, const std::string& service,
                               uint32_t desired, const service_sample* live,
                               const view_context& ctx) {
  uint32_t running = 0, healthy = 0, restarts = 0;
  auto state = d.desired_running ? lifecycle::pending : lifecycle::stopped;
  const failure* last = nullptr;
  std::vector<int32_t> pids;
  auto instances = nlohmann::json::array();
  if (live) {
    state = live->service.state;
    restarts += ctx.restarts->total(live->service.path, live->service.restarts);
    last = later(last, live->service.last_failure);
    for (auto& c : live->children) {
      if (!is_replica(service, c)) {
        last = later(last, c.last_failure);
        continue;
      }
      uint32_t r = ctx.restarts->total(c.path, c.restarts);
      restarts += r;
      last = later(last, c.last_failure);
      if (up(c.state))
        ++running;
      if (c.state == lifecycle::healthy)
        ++healthy;
      if (c.pid > 0 && up(c.state))
        pids.push_back(c.pid);
      instances.push_back({
          {"id", c.id},
          {"state", to_string(c.state)},
          {"pid", c.pid > 0 ? nlohmann::json(c.pid) : nlohmann::json(nullptr)},
          {"restarts", r},
          {"started_at",
           c.up_since_us > 0 ? nlohmann::json(rfc3339_us(c.up_since_us)) : nlohmann::json(nullptr)},
      });
    }
  }
  nlohmann::json last_error = nullptr;
  if (last)
    last_error = last->error;
  const proc_usage usage =
      ctx.usage && live ? ctx.usage->get(live->service.path, std::move(pids)) : proc_usage{};
  return {
      {"name", service},
      {"deployment", d.name},
      {"status", std::string{to_string(state)}},
      {"replicas", running},
      {"desired_replicas", desired},
      {"endpoints", nlohmann::json::array()},
      {"metrics",
       {{"cpu_percent", usage.cpu_percent},
        {"memory_percent", usage.memory_percent},
        {"rps", nullptr}}},
      {"state", std::string{to_string(state)}},
      {"node", ctx.node},
      {"replicas_running", running},
      {"replicas_healthy", healthy},
      {"restarts", restarts},
      {"last_error", last_error},
      {"instances", std::move(instances)},
  };
}

std::string deployment_status(const deployment_record& d, const deployment_sample* live) {
  if (!live && d.desired_running && !d.refused.empty())
    return "failed: " + d.refused;
  if (!live)
    return d.desired_running ? "pending" : "stopped";
  switch (live->record.state) {
  case lifecycle::failed:
    return "failed: " + (live->record.last_failure.ts_us ? describe(live->record.last_failure)
                                                         : std::string{"gave up"});
  case lifecycle::running:
  case lifecycle::healthy:
  case lifecycle::degraded:
  case lifecycle::completed:
  case lifecycle::unhealthy:
    return "running";
  case lifecycle::stopped:
  case lifecycle::stopping:
    return "stopped";
  default:
    return "deploying";
  }
}

nlohmann::json deployment_details(const deployment_record& d, const deployment_sample* live,
                                  const view_context& ctx) {
  auto names = nlohmann::json::array();
  auto health = nlohmann::json::array();
  auto details = nlohmann::json::array();
  for (auto& [name, desired] : d.services) {
    const service_sample* s = nullptr;
    if (live)
      for (auto& candidate : live->services)
        if (candidate.service.id == name)
          s = &candidate;
    auto one = service_details(d, name, desired, s, ctx);
    names.push_back(name);
    health.push_back({
        {"name", name},
        {"health", health_of(s ? s->service.state : lifecycle::pending)},
        {"replicas_running", one["replicas_running"]},
        {"replicas_desired", desired},
        {"endpoints", nlohmann::json::array()},
    });
    details.push_back(std::move(one));
  }
  auto state = live                 ? live->record.state
               : !d.desired_running ? lifecycle::stopped
               : d.refused.empty()  ? lifecycle::pending
                                    : lifecycle::failed;
  return {
      {"name", d.name},
      {"status", deployment_status(d, live)},
      {"services", std::move(names)},
      {"service_health", std::move(health)},
      {"service_count", d.services.size()},
      {"created_at", rfc3339_us(d.created_at_us)},
      {"updated_at", rfc3339_us(d.updated_at_us)},
      {"generation", d.generation},
      {"desired", d.desired_running ? "running" : "stopped"},
      {"state", std::string{to_string(state)}},
      {"service_details", std::move(details)},
  };
}

} // namespace nv
