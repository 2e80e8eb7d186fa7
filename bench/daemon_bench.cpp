// The daemon as an operator drives it (issue 12), real processes throughout:
//
//   deploy    one deployment of N replicas (/bin/sleep) through POST /api/v1/deployments until
//             the trace shows every replica `running`, against `nodevisor run` of the same spec
//             in the same repetition (from exec to the same count in its --trace file). Both
//             count the same trace events, so the clocks stop alike.
//   latency   with those N running: GET /api/v1/deployments/{d} (a new connection each time, as
//             curl and the CLI make) and the `nodevisor ps D` command (exec included), p50/p99,
//             idle and during a crash storm: a second deployment of N/10 replicas that exit 1
//             after 200 ms and are restarted every time (max_restarts 1e6, backoff 10-100 ms).
//   follower  during the storm, windows of W seconds alternate without and with one client on
//             /api/v1/trace?follow=1: the restarts the tree completed per second (from
//             /metrics) in each, and the events per second the follower received.
//   memory    PSS of the daemon with the N replicas running and the follower connected, next to
//             the PSS of `nodevisor run` with the same N, and the keeper's PSS (design §9).
//   adopt     with the N running, kill -9 of the daemon and a new one started: from its exec
//             until the API shows all N running with the pids they had (the keeper held them),
//             and the restarts that cost (none is right); against the same N's deploy time,
//             what a daemon without a keeper would pay to start them all again.
//   flood     one replica writing F MB/s of 100-byte lines for S seconds (this binary in
//             --writer mode): the CPU the keeper and the daemon spend on it, their peak RSS
//             (sampled every 250 ms), the rate the writer achieved (the keeper never blocks
//             it), and GET latency meanwhile.
//
//   daemon_bench --nodevisor PATH [--n 1000] [--reps 3] [--samples 300] [--ps-samples 30]
//                [--window 5] [--windows 3] [--flood-mbps 100] [--flood-seconds 20]
//
// Output: one JSON line per measurement,
//   {"bench":"daemon","metric":M,"impl":"daemon"|"run","n":N,"rep":R,["phase":"idle"|"storm",]
//    ["follower":0|1,]"value":V,"unit":U}
// metric: deploy_time (s); get_p50, get_p99, ps_p50, ps_p99 (ms); restarts_per_s,
// follower_events_per_s (1/s); pss (MiB, impl daemon, run or keeper); adopt_time (s),
// adopt_ready (s, until /health/ready), adopt_restarts, adopt_same_pids (count); flood_cpu (%
// of one core, impl keeper or daemon), flood_rss_max (MiB, keeper or daemon), flood_rate
// (MB/s, impl writer), flood_get_p50 (ms).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <httplib.h>
#include <set>
#include <sstream>
#include <string>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/peers/common.hpp"

namespace fs = std::filesystem;
using namespace nv::bench::peers;
using namespace std::chrono_literals;

namespace {

struct options {
  std::string nodevisor;
  int n = 1000;
  int reps = 3;
  int samples = 300;
  int ps_samples = 30;
  int window_s = 5;
  int flood_mbps = 100;
  int flood_seconds = 20;
  int windows = 3;
};

void print(const std::string& metric, const std::string& impl, const options& o, int rep,
           double value, const std::string& unit, const std::string& extra = "") {
  std::printf("{\"bench\":\"daemon\",\"metric\":\"%s\",\"impl\":\"%s\",\"n\":%d,\"rep\":%d%s,"
              "\"value\":%.6g,\"unit\":\"%s\"}\n",
              metric.c_str(), impl.c_str(), o.n, rep, extra.c_str(), value, unit.c_str());
  std::fflush(stdout);
}

// ZLayer's body: {"spec": "<the YAML>"}.
std::string body_of(const std::string& spec) {
  return nlohmann::json{{"spec", spec}}.dump();
}

std::string spec_of(const std::string& name, int replicas, bool crashing) {
  std::string s = "version: v1\ndeployment: " + name + "\nservices:\n  c:\n    image:\n" +
                  "      name: process\n    command:\n      entrypoint: [/bin/sh, -c, " +
                  (crashing ? "\"sleep 0.2; exit 1\"" : "\"exec sleep 100000\"") +
                  "]\n    scale:\n      mode: fixed\n      replicas: " + std::to_string(replicas) +
                  "\n    supervision:\n      max_restarts: 1000000\n";
  if (crashing)
    s += "      backoff: {initial: 10ms, max: 100ms}\n";
  return s;
}

// Counts, as a trace file grows, the replicas' `state ... to running` events.
class running_counter {
public:
  explicit running_counter(fs::path file) : file_(std::move(file)) {}
  int poll() {
    std::ifstream in{file_, std::ios::binary};
    if (!in)
      return count_;
    in.seekg(static_cast<std::streamoff>(offset_));
    std::string line;
    while (std::getline(in, line)) {
      if (in.eof()) // a partial last line: read it whole next time
        break;
      offset_ += line.size() + 1;
      if (line.find("\"event\":\"state\"") != std::string::npos &&
          line.find("\"to\":\"running\"") != std::string::npos &&
          line.find("-rep-") != std::string::npos)
        ++count_;
    }
    return count_;
  }
  // Seconds from t0 until `n` were counted, or a negative number after `limit`.
  double wait_for(int n, clk::time_point t0, std::chrono::seconds limit = 300s) {
    while (poll() < n) {
      if (clk::now() - t0 > limit)
        return -1;
      std::this_thread::sleep_for(2ms);
    }
    return ms_since(t0, clk::now()) / 1000.0;
  }

private:
  fs::path file_;
  std::size_t offset_ = 0;
  int count_ = 0;
};

httplib::Client client(const std::string& socket) {
  httplib::Client c{socket, 80};
  c.set_address_family(AF_UNIX);
  c.set_read_timeout(60, 0);
  return c;
}

int status_of(httplib::Result r) {
  return r ? r->status : -1;
}

double percentile(std::vector<double> xs, double p) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto i = static_cast<std::size_t>(p * static_cast<double>(xs.size() - 1) + 0.5);
  return xs[std::min(i, xs.size() - 1)];
}

// Kills `root`'s session and reaps whatever this process inherits from it.
void end_session(pid_t root) {
  ::kill(root, SIGTERM);
  for (int i = 0; i < 600 && alive(root); ++i) {
    reap_exited();
    sleep_ms(50);
  }
  ::kill(-root, SIGKILL);
  for (auto& p : descendants(scan_proc(), root))
    ::kill(p.pid, SIGKILL);
  for (int i = 0; i < 100 && reap_exited() >= 0 && alive(root); ++i)
    sleep_ms(20);
  reap_exited();
}

double run_deploy(const options& o, const fs::path& dir, int rep, long& pss_kib) {
  auto spec = dir / "run.yaml";
  write_file(spec, spec_of("runbench", o.n, false));
  auto trace = dir / "run-trace.jsonl";
  std::string error;
  running_counter counter{trace};
  auto t0 = clk::now();
  pid_t pid = launch({o.nodevisor, "run", spec.string(), "--runtime", "process", "--log-level",
                      "off", "--trace", trace.string()},
                     {}, (dir / "run.log").string(), -1, error);
  if (pid <= 0) {
    std::fprintf(stderr, "daemon_bench: %s\n", error.c_str());
    return -1;
  }
  double secs = counter.wait_for(o.n, t0);
  sleep_ms(1000);
  memory m;
  pss_kib = memory_of(pid, m) ? m.pss : 0;
  end_session(pid);
  (void)rep;
  return secs;
}

struct daemon {
  pid_t pid = -1;
  std::string socket;
  fs::path state;
};

daemon start_daemon(const options& o, const fs::path& dir) {
  daemon d;
  d.state = dir / "state";
  d.socket = (dir / "nv.sock").string();
  std::string error;
  d.pid = launch({o.nodevisor, "daemon", "--state-dir", d.state.string(), "--socket", d.socket,
                  "--log-level", "off"},
                 {}, (dir / "daemon.log").string(), -1, error);
  if (d.pid <= 0) {
    std::fprintf(stderr, "daemon_bench: %s\n", error.c_str());
    return d;
  }
  for (int i = 0; i < 500; ++i) {
    auto c = client(d.socket);
    if (status_of(c.Get("/health/ready")) == 200)
      return d;
    sleep_ms(20);
  }
  std::fprintf(stderr, "daemon_bench: the daemon did not become ready; see %s\n",
               (dir / "daemon.log").c_str());
  end_session(d.pid);
  d.pid = -1;
  return d;
}

std::vector<double> time_gets(const daemon& d, int samples) {
  std::vector<double> out;
  for (int i = 0; i < samples; ++i) {
    auto c = client(d.socket);
    auto t0 = clk::now();
    auto r = c.Get("/api/v1/deployments/bench");
    auto t1 = clk::now();
    if (status_of(std::move(r)) == 200)
      out.push_back(ms_since(t0, t1));
  }
  return out;
}

std::vector<double> time_ps(const options& o, const daemon& d, int samples) {
  std::vector<double> out;
  for (int i = 0; i < samples; ++i) {
    auto t0 = clk::now();
    auto text = run_capture({o.nodevisor, "ps", "bench", "--host", "unix://" + d.socket}, 30s);
    auto t1 = clk::now();
    if (text.find("running") != std::string::npos)
      out.push_back(ms_since(t0, t1));
  }
  return out;
}

// The restarts the node counted so far (/metrics, nodevisor_restarts_total summed).
double restarts_total(const daemon& d) {
  auto c = client(d.socket);
  auto r = c.Get("/metrics");
  if (!r || r->status != 200)
    return -1;
  double sum = 0;
  std::istringstream body{r->body};
  for (std::string line; std::getline(body, line);)
    if (line.starts_with("nodevisor_restarts_total"))
      sum += std::atof(line.c_str() + line.rfind(' ') + 1);
  return sum;
}

// One client following the trace until `stop`: counts the lines it receives.
struct follower {
  std::atomic<bool> stop{false};
  std::atomic<long> lines{0};
  std::thread t;
  void start(const daemon& d) {
    t = std::thread{[this, socket = d.socket] {
      auto c = client(socket);
      c.Get("/api/v1/trace?follow=1&since=0", [this](const char* data, std::size_t n) {
        lines += static_cast<long>(std::count(data, data + n, '\n'));
        return !stop.load();
      });
    }};
  }
  void finish() {
    stop = true;
    if (t.joinable())
      t.join();
  }
};

// The pids of a deployment's running replicas and their restarts, from the API.
struct replica_pids {
  std::set<int> pids;
  long restarts = 0;
};
replica_pids pids_of(const daemon& d, const std::string& name) {
  replica_pids out;
  auto r = client(d.socket).Get("/api/v1/deployments/" + name);
  if (!r || r->status != 200)
    return out;
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (!j.is_object())
    return out;
  for (auto& svc : j["service_details"])
    for (auto& i : svc["instances"]) {
      if (i["pid"].is_number() && (i["state"] == "running" || i["state"] == "healthy"))
        out.pids.insert(i["pid"].get<int>());
      out.restarts += i.value("restarts", 0L);
    }
  return out;
}

int keeper_of(const daemon& d) {
  return std::atoi(read_file((d.state / "keeper.pid").string()).c_str());
}

// utime + stime of `pid`, in seconds.
double cpu_seconds(pid_t pid) {
  auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::istringstream in{stat.substr(close + 2)};
  std::string field;
  double ticks = 0;
  for (int i = 3; in >> field; ++i)
    if (i == 14 || i == 15)
      ticks += std::atof(field.c_str());
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// kill -9 of the daemon with `name`'s N replicas running; a new daemon until it has them all
// again. Returns the new daemon (pid -1 when it did not come up).
daemon adopt(const options& o, const fs::path& dir, int rep, daemon d) {
  auto before = pids_of(d, "bench");
  ::kill(d.pid, SIGKILL);
  while (::waitpid(d.pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  auto t0 = clk::now();
  auto next = start_daemon(o, dir);
  if (next.pid <= 0)
    return next;
  print("adopt_ready", "daemon", o, rep, ms_since(t0, clk::now()) / 1000.0, "s");
  replica_pids now;
  while (clk::now() - t0 < 120s) {
    now = pids_of(next, "bench");
    if (now.pids.size() == before.pids.size())
      break;
    sleep_ms(5);
  }
  print("adopt_time", "daemon", o, rep, ms_since(t0, clk::now()) / 1000.0, "s");
  long same = 0;
  for (int pid : now.pids)
    same += before.pids.count(pid);
  print("adopt_same_pids", "daemon", o, rep, static_cast<double>(same), "count");
  print("adopt_restarts", "daemon", o, rep, static_cast<double>(now.restarts - before.restarts),
        "count");
  return next;
}

// One replica writing --flood-mbps for --flood-seconds; what it costs the keeper and the daemon.
void flood(const options& o, const fs::path& dir, int rep, const daemon& d) {
  auto done = dir / "flood.bytes";
  std::string spec = "version: v1\ndeployment: flood\nservices:\n  w:\n    image: {name: process}\n"
                     "    command: {entrypoint: [" +
                     nlohmann::json(fs::read_symlink("/proc/self/exe").string()).dump() +
                     ", --writer, \"" + std::to_string(o.flood_mbps) + "\", \"" +
                     std::to_string(o.flood_seconds) + "\", " +
                     nlohmann::json(done.string()).dump() + "]}\n";
  if (status_of(client(d.socket).Post("/api/v1/deployments", body_of(spec), "application/json")) !=
      201) {
    std::fprintf(stderr, "daemon_bench: the flood deployment was refused\n");
    return;
  }
  int keeper = keeper_of(d);
  double k0 = cpu_seconds(keeper), d0 = cpu_seconds(d.pid);
  auto t0 = clk::now();
  long keeper_rss = 0, daemon_rss = 0;
  std::vector<double> gets;
  while (!fs::exists(done) && clk::now() - t0 < std::chrono::seconds{o.flood_seconds + 30}) {
    memory m;
    if (memory_of(keeper, m))
      keeper_rss = std::max(keeper_rss, m.rss);
    if (memory_of(d.pid, m))
      daemon_rss = std::max(daemon_rss, m.rss);
    auto g0 = clk::now();
    if (status_of(client(d.socket).Get("/api/v1/deployments/bench")) == 200)
      gets.push_back(ms_since(g0, clk::now()));
    sleep_ms(250);
  }
  double secs = ms_since(t0, clk::now()) / 1000.0;
  print("flood_cpu", "keeper", o, rep, 100 * (cpu_seconds(keeper) - k0) / secs, "%");
  print("flood_cpu", "daemon", o, rep, 100 * (cpu_seconds(d.pid) - d0) / secs, "%");
  print("flood_rss_max", "keeper", o, rep, static_cast<double>(keeper_rss) / 1024.0, "MiB");
  print("flood_rss_max", "daemon", o, rep, static_cast<double>(daemon_rss) / 1024.0, "MiB");
  auto written = std::atof(read_file(done.string()).c_str());
  print("flood_rate", "writer", o, rep, written / 1e6 / o.flood_seconds, "MB/s");
  print("flood_get_p50", "daemon", o, rep, percentile(gets, 0.5), "ms");
  client(d.socket).Delete("/api/v1/deployments/flood");
}

// --writer MBPS SECONDS DONE_FILE: 100-byte lines at MBPS for SECONDS, paced every 10 ms; then
// the bytes written go to DONE_FILE and it sleeps until stopped.
int writer(int mbps, int seconds, const std::string& done_file) {
  std::string line(99, 'x');
  line += '\n';
  std::string chunk;
  const long per_tick = static_cast<long>(mbps) * 1000000L / 100; // bytes per 10 ms
  while (static_cast<long>(chunk.size()) < per_tick)
    chunk += line;
  long total = 0;
  auto start = clk::now();
  for (long tick = 0; clk::now() - start < std::chrono::seconds{seconds}; ++tick) {
    const char* p = chunk.data();
    std::size_t left = chunk.size();
    while (left > 0) {
      auto n = ::write(1, p, left);
      if (n <= 0)
        return 1;
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    total += static_cast<long>(chunk.size());
    std::this_thread::sleep_until(start + std::chrono::milliseconds{10 * (tick + 1)});
  }
  write_file(done_file, std::to_string(total));
  ::pause();
  return 0;
}

void daemon_rep(const options& o, const fs::path& dir, int rep, long run_pss_kib) {
  auto d = start_daemon(o, dir);
  if (d.pid <= 0)
    return;
  running_counter counter{d.state / "trace.jsonl"};
  auto c = client(d.socket);
  auto t0 = clk::now();
  auto created =
      c.Post("/api/v1/deployments", body_of(spec_of("bench", o.n, false)), "application/json");
  if (status_of(std::move(created)) != 201) {
    std::fprintf(stderr, "daemon_bench: the deploy was refused\n");
    end_session(d.pid);
    return;
  }
  double secs = counter.wait_for(o.n, t0);
  print("deploy_time", "daemon", o, rep, secs, "s");
  sleep_ms(1000);

  auto latencies = [&](const std::string& phase) {
    auto extra = ",\"phase\":\"" + phase + "\"";
    auto gets = time_gets(d, o.samples);
    print("get_p50", "daemon", o, rep, percentile(gets, 0.5), "ms", extra);
    print("get_p99", "daemon", o, rep, percentile(gets, 0.99), "ms", extra);
    auto ps = time_ps(o, d, o.ps_samples);
    print("ps_p50", "daemon", o, rep, percentile(ps, 0.5), "ms", extra);
    print("ps_p99", "daemon", o, rep, percentile(ps, 0.99), "ms", extra);
  };
  latencies("idle");

  auto storm = client(d.socket).Post("/api/v1/deployments",
                                     body_of(spec_of("storm", o.n / 10, true)), "application/json");
  if (status_of(std::move(storm)) != 201) {
    std::fprintf(stderr, "daemon_bench: the storm deployment was refused\n");
    end_session(d.pid);
    return;
  }
  sleep_ms(2000); // every storm replica has crashed at least once
  latencies("storm");

  for (int w = 0; w < o.windows; ++w)
    for (int with : {0, 1}) {
      follower f;
      if (with)
        f.start(d);
      sleep_ms(300); // the follower has read its backlog
      long lines0 = f.lines;
      double before = restarts_total(d);
      auto w0 = clk::now();
      sleep_ms(o.window_s * 1000L);
      double after = restarts_total(d);
      long lines1 = f.lines;
      double secs_w = ms_since(w0, clk::now()) / 1000.0;
      auto extra = std::string{",\"follower\":"} + (with ? "1" : "0");
      print("restarts_per_s", "daemon", o, rep, (after - before) / secs_w, "1/s", extra);
      if (with) {
        print("follower_events_per_s", "daemon", o, rep,
              static_cast<double>(lines1 - lines0) / secs_w, "1/s");
        memory m;
        if (w == 0 && memory_of(d.pid, m))
          print("pss", "daemon", o, rep, static_cast<double>(m.pss) / 1024.0, "MiB");
        if (w == 0 && memory_of(keeper_of(d), m))
          print("pss", "keeper", o, rep, static_cast<double>(m.pss) / 1024.0, "MiB");
      }
      f.finish();
    }
  print("pss", "run", o, rep, static_cast<double>(run_pss_kib) / 1024.0, "MiB");
  client(d.socket).Delete("/api/v1/deployments/storm");
  auto next = adopt(o, dir, rep, d);
  if (next.pid <= 0)
    return;
  flood(o, dir, rep, next);
  end_session(next.pid);
}

std::vector<std::string> args_of(int argc, char** argv) {
  return {argv + 1, argv + argc};
}

} // namespace

int main(int argc, char** argv) {
  options o;
  auto args = args_of(argc, argv);
  if (args.size() == 4 && args[0] == "--writer")
    return writer(std::atoi(args[1].c_str()), std::atoi(args[2].c_str()), args[3]);
  for (std::size_t i = 0; i + 1 < args.size(); i += 2) {
    const auto& k = args[i];
    const auto& v = args[i + 1];
    if (k == "--nodevisor")
      o.nodevisor = fs::absolute(v).string();
    else if (k == "--n")
      o.n = std::atoi(v.c_str());
    else if (k == "--reps")
      o.reps = std::atoi(v.c_str());
    else if (k == "--samples")
      o.samples = std::atoi(v.c_str());
    else if (k == "--ps-samples")
      o.ps_samples = std::atoi(v.c_str());
    else if (k == "--window")
      o.window_s = std::atoi(v.c_str());
    else if (k == "--windows")
      o.windows = std::atoi(v.c_str());
    else if (k == "--flood-mbps")
      o.flood_mbps = std::atoi(v.c_str());
    else if (k == "--flood-seconds")
      o.flood_seconds = std::atoi(v.c_str());
    else {
      std::fprintf(stderr, "daemon_bench: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (o.nodevisor.empty() || args.size() % 2 != 0 || o.n < 10) {
    std::fprintf(stderr, "usage: daemon_bench --nodevisor PATH [--n N>=10] [--reps R] "
                         "[--samples S] [--ps-samples S] [--window SECS] [--windows W] "
                         "[--flood-mbps F] [--flood-seconds S]\n");
    return 2;
  }
  ::prctl(PR_SET_CHILD_SUBREAPER, 1); // what a killed daemon or run leaves lands here
  std::signal(SIGPIPE, SIG_IGN);
  for (int rep = 1; rep <= o.reps; ++rep) {
    auto dir = fs::temp_directory_path() /
               ("nv-daemon-bench-" + std::to_string(::getpid()) + "-" + std::to_string(rep));
    fs::create_directories(dir);
    long run_pss = 0;
    double run_secs = run_deploy(o, dir, rep, run_pss);
    print("deploy_time", "run", o, rep, run_secs, "s");
    daemon_rep(o, dir, rep, run_pss);
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  return 0;
}
