// Macro benchmark: nodevisor supervising real processes (the node actor over the process
// runtime, as `nodevisor run` builds it) against the floor (bench/floor.hpp: the same kernel
// work in a plain loop, no supervisor), in one run.
//
// Each repetition builds fresh trees (a fresh runtime per tree) and fresh floor pools:
//   - cold start of --small and --n children running --cmd, each implementation alone, in an
//     order that rotates with the repetition: the floor until its last posix_spawn returned
//     (glibc's spawn returns after the exec); nodevisor from spawning the node until its
//     deployment reports healthy, i.e. every container actor reported running (exec'd). Also
//     the CPU time of this process's own threads per child, which the machine's load moves less;
//   - stop all, likewise: floor SIGTERM to every group, then reap all; nodevisor
//     exit(user_shutdown) to the node until the node is down, which is after every container
//     was reaped (checked: no child process and no container left);
//   - memory of the daemon in a fresh process (this executable with --memory-probe on): PSS,
//     RSS, USS and malloc'd bytes at main(), with the actor system idle, and 1 s after --n
//     children are all up (as the peers were measured);
//   - restart: with --n children running under each implementation at once, kill -9 one child
//     until its replacement has exec'd (nodevisor: the runtime shows a new running pid, polled
//     every ~20 us; also until the deployment is reported healthy again), --kills times each,
//     round-robin over distinct replicas, in interleaved chunks of 10 so that a change in the
//     machine's load hits every implementation alike.
// Prints one JSON line per measurement and per summary, then a table. Nothing is left running:
// every wait is bounded; the benchmark runs in a child of a guardian process (a subreaper) that
// kills and reaps whatever is left when it ends, however it ends; on a signal or failure the
// benchmark itself SIGKILLs its children by pid (their whole group) from /proc.
//
// --profile on: the runtime is wrapped to stamp every call the container actors make; start,
// restart and stop are broken down into where the time goes, with each thread's CPU time and
// run-queue wait, and the memory probe reports where the bytes are.
//
//   process_bench [--n 1000] [--small 100] [--kills 200] [--reps 3] [--cmd sleep]
//                 [--log-level off] [--phase-timeout 60] [--profile on]
#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <malloc.h>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <tuple>
#include <unistd.h>
#include <vector>

extern char** environ;

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/node_actor.hpp"
#include "bench/floor.hpp"
#include "messages/caf/register_types.hpp"
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
  bool profile = false;
  bool memory_probe = false; // internal: this process is the fresh daemon of a memory probe
};

constexpr long kill_chunk = 10; // restarts per implementation per turn

double ms(clk::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// CPU time of every thread of this process (not of its children), in ms.
double cpu_ms_self() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1e3 + t.tv_usec / 1e3; };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

std::string loadavg() {
  std::ifstream in{"/proc/loadavg"};
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

// --- memory ---------------------------------------------------------------------------------

struct mem {
  long pss_kib = 0;
  long rss_kib = 0;
  long uss_kib = 0; // Private_Clean + Private_Dirty: shared with no other process
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
    } else if (key == "Private_Clean:" || key == "Private_Dirty:") {
      in >> v;
      m.uss_kib += v;
    }
    in.ignore(1 << 16, '\n');
  }
  return m;
}

// --profile: the mappings holding most of this process's PSS ("[anon]" includes the malloc
// arenas of the CAF worker threads and the threads' stacks).
void print_top_mappings(std::size_t top) {
  std::ifstream in{"/proc/self/smaps"};
  std::string line, current;
  std::map<std::string, long> pss;
  while (std::getline(in, line)) {
    std::istringstream fields{line};
    std::string first;
    fields >> first;
    if (first.empty())
      continue;
    if (first.back() != ':') { // a mapping's header: range perms offset dev inode [name]
      std::string perms, offset, dev, inode, name;
      fields >> perms >> offset >> dev >> inode;
      std::getline(fields >> std::ws, name);
      current = name.empty() ? "[anon]" : name;
    } else if (first == "Pss:") {
      long kib = 0;
      fields >> kib;
      pss[current] += kib;
    }
  }
  std::vector<std::pair<long, std::string>> sorted;
  for (auto& [name, kib] : pss)
    sorted.emplace_back(kib, name);
  std::sort(sorted.begin(), sorted.end(), std::greater<>{});
  for (std::size_t i = 0; i < std::min(top, sorted.size()); ++i)
    std::printf("{\"profile\":\"pss_by_mapping\",\"kib\":%ld,\"mapping\":\"%s\"}\n",
                sorted[i].first, sorted[i].second.c_str());
}

// --profile: CPU time and run-queue wait of each thread of this process, from
// /proc/self/task/*/schedstat (ns), grouped by thread name; "main" is the main thread.
struct thread_times {
  std::map<int, std::tuple<std::string, long long, long long>> by_tid; // name, run, wait
};

thread_times read_thread_times() {
  thread_times out;
  auto me = ::getpid();
  for (const auto& entry : std::filesystem::directory_iterator{"/proc/self/task"}) {
    int tid = std::atoi(entry.path().filename().c_str());
    std::ifstream comm{entry.path() / "comm"};
    std::ifstream sched{entry.path() / "schedstat"};
    std::string name;
    long long run = 0, wait = 0;
    std::getline(comm, name);
    sched >> run >> wait;
    out.by_tid[tid] = {tid == me ? std::string{"main"} : name, run, wait};
  }
  return out;
}

void print_thread_times(const char* phase, const thread_times& a, const thread_times& b) {
  std::map<std::string, std::pair<double, double>> sums; // name -> run ms, wait ms
  for (auto& [tid, t] : b.by_tid) {
    auto& [name, run, wait] = t;
    long long run0 = 0, wait0 = 0;
    if (auto it = a.by_tid.find(tid); it != a.by_tid.end()) {
      run0 = std::get<1>(it->second);
      wait0 = std::get<2>(it->second);
    }
    sums[name].first += static_cast<double>(run - run0) / 1e6;
    sums[name].second += static_cast<double>(wait - wait0) / 1e6;
  }
  for (auto& [name, v] : sums)
    if (v.first + v.second > 0.05)
      std::printf("{\"profile\":\"threads\",\"phase\":\"%s\",\"thread\":\"%s\","
                  "\"cpu_ms\":%.1f,\"runqueue_wait_ms\":%.1f}\n",
                  phase, name.c_str(), v.first, v.second);
}

// --- safety net -----------------------------------------------------------------------------

extern "C" void on_fatal_signal(int sig) {
  // A memory probe kills its own children on SIGTERM; give it up to 2 s.
  if (pid_t probe = bench::running_self(); probe > 0) {
    ::kill(probe, SIGTERM);
    for (int i = 0; i < 200 && ::waitpid(probe, nullptr, WNOHANG) == 0; ++i) {
      timespec tick{0, 10'000'000};
      ::nanosleep(&tick, nullptr);
    }
  }
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
  double median = 0, min = 0, max = 0, p90 = 0, p99 = 0;
  std::size_t count = 0;
};

stats summarize(std::vector<double> v) {
  stats s;
  if (v.empty())
    return s;
  std::sort(v.begin(), v.end());
  auto n = v.size();
  auto rank = [&](double q) { // nearest rank
    auto r = static_cast<std::size_t>(std::ceil(q * static_cast<double>(n)));
    return v[std::max<std::size_t>(r, 1) - 1];
  };
  s.count = n;
  s.min = v.front();
  s.max = v.back();
  s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  s.p90 = rank(0.90);
  s.p99 = rank(0.99);
  return s;
}

// samples[metric][impl]: one value per repetition (restart_all: every kill).
std::map<std::string, std::map<std::string, std::vector<double>>> samples;

void record(const std::string& metric, const std::string& impl, int rep, double value,
            const char* unit = "ms") {
  samples[metric][impl].push_back(value);
  std::printf("{\"rep\":%d,\"metric\":\"%s\",\"impl\":\"%s\",\"%s\":%.3f}\n", rep, metric.c_str(),
              impl.c_str(), unit, value);
  std::fflush(stdout);
}

std::size_t victim(long k, long n) { // distinct for k < n when n is not a multiple of 7
  return static_cast<std::size_t>((k * 7) % n);
}

// --- the floor ------------------------------------------------------------------------------

// While the floor restarts, a thread does what nodevisor's measurement poll does (a lock and a
// ~20 us sleep, over and over), so that both see the same CPU wake-up behaviour: a VM's idle
// vCPU is slow to wake, and the poll keeps one from going idle.
class ticker {
public:
  ticker()
      : thread_{[this] {
          ::prctl(PR_SET_TIMERSLACK, 1000UL);
          while (!stop_.load(std::memory_order_relaxed)) {
            { std::lock_guard lock{mu_}; }
            std::this_thread::sleep_for(20us);
          }
        }} {}
  ~ticker() {
    stop_ = true;
    thread_.join();
  }

private:
  std::mutex mu_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::string impl_name(bench::floor_mode mode) {
  return std::string{"floor_"} + bench::to_cstr(mode);
}

// Start, then stop, alone.
bool floor_start_stop(const options& o, bench::floor_mode mode, int rep, long n) {
  const auto impl = impl_name(mode);
  const auto n_s = std::to_string(n);
  std::string error;
  {
    bench::floor_pool pool{mode, {o.cmd, "3600"}};
    auto c0 = cpu_ms_self();
    auto t0 = clk::now();
    if (!pool.start(static_cast<std::size_t>(n), error)) {
      std::fprintf(stderr, "%s start: %s\n", impl.c_str(), error.c_str());
      return false;
    }
    record("start_" + n_s, impl, rep, ms(clk::now() - t0));
    auto c1 = cpu_ms_self();
    record("start_cpu_" + n_s, impl, rep, 1e3 * (c1 - c0) / static_cast<double>(n), "us_per_child");
    auto t1 = clk::now();
    pool.stop_all();
    record("stop_" + n_s, impl, rep, ms(clk::now() - t1));
    record("stop_cpu_" + n_s, impl, rep, 1e3 * (cpu_ms_self() - c1) / static_cast<double>(n),
           "us_per_child");
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

// --profile: forwards every call to the process runtime and stamps it. The container actors call
// pull, create and start each right after the previous answer arrived, and remove right after
// the exit arrived, so the stamps mark the CAF hops.
class timed_runtime final : public runtime {
public:
  struct call {
    runtime_op op;
    std::string id;
    clk::time_point at;
  };

  // `stamping` false: a plain pass-through that allocates nothing (the normal run).
  timed_runtime(runtime* inner, bool stamping) : inner_(inner), stamping_(stamping) {
    if (stamping_)
      calls_.reserve(1 << 14);
  }

  std::string_view name() const override { return inner_->name(); }
  bool runs_os(std::string_view os) const override { return inner_->runs_os(os); }
  void pull(const container_spec& spec, caf::actor reply_to) override {
    stamp(runtime_op::pull, spec.id);
    inner_->pull(spec, std::move(reply_to));
  }
  void create(const container_spec& spec, caf::actor reply_to) override {
    stamp(runtime_op::create, spec.id);
    inner_->create(spec, std::move(reply_to));
  }
  void start(const std::string& id, caf::actor reply_to) override {
    stamp(runtime_op::start, id);
    inner_->start(id, std::move(reply_to));
  }
  void stop(const std::string& id, duration grace, int signal, caf::actor reply_to) override {
    stamp(runtime_op::stop, id);
    inner_->stop(id, grace, signal, std::move(reply_to));
  }
  void remove(const std::string& id, caf::actor reply_to) override {
    stamp(runtime_op::remove, id);
    inner_->remove(id, std::move(reply_to));
  }
  void exec(const std::string& id, uint64_t exec_id, std::vector<std::string> cmd, duration timeout,
            caf::actor reply_to) override {
    inner_->exec(id, exec_id, std::move(cmd), timeout, std::move(reply_to));
  }
  container_status state(const std::string& id) const override { return inner_->state(id); }
  std::vector<std::string> logs(const std::string& id, std::size_t tail) const override {
    return inner_->logs(id, tail);
  }
  std::optional<int> pid(const std::string& id) const override { return inner_->pid(id); }

  // First and last stamp of `op` at or after `from`.
  std::pair<std::optional<clk::time_point>, std::optional<clk::time_point>>
  span(runtime_op op, clk::time_point from) const {
    std::lock_guard lock{mu_};
    std::optional<clk::time_point> first, last;
    for (auto& c : calls_) {
      if (c.op != op || c.at < from)
        continue;
      if (!first || c.at < *first)
        first = c.at;
      if (!last || c.at > *last)
        last = c.at;
    }
    return {first, last};
  }

  // The first stamp of `op` on `id` at or after `from`.
  std::optional<clk::time_point> first(runtime_op op, const std::string& id,
                                       clk::time_point from) const {
    std::lock_guard lock{mu_};
    for (auto& c : calls_)
      if (c.op == op && c.at >= from && c.id == id)
        return c.at;
    return std::nullopt;
  }

private:
  void stamp(runtime_op op, const std::string& id) {
    if (!stamping_)
      return;
    auto now = clk::now();
    std::lock_guard lock{mu_};
    calls_.push_back(call{op, id, now});
  }

  runtime* inner_;
  bool stamping_;
  mutable std::mutex mu_;
  std::vector<call> calls_;
};

// --profile: per restart, the stamps from the kill to the replacement's exec.
struct restart_stamps {
  clk::time_point kill, reaped, removed, pulled, created, started, execd;
};

// One node with one deployment of one service of n replicas, on its own process runtime.
class nv_tree {
public:
  nv_tree(caf::actor_system& sys, const options& o, int tree, long n)
      : sys_(sys), o_(o), n_(n), phase_(std::chrono::seconds{o.phase_timeout_s}),
        prt_(std::make_unique<process_runtime>()),
        trt_(std::make_unique<timed_runtime>(prt_.get(), o.profile)),
        rt_(std::make_unique<composite_runtime>(
            std::vector<runtime*>{o.profile ? static_cast<runtime*>(trt_.get()) : prt_.get()})),
        w_(std::make_shared<watch>()) {
    const std::string dep = "pb" + std::to_string(tree);
    w_->deployment_path = "/" + dep;
    deployment_plan dp;
    dp.name = dep;
    service_plan sp;
    sp.name = "s";
    // Every kill must restart at once: no give-up, no backoff.
    sp.flags.max_restarts = 1'000'000'000;
    sp.flags.window = 1s;
    sp.flags.backoff.initial = duration::zero();
    sp.flags.backoff.max = duration::zero();
    for (long r = 1; r <= n; ++r) {
      container_config c;
      c.spec.deployment = dep;
      c.spec.service = sp.name;
      c.spec.replica = static_cast<uint32_t>(r);
      c.spec.id = replica_id(sp.name, c.spec.replica);
      c.spec.command = {o.cmd, "3600"};
      c.stop_grace = 10s;
      ids_.push_back(runtime_key(c.spec)); // how the runtime knows it
      sp.replicas.push_back(std::make_shared<const container_config>(std::move(c)));
    }
    dp.services.push_back(std::move(sp));
    plan_ = std::move(dp);
  }

  ~nv_tree() {
    if (!stopped_) {
      double ignored = 0;
      stop(ignored, false);
    }
  }

  nv_tree(const nv_tree&) = delete;
  nv_tree& operator=(const nv_tree&) = delete;

  // Until the deployment is healthy: every container actor reported running.
  bool start(double& out_ms) {
    obs_ = sys_.spawn<caf::hidden>(observer, w_);
    auto threads0 = o_.profile ? read_thread_times() : thread_times{};
    node_config nc;
    nc.deployments.push_back(std::move(plan_));
    nc.observer = obs_.address();
    nc.services = &services_;
    auto c0 = cpu_ms_self();
    auto t0 = clk::now();
    node_ = sys_.spawn(node_actor, std::move(nc));
    caf::anon_send(obs_, node_);
    bool up =
        w_->wait(t0 + phase_, [&] { return w_->healthy_count >= 1 || !w_->failure_text.empty(); });
    if (!up || !w_->failure_text.empty()) {
      std::fprintf(stderr, "nodevisor: not healthy within %ds (deployment %s) %s\n",
                   o_.phase_timeout_s, std::string{to_string(w_->deployment)}.c_str(),
                   w_->failure_text.c_str());
      return false;
    }
    out_ms = ms(w_->healthy_at - t0);
    start_cpu_ms_ = cpu_ms_self() - c0;
    long running = 0;
    for (auto& id : ids_)
      running += prt_->state(id).state == container_state::running;
    if (running != n_) {
      std::fprintf(stderr, "nodevisor: healthy but %ld of %ld running in the runtime\n", running,
                   n_);
      return false;
    }
    if (o_.profile) {
      print_thread_times(("start_" + std::to_string(n_)).c_str(), threads0, read_thread_times());
      auto [p0, p1] = trt_->span(runtime_op::pull, t0);
      auto [s0, s1] = trt_->span(runtime_op::start, t0);
      std::printf("{\"profile\":\"start\",\"n\":%ld,\"first_pull_ms\":%.3f,\"last_pull_ms\":%.3f,"
                  "\"first_start_call_ms\":%.3f,\"last_start_call_ms\":%.3f,\"healthy_ms\":%.3f}\n",
                  n_, ms(*p0 - t0), ms(*p1 - t0), ms(*s0 - t0), ms(*s1 - t0), out_ms);
    }
    return true;
  }

  // kill -9 the k-th victim until its replacement has exec'd.
  bool restart(long k, double& out_ms) {
    const auto& id = ids_[victim(k, n_)];
    auto old = prt_->pid(id);
    if (!old) {
      std::fprintf(stderr, "nodevisor restart: %s is not running\n", id.c_str());
      return false;
    }
    uint64_t healthy_before = 0;
    {
      std::lock_guard lock{w_->mu};
      healthy_before = w_->healthy_count;
    }
    auto t0 = clk::now();
    ::kill(*old, SIGKILL);
    clk::time_point reaped_at{}, exec_at{};
    for (;;) {
      auto p = prt_->pid(id);
      auto now = clk::now();
      if (reaped_at == clk::time_point{} && p != old)
        reaped_at = now; // exited or removed: the I/O thread has reaped it
      if (p && *p != *old) {
        exec_at = now;
        break;
      }
      if (now - t0 > 10s) {
        std::fprintf(stderr, "nodevisor restart: %s not replaced within 10 s\n", id.c_str());
        return false;
      }
      std::this_thread::sleep_for(20us);
    }
    out_ms = ms(exec_at - t0);
    if (o_.profile) {
      auto at = [&](runtime_op op) { return trt_->first(op, id, t0).value_or(exec_at); };
      stamps_.push_back(restart_stamps{t0, reaped_at, at(runtime_op::remove), at(runtime_op::pull),
                                       at(runtime_op::create), at(runtime_op::start), exec_at});
    }
    // Reported: the deployment healthy again, i.e. the service saw the replica running again
    // and published it. Untimed for the exec'd metric; once it fails, not waited for again.
    if (reported_works_) {
      bool again = w_->wait(exec_at + 1s, [&] { return w_->healthy_count > healthy_before; });
      std::lock_guard lock{w_->mu};
      if (again)
        reported_ms_.push_back(ms(w_->healthy_at - t0));
      else
        std::printf("{\"check\":\"deployment_healthy_again_after_a_restart\",\"ok\":false,"
                    "\"deployment\":\"%s\",\"note\":\"not healthy 1 s after the replacement "
                    "exec'd; not measured further in this tree\"}\n",
                    std::string{to_string(w_->deployment)}.c_str());
      reported_works_ = again;
    }
    return true;
  }

  // Until the node is down; then checks that no actor or container is left, nor (with
  // `no_children`) any child process of this benchmark.
  bool stop(double& out_ms, bool no_children = true) {
    stopped_ = true;
    bool ok = true;
    if (node_) {
      auto threads0 = o_.profile ? read_thread_times() : thread_times{};
      auto c0 = cpu_ms_self();
      auto t0 = clk::now();
      caf::anon_send_exit(node_, caf::exit_reason::user_shutdown);
      node_ = nullptr;
      if (w_->wait(t0 + phase_, [&] { return w_->node_down; })) {
        out_ms = ms(w_->down_at - t0);
        stop_cpu_ms_ = cpu_ms_self() - c0;
        if (o_.profile) {
          print_thread_times(("stop_" + std::to_string(n_)).c_str(), threads0, read_thread_times());
          auto [s0, s1] = trt_->span(runtime_op::stop, t0);
          auto [r0, r1] = trt_->span(runtime_op::remove, t0);
          std::printf("{\"profile\":\"stop\",\"n\":%ld,\"first_stop_call_ms\":%.3f,"
                      "\"last_stop_call_ms\":%.3f,\"last_remove_call_ms\":%.3f,"
                      "\"node_down_ms\":%.3f}\n",
                      n_, s0 ? ms(*s0 - t0) : -1, s1 ? ms(*s1 - t0) : -1, r1 ? ms(*r1 - t0) : -1,
                      out_ms);
        }
      } else {
        std::fprintf(stderr, "nodevisor: node not down within %ds\n", o_.phase_timeout_s);
        ok = false;
      }
    }
    // Every actor of the tree must be gone before the runtime goes.
    auto gone_by = clk::now() + phase_;
    while (sys_.registry().running() > 0 && clk::now() < gone_by)
      std::this_thread::sleep_for(1ms);
    if (sys_.registry().running() > 0)
      die("actors still running " + std::to_string(o_.phase_timeout_s) + " s after the stop");
    sys_.await_all_actors_done();
    if (obs_) {
      caf::anon_send_exit(obs_, caf::exit_reason::kill);
      obs_ = nullptr;
    }
    long left = 0;
    for (auto& id : ids_)
      left += prt_->state(id).state != container_state::unknown;
    if (left != 0) {
      std::fprintf(stderr, "nodevisor: %ld containers left in the runtime after the stop\n", left);
      ok = false;
    }
    if (int children = bench::count_own_children(); no_children && children != 0) {
      std::fprintf(stderr, "nodevisor: %d child processes left after the stop\n", children);
      ok = false;
    }
    rt_.reset();
    trt_.reset();
    prt_.reset(); // kills and reaps anything left
    // A daemon runs one tree; here the next tree's memory baseline must not include what this
    // one left in the allocator's arenas.
    ::malloc_trim(0);
    return ok;
  }

  const std::vector<restart_stamps>& stamps() const { return stamps_; }
  const std::vector<double>& reported_ms() const { return reported_ms_; }
  // CPU time of this process's threads (CAF, the runtime's I/O thread, main) from the node's
  // spawn until all were running, and from the stop request until the node was down.
  double start_cpu_ms() const { return start_cpu_ms_; }
  double stop_cpu_ms() const { return stop_cpu_ms_; }

private:
  caf::actor_system& sys_;
  const options& o_;
  long n_;
  std::chrono::seconds phase_;
  std::unique_ptr<process_runtime> prt_;
  std::unique_ptr<timed_runtime> trt_;
  std::unique_ptr<composite_runtime> rt_;
  node_services services_{rt_.get(), nullptr, nullptr}; // after rt_: it points there
  std::shared_ptr<watch> w_;
  deployment_plan plan_;
  std::vector<std::string> ids_;
  caf::actor obs_;
  caf::actor node_;
  bool stopped_ = false;
  bool reported_works_ = true;
  double start_cpu_ms_ = 0, stop_cpu_ms_ = 0;
  std::vector<double> reported_ms_;
  std::vector<restart_stamps> stamps_;
};

void print_profile_restart(const std::vector<restart_stamps>& v) {
  if (v.empty())
    return;
  std::vector<double> a, b, c, d, e, f, total;
  for (auto& s : v) {
    a.push_back(ms(s.reaped - s.kill));
    b.push_back(ms(s.removed - s.reaped));
    c.push_back(ms(s.pulled - s.removed));
    d.push_back(ms(s.created - s.pulled));
    e.push_back(ms(s.started - s.created));
    f.push_back(ms(s.execd - s.started));
    total.push_back(ms(s.execd - s.kill));
  }
  auto row = [](const char* what, const std::vector<double>& x) {
    auto st = summarize(x);
    std::printf("{\"profile\":\"restart\",\"segment\":\"%s\",\"median_ms\":%.3f,\"p90_ms\":%.3f,"
                "\"max_ms\":%.3f}\n",
                what, st.median, st.p90, st.max);
  };
  // The reap is seen by the ~20 us poll, so the next segment can come out slightly negative.
  row("kill->reaped (kernel exit, I/O thread wakes on the pidfd and reaps; poll)", a);
  row("reaped->remove (container_exited to the container actor: 1 hop)", b);
  row("remove->pull (failure + down to the service, restart, spawn, init)", c);
  row("pull->create (pull reply: 1 hop)", d);
  row("create->start (create reply: 1 hop)", e);
  row("start->exec'd (queue, eventfd, I/O thread spawns; poll)", f);
  row("total kill->exec'd", total);
}

bool nv_start_stop(caf::actor_system& sys, const options& o, int rep, int tree, long n) {
  const auto n_s = std::to_string(n);
  nv_tree t{sys, o, tree, n};
  double start_ms = 0, stop_ms = 0;
  if (!t.start(start_ms))
    return false;
  record("start_" + n_s, "nodevisor", rep, start_ms);
  record("start_cpu_" + n_s, "nodevisor", rep, 1e3 * t.start_cpu_ms() / static_cast<double>(n),
         "us_per_child");
  if (!t.stop(stop_ms))
    return false;
  record("stop_" + n_s, "nodevisor", rep, stop_ms);
  record("stop_cpu_" + n_s, "nodevisor", rep, 1e3 * t.stop_cpu_ms() / static_cast<double>(n),
         "us_per_child");
  return true;
}

// All three implementations run n children at once; kills alternate in chunks.
bool restarts(caf::actor_system& sys, const options& o, int rep, int tree) {
  std::string error;
  bench::floor_pool bare{bench::floor_mode::bare, {o.cmd, "3600"}};
  bench::floor_pool full{bench::floor_mode::full, {o.cmd, "3600"}};
  nv_tree t{sys, o, tree, o.n};
  double ignored = 0;
  if (!bare.start(static_cast<std::size_t>(o.n), error) ||
      !full.start(static_cast<std::size_t>(o.n), error)) {
    std::fprintf(stderr, "floor start: %s\n", error.c_str());
    return false;
  }
  if (!t.start(ignored))
    return false;
  std::map<std::string, std::vector<double>> lat;
  auto threads0 = o.profile ? read_thread_times() : thread_times{};
  auto deadline = clk::now() + std::chrono::seconds{o.phase_timeout_s};
  for (long k0 = 0; k0 < o.kills; k0 += kill_chunk) {
    if (clk::now() > deadline) {
      std::fprintf(stderr, "restart: phase timeout after %ld kills each\n", k0);
      return false;
    }
    long k1 = std::min(o.kills, k0 + kill_chunk);
    for (auto* pool : {&bare, &full}) {
      ticker poll_alike;
      auto& v = lat[impl_name(pool == &bare ? bench::floor_mode::bare : bench::floor_mode::full)];
      for (long k = k0; k < k1; ++k) {
        auto t1 = clk::now();
        if (!pool->restart(victim(k, o.n), error)) {
          std::fprintf(stderr, "floor restart: %s\n", error.c_str());
          return false;
        }
        v.push_back(ms(clk::now() - t1));
        std::this_thread::sleep_for(2ms); // as between nodevisor's kills
      }
    }
    for (long k = k0; k < k1; ++k) {
      double d = 0;
      if (!t.restart(k, d))
        return false;
      lat["nodevisor"].push_back(d);
      // Untimed: let the replacement's trailing messages (start reply, states) drain.
      std::this_thread::sleep_for(2ms);
    }
  }
  if (!t.reported_ms().empty())
    lat["nodevisor_reported"] = t.reported_ms();
  for (auto& [impl, v] : lat) {
    auto s = summarize(v);
    record("restart_median", impl, rep, s.median);
    record("restart_p90", impl, rep, s.p90);
    record("restart_p99", impl, rep, s.p99);
    for (double x : v)
      samples["restart_all"][impl].push_back(x);
  }
  if (o.profile) {
    // main: the floors' kills and spawns plus nodevisor's poll; the rest is nodevisor's.
    print_thread_times("restarts", threads0, read_thread_times());
    print_profile_restart(t.stamps());
  }
  bool ok = t.stop(ignored, false);
  bare.stop_all();
  full.stop_all();
  if (int left = bench::count_own_children(); left != 0) {
    std::fprintf(stderr, "restart: %d children left after stop\n", left);
    ok = false;
  }
  return ok;
}

// --- memory probe ---------------------------------------------------------------------------
//
// Memory is measured in a fresh process, the daemon as it would be: this benchmark re-executes
// itself with --memory-probe on, which sets up the actor system, starts one tree of --n
// children, waits 1 s, measures, stops everything and prints one JSON line. Measured in the
// long-lived benchmark process instead, earlier trees' leftovers in the allocator (glibc
// arenas, CAF's caches) would be counted too.

long heap_in_use_kib() {
  auto mi = ::mallinfo2();
  return static_cast<long>((mi.uordblks + mi.hblkhd) / 1024);
}

caf::actor_system_config& daemon_config(caf::actor_system_config& cfg) {
  register_message_types(cfg);
  register_supervisor_types(cfg);
  // As `nodevisor run` configures it.
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("scheduler.max-threads", std::max(2u, std::thread::hardware_concurrency()));
  return cfg;
}

int memory_probe_main(const options& o) {
  // If the benchmark dies, so does the probe (its handler kills its own children).
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  auto m_main = read_mem();
  auto h_main = heap_in_use_kib();
  bool ok = true;
  {
    caf::actor_system_config cfg;
    caf::actor_system sys{daemon_config(cfg)};
    std::this_thread::sleep_for(100ms); // let the scheduler's threads settle
    auto m_idle = read_mem();
    auto h_idle = heap_in_use_kib();
    if (o.profile) {
      // What the process runtime alone holds per container (created, not started): its
      // record, the launch data with the environment copied from the daemon's.
      process_runtime alone;
      auto h0 = heap_in_use_kib();
      container_spec spec;
      spec.deployment = "pb";
      spec.service = "s";
      spec.command = {o.cmd, "3600"};
      for (long r = 1; r <= o.n; ++r) {
        spec.replica = static_cast<uint32_t>(r);
        spec.id = replica_id(spec.service, spec.replica);
        alone.create(spec, caf::actor{});
      }
      auto h1 = heap_in_use_kib();
      std::size_t env_bytes = 0, env_vars = 0;
      for (char** e = environ; e && *e; ++e, ++env_vars)
        env_bytes += std::strlen(*e);
      std::printf("{\"profile\":\"heap\",\"what\":\"process_runtime record per created "
                  "container\",\"bytes\":%.0f,\"daemon_env_vars\":%zu,\"daemon_env_bytes\":%zu}\n",
                  1024.0 * static_cast<double>(h1 - h0) / static_cast<double>(o.n), env_vars,
                  env_bytes);
    }
    if (o.profile)
      std::printf("{\"profile\":\"sizeof\",\"container_config\":%zu,\"container_spec\":%zu,"
                  "\"container_actor_state\":%zu,\"child_spec\":%zu,\"child_record\":%zu}\n",
                  sizeof(container_config), sizeof(container_spec), sizeof(container_actor_state),
                  sizeof(child_spec), sizeof(child_record));
    nv_tree t{sys, o, 1, o.n};
    auto h_plan = heap_in_use_kib();
    if (o.profile)
      std::printf("{\"profile\":\"heap\",\"what\":\"plan: one container_config per "
                  "replica\",\"bytes\":%.0f}\n",
                  1024.0 * static_cast<double>(h_plan - h_idle) / static_cast<double>(o.n));
    double start_ms = 0, stop_ms = 0;
    ok = t.start(start_ms);
    if (ok) {
      std::this_thread::sleep_for(1s); // as the peers were measured
      auto m = read_mem();
      auto h = heap_in_use_kib();
      if (o.profile)
        print_top_mappings(20);
      std::printf("{\"probe\":\"memory\",\"n\":%ld,\"pss_main\":%ld,\"pss_idle\":%ld,"
                  "\"pss\":%ld,\"rss\":%ld,\"uss\":%ld,\"heap_main\":%ld,\"heap_idle\":%ld,"
                  "\"heap\":%ld,\"start_ms\":%.3f}\n",
                  o.n, m_main.pss_kib, m_idle.pss_kib, m.pss_kib, m.rss_kib, m.uss_kib, h_main,
                  h_idle, h, start_ms);
    }
    ok = t.stop(stop_ms) && ok;
  }
  std::fflush(stdout);
  return ok ? 0 : 1;
}

double json_number(const std::string& line, const std::string& key) {
  auto at = line.find("\"" + key + "\":");
  if (at == std::string::npos)
    return -1;
  return std::strtod(line.c_str() + at + key.size() + 3, nullptr);
}

bool run_memory_probe(const options& o, int rep) {
  std::vector<std::string> args{"/proc/self/exe",
                                "--memory-probe",
                                "on",
                                "--n",
                                std::to_string(o.n),
                                "--kills",
                                "0",
                                "--small",
                                "0",
                                "--cmd",
                                o.cmd,
                                "--log-level",
                                o.log_level,
                                "--phase-timeout",
                                std::to_string(o.phase_timeout_s),
                                "--profile",
                                o.profile ? "on" : "off"};
  std::string output;
  auto rc = bench::run_self(args, std::chrono::seconds{3 * o.phase_timeout_s}, output);
  std::istringstream lines{output};
  std::string line, probe;
  while (std::getline(lines, line)) {
    if (line.rfind("{\"probe\":\"memory\"", 0) == 0)
      probe = line;
    std::printf("%s\n", line.c_str()); // the probe's own lines (profile, errors) go on
  }
  if (rc != 0 || probe.empty()) {
    std::fprintf(stderr, "memory probe failed (exit %d)\n", rc);
    return false;
  }
  const auto n_s = std::to_string(o.n);
  auto kib = [&](const char* key) { return json_number(probe, key); };
  record("pss_main", "nodevisor", rep, kib("pss_main"), "kib");
  record("pss_idle", "nodevisor", rep, kib("pss_idle"), "kib");
  record("pss_" + n_s, "nodevisor", rep, kib("pss"), "kib");
  record("rss_" + n_s, "nodevisor", rep, kib("rss"), "kib");
  record("uss_" + n_s, "nodevisor", rep, kib("uss"), "kib");
  record("heap_" + n_s, "nodevisor", rep, kib("heap"), "kib");
  auto per_child = [&](double a, double b) { return 1024.0 * (a - b) / static_cast<double>(o.n); };
  record("pss_per_child", "nodevisor", rep, per_child(kib("pss"), kib("pss_idle")), "bytes");
  record("heap_per_child", "nodevisor", rep, per_child(kib("heap"), kib("heap_idle")), "bytes");
  return true;
}

// --- report ---------------------------------------------------------------------------------

const char* const impls[] = {"floor_full", "floor_bare", "nodevisor", "nodevisor_reported"};

const std::vector<double>& get(const std::string& metric, const std::string& impl) {
  static const std::vector<double> none;
  auto m = samples.find(metric);
  if (m == samples.end())
    return none;
  auto i = m->second.find(impl);
  return i == m->second.end() ? none : i->second;
}

double ratio(const std::string& metric, const std::string& against,
             const std::string& impl = "nodevisor") {
  auto& a = get(metric, impl);
  auto& b = get(metric, against);
  if (a.empty() || b.empty())
    return 0;
  auto sb = summarize(b).median;
  return sb > 0 ? summarize(a).median / sb : 0;
}

void json_summary(const std::string& metric, double target) {
  if (samples.find(metric) == samples.end())
    return;
  std::printf("{\"summary\":\"%s\"", metric.c_str());
  for (const char* impl : impls) {
    auto& v = get(metric, impl);
    if (v.empty())
      continue;
    auto s = summarize(v);
    std::printf(",\"%s\":{\"median\":%.3f,\"min\":%.3f,\"max\":%.3f,\"p90\":%.3f,\"p99\":%.3f,"
                "\"n\":%zu}",
                impl, s.median, s.min, s.max, s.p90, s.p99, s.count);
  }
  if (!get(metric, "floor_full").empty() && !get(metric, "nodevisor").empty())
    std::printf(",\"ratio_vs_full\":%.2f,\"ratio_vs_bare\":%.2f", ratio(metric, "floor_full"),
                ratio(metric, "floor_bare"));
  if (target > 0)
    std::printf(",\"target\":%.2f", target);
  std::printf("}\n");
}

std::string cell(const std::vector<double>& v, double scale) {
  if (v.empty())
    return "-";
  auto s = summarize(v);
  char out[64];
  if (s.count == 1)
    std::snprintf(out, sizeof out, "%.2f", s.median * scale);
  else
    std::snprintf(out, sizeof out, "%.2f [%.2f-%.2f]", s.median * scale, s.min * scale,
                  s.max * scale);
  return out;
}

void print_row(const std::string& label, const std::string& metric, double target,
               double scale = 1.0, const std::string& nv = "nodevisor") {
  if (samples.find(metric) == samples.end() || get(metric, nv).empty())
    return;
  char r[48] = "";
  if (!get(metric, "floor_full").empty())
    std::snprintf(r, sizeof r, "%.2fx (bare %.2fx)", ratio(metric, "floor_full", nv),
                  ratio(metric, "floor_bare", nv));
  char t[24] = "";
  if (target > 0)
    std::snprintf(t, sizeof t, "<= %.1fx", target);
  std::printf("| %-28s | %-24s | %-24s | %-24s | %-20s | %-8s |\n", label.c_str(),
              cell(get(metric, "floor_full"), scale).c_str(),
              cell(get(metric, "floor_bare"), scale).c_str(), cell(get(metric, nv), scale).c_str(),
              r, t);
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
    else if (a == "--profile")
      o.profile = v == "1" || v == "on" || v == "true";
    else if (a == "--memory-probe")
      o.memory_probe = v == "1" || v == "on" || v == "true";
    else
      return false;
  }
  return o.n > 0 && o.small >= 0 && o.kills >= 0 && (o.kills <= o.n && o.n % 7 != 0) &&
         o.reps > 0 && o.phase_timeout_s > 0;
}

} // namespace

int main(int argc, char** argv) {
  options o;
  bool parsed = parse(argc, argv, o);
  if (parsed && !o.memory_probe) {
    // The benchmark runs in a child; this process reaps and kills whatever it leaves behind.
    if (int code = bench::guard_children(); code >= 0)
      return code;
  }
  if (!parsed) {
    std::fprintf(stderr, "usage: process_bench [--n 1000 (not a multiple of 7)] [--small 100] "
                         "[--kills 200 (<= n)] [--reps 3] [--cmd sleep] [--log-level off] "
                         "[--phase-timeout 60] [--profile on]\n");
    return 2;
  }
  if (bench::count_own_children() != 0) {
    std::fprintf(stderr, "process_bench: this process already has children; refusing to run\n");
    return 2;
  }
  // A repetition has at most 8 phases of --phase-timeout plus the probe's 3; bounded overall.
  install_safety_net(static_cast<unsigned>(o.reps) * 12u *
                     static_cast<unsigned>(o.phase_timeout_s));
  ::prctl(PR_SET_TIMERSLACK, 1000UL); // the restart poll sleeps 20 us; keep it near that
  spdlog::set_level(spdlog::level::from_str(o.log_level));
  if (o.memory_probe)
    return memory_probe_main(o);
  auto load_start = loadavg();

  bool ok = true;
  {
    caf::actor_system_config cfg;
    caf::actor_system sys{daemon_config(cfg)};
    int tree = 0;
    for (int rep = 1; rep <= o.reps && ok; ++rep) {
      // Each start and stop alone; floors and nodevisor one after another.
      for (long n : {o.small, o.n}) {
        if (n <= 0 || !ok)
          continue;
        // The order rotates with the repetition, so that none always runs first (on colder
        // caches) or right after another's stop.
        for (int k = 0; k < 3 && ok; ++k) {
          switch ((k + rep - 1) % 3) {
          case 0:
            ok = floor_start_stop(o, bench::floor_mode::bare, rep, n);
            break;
          case 1:
            ok = floor_start_stop(o, bench::floor_mode::full, rep, n);
            break;
          default:
            ok = nv_start_stop(sys, o, rep, ++tree, n);
            break;
          }
        }
      }
      ok = ok && run_memory_probe(o, rep);
      if (ok && o.kills > 0)
        ok = restarts(sys, o, rep, ++tree);
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
  json_summary("start_" + small_s, 1.1);
  json_summary("start_" + n_s, 1.1);
  json_summary("restart_median", 2.5);
  json_summary("restart_p90", 0);
  json_summary("restart_p99", 2.5);
  json_summary("restart_all", 0);
  json_summary("stop_" + small_s, 2.0);
  json_summary("stop_" + n_s, 2.0);
  json_summary("start_cpu_" + n_s, 0);
  json_summary("stop_cpu_" + n_s, 0);
  json_summary("pss_main", 0);
  json_summary("pss_idle", 0);
  json_summary("pss_" + n_s, 0);
  json_summary("rss_" + n_s, 0);
  json_summary("uss_" + n_s, 0);
  json_summary("heap_" + n_s, 0);
  json_summary("pss_per_child", 0);
  json_summary("heap_per_child", 0);
  std::printf("{\"loadavg_start\":\"%s\",\"loadavg_end\":\"%s\","
              "\"reps\":%d,\"n\":%ld,\"kills\":%ld,\"cmd\":\"%s\",\"ok\":%s}\n",
              load_start.c_str(), load_end.c_str(), o.reps, o.n, o.kills, o.cmd.c_str(),
              ok ? "true" : "false");

  std::printf("\nprocess_bench: %d reps; median [min-max] of the per-rep values; ms unless noted; "
              "loadavg %s -> %s\n",
              o.reps, load_start.c_str(), load_end.c_str());
  std::printf("| %-28s | %-24s | %-24s | %-24s | %-20s | %-8s |\n", "metric", "floor (full)",
              "floor (bare)", "nodevisor", "nv / floor", "target");
  std::printf("|%s|%s|%s|%s|%s|%s|\n", std::string(30, '-').c_str(), std::string(26, '-').c_str(),
              std::string(26, '-').c_str(), std::string(26, '-').c_str(),
              std::string(22, '-').c_str(), std::string(10, '-').c_str());
  print_row("start N=" + small_s, "start_" + small_s, 1.1);
  print_row("start N=" + n_s, "start_" + n_s, 1.1);
  print_row("restart median (per rep)", "restart_median", 2.5);
  print_row("restart p90 (per rep)", "restart_p90", 0);
  print_row("restart p99 (per rep)", "restart_p99", 2.5);
  print_row("  reported healthy, median", "restart_median", 0, 1.0, "nodevisor_reported");
  print_row("  reported healthy, p99", "restart_p99", 0, 1.0, "nodevisor_reported");
  print_row("stop N=" + small_s, "stop_" + small_s, 2.0);
  print_row("stop N=" + n_s, "stop_" + n_s, 2.0);
  print_row("start CPU/child N=" + n_s + " (us)", "start_cpu_" + n_s, 0);
  print_row("stop CPU/child N=" + n_s + " (us)", "stop_cpu_" + n_s, 0);
  print_row("PSS at main() (MiB)", "pss_main", 0, 1.0 / 1024);
  print_row("PSS, actor system idle (MiB)", "pss_idle", 0, 1.0 / 1024);
  print_row("PSS with " + n_s + " (MiB)", "pss_" + n_s, 0, 1.0 / 1024);
  print_row("RSS with " + n_s + " (MiB)", "rss_" + n_s, 0, 1.0 / 1024);
  print_row("USS with " + n_s + " (MiB)", "uss_" + n_s, 0, 1.0 / 1024);
  print_row("malloc in use, " + n_s + " (MiB)", "heap_" + n_s, 0, 1.0 / 1024);
  print_row("PSS per child (bytes)", "pss_per_child", 0);
  print_row("malloc per child (bytes)", "heap_per_child", 0);
  if (!get("restart_all", "nodevisor").empty()) {
    std::printf("restart, all kills pooled:");
    for (const char* impl : impls) {
      auto s = summarize(get("restart_all", impl));
      std::printf("  %s median %.3f p90 %.3f p99 %.3f max %.3f (n=%zu);", impl, s.median, s.p90,
                  s.p99, s.max, s.count);
    }
    std::printf("\n");
  }
  std::printf("memory: a fresh process per repetition (--memory-probe), 1 s after all-up; "
              "PSS target < 14 MiB\n");
  return ok ? 0 : 1;
}
