#include "node/deployment_view.hpp"

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <fcntl.h>
#include <fstream>
#include <sstream>
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

// CPU as the average since each process started, memory as its resident set: what /proc says
// without keeping samples between requests.
struct proc_usage {
  double cpu_percent = 0, memory_percent = 0;
};

double mem_total_bytes() {
  static const double total = [] {
    std::ifstream in{"/proc/meminfo"};
    std::string key;
    double kib = 0;
    while (in >> key >> kib)
      if (key == "MemTotal:")
        return kib * 1024;
    return 0.0;
  }();
  return total;
}

// /proc/PID/stat, or empty once the process is gone. Read with read(2): a process that exits
// between the open and the read makes it fail with ESRCH, which a stream turns into an exception.
std::string proc_stat(int32_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return {};
  char buf[1024]; // the line is a few hundred bytes
  ssize_t n;
  do
    n = ::read(fd, buf, sizeof buf);
  while (n < 0 && errno == EINTR);
  ::close(fd);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string{};
}

void add_usage(int32_t pid, proc_usage& u) {
  const std::string text = proc_stat(pid);
  auto close = text.rfind(')');
  if (close == std::string::npos)
    return;
  std::istringstream fields{text.substr(close + 2)};
  std::vector<std::string> f{std::istream_iterator<std::string>{fields}, {}};
  // After the command: state is field 3, utime 14, stime 15, starttime 22, rss 24 (1-based).
  if (f.size() < 22)
    return;
  double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  double cpu = (std::stod(f[11]) + std::stod(f[12])) / ticks;
  double started = std::stod(f[19]) / ticks;
  std::ifstream up{"/proc/uptime"};
  double uptime = 0;
  up >> uptime;
  if (uptime > started)
    u.cpu_percent += 100.0 * cpu / (uptime - started);
  double rss = std::stod(f[21]) * static_cast<double>(sysconf(_SC_PAGESIZE));
  if (auto total = mem_total_bytes(); total > 0)
    u.memory_percent += 100.0 * rss / total;
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
  proc_usage usage;
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
      if (ctx.metrics && c.pid > 0 && up(c.state))
        add_usage(c.pid, usage);
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
