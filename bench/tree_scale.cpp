// Macro benchmark: the real tree at scale on the sim runtime, built as `nodevisor run --runtime
// sim` builds it: a generated YAML spec goes through the spec loader and plan_from_spec, and the
// node actor (with an observer as its parent, like the CLI's) runs one deployment of S services
// of K replicas, each replica a container actor with a health probe actor (a `command` check,
// which the sim runtime answers from its exec without a process). Every third service (s2, s5,
// ...) depends on another one (`condition: healthy`), so it starts with a dependency wait.
// The runtime is the CLI's: a composite runtime over the sim runtime, with a thin pass-through
// layer in between that notes when a crashed replica starts again and passes its first check.
//
// Per run: time from spawning the node to the deployment reported `running` and `healthy` to
// the observer; RSS growth per replica; live actors; failure storms (crash P % of the replicas
// at once through sim_runtime::crash_many, time until every crashed replica runs again and
// until each has passed its first check again); the time to stop everything. Supervision
// never escalates during a storm: every level has max_restarts 1 000 000 000 in a 1 s window
// and no backoff (so a replica crashed again in a later storm restarts at once as well).
// Each run is its own forked process, so RSS is measured on a fresh heap.
//
//   tree_scale [--n 1000,3000,10000,30000,100000] [--reps 3] [--per-service 100]
//              [--storms 1,10,50] [--interval 10] [--trace off,on,messages]
//              [--trace-n 10000,30000] [--trace-dir DIR]
//
// --interval: seconds between a probe's checks. --trace: the modes each N runs in: no trace,
// `--trace FILE`, and `--trace FILE --trace-messages`; --trace-n limits the modes other than
// `off` to these N. Within a repetition the modes run back to back, so that drifting machine
// load hits them alike. Trace files go to a fresh directory under --trace-dir (default $TMPDIR
// or /tmp) and are deleted after each run.
//
// Output: one JSON line per measurement, then a table (median [min-max] over repetitions).
//   {"bench":"tree_scale","metric":M,"n":N,"services":S,"per_service":K,"trace":"off"|"on"|
//    "messages","rep":R,["storm_pct":P,"crashed":C,]["kind":KIND,]"value":V,"unit":U}
// metric (unit):
//   plan_time (s)            generate + load the spec and build the plan
//   time_to_running (s)      node spawned -> deployment `running` (every replica running)
//   time_to_healthy (s)      node spawned -> deployment `healthy` (every probe passed)
//   rss_per_replica (B)      (RSS at healthy + 200 ms - RSS of the idle actor system) / N
//   rss_healthy (MiB), rss_peak (MiB)
//   actors (count)           kind: node | deployment | service | container | probe |
//                            dependency_wait (spawned, exit once satisfied) | live (registry
//                            count at healthy, the observer included)
//   storm_crashed (count)    with storm_pct
//   storm_restart_time (s)   crash -> the last crashed replica runs again
//   storm_restarts_per_s (1/s) crashed / storm_restart_time
//   storm_healthy_time (s)   crash -> the last crashed replica passed its first check again
//   stop_time (s)            shutdown sent to the node -> node down (everything stopped)
//   sim_left (count)         containers the sim runtime still holds after the stop (expect 0)
//   trace_bytes (B), trace_dropped (count)   trace file size and events the sink dropped
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/checks/check_runner.hpp"
#include "actors/node_actor.hpp"
#include "actors/node_services.hpp"
#include "bench/macro_util.hpp"
#include "messages/caf/register_types.hpp"
#include "node/plan_from_spec.hpp"
#include "runtimes/composite/composite_runtime.hpp"
#include "runtimes/sim/sim_runtime.hpp"
#include "spec/loader.hpp"
#include "trace/trace_sink.hpp"

using namespace nv;
using namespace std::chrono_literals;
using bench_clock = std::chrono::steady_clock;

namespace {

// The one deployment's name; the sim runtime keys its replicas by it (runtime_key).
constexpr std::string_view deployment_name = "scale";

enum class trace_mode : uint8_t { off, on, messages };

const char* name_of(trace_mode m) {
  switch (m) {
  case trace_mode::off:
    return "off";
  case trace_mode::on:
    return "on";
  case trace_mode::messages:
    return "messages";
  }
  return "?";
}

struct options {
  std::vector<long> ns{1000, 3000, 10000, 30000, 100000};
  int reps = 3;
  long per_service = 100;
  std::vector<long> storms{1, 10, 50};
  long interval_s = 10;
  std::vector<trace_mode> traces{trace_mode::off};
  std::vector<long> trace_ns; // empty: every N
  std::string trace_dir;
};

constexpr int max_storms = 8;

// What a run (a child process) hands its parent through a pipe: plain data only.
struct run_result {
  bool ok = false;
  char error[256] = {};
  long services = 0;
  long waits = 0;
  double plan_s = 0, running_s = 0, healthy_s = 0, stop_s = 0;
  long rss_base_kib = 0, rss_healthy_kib = 0, rss_peak_kib = 0;
  long live_actors = 0;
  int storms = 0;
  long storm_pct[max_storms] = {};
  long crashed[max_storms] = {};
  double storm_running_s[max_storms] = {};
  double storm_healthy_s[max_storms] = {};
  long sim_left = 0;
  long trace_bytes = 0;
  long trace_dropped = 0;
};

// Follows the replicas a storm crashed: when each is started again (the sim runtime runs it
// the moment start returns) and when its new probe's first check passes. Replica r of service
// s{i} has index i * per_service + r - 1, read back from its id `s{i}-rep-{r}`.
class storm_tracker {
public:
  enum phase : uint8_t { idle, crashed, restarted, checked };

  storm_tracker(long n, long per_service)
      : per_service_(per_service), phase_(static_cast<std::size_t>(n)) {}

  void arm(long index) { phase_[static_cast<std::size_t>(index)].store(crashed); }

  void reset() {
    restarted_ = 0;
    checked_ = 0;
    last_restart_ns_ = 0;
    last_check_ns_ = 0;
  }

  void on_start(const std::string& id) {
    advance(id, crashed, restarted, restarted_, last_restart_ns_);
  }
  void on_exec(const std::string& id) { advance(id, restarted, checked, checked_, last_check_ns_); }

  long restarted_count() const { return restarted_.load(); }
  long checked_count() const { return checked_.load(); }
  bench_clock::time_point last_restart() const { return at(last_restart_ns_); }
  bench_clock::time_point last_check() const { return at(last_check_ns_); }

private:
  static bench_clock::time_point at(const std::atomic<int64_t>& ns) {
    return bench_clock::time_point{std::chrono::nanoseconds{ns.load()}};
  }

  void advance(const std::string& key, phase from, phase to, std::atomic<long>& count,
               std::atomic<int64_t>& last) {
    const std::string id = replica_of(key);
    auto dash = id.find('-');
    if (id.size() < 2 || id[0] != 's' || dash == std::string::npos)
      return;
    long service = std::strtol(id.c_str() + 1, nullptr, 10);
    long replica = std::strtol(id.c_str() + dash + 5, nullptr, 10); // after "-rep-"
    auto i = static_cast<std::size_t>(service * per_service_ + replica - 1);
    if (i >= phase_.size())
      return;
    auto expected = static_cast<uint8_t>(from);
    if (!phase_[i].compare_exchange_strong(expected, static_cast<uint8_t>(to)))
      return;
    auto now = bench_clock::now().time_since_epoch().count();
    auto prev = last.load();
    while (prev < now && !last.compare_exchange_weak(prev, now)) {
    }
    count.fetch_add(1);
  }

  const long per_service_;
  std::vector<std::atomic<uint8_t>> phase_;
  std::atomic<long> restarted_{0}, checked_{0};
  std::atomic<int64_t> last_restart_ns_{0}, last_check_ns_{0};
};

// The sim runtime, with the tracker told of every start and exec. Everything else passes through.
class tracked_runtime final : public runtime {
public:
  tracked_runtime(sim_runtime& sim, storm_tracker& tracker) : sim_(sim), tracker_(tracker) {}

  std::string_view name() const override { return sim_.name(); }
  bool runs_os(std::string_view os) const override { return sim_.runs_os(os); }
  void pull(const container_spec& spec, caf::actor reply_to) override {
    sim_.pull(spec, std::move(reply_to));
  }
  void create(const container_spec& spec, caf::actor reply_to) override {
    sim_.create(spec, std::move(reply_to));
  }
  void start(const std::string& id, caf::actor reply_to) override {
    sim_.start(id, std::move(reply_to));
    tracker_.on_start(id);
  }
  void stop(const std::string& id, duration grace, int signal, caf::actor reply_to) override {
    sim_.stop(id, grace, signal, std::move(reply_to));
  }
  void remove(const std::string& id, caf::actor reply_to) override {
    sim_.remove(id, std::move(reply_to));
  }
  void exec(const std::string& id, uint64_t exec_id, std::vector<std::string> cmd, duration timeout,
            caf::actor reply_to) override {
    sim_.exec(id, exec_id, std::move(cmd), timeout, std::move(reply_to));
    tracker_.on_exec(id);
  }
  container_status state(const std::string& id) const override { return sim_.state(id); }
  std::vector<std::string> logs(const std::string& id, std::size_t tail) const override {
    return sim_.logs(id, tail);
  }
  std::optional<int> pid(const std::string& id) const override { return sim_.pid(id); }

private:
  sim_runtime& sim_;
  storm_tracker& tracker_;
};

// What the observer (the node's parent, as in the CLI) learns, shared with main.
struct watch {
  std::mutex mu;
  std::condition_variable cv;
  lifecycle deployment = lifecycle::pending;
  std::optional<bench_clock::time_point> running_at, healthy_at;
  std::string failed;
  bool node_down = false;
};

caf::behavior observer(caf::event_based_actor* self, watch* w) {
  self->set_down_handler([w](caf::down_msg&) {
    std::lock_guard g{w->mu};
    w->node_down = true;
    w->cv.notify_all();
  });
  return {
      [self](caf::actor& node) { self->monitor(node); },
      [w](state_change& c) {
        if (c.path == "/")
          return; // the node's own state
        auto now = bench_clock::now();
        std::lock_guard g{w->mu};
        w->deployment = c.to;
        if ((c.to == lifecycle::running || c.to == lifecycle::healthy) && !w->running_at)
          w->running_at = now;
        if (c.to == lifecycle::healthy && !w->healthy_at)
          w->healthy_at = now;
        w->cv.notify_all();
      },
      [w](failure& f) {
        std::lock_guard g{w->mu};
        w->failed = to_string(f.error) + " (at " + f.path + ")";
        w->cv.notify_all();
      },
  };
}

std::string supervision_block(const std::string& indent) {
  // Storms must measure restarts, not escalation: no intensity limit that a 50 % storm could
  // reach, and no backoff for a replica that a later storm crashes again.
  return indent + "supervision:\n" + indent + "  strategy: one_for_one\n" + indent +
         "  max_restarts: 1000000000\n" + indent + "  window: 1s\n" + indent + "  backoff:\n" +
         indent + "    initial: 0s\n" + indent + "    max: 0s\n";
}

std::string spec_yaml(long n, long per_service, long interval_s) {
  std::string y = "version: v1\ndeployment: " + std::string{deployment_name} + "\n" +
                  supervision_block("") + "services:\n";
  long services = (n + per_service - 1) / per_service;
  for (long i = 0; i < services; ++i) {
    long replicas = std::min(per_service, n - i * per_service);
    y += "  s" + std::to_string(i) + ":\n";
    y += "    image:\n      name: sim/app\n";
    y += "    scale:\n      mode: fixed\n      replicas: " + std::to_string(replicas) + "\n";
    y += "    health:\n      start_grace: 0s\n      interval: " + std::to_string(interval_s) +
         "s\n      timeout: 5s\n      retries: 3\n      check:\n        type: command\n"
         "        command: \"true\"\n";
    y += "    stop_grace_period: 10s\n";
    y += supervision_block("    ");
    if (i % 3 == 2)
      y += "    depends:\n      - service: s" + std::to_string(i - 2) +
           "\n        condition: healthy\n        timeout: 300s\n";
  }
  return y;
}

template <class Pred>
bool wait_until(watch& w, std::chrono::seconds limit, Pred done) {
  std::unique_lock g{w.mu};
  return w.cv.wait_for(g, limit, [&] { return done() || !w.failed.empty(); }) && w.failed.empty();
}

bool poll_until(const std::function<bool()>& done, std::chrono::seconds limit) {
  auto deadline = bench_clock::now() + limit;
  while (!done()) {
    if (bench_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(200us);
  }
  return true;
}

double seconds(bench_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

void fail_with(run_result& r, const std::string& what) {
  std::snprintf(r.error, sizeof r.error, "%s", what.c_str());
  r.ok = false;
}

run_result run_once(const options& o, long n, trace_mode mode, const std::string& trace_file) {
  run_result r;
  r.ok = true;
  spdlog::set_level(spdlog::level::err); // a storm would log a warning per restart

  caf::actor_system_config cfg;
  register_message_types(cfg);
  register_supervisor_types(cfg);
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("scheduler.max-threads", std::max(2u, std::thread::hardware_concurrency()));

  // Bench-side state first, so that it is not counted in the RSS per replica.
  storm_tracker tracker{n, o.per_service};
  std::vector<long> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0L);
  {
    sim_runtime sim;
    tracked_runtime tracked{sim, tracker};
    composite_runtime rt{{&tracked}};
    check_runner runner;
    std::unique_ptr<trace_sink> trace;
    if (mode != trace_mode::off) {
      trace = std::make_unique<trace_sink>(trace_file, "n1");
      trace->set_messages(mode == trace_mode::messages);
    }
    node_services services{&rt, &runner, trace.get()};
    {
      caf::actor_system sys{cfg};
      r.rss_base_kib = bench::rss_kib();

      auto t_plan = bench_clock::now();
      auto loaded = spec::load_spec_string(spec_yaml(n, o.per_service, o.interval_s), "scale.yaml",
                                           spec::spec_format::yaml);
      if (!loaded.spec) {
        fail_with(r, "spec: " + (loaded.problems.empty() ? std::string{"?"}
                                                         : spec::to_string(loaded.problems[0])));
        return r;
      }
      auto planned = plan_from_spec(*loaded.spec, "sim");
      if (!planned.errors.empty()) {
        fail_with(r, "plan: " + planned.errors.front());
        return r;
      }
      r.services = static_cast<long>(planned.plan.services.size());
      for (auto& s : planned.plan.services)
        r.waits += static_cast<long>(s.depends.size());
      r.plan_s = seconds(bench_clock::now() - t_plan);

      watch w;
      auto obs = sys.spawn(observer, &w);
      node_config nc;
      nc.deployments.push_back(std::move(planned.plan));
      nc.observer = obs.address();
      nc.services = &services;
      auto t0 = bench_clock::now();
      auto node = sys.spawn(node_actor, std::move(nc));
      caf::anon_send(obs, node);

      if (!wait_until(w, 300s, [&] { return w.healthy_at.has_value(); })) {
        fail_with(r, "not healthy: " + (w.failed.empty() ? std::string{"timeout"} : w.failed));
      } else {
        r.running_s = seconds(*w.running_at - t0);
        r.healthy_s = seconds(*w.healthy_at - t0);
        std::this_thread::sleep_for(200ms); // let in-flight bookkeeping settle before measuring
        r.rss_healthy_kib = bench::rss_kib();
        r.live_actors = static_cast<long>(sys.registry().running());

        std::mt19937_64 rng{42};
        for (auto pct : o.storms) { // at most max_storms: parse checked
          auto victims_n = static_cast<std::size_t>(n * pct / 100);
          // A fresh random subset each storm: partial Fisher-Yates over all replica indices.
          for (std::size_t k = 0; k < victims_n; ++k)
            std::swap(order[k], order[k + rng() % (order.size() - k)]);
          std::vector<std::string> victims;
          victims.reserve(victims_n);
          tracker.reset();
          for (std::size_t k = 0; k < victims_n; ++k) {
            auto idx = order[k];
            tracker.arm(idx);
            container_spec victim;
            victim.deployment = deployment_name;
            victim.id = replica_id("s" + std::to_string(idx / o.per_service),
                                   static_cast<uint32_t>(idx % o.per_service + 1));
            victims.push_back(runtime_key(victim));
          }
          auto& s = r.storms;
          r.storm_pct[s] = pct;
          auto t1 = bench_clock::now();
          auto crashed = static_cast<long>(sim.crash_many(victims, 1));
          r.crashed[s] = crashed;
          if (crashed != static_cast<long>(victims.size())) {
            fail_with(r, "storm " + std::to_string(pct) + "%: the runtime crashed " +
                             std::to_string(crashed) + " of " + std::to_string(victims.size()) +
                             " replicas (unknown keys?)");
            break;
          }
          bool back = poll_until([&] { return tracker.checked_count() >= crashed; }, 300s);
          if (!back) {
            fail_with(r, "storm " + std::to_string(pct) +
                             "%: " + std::to_string(tracker.restarted_count()) + " of " +
                             std::to_string(crashed) + " restarted");
            break;
          }
          r.storm_running_s[s] = seconds(tracker.last_restart() - t1);
          r.storm_healthy_s[s] = seconds(tracker.last_check() - t1);
          ++r.storms;
          // The next storm starts from a healthy deployment.
          wait_until(w, 60s, [&] { return w.deployment == lifecycle::healthy; });
          std::this_thread::sleep_for(20ms);
        }
      }

      auto t2 = bench_clock::now();
      caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
      if (!wait_until(w, 300s, [&] { return w.node_down; }))
        fail_with(r, "node did not stop");
      r.stop_s = seconds(bench_clock::now() - t2);
      caf::anon_send_exit(obs, caf::exit_reason::user_shutdown);
      node = nullptr;
      obs = nullptr;
    }
    r.sim_left = static_cast<long>(sim.size());
    if (trace) {
      trace->flush();
      r.trace_dropped = static_cast<long>(trace->dropped_total());
      trace.reset();
      std::error_code ec;
      r.trace_bytes = static_cast<long>(std::filesystem::file_size(trace_file, ec));
      std::filesystem::remove(trace_file, ec);
    }
  }
  r.rss_peak_kib = bench::peak_rss_kib();
  return r;
}

// Runs run_once in a child process: a fresh heap for every RSS reading, and a crash or hang of
// one run cannot take the others with it (each wait is bounded).
run_result run_forked(const options& o, long n, trace_mode mode, const std::string& trace_file) {
  run_result r;
  int fds[2];
  if (::pipe(fds) != 0) {
    fail_with(r, std::string{"pipe: "} + std::strerror(errno));
    return r;
  }
  std::fflush(stdout);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    auto result = run_once(o, n, mode, trace_file);
    auto wrote = ::write(fds[1], &result, sizeof result);
    ::_exit(wrote == static_cast<ssize_t>(sizeof result) ? 0 : 1);
  }
  ::close(fds[1]);
  if (pid < 0) {
    ::close(fds[0]);
    fail_with(r, std::string{"fork: "} + std::strerror(errno));
    return r;
  }
  std::size_t got = 0;
  auto* bytes = reinterpret_cast<char*>(&r);
  while (got < sizeof r) {
    auto k = ::read(fds[0], bytes + got, sizeof r - got);
    if (k <= 0)
      break;
    got += static_cast<std::size_t>(k);
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (got != sizeof r) {
    r = run_result{};
    fail_with(r, "run died (status " + std::to_string(status) + ")");
  }
  return r;
}

void print_json(const options& o, long n, trace_mode mode, int rep, const run_result& r) {
  char dims[160];
  std::snprintf(dims, sizeof dims,
                "\"n\":%ld,\"services\":%ld,\"per_service\":%ld,\"trace\":\"%s\"", n, r.services,
                o.per_service, name_of(mode));
  std::string d{dims};
  auto line = [&](const char* metric, double v, const char* unit, const std::string& extra = {}) {
    bench::json_line("tree_scale", metric, extra.empty() ? d : d + "," + extra, rep, v, unit);
  };
  if (!r.ok) {
    std::printf("{\"bench\":\"tree_scale\",\"metric\":\"error\",%s,\"rep\":%d,\"error\":\"%s\"}\n",
                dims, rep, bench::json_escape(r.error).c_str());
    return;
  }
  line("plan_time", r.plan_s, "s");
  line("time_to_running", r.running_s, "s");
  line("time_to_healthy", r.healthy_s, "s");
  line("rss_per_replica",
       1024.0 * static_cast<double>(r.rss_healthy_kib - r.rss_base_kib) / static_cast<double>(n),
       "B");
  line("rss_healthy", r.rss_healthy_kib / 1024.0, "MiB");
  line("rss_peak", r.rss_peak_kib / 1024.0, "MiB");
  const std::pair<const char*, double> actors[] = {{"node", 1},
                                                   {"deployment", 1},
                                                   {"service", r.services},
                                                   {"container", n},
                                                   {"probe", n},
                                                   {"dependency_wait", r.waits},
                                                   {"live", r.live_actors}};
  for (auto& [kind, count] : actors)
    line("actors", count, "count", std::string{"\"kind\":\""} + kind + "\"");
  for (int s = 0; s < r.storms; ++s) {
    auto extra = "\"storm_pct\":" + std::to_string(r.storm_pct[s]) +
                 ",\"crashed\":" + std::to_string(r.crashed[s]);
    line("storm_crashed", r.crashed[s], "count", extra);
    line("storm_restart_time", r.storm_running_s[s], "s", extra);
    line("storm_restarts_per_s", r.storm_running_s[s] > 0 ? r.crashed[s] / r.storm_running_s[s] : 0,
         "1/s", extra);
    line("storm_healthy_time", r.storm_healthy_s[s], "s", extra);
  }
  line("stop_time", r.stop_s, "s");
  line("sim_left", r.sim_left, "count");
  if (mode != trace_mode::off) {
    line("trace_bytes", r.trace_bytes, "B");
    line("trace_dropped", r.trace_dropped, "count");
  }
  std::fflush(stdout);
}

void print_table(const options& o,
                 const std::map<std::pair<long, trace_mode>, std::vector<run_result>>& all) {
  std::printf("\n# tree_scale: node -> deployment -> services of %ld replicas -> container + "
              "probe actors (sim runtime); median [min-max] of the repetitions\n",
              o.per_service);
  std::printf("%-7s %-8s %-6s %-22s %-22s %-20s %-8s %-20s\n", "N", "trace", "reps",
              "to running (s)", "to healthy (s)", "RSS/replica (B)", "actors", "stop (s)");
  auto pick = [](const std::vector<run_result>& runs, auto f) {
    std::vector<double> v;
    for (auto& r : runs)
      v.push_back(f(r));
    return v;
  };
  for (auto& [key, runs] : all) {
    auto n = key.first;
    std::printf("%-7ld %-8s %-6zu %-22s %-22s %-20s %-8ld %-20s\n", n, name_of(key.second),
                runs.size(), bench::spread(pick(runs, [](auto& r) { return r.running_s; })).c_str(),
                bench::spread(pick(runs, [](auto& r) { return r.healthy_s; })).c_str(),
                bench::spread(
                    pick(runs,
                         [n](auto& r) {
                           return 1024.0 * static_cast<double>(r.rss_healthy_kib - r.rss_base_kib) /
                                  static_cast<double>(n);
                         }),
                    "%.0f")
                    .c_str(),
                runs.empty() ? 0L : runs.front().live_actors,
                bench::spread(pick(runs, [](auto& r) { return r.stop_s; })).c_str());
  }
  std::printf("\n%-7s %-8s %-6s %-9s %-22s %-24s %-22s\n", "N", "trace", "storm", "crashed",
              "all running again (s)", "restarts/s", "all checked again (s)");
  for (auto& [key, runs] : all) {
    if (runs.empty())
      continue;
    for (int s = 0; s < runs.front().storms; ++s) {
      auto at = [s](auto f) { return [s, f](const run_result& r) { return f(r, s); }; };
      std::printf("%-7ld %-8s %-6s %-9ld %-22s %-24s %-22s\n", key.first, name_of(key.second),
                  (std::to_string(runs.front().storm_pct[s]) + "%").c_str(),
                  runs.front().crashed[s],
                  bench::spread(pick(runs, at([](auto& r, int k) { return r.storm_running_s[k]; })))
                      .c_str(),
                  bench::spread(pick(runs, at([](auto& r, int k) {
                                       return r.storm_running_s[k] > 0
                                                  ? r.crashed[k] / r.storm_running_s[k]
                                                  : 0.0;
                                     })),
                                "%.0f")
                      .c_str(),
                  bench::spread(pick(runs, at([](auto& r, int k) { return r.storm_healthy_s[k]; })))
                      .c_str());
    }
  }
  // Tracing overhead: each mode's throughput over the same workload without a trace, at the
  // same N (ratios of medians; below 1 is slower).
  auto median = [&](const std::vector<run_result>& rs, auto f) {
    auto v = pick(rs, f);
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  bool header = false;
  for (auto& [key, runs] : all) {
    auto base = all.find({key.first, trace_mode::off});
    if (key.second == trace_mode::off || base == all.end())
      continue;
    if (!header) {
      std::printf("\n# tracing: throughput relative to the same N without a trace\n%-7s %-8s "
                  "%-18s",
                  "N", "trace", "1/to running");
      for (int s = 0; s < runs.front().storms; ++s)
        std::printf(" %-15s", (std::to_string(runs.front().storm_pct[s]) + "% restarts/s").c_str());
      std::printf(" %-10s %-8s\n", "trace MiB", "dropped");
      header = true;
    }
    auto speed = [](const run_result& r) { return 1.0 / r.running_s; };
    std::printf("%-7ld %-8s %-18.2f", key.first, name_of(key.second),
                ratio(median(runs, speed), median(base->second, speed)));
    for (int s = 0; s < runs.front().storms; ++s) {
      auto rate = [s](const run_result& r) {
        return r.storm_running_s[s] > 0 ? r.crashed[s] / r.storm_running_s[s] : 0.0;
      };
      std::printf(" %-15.2f", ratio(median(runs, rate), median(base->second, rate)));
    }
    std::printf(
        " %-10.1f %-8.0f\n",
        median(runs, [](const run_result& r) { return r.trace_bytes / 1048576.0; }),
        median(runs, [](const run_result& r) { return static_cast<double>(r.trace_dropped); }));
  }
}

bool parse(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc)
      return false;
    std::string v = argv[++i];
    std::vector<long> list;
    if (a == "--n" && bench::parse_longs(v, list)) {
      o.ns = list;
    } else if (a == "--reps") {
      o.reps = std::atoi(v.c_str());
    } else if (a == "--trace-n" && bench::parse_longs(v, list)) {
      o.trace_ns = list;
    } else if (a == "--per-service") {
      o.per_service = std::atol(v.c_str());
    } else if (a == "--storms" && bench::parse_longs(v, list)) {
      o.storms = list;
    } else if (a == "--interval") {
      o.interval_s = std::atol(v.c_str());
    } else if (a == "--trace-dir") {
      o.trace_dir = v;
    } else if (a == "--trace") {
      o.traces.clear();
      std::size_t pos = 0;
      while (pos <= v.size()) {
        auto comma = v.find(',', pos);
        auto item = v.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        if (item == "off")
          o.traces.push_back(trace_mode::off);
        else if (item == "on")
          o.traces.push_back(trace_mode::on);
        else if (item == "messages")
          o.traces.push_back(trace_mode::messages);
        else
          return false;
        if (comma == std::string::npos)
          break;
        pos = comma + 1;
      }
    } else {
      return false;
    }
  }
  return o.reps > 0 && o.per_service > 0 && o.interval_s > 0 &&
         static_cast<long>(o.storms.size()) <= max_storms &&
         std::all_of(o.storms.begin(), o.storms.end(), [](long p) { return p > 0 && p <= 100; }) &&
         std::all_of(o.ns.begin(), o.ns.end(), [](long n) { return n > 0; });
}

} // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr, "usage: tree_scale [--n 1000,3000,...] [--reps 3] [--per-service 100] "
                         "[--storms 1,10,50] [--interval SECONDS] [--trace off,on,messages] "
                         "[--trace-n N,...] [--trace-dir DIR]\n");
    return 2;
  }
  std::string trace_dir;
  bool tracing = std::any_of(o.traces.begin(), o.traces.end(),
                             [](trace_mode m) { return m != trace_mode::off; });
  if (tracing) {
    std::string base = !o.trace_dir.empty()    ? o.trace_dir
                       : std::getenv("TMPDIR") ? std::getenv("TMPDIR")
                                               : "/tmp";
    std::string tmpl = base + "/tree_scale.XXXXXX";
    if (!::mkdtemp(tmpl.data())) {
      std::fprintf(stderr, "tree_scale: cannot create a directory under %s\n", base.c_str());
      return 1;
    }
    trace_dir = tmpl;
  }
  std::printf("# tree_scale: %u cores, load %s\n", std::thread::hardware_concurrency(),
              bench::load_average().c_str());
  auto started = bench_clock::now();
  std::map<std::pair<long, trace_mode>, std::vector<run_result>> all;
  int failures = 0;
  for (auto n : o.ns) {
    bool traced_n = o.trace_ns.empty() ||
                    std::find(o.trace_ns.begin(), o.trace_ns.end(), n) != o.trace_ns.end();
    for (int rep = 1; rep <= o.reps; ++rep) {
      for (auto mode : o.traces) {
        if (mode != trace_mode::off && !traced_n)
          continue;
        auto r = run_forked(o, n, mode, trace_dir + "/trace.jsonl");
        print_json(o, n, mode, rep, r);
        if (!r.ok) {
          ++failures;
          std::fprintf(stderr, "tree_scale: N=%ld trace=%s rep %d: %s\n", n, name_of(mode), rep,
                       r.error);
          continue;
        }
        all[{n, mode}].push_back(r);
      }
    }
  }
  print_table(o, all);
  std::printf("\n# total %.1f s, load at end %s\n", seconds(bench_clock::now() - started),
              bench::load_average().c_str());
  if (!trace_dir.empty())
    std::filesystem::remove_all(trace_dir);
  return failures == 0 ? 0 : 1;
}
