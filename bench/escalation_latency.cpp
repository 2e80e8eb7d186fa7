// Macro benchmark: escalation latency through nested generic supervisors, as percentiles
// (supervisor_bench has the Google Benchmark version, means only).
//
// A tree of depth D is D supervisors (supervisor/supervisor.hpp) nested in each other with a
// worker leaf under the innermost one: /top/s{D-1}/.../s1/leaf. Every level has intensity 0
// (max_restarts 0), so a failure of the leaf is escalated unchanged by the D-1 lower levels
// and decided by the top one (the deployment level), whose on_child_failure hook takes the
// second timestamp and handles the failure (no restart). The first timestamp is taken on the
// injecting thread right before it sends the leaf its crash message; both are steady_clock.
// Each sample gets a fresh tree, which is stopped (and awaited) before the next sample. D=3
// here corresponds to supervisor_bench's "escalation out of 2 levels" plus the decision.
//
//   escalation_latency [--depths 2,3,4,5] [--samples 2000] [--warmup 100] [--reps 3]
//
// Warm-up samples (per depth and repetition) are run and discarded. Each repetition has its
// own actor system (work-sharing scheduler, one thread per core, as the daemon).
//
// Output: one JSON line per measurement, then a table (median [min-max] over repetitions).
//   {"bench":"escalation_latency","metric":M,"depth":D,"escalations":D-1,"samples":S,
//    "rep":R,"value":V,"unit":"us"}
// metric: p50 | p99 | min | max | mean (leaf crash sent -> top level decides), and
// wrong_report (count, unit "count": decisions whose failure was not the leaf's original
// UnexpectedExit; expect 0).
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <string>
#include <thread>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "bench/macro_util.hpp"
#include "messages/caf/register_types.hpp"
#include "supervisor/supervisor.hpp"

using namespace nv;
using bench_clock = std::chrono::steady_clock;

namespace {

using crash_atom = caf::atom_constant<caf::atom("crash")>;

// Where the actors hand the bench thread what it waits for.
struct mailbox {
  std::mutex mu;
  std::condition_variable cv;
  caf::actor leaf;                                // the newest leaf, once spawned
  std::optional<bench_clock::time_point> decided; // the top level's decision
  bool right_report = false;
  bool top_down = false;

  template <class Pred>
  void wait(Pred ready) {
    std::unique_lock g{mu};
    cv.wait(g, ready);
  }
};

caf::behavior crashable(caf::event_based_actor* self, child_context ctx) {
  return {[self, ctx](crash_atom) { fail_child(self, ctx, UnexpectedExit{ctx.id, 1}); }};
}

child_spec leaf(mailbox* box) {
  child_spec spec;
  spec.id = "leaf";
  spec.start = [box](caf::local_actor* self, const child_context& ctx) {
    auto child = self->spawn(crashable, ctx);
    std::lock_guard g{box->mu};
    box->leaf = child;
    box->cv.notify_all();
    return child;
  };
  return spec;
}

// `levels` supervisors of intensity 0, the leaf under the innermost.
child_spec chain(int levels, mailbox* box) {
  if (levels == 0)
    return leaf(box);
  child_spec spec;
  spec.id = "s" + std::to_string(levels);
  spec.kind = child_kind::supervisor;
  spec.start = [levels, box](caf::local_actor* self, const child_context& ctx) {
    supervisor_config sc;
    sc.path = ctx.path;
    sc.parent = ctx.parent;
    sc.flags.max_restarts = 0;
    sc.children.push_back(chain(levels - 1, box));
    return self->spawn(supervisor_actor, std::move(sc));
  };
  return spec;
}

std::string leaf_path(int depth) {
  std::string path = "/top";
  for (int l = depth - 1; l >= 1; --l)
    path += "/s" + std::to_string(l);
  return path + "/leaf";
}

// One sample: build the tree, crash the leaf, return the latency (µs) and whether the top
// saw the original failure. The tree is gone when it returns.
std::pair<double, bool> sample(caf::actor_system& sys, int depth, const std::string& expected) {
  mailbox box;
  supervisor_config sc;
  sc.path = "/top";
  sc.flags.max_restarts = 0;
  sc.hooks.on_child_failure = [&box, &expected](std::size_t, failure& report) {
    auto now = bench_clock::now();
    auto* exit = std::get_if<UnexpectedExit>(&report.error);
    std::lock_guard g{box.mu};
    box.decided = now;
    box.right_report = exit && exit->code == 1 && report.path == expected;
    box.cv.notify_all();
    return true; // decided here: no restart
  };
  sc.children.push_back(chain(depth - 1, &box));
  auto top = sys.spawn(supervisor_actor, std::move(sc));
  top->attach_functor([&box](const caf::error&) {
    std::lock_guard g{box.mu};
    box.top_down = true;
    box.cv.notify_all();
  });
  box.wait([&] { return static_cast<bool>(box.leaf); });
  caf::actor target;
  {
    std::lock_guard g{box.mu};
    target = box.leaf;
  }
  auto t0 = bench_clock::now();
  caf::anon_send(target, crash_atom::value);
  box.wait([&] { return box.decided.has_value(); });
  caf::anon_send_exit(top, caf::exit_reason::user_shutdown);
  box.wait([&] { return box.top_down; });
  std::lock_guard g{box.mu};
  return {std::chrono::duration<double, std::micro>(*box.decided - t0).count(), box.right_report};
}

struct stats {
  double p50, p99, min, max, mean;
  long wrong;
};

} // namespace

int main(int argc, char** argv) {
  std::vector<long> depths{2, 3, 4, 5};
  long samples = 2000, warmup = 100;
  int reps = 3;
  bool ok = true;
  for (int i = 1; i < argc && ok; i += 2) {
    std::string a = argv[i];
    if (i + 1 >= argc) {
      ok = false;
      break;
    }
    std::string v = argv[i + 1];
    if (a == "--depths")
      ok = bench::parse_longs(v, depths) &&
           std::all_of(depths.begin(), depths.end(), [](long d) { return d >= 1 && d <= 64; });
    else if (a == "--samples")
      samples = std::atol(v.c_str());
    else if (a == "--warmup")
      warmup = std::atol(v.c_str());
    else if (a == "--reps")
      reps = std::atoi(v.c_str());
    else
      ok = false;
  }
  if (!ok || samples <= 0 || warmup < 0 || reps <= 0) {
    std::fprintf(stderr, "usage: escalation_latency [--depths 2,3,4,5] [--samples 2000] "
                         "[--warmup 100] [--reps 3]\n");
    return 2;
  }
  spdlog::set_level(spdlog::level::off); // every give-up logs an error otherwise
  std::printf("# escalation_latency: %u cores, load %s\n", std::thread::hardware_concurrency(),
              bench::load_average().c_str());
  auto started = bench_clock::now();
  std::map<long, std::vector<stats>> all;
  for (int rep = 1; rep <= reps; ++rep) {
    caf::actor_system_config cfg;
    register_message_types(cfg);
    register_supervisor_types(cfg);
    cfg.set("scheduler.policy", caf::atom("sharing"));
    cfg.set("scheduler.max-threads", std::max(2u, std::thread::hardware_concurrency()));
    caf::actor_system sys{cfg};
    for (auto depth : depths) {
      auto d = static_cast<int>(depth);
      auto expected = leaf_path(d);
      for (long k = 0; k < warmup; ++k)
        sample(sys, d, expected);
      std::vector<double> us;
      us.reserve(static_cast<std::size_t>(samples));
      long wrong = 0;
      for (long k = 0; k < samples; ++k) {
        auto [latency, right] = sample(sys, d, expected);
        us.push_back(latency);
        wrong += right ? 0 : 1;
      }
      std::sort(us.begin(), us.end());
      stats s{bench::percentile(us, 50),
              bench::percentile(us, 99),
              us.front(),
              us.back(),
              std::accumulate(us.begin(), us.end(), 0.0) / static_cast<double>(us.size()),
              wrong};
      all[depth].push_back(s);
      auto dims = "\"depth\":" + std::to_string(depth) +
                  ",\"escalations\":" + std::to_string(depth - 1) +
                  ",\"samples\":" + std::to_string(samples);
      const std::pair<const char*, double> metrics[] = {
          {"p50", s.p50}, {"p99", s.p99}, {"min", s.min}, {"max", s.max}, {"mean", s.mean}};
      for (auto& [metric, value] : metrics)
        bench::json_line("escalation_latency", metric, dims, rep, value, "us");
      bench::json_line("escalation_latency", "wrong_report", dims, rep, static_cast<double>(wrong),
                       "count");
      std::fflush(stdout);
    }
  }
  std::printf("\n# escalation latency: leaf crash -> top decision, %ld samples per depth and "
              "repetition; median [min-max] of %d repetitions, microseconds\n",
              samples, reps);
  std::printf("%-6s %-12s %-22s %-22s %-22s %-22s\n", "depth", "escalations", "p50", "p99", "min",
              "max");
  long wrong_total = 0;
  for (auto& [depth, runs] : all) {
    auto col = [&](double stats::*field) {
      std::vector<double> v;
      for (auto& s : runs)
        v.push_back(s.*field);
      return bench::spread(v, "%.1f");
    };
    for (auto& s : runs)
      wrong_total += s.wrong;
    std::printf("%-6ld %-12ld %-22s %-22s %-22s %-22s\n", depth, depth - 1,
                col(&stats::p50).c_str(), col(&stats::p99).c_str(), col(&stats::min).c_str(),
                col(&stats::max).c_str());
  }
  std::printf("\n# total %.1f s, load at end %s%s\n",
              std::chrono::duration<double>(bench_clock::now() - started).count(),
              bench::load_average().c_str(),
              wrong_total ? " - SOME DECISIONS SAW A DIFFERENT FAILURE" : "");
  return wrong_total == 0 ? 0 : 1;
}
