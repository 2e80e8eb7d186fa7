// Micro benchmarks of the supervisor's decisions on the real (work-sharing) scheduler:
// child failure -> replacement child running, and a leaf failure escalating through 2..5
// levels of supervisors until the top decides.
#include <condition_variable>
#include <mutex>

#include <benchmark/benchmark.h>
#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "messages/caf/register_types.hpp"
#include "supervisor/supervisor.hpp"

using namespace nv;
using namespace std::chrono_literals;

namespace {

using crash_atom = caf::atom_constant<caf::atom("crash")>;

// A latch the benchmark thread waits on while actors signal it.
struct signal_box {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t count = 0;
  caf::actor last;

  void post(caf::actor a = {}) {
    std::lock_guard<std::mutex> g{mu};
    ++count;
    last = std::move(a);
    cv.notify_all();
  }
  caf::actor wait_beyond(uint64_t n) {
    std::unique_lock<std::mutex> g{mu};
    cv.wait(g, [&] { return count > n; });
    return last;
  }
};

caf::behavior crashable(caf::event_based_actor* self, child_context ctx) {
  return {[self, ctx](crash_atom) { fail_child(self, ctx, UnexpectedExit{ctx.id, 1}); }};
}

child_spec signalling_worker(std::string id, signal_box* box) {
  child_spec spec;
  spec.id = std::move(id);
  spec.start = [box](caf::local_actor* self, const child_context& ctx) {
    auto child = self->spawn(crashable, ctx);
    box->post(child);
    return child;
  };
  return spec;
}

struct bench_system {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  bench_system() {
    register_message_types(cfg);
    register_supervisor_types(cfg);
    cfg.set("scheduler.policy", caf::atom("sharing"));
    cfg.set("scheduler.max-threads", std::max(2u, std::thread::hardware_concurrency()));
    sys = std::make_unique<caf::actor_system>(cfg);
  }
};

supervisor_flags unlimited() {
  supervisor_flags f;
  f.max_restarts = 1'000'000'000;
  f.window = 1s;
  f.backoff.initial = 0s;
  return f;
}

void BM_DecisionLatency(benchmark::State& state) {
  bench_system b;
  signal_box box;
  supervisor_config sc;
  sc.path = "/sup";
  sc.flags = unlimited();
  auto siblings = static_cast<int>(state.range(0));
  for (int i = 0; i < siblings; ++i)
    sc.children.push_back(signalling_worker("w" + std::to_string(i), &box));
  auto sup = b.sys->spawn(supervisor_actor, std::move(sc));
  auto child = box.wait_beyond(static_cast<uint64_t>(siblings) - 1);
  for (auto _ : state) {
    uint64_t before;
    {
      std::lock_guard<std::mutex> g{box.mu};
      before = box.count;
    }
    caf::anon_send(child, crash_atom::value);
    child = box.wait_beyond(before);
  }
  state.SetLabel("failure -> replacement spawned, " + std::to_string(siblings) + " children");
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
}
BENCHMARK(BM_DecisionLatency)->Arg(1)->Arg(1000)->UseRealTime()->Unit(benchmark::kMicrosecond);

// The top of the chain: receives the escalated failure and signals the benchmark.
caf::behavior top(caf::event_based_actor*, signal_box* box) {
  return {[box](failure&) { box->post(); }, [](state_change&) {}};
}

child_spec chain(int levels, signal_box* leaf_box) {
  if (levels == 0)
    return signalling_worker("leaf", leaf_box);
  child_spec spec;
  spec.id = "s" + std::to_string(levels);
  spec.kind = child_kind::supervisor;
  spec.start = [levels, leaf_box](caf::local_actor* self, const child_context& ctx) {
    supervisor_config sc;
    sc.path = ctx.path;
    sc.parent = ctx.parent;
    sc.flags.max_restarts = 0; // every level gives up at once: pure escalation
    sc.children.push_back(chain(levels - 1, leaf_box));
    return self->spawn(supervisor_actor, std::move(sc));
  };
  return spec;
}

void BM_EscalationLatency(benchmark::State& state) {
  bench_system b;
  signal_box top_box, leaf_box;
  auto levels = static_cast<int>(state.range(0));
  auto observer = b.sys->spawn(top, &top_box);
  for (auto _ : state) {
    state.PauseTiming();
    uint64_t leaves, tops;
    {
      std::lock_guard<std::mutex> g{leaf_box.mu};
      leaves = leaf_box.count;
    }
    {
      std::lock_guard<std::mutex> g{top_box.mu};
      tops = top_box.count;
    }
    // `levels` supervisors between the leaf and the observer; the outermost one escalates.
    supervisor_config sc;
    sc.path = "/s" + std::to_string(levels);
    sc.parent = observer.address();
    sc.flags.max_restarts = 0;
    sc.children.push_back(chain(levels - 1, &leaf_box));
    auto root = b.sys->spawn(supervisor_actor, std::move(sc));
    auto leaf = leaf_box.wait_beyond(leaves);
    state.ResumeTiming();
    caf::anon_send(leaf, crash_atom::value);
    top_box.wait_beyond(tops);
  }
  state.SetLabel("leaf failure -> escalation out of " + std::to_string(levels) + " levels");
  caf::anon_send_exit(observer, caf::exit_reason::user_shutdown);
}
BENCHMARK(BM_EscalationLatency)->DenseRange(2, 5)->UseRealTime()->Unit(benchmark::kMicrosecond);

} // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::off); // every iteration logs a give-up otherwise
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
