// Macro benchmark: N simulated containers under a three-level tree
// (deployment -> services of up to 1 000 replicas -> container actors on the sim runtime).
// Prints the time until all run, the RSS per supervised container, the time to recover from
// a failure storm, and the time to stop everything.
//
//   tree_macro N [--storm PERCENT] [--per-service K] [--trace FILE [--trace-messages]]
//
// --trace-messages also records a send/recv event pair per message between actors (issue 4);
// it needs --trace.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <sys/resource.h>
#include <thread>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/container_actor.hpp"
#include "messages/register_types.hpp"
#include "runtimes/sim/sim_runtime.hpp"
#include "supervisor/supervisor.hpp"
#include "trace/trace_sink.hpp"

using namespace nv;
using namespace std::chrono_literals;
using bench_clock = std::chrono::steady_clock;

namespace {

long rss_kib() {
  std::ifstream in{"/proc/self/status"};
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      long kib = 0;
      in >> kib;
      return kib;
    }
    in.ignore(1 << 16, '\n');
  }
  return 0;
}

long peak_rss_kib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

// Replicas counted as up, from the service supervisors' view of their children.
struct gauges {
  std::atomic<int64_t> up{0};
  std::atomic<int64_t> up_transitions{0};
};

bool is_up(lifecycle s) {
  return s == lifecycle::running || s == lifecycle::healthy;
}

double seconds_since(bench_clock::time_point t0) {
  return std::chrono::duration<double>(bench_clock::now() - t0).count();
}

bool wait_for(const std::function<bool()>& done, std::chrono::seconds limit) {
  auto deadline = bench_clock::now() + limit;
  while (!done()) {
    if (bench_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(200us);
  }
  return true;
}

child_spec service(const std::string& name, int replicas, sim_runtime* rt, gauges* g,
                   trace_sink* trace) {
  child_spec spec;
  spec.id = name;
  spec.kind = child_kind::supervisor;
  spec.shutdown.grace = 120s;
  spec.start = [=](caf::local_actor* self, const child_context& ctx) {
    supervisor_config sc;
    sc.path = ctx.path;
    sc.parent = ctx.parent;
    sc.parent_path = ctx.path.substr(0, ctx.path.rfind('/'));
    sc.flags.max_restarts = 1'000'000'000; // the storm must not escalate
    sc.flags.window = 1s;
    sc.flags.parallel_stop = true;
    sc.trace = trace;
    sc.hooks.on_child_state = [g](std::size_t, lifecycle from, lifecycle to) {
      if (is_up(to) && !is_up(from)) {
        g->up.fetch_add(1, std::memory_order_relaxed);
        g->up_transitions.fetch_add(1, std::memory_order_relaxed);
      } else if (is_up(from) && !is_up(to)) {
        g->up.fetch_sub(1, std::memory_order_relaxed);
      }
    };
    for (int r = 1; r <= replicas; ++r) {
      container_config cc;
      cc.spec.deployment = "macro";
      cc.spec.service = name;
      cc.spec.replica = static_cast<uint32_t>(r);
      cc.spec.id = replica_id(name, cc.spec.replica);
      cc.rt = rt;
      cc.stop_grace = 10s;
      sc.children.push_back(container_child(std::move(cc)));
    }
    return self->spawn(supervisor_actor, std::move(sc));
  };
  return spec;
}

} // namespace

int main(int argc, char** argv) {
  auto usage = [] {
    std::fprintf(stderr, "usage: tree_macro N [--storm PERCENT] [--per-service K] "
                         "[--trace FILE [--trace-messages]]\n");
    return 2;
  };
  if (argc < 2)
    return usage();
  long n = std::stol(argv[1]);
  int storm_percent = 10;
  long per_service = 1000;
  std::string trace_file;
  bool trace_messages = false;
  for (int i = 2; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--trace-messages")) {
      trace_messages = true;
      continue;
    }
    if (i + 1 >= argc)
      return usage();
    if (!std::strcmp(argv[i], "--storm"))
      storm_percent = std::stoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--per-service"))
      per_service = std::stol(argv[++i]);
    else if (!std::strcmp(argv[i], "--trace"))
      trace_file = argv[++i];
    else
      return usage();
  }
  if (trace_messages && trace_file.empty())
    return usage();
  spdlog::set_level(spdlog::level::err); // the storm would print 10 % of N warnings

  long rss_start = rss_kib();
  caf::actor_system_config cfg;
  register_message_types(cfg);
  register_supervisor_types(cfg);
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("scheduler.max-threads", std::max(2u, std::thread::hardware_concurrency()));
  int exit_code = 0;
  {
    std::unique_ptr<trace_sink> trace;
    if (!trace_file.empty()) {
      trace = std::make_unique<trace_sink>(trace_file, "bench");
      trace->set_messages(trace_messages);
    }
    sim_runtime rt;
    gauges g;
    caf::actor_system sys{cfg};
    long rss_base = rss_kib();

    supervisor_config dc;
    dc.path = "/macro";
    dc.flags.max_restarts = 1'000'000'000;
    dc.trace = trace.get();
    long services = (n + per_service - 1) / per_service;
    for (long s = 0; s < services; ++s) {
      long replicas = std::min(per_service, n - s * per_service);
      dc.children.push_back(
          service("svc" + std::to_string(s), static_cast<int>(replicas), &rt, &g, trace.get()));
    }

    auto t0 = bench_clock::now();
    auto deployment = sys.spawn(supervisor_actor, std::move(dc));
    bool all_up = wait_for([&] { return g.up.load() >= n; }, 300s);
    double t_running = seconds_since(t0);
    std::this_thread::sleep_for(200ms); // let in-flight bookkeeping settle before measuring
    long rss_running = rss_kib();

    // Failure storm: storm_percent of the replicas crash at once.
    std::vector<std::string> victims;
    std::mt19937 rng{42};
    for (long s = 0; s < services; ++s) {
      long replicas = std::min(per_service, n - s * per_service);
      for (long r = 1; r <= replicas; ++r)
        if (static_cast<long>(rng() % 100) < storm_percent)
          victims.push_back(replica_id("svc" + std::to_string(s), static_cast<uint32_t>(r)));
    }
    auto transitions_before = g.up_transitions.load();
    auto t1 = bench_clock::now();
    auto crashed = rt.crash_many(victims, 1);
    bool recovered = wait_for(
        [&] {
          return g.up_transitions.load() >= transitions_before + static_cast<int64_t>(crashed) &&
                 g.up.load() >= n;
        },
        300s);
    double t_storm = seconds_since(t1);

    auto t2 = bench_clock::now();
    caf::anon_send_exit(deployment, caf::exit_reason::user_shutdown);
    deployment = nullptr;
    sys.await_all_actors_done();
    double t_stop = seconds_since(t2);

    std::printf("{\"n\":%ld,\"services\":%ld,\"threads\":%zu,\"trace\":%s,\"trace_messages\":%s,"
                "\"all_running\":%s,\"time_to_all_running_s\":%.3f,"
                "\"rss_per_container_bytes\":%.0f,\"rss_running_mib\":%.1f,"
                "\"storm_crashed\":%zu,\"storm_recovered\":%s,\"storm_recovery_s\":%.3f,"
                "\"stop_all_s\":%.3f,\"sim_left\":%zu,\"peak_rss_mib\":%.1f,"
                "\"rss_before_system_mib\":%.1f}\n",
                n, services, sys.scheduler().num_workers(), trace ? "true" : "false",
                trace_messages ? "true" : "false", all_up ? "true" : "false", t_running,
                1024.0 * static_cast<double>(rss_running - rss_base) / static_cast<double>(n),
                rss_running / 1024.0, crashed, recovered ? "true" : "false", t_storm, t_stop,
                rt.size(), peak_rss_kib() / 1024.0, rss_start / 1024.0);
    if (!all_up || !recovered)
      exit_code = 1;
  }
  return exit_code;
}
