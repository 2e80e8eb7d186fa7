// Macro benchmark: nodevisor supervising real processes (the node actor over the process
// runtime, as `nodevisor run` builds it) against the floor (bench/floor.hpp: the same kernel
// work in a plain loop, no supervisor), in one run.
//
// Each repetition builds fresh trees (and a fresh runtime per tree) and measures:
//   - cold start of --small and --n children running --cmd: floor until the last posix_spawn
//     returned (glibc's spawn returns after the exec); nodevisor from spawning the node until
//     its deployment reports healthy, i.e. every container actor reported running (exec'd);
//   - memory: PSS and RSS of this process, which is the daemon here, with --n children running;
//   - restart: kill -9 one child (round-robin over distinct replicas), until its replacement
//     has exec'd (nodevisor: the runtime shows a new running pid, polled every ~20 us; also the
//     time until the deployment reports healthy again), --kills times;
//   - stop all: floor SIGTERM to every group, then reap all; nodevisor exit(user_shutdown) to
//     the node until the node is down, which is after every child was reaped.
// Prints one JSON line per measurement and per summary, then a table. Nothing is left running:
// every phase is bounded, and on any failure or signal the children of this process are
// SIGKILLed by pid (their whole group) from /proc.
//
//   process_bench [--n 1000] [--small 100] [--kills 200] [--reps 3] [--cmd sleep]
//                 [--log-level off] [--phase-timeout 60]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <sys/prctl.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/node_actor.hpp"
#include "bench/floor.hpp"
#include "messages/register_types.hpp"
#include "runtimes/composite/composite_runtime.hpp"
#include "runtimes/process/process_runtime.hpp"

using namespace nv;
using namespace std::chrono_literals;
using clk = std::chrono::steady_clock;

namespace {

struct options {
  long n = 1000;
  long small = 100;
  long kills = 200;
  int reps = 3;
  std::string cmd = "sleep";
  std::string log_level = "off";
  int phase_timeout_s = 60;
};

double ms(clk::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

std::string loadavg() {
  std::ifstream in{"/proc/loadavg"};
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

struct mem {
  long pss_kib = 0;
  long rss_kib = 0;
};

mem read_mem() {
  mem m;
  std::ifstream in{"/proc/self/smaps_rollup"};
  std::string key;
  while (in >> key) {
    long v = 0;
    if (key == "Pss:") {
      in >> v;
      m.pss_kib = v;
    } else if (key == "Rss:") {
      in >> v;
      m.rss_kib = v;
    }
    in.ignore(1 << 16, '\n');
  }
  return m;
}

// --- safety net -----------------------------------------------------------------------------

extern "C" void on_fatal_signal(int sig) {
  bench::kill_own_children();
  const char msg[] = "process_bench: signal received; children killed\n";
  (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void install_safety_net(unsigned total_limit_s) {
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGSEGV, SIGBUS, SIGFPE, SIGABRT, SIGALRM})
    std::signal(sig, on_fatal_signal);
  ::alarm(total_limit_s);
}

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "process_bench: %s; killing every child and exiting\n", why.c_str());
  bench::kill_own_children();
  bench::reap_own_children(5000);
  std::_Exit(3);
}

// --- statistics -----------------------------------------------------------------------------

struct stats {
  double median = 0, min = 0, max = 0, p99 = 0;
  std::size_t count = 0;
};

stats summarize(std::vector<double> v) {
  stats s;
  if (v.empty())
    return s;
  std::sort(v.begin(), v.end());
  s.count = v.size();
  s.min = v.front();
  s.max = v.back();
  auto n = v.size();
  s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  auto rank = static_cast<std::size_t>(std::ceil(0.99 * static_cast<double>(n)));
  s.p99 = v[std::max<std::size_t>(rank, 1) - 1];
  return s;
}

// Samples per metric and implementation, e.g. samples["start_1000"]["nodevisor"] = one per rep.
std::map<std::string, std::map<std::string, std::vector<double>>> samples;

void record(const std::string& metric, const std::string& impl, int rep, double value,
            const char* unit = "ms") {
  samples[metric][impl].push_back(value);
  std::printf("{\"rep\":%d,\"metric\":\"%s\",\"impl\":\"%s\",\"%s\":%.3f}\n", rep, metric.c_str(),
              impl.c_str(), unit, value);
  std::fflush(stdout);
}

// --- the floor ------------------------------------------------------------------------------

bool run_floor(const options& o, bench::floor_mode mode, int rep, long n, long kills) {
  const std::string impl = std::string{"floor_"} + bench::to_cstr(mode);
  const auto n_s = std::to_string(n);
  std::string error;
  {
    bench::floor_pool pool{mode, {o.cmd, "3600"}};
    auto t0 = clk::now();
    if (!pool.start(static_cast<std::size_t>(n), error)) {
      std::fprintf(stderr, "%s start: %s\n", impl.c_str(), error.c_str());
      return false;
    }
    record("start_" + n_s, impl, rep, ms(clk::now() - t0));
    if (kills > 0) {
      std::vector<double> lat;
      auto deadline = clk::now() + std::chrono::seconds{o.phase_timeout_s};
      for (long k = 0; k < kills && clk::now() < deadline; ++k) {
        auto i = static_cast<std::size_t>((k * 7) % n);
        auto t1 = clk::now();
        if (!pool.restart(i, error)) {
          std::fprintf(stderr, "%s restart: %s\n", impl.c_str(), error.c_str());
          return false;
        }
        lat.push_back(ms(clk::now() - t1));
      }
      auto s = summarize(lat);
      record("restart_median", impl, rep, s.median);
      record("restart_p99", impl, rep, s.p99);
      for (double v : lat)
        samples["restart_all"][impl].push_back(v);
    }
    auto t2 = clk::now();
    pool.stop_all();
    record("stop_" + n_s, impl, rep, ms(clk::now() - t2));
  }
  if (int left = bench::count_own_children(); left != 0) {
    std::fprintf(stderr, "%s: %d children left after stop\n", impl.c_str(), left);
    return false;
  }
  return true;
}

// --- nodevisor ------------------------------------------------------------------------------

// What the observer (the node's parent, as the CLI's) hears, shared with main.
struct watch {
  std::mutex mu;
  std::condition_variable cv;
  std::string deployment_path;
  lifecycle deployment = lifecycle::pending;
  uint64_t healthy_count = 0; // transitions of the deployment to healthy
  clk::time_point healthy_at{};
  bool node_down = false;
  clk::time_point down_at{};
  std::string failure_text;

  template <class Pred>
  bool wait(clk::time_point deadline, Pred pred) {
    std::unique_lock lock{mu};
    return cv.wait_until(lock, deadline, [&] { return pred(); });
  }
};

caf::behavior observer(caf::event_based_actor* self, std::shared_ptr<watch> w) {
  self->set_down_handler([w](caf::down_msg&) {
    auto now = clk::now();
    std::lock_guard lock{w->mu};
    w->node_down = true;
    w->down_at = now;
    w->cv.notify_all();
  });
  return {
      [self](caf::actor& node) { self->monitor(node); },
      [w](state_change& c) {
        auto now = clk::now();
        if (c.path != w->deployment_path)
          return;
        std::lock_guard lock{w->mu};
        w->deployment = c.to;
        if (c.to == lifecycle::healthy) {
          ++w->healthy_count;
          w->healthy_at = now;
        }
        w->cv.notify_all();
      },
      [w](failure& f) {
        std::lock_guard lock{w->mu};
        w->failure_text = to_string(f.error) + " at " + f.path;
        w->cv.notify_all();
      },
  };
}

bool run_nodevisor(caf::actor_system& sys, const options& o, int rep, int tree, long n, long kills,
                   bool measure_mem) {
  const std::string impl = "nodevisor";
  const auto n_s = std::to_string(n);
  const auto phase = std::chrono::seconds{o.phase_timeout_s};
  bool ok = true;

  auto prt = std::make_unique<process_runtime>();
  auto rt = std::make_unique<composite_runtime>(std::vector<runtime*>{prt.get()});
  auto w = std::make_shared<watch>();
  const std::string dep = "pb" + std::to_string(tree);
  w->deployment_path = "/" + dep;

  deployment_plan dp;
  dp.name = dep;
  service_plan sp;
  sp.name = "s";
  sp.flags.max_restarts = 1'000'000'000;
  sp.flags.window = 1s;
  sp.flags.backoff.initial = duration::zero();
  sp.flags.backoff.max = duration::zero();
  std::vector<std::string> ids;
  for (long r = 1; r <= n; ++r) {
    container_config c;
    c.spec.deployment = dep;
    c.spec.service = sp.name;
    c.spec.replica = static_cast<uint32_t>(r);
    c.spec.id = replica_id(sp.name, c.spec.replica);
    c.spec.command = {o.cmd, "3600"};
    c.rt = rt.get();
    c.stop_grace = 10s;
    ids.push_back(c.spec.id);
    sp.replicas.push_back(std::move(c));
  }
  dp.services.push_back(std::move(sp));

  auto obs = sys.spawn<caf::hidden>(observer, w);
  node_config nc;
  nc.deployments.push_back(std::move(dp));
  nc.observer = obs.address();

  // Cold start.
  auto before = read_mem();
  auto t0 = clk::now();
  auto node = sys.spawn(node_actor, std::move(nc));
  caf::anon_send(obs, node);
  bool up = w->wait(t0 + phase, [&] { return w->healthy_count >= 1 || !w->failure_text.empty(); });
  if (up && w->failure_text.empty()) {
    record("start_" + n_s, impl, rep, ms(w->healthy_at - t0));
    long running = 0;
    for (auto& id : ids)
      running += prt->state(id).state == container_state::running;
    if (running != n) {
      std::fprintf(stderr, "nodevisor: healthy but %ld of %ld running in the runtime\n", running,
                   n);
      ok = false;
    }
  } else {
    std::fprintf(stderr, "nodevisor: not healthy within %ds (deployment %s) %s\n",
                 o.phase_timeout_s, std::string{to_string(w->deployment)}.c_str(),
                 w->failure_text.c_str());
    ok = false;
  }

  // Memory, 1 s after all-up (as the peers were measured).
  if (ok && measure_mem) {
    std::this_thread::sleep_for(1s);
    auto m = read_mem();
    record("pss_base", impl, rep, before.pss_kib, "kib");
    record("pss_" + n_s, impl, rep, m.pss_kib, "kib");
    record("rss_" + n_s, impl, rep, m.rss_kib, "kib");
    record("pss_per_child", impl, rep,
           1024.0 * static_cast<double>(m.pss_kib - before.pss_kib) / static_cast<double>(n),
           "bytes");
  }

  // Restart latency.
  if (ok && kills > 0) {
    std::vector<double> exec_lat, report_lat;
    bool reported_works = true;
    auto deadline = clk::now() + phase;
    for (long k = 0; k < kills && ok; ++k) {
      if (clk::now() > deadline) {
        std::fprintf(stderr, "nodevisor restart: phase timeout after %ld kills\n", k);
        ok = false;
        break;
      }
      const auto& id = ids[static_cast<std::size_t>((k * 7) % n)];
      auto old = prt->pid(id);
      if (!old) {
        std::fprintf(stderr, "nodevisor restart: %s is not running\n", id.c_str());
        ok = false;
        break;
      }
      uint64_t healthy_before = 0;
      {
        std::lock_guard lock{w->mu};
        healthy_before = w->healthy_count;
      }
      auto t1 = clk::now();
      ::kill(*old, SIGKILL);
      clk::time_point exec_at{};
      for (;;) {
        auto p = prt->pid(id);
        auto now = clk::now();
        if (p && *p != *old) {
          exec_at = now;
          break;
        }
        if (now - t1 > 10s) {
          std::fprintf(stderr, "nodevisor restart: %s not replaced within 10 s\n", id.c_str());
          ok = false;
          break;
        }
        std::this_thread::sleep_for(20us);
      }
      if (!ok)
        break;
      exec_lat.push_back(ms(exec_at - t1));
      // Reported: the deployment healthy again, which needs the service to leave `failed`.
      if (reported_works) {
        if (w->wait(exec_at + 100ms, [&] { return w->healthy_count > healthy_before; })) {
          std::lock_guard lock{w->mu};
          report_lat.push_back(ms(w->healthy_at - t1));
        } else {
          reported_works = false;
          std::lock_guard lock{w->mu};
          std::fprintf(stderr,
                       "nodevisor restart: after the first restart the deployment stays %s (not "
                       "healthy again); restart-to-reported is not measured in this tree\n",
                       std::string{to_string(w->deployment)}.c_str());
        }
      }
      // Untimed: let the replacement's trailing messages (start reply, state changes) drain.
      std::this_thread::sleep_for(2ms);
    }
    if (ok) {
      auto s = summarize(exec_lat);
      record("restart_median", impl, rep, s.median);
      record("restart_p99", impl, rep, s.p99);
      if (!report_lat.empty()) {
        auto r = summarize(report_lat);
        record("restart_reported_median", impl, rep, r.median);
        record("restart_reported_p99", impl, rep, r.p99);
      }
      for (double v : exec_lat)
        samples["restart_all"][impl].push_back(v);
      for (double v : report_lat)
        samples["restart_reported_all"][impl].push_back(v);
    }
  }

  // Stop all.
  auto t2 = clk::now();
  caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
  node = nullptr;
  if (w->wait(t2 + phase, [&] { return w->node_down; })) {
    if (ok)
      record("stop_" + n_s, impl, rep, ms(w->down_at - t2));
  } else {
    std::fprintf(stderr, "nodevisor: node not down within %ds; killing the tree\n",
                 o.phase_timeout_s);
    ok = false;
  }
  // Every actor of the tree must be gone before the runtime goes.
  auto gone_by = clk::now() + phase;
  while (sys.registry().running() > 0 && clk::now() < gone_by)
    std::this_thread::sleep_for(1ms);
  if (sys.registry().running() > 0)
    die("actors still running " + std::to_string(o.phase_timeout_s) + " s after the stop");
  sys.await_all_actors_done();
  caf::anon_send_exit(obs, caf::exit_reason::kill);
  obs = nullptr;

  long left = 0;
  for (auto& id : ids)
    left += prt->state(id).state != container_state::unknown;
  if (left != 0) {
    std::fprintf(stderr, "nodevisor: %ld containers left in the runtime after the stop\n", left);
    ok = false;
  }
  if (int children = bench::count_own_children(); children != 0) {
    std::fprintf(stderr, "nodevisor: %d child processes left after the stop\n", children);
    ok = false;
  }
  rt.reset();
  prt.reset(); // kills and reaps anything left
  return ok;
}

// --- report ---------------------------------------------------------------------------------

const std::vector<double>& get(const std::string& metric, const std::string& impl) {
  static const std::vector<double> none;
  auto m = samples.find(metric);
  if (m == samples.end())
    return none;
  auto i = m->second.find(impl);
  return i == m->second.end() ? none : i->second;
}

std::string cell(const std::vector<double>& v, double scale = 1.0, const char* fmt = "%.1f") {
  if (v.empty())
    return "-";
  auto s = summarize(v);
  char a[32], b[32], c[32];
  std::snprintf(a, sizeof a, fmt, s.median * scale);
  std::snprintf(b, sizeof b, fmt, s.min * scale);
  std::snprintf(c, sizeof c, fmt, s.max * scale);
  return std::string{a} + " [" + b + "-" + c + "]";
}

double ratio(const std::string& metric, const std::string& impl, const std::string& against) {
  auto& a = get(metric, impl);
  auto& b = get(metric, against);
  if (a.empty() || b.empty())
    return 0;
  auto sb = summarize(b).median;
  return sb > 0 ? summarize(a).median / sb : 0;
}

void json_summary(const std::string& metric, double target) {
  std::printf("{\"summary\":\"%s\"", metric.c_str());
  for (const char* impl : {"floor_full", "floor_bare", "nodevisor"}) {
    auto& v = get(metric, impl);
    if (v.empty())
      continue;
    auto s = summarize(v);
    std::printf(",\"%s\":{\"median\":%.3f,\"min\":%.3f,\"max\":%.3f,\"n\":%zu}", impl, s.median,
                s.min, s.max, s.count);
  }
  if (!get(metric, "floor_full").empty())
    std::printf(",\"ratio_vs_full\":%.2f,\"ratio_vs_bare\":%.2f",
                ratio(metric, "nodevisor", "floor_full"), ratio(metric, "nodevisor", "floor_bare"));
  if (target > 0)
    std::printf(",\"target\":%.2f", target);
  std::printf("}\n");
}

void pooled_summary(const std::string& metric) {
  std::printf("{\"summary\":\"%s\"", metric.c_str());
  for (const char* impl : {"floor_full", "floor_bare", "nodevisor"}) {
    auto& v = get(metric, impl);
    if (v.empty())
      continue;
    auto s = summarize(v);
    std::printf(",\"%s\":{\"median\":%.3f,\"p99\":%.3f,\"min\":%.3f,\"max\":%.3f,\"n\":%zu}", impl,
                s.median, s.p99, s.min, s.max, s.count);
  }
  std::printf("}\n");
}

void print_row(const char* label, const std::string& metric, double target, bool lower_ratio = true,
               double scale = 1.0) {
  auto full = cell(get(metric, "floor_full"), scale);
  auto bare = cell(get(metric, "floor_bare"), scale);
  auto nvv = cell(get(metric, "nodevisor"), scale);
  char r[64] = "-";
  if (lower_ratio && !get(metric, "floor_full").empty())
    std::snprintf(r, sizeof r, "%.2fx (bare %.2fx)", ratio(metric, "nodevisor", "floor_full"),
                  ratio(metric, "nodevisor", "floor_bare"));
  char t[32] = "";
  if (target > 0)
    std::snprintf(t, sizeof t, "<= %.1fx", target);
  std::printf("| %-26s | %-20s | %-20s | %-22s | %-20s | %-8s |\n", label, full.c_str(),
              bare.c_str(), nvv.c_str(), r, t);
}

bool parse(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc)
      return false;
    std::string v = argv[++i];
    if (a == "--n")
      o.n = std::stol(v);
    else if (a == "--small")
      o.small = std::stol(v);
    else if (a == "--kills")
      o.kills = std::stol(v);
    else if (a == "--reps")
      o.reps = std::stoi(v);
    else if (a == "--cmd")
      o.cmd = v;
    else if (a == "--log-level")
      o.log_level = v;
    else if (a == "--phase-timeout")
      o.phase_timeout_s = std::stoi(v);
    else
      return false;
  }
  return o.n > 0 && o.small >= 0 && o.kills >= 0 && o.kills <= o.n && o.reps > 0;
}

} // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr, "usage: process_bench [--n 1000] [--small 100] [--kills 200 (<= n)] "
                         "[--reps 3] [--cmd sleep] [--log-level off] [--phase-timeout 60]\n");
    return 2;
  }
  if (bench::count_own_children() != 0) {
    std::fprintf(stderr, "process_bench: this process already has children; refusing to run\n");
    return 2;
  }
  install_safety_net(static_cast<unsigned>(o.reps) * 12u *
                     static_cast<unsigned>(o.phase_timeout_s));
  ::prctl(PR_SET_TIMERSLACK, 1000UL); // the restart poll sleeps 20 us; keep it near that
  spdlog::set_level(spdlog::level::from_str(o.log_level));
  auto load_start = loadavg();
  auto mem_start = read_mem();

  caf::actor_system_config cfg;
  register_message_types(cfg);
  register_supervisor_types(cfg);
  // As `nodevisor run` configures it.
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("scheduler.max-threads", std::max(2u, std::thread::hardware_concurrency()));
  bool ok = true;
  {
    caf::actor_system sys{cfg};
    int tree = 0;
    for (int rep = 1; rep <= o.reps && ok; ++rep) {
      // Floors and nodevisor interleaved, so that a change in the machine's load hits both.
      if (o.small > 0) {
        ok = ok && run_floor(o, bench::floor_mode::bare, rep, o.small, 0);
        ok = ok && run_floor(o, bench::floor_mode::full, rep, o.small, 0);
        ok = ok && run_nodevisor(sys, o, rep, ++tree, o.small, 0, false);
      }
      ok = ok && run_floor(o, bench::floor_mode::bare, rep, o.n, o.kills);
      ok = ok && run_floor(o, bench::floor_mode::full, rep, o.n, o.kills);
      ok = ok && run_nodevisor(sys, o, rep, ++tree, o.n, o.kills, true);
    }
  }
  auto load_end = loadavg();
  int left = bench::kill_own_children();
  bench::reap_own_children(5000);
  if (left != 0) {
    std::fprintf(stderr, "process_bench: %d children were left at the end (now killed)\n", left);
    ok = false;
  }

  const auto n_s = std::to_string(o.n);
  const auto small_s = std::to_string(o.small);
  if (o.small > 0) {
    json_summary("start_" + small_s, 1.1);
    json_summary("stop_" + small_s, 2.0);
  }
  json_summary("start_" + n_s, 1.1);
  json_summary("restart_median", 2.5);
  json_summary("restart_p99", 2.5);
  json_summary("stop_" + n_s, 2.0);
  pooled_summary("restart_all");
  pooled_summary("restart_reported_all");
  json_summary("pss_base", 0);
  json_summary("pss_" + n_s, 0);
  json_summary("rss_" + n_s, 0);
  json_summary("pss_per_child", 0);
  std::printf("{\"loadavg_start\":\"%s\",\"loadavg_end\":\"%s\",\"pss_at_main_kib\":%ld,"
              "\"reps\":%d,\"n\":%ld,\"kills\":%ld,\"cmd\":\"%s\",\"ok\":%s}\n",
              load_start.c_str(), load_end.c_str(), mem_start.pss_kib, o.reps, o.n, o.kills,
              o.cmd.c_str(), ok ? "true" : "false");

  std::printf("\nprocess_bench: %d reps, median [min-max] over reps, ms unless noted; "
              "loadavg %s -> %s\n",
              o.reps, load_start.c_str(), load_end.c_str());
  std::printf("| %-26s | %-20s | %-20s | %-22s | %-20s | %-8s |\n", "metric", "floor (full)",
              "floor (bare)", "nodevisor", "nv / floor", "target");
  std::printf("|%s|%s|%s|%s|%s|%s|\n", std::string(28, '-').c_str(), std::string(22, '-').c_str(),
              std::string(22, '-').c_str(), std::string(24, '-').c_str(),
              std::string(22, '-').c_str(), std::string(10, '-').c_str());
  if (o.small > 0)
    print_row(("start N=" + small_s).c_str(), "start_" + small_s, 1.1);
  print_row(("start N=" + n_s).c_str(), "start_" + n_s, 1.1);
  print_row("restart median (per rep)", "restart_median", 2.5);
  print_row("restart p99 (per rep)", "restart_p99", 2.5);
  print_row("restart to reported, med", "restart_reported_median", 0, false);
  if (o.small > 0)
    print_row(("stop N=" + small_s).c_str(), "stop_" + small_s, 2.0);
  print_row(("stop N=" + n_s).c_str(), "stop_" + n_s, 2.0);
  print_row("PSS before tree (MiB)", "pss_base", 0, false, 1.0 / 1024);
  print_row(("PSS with " + n_s + " (MiB)").c_str(), "pss_" + n_s, 0, false, 1.0 / 1024);
  print_row(("RSS with " + n_s + " (MiB)").c_str(), "rss_" + n_s, 0, false, 1.0 / 1024);
  print_row("PSS per child (bytes)", "pss_per_child", 0, false);
  auto pooled = [](const char* label, const std::string& metric) {
    std::printf("pooled %s:", label);
    for (const char* impl : {"floor_full", "floor_bare", "nodevisor"}) {
      auto& v = get(metric, impl);
      if (v.empty())
        continue;
      auto s = summarize(v);
      std::printf("  %s median %.3f p99 %.3f max %.3f (n=%zu)", impl, s.median, s.p99, s.max,
                  s.count);
    }
    std::printf("\n");
  };
  pooled("restart to exec'd", "restart_all");
  pooled("restart to reported healthy", "restart_reported_all");
  std::printf("PSS target < 14 MiB; PSS at main() before the actor system: %.1f MiB\n",
              mem_start.pss_kib / 1024.0);
  return ok ? 0 : 1;
}
