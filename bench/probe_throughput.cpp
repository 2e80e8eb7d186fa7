// Macro benchmark: tcp check throughput against local listeners. The bench opens a few
// listening sockets on 127.0.0.1 (ephemeral ports) and one thread that accepts and closes
// every connection; checks go to them round-robin, for a bounded time per measurement.
//
// Two modes, each at every concurrency C:
// - runner: C checks kept in flight on the shared check_runner (the reactor the probes use) by
//   one driver actor that resubmits each as it completes. Gives checks/s and latency: submit ->
//   check_done received by the actor, and the runner's own connect time.
// - probe: C real probe actors (actors/probe_actor.hpp) with a tcp check, start_grace 0 and
//   interval 0 (each starts its next check as soon as the previous one is done), under one
//   parent standing in for the container actor. The probe reports nothing per check, so
//   checks/s is counted where the checks arrive: connections accepted by the listeners.
//
//   probe_throughput [--concurrency 10,100,1000] [--seconds 1] [--reps 3] [--listeners 4]
//                    [--modes runner,probe]
//
// Output: one JSON line per measurement, then a table (median [min-max] over repetitions).
//   {"bench":"probe_throughput","metric":M,"mode":"runner"|"probe","concurrency":C,
//    "seconds":D,"rep":R,"value":V,"unit":U}
// metric (unit): checks_per_s (1/s); failed (count, checks that did not pass in the window;
// runner mode only); latency_p50, latency_p99, connect_p50, connect_p99 (us, runner mode).
#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/checks/check_runner.hpp"
#include "actors/node_services.hpp"
#include "actors/probe_actor.hpp"
#include "bench/macro_util.hpp"
#include "messages/caf/register_types.hpp"
#include "supervisor/supervisor.hpp"

using namespace nv;
using namespace std::chrono_literals;
using bench_clock = std::chrono::steady_clock;

namespace {

// Listening sockets on 127.0.0.1 and the thread that accepts and closes their connections.
class listeners {
public:
  explicit listeners(int count) {
    stop_ = unique_fd{::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
    for (int i = 0; i < count; ++i) {
      unique_fd fd{::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      socklen_t len = sizeof addr;
      if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
          ::listen(fd.get(), 4096) != 0 ||
          ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        throw std::runtime_error(std::string{"listener: "} + std::strerror(errno));
      ports_.push_back(ntohs(addr.sin_port));
      fds_.push_back(std::move(fd));
    }
    thread_ = std::thread{[this] { run(); }};
  }

  ~listeners() {
    ::eventfd_write(stop_.get(), 1);
    thread_.join();
  }

  const std::vector<uint16_t>& ports() const { return ports_; }
  uint64_t accepted() const { return accepted_.load(); }

private:
  void run() {
    std::vector<pollfd> polled;
    for (auto& fd : fds_)
      polled.push_back({fd.get(), POLLIN, 0});
    polled.push_back({stop_.get(), POLLIN, 0});
    for (;;) {
      if (::poll(polled.data(), polled.size(), -1) < 0 && errno != EINTR)
        return;
      if (polled.back().revents)
        return;
      for (std::size_t i = 0; i + 1 < polled.size(); ++i) {
        if (!polled[i].revents)
          continue;
        for (;;) {
          int c = ::accept4(polled[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
          if (c < 0)
            break;
          ::close(c);
          accepted_.fetch_add(1, std::memory_order_relaxed);
        }
      }
    }
  }

  unique_fd stop_;
  std::vector<unique_fd> fds_;
  std::vector<uint16_t> ports_;
  std::atomic<uint64_t> accepted_{0};
  std::thread thread_;
};

struct runner_stats {
  std::vector<double> latency_us, connect_us; // checks that passed inside the window
  uint64_t failed = 0;                        // ... and those that did not
};

// Shared by the driver actor and main: `done` is set once the window closed and every check
// in flight came back.
struct driver_box {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  runner_stats stats;
};

struct driver_state {
  std::unordered_map<uint64_t, bench_clock::time_point> in_flight; // ticket -> submitted
  std::size_t next_port = 0;
  static inline const char* name = "bench.check_driver";
};

caf::behavior check_driver(caf::stateful_actor<driver_state>* self, check_runner* runner,
                           std::vector<uint16_t> ports, long concurrency,
                           bench_clock::time_point end, driver_box* box) {
  auto submit = [self, runner, ports] {
    auto& st = self->state;
    auto port = ports[st.next_port++ % ports.size()];
    auto t = bench_clock::now();
    auto ticket = runner->submit(tcp_check{port}, 1s, caf::actor_cast<caf::actor>(self));
    st.in_flight.emplace(ticket, t);
  };
  for (long i = 0; i < concurrency; ++i)
    submit();
  return {
      [self, submit, end, box](check_done& done) {
        auto now = bench_clock::now();
        auto& st = self->state;
        auto it = st.in_flight.find(done.ticket);
        if (it == st.in_flight.end())
          return;
        auto submitted = it->second;
        st.in_flight.erase(it);
        if (now <= end) {
          // Only the driver writes the stats until `done`, which main waits for under the lock.
          auto& s = box->stats;
          if (done.result.ok) {
            s.latency_us.push_back(
                std::chrono::duration<double, std::micro>(now - submitted).count());
            s.connect_us.push_back(
                std::chrono::duration<double, std::micro>(done.result.latency).count());
          } else {
            ++s.failed;
          }
          submit();
        } else if (st.in_flight.empty()) {
          std::lock_guard g{box->mu};
          box->done = true;
          box->cv.notify_all();
          self->quit();
        }
      },
  };
}

// Stands in for the container actor: owns the probes (they exit with it) and hears their
// health changes, which this bench does not need.
caf::behavior probe_parent(caf::event_based_actor* self, std::vector<uint16_t> ports,
                           long concurrency, const node_services* services) {
  for (long i = 0; i < concurrency; ++i) {
    child_context replica{"/bench/p" + std::to_string(i), "p" + std::to_string(i), {}, services};
    probe_config cfg;
    cfg.replica_id = replica.id;
    cfg.check = tcp_check{ports[static_cast<std::size_t>(i) % ports.size()]};
    cfg.start_grace = 0s;
    cfg.interval = 0s;
    cfg.timeout = 1s;
    self->spawn(probe_actor, probe_context(replica, self->address()), std::move(cfg));
  }
  return {[](state_change&) {}, [](failure&) {}};
}

struct measurement {
  double checks_per_s = 0;
  uint64_t failed = 0;
  double lat_p50 = 0, lat_p99 = 0, conn_p50 = 0, conn_p99 = 0;
};

measurement run_runner(caf::actor_system& sys, check_runner& runner, const listeners& l,
                       long concurrency, double seconds) {
  driver_box box;
  auto window =
      std::chrono::duration_cast<bench_clock::duration>(std::chrono::duration<double>(seconds));
  auto start = bench_clock::now();
  sys.spawn(check_driver, &runner, l.ports(), concurrency, start + window, &box);
  {
    std::unique_lock g{box.mu};
    box.cv.wait(g, [&] { return box.done; });
  }
  measurement m;
  auto& s = box.stats;
  m.checks_per_s = static_cast<double>(s.latency_us.size()) / seconds;
  m.failed = s.failed;
  std::sort(s.latency_us.begin(), s.latency_us.end());
  std::sort(s.connect_us.begin(), s.connect_us.end());
  m.lat_p50 = bench::percentile(s.latency_us, 50);
  m.lat_p99 = bench::percentile(s.latency_us, 99);
  m.conn_p50 = bench::percentile(s.connect_us, 50);
  m.conn_p99 = bench::percentile(s.connect_us, 99);
  return m;
}

measurement run_probes(caf::actor_system& sys, check_runner& runner, const listeners& l,
                       long concurrency, double seconds) {
  node_services services{nullptr, &runner, nullptr};
  auto parent = sys.spawn(probe_parent, l.ports(), concurrency, &services);
  std::this_thread::sleep_for(100ms); // all probes spawned and checking
  auto a0 = l.accepted();
  auto t0 = bench_clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  auto a1 = l.accepted();
  auto elapsed = std::chrono::duration<double>(bench_clock::now() - t0).count();
  caf::anon_send_exit(parent, caf::exit_reason::user_shutdown);
  parent = nullptr;
  sys.await_all_actors_done(); // the probes follow their parent; checks in flight are cancelled
  measurement m;
  m.checks_per_s = static_cast<double>(a1 - a0) / elapsed;
  return m;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<long> concurrencies{10, 100, 1000};
  double seconds = 1;
  int reps = 3;
  long listener_count = 4;
  std::vector<std::string> modes{"runner", "probe"};
  bool ok = true;
  for (int i = 1; i < argc && ok; i += 2) {
    std::string a = argv[i];
    if (i + 1 >= argc) {
      ok = false;
      break;
    }
    std::string v = argv[i + 1];
    if (a == "--concurrency") {
      ok = bench::parse_longs(v, concurrencies) &&
           std::all_of(concurrencies.begin(), concurrencies.end(), [](long c) { return c > 0; });
    } else if (a == "--seconds") {
      seconds = std::atof(v.c_str());
    } else if (a == "--reps") {
      reps = std::atoi(v.c_str());
    } else if (a == "--listeners") {
      listener_count = std::atol(v.c_str());
    } else if (a == "--modes") {
      modes.clear();
      for (const auto* m : {"runner", "probe"})
        if (v.find(m) != std::string::npos)
          modes.emplace_back(m);
      ok = !modes.empty();
    } else {
      ok = false;
    }
  }
  if (!ok || seconds <= 0 || seconds > 60 || reps <= 0 || listener_count <= 0 ||
      listener_count > 64) {
    std::fprintf(stderr, "usage: probe_throughput [--concurrency 10,100,1000] [--seconds 1] "
                         "[--reps 3] [--listeners 4] [--modes runner,probe]\n");
    return 2;
  }
  spdlog::set_level(spdlog::level::err); // every probe logs its first pass otherwise
  std::printf("# probe_throughput: %u cores, load %s\n", std::thread::hardware_concurrency(),
              bench::load_average().c_str());
  auto started = bench_clock::now();
  std::map<std::pair<std::string, long>, std::vector<measurement>> all;
  {
    listeners l{static_cast<int>(listener_count)};
    check_runner runner; // outlives the actor system
    caf::actor_system_config cfg;
    register_message_types(cfg);
    register_supervisor_types(cfg);
    cfg.set("scheduler.policy", caf::atom("sharing"));
    cfg.set("scheduler.max-threads", std::max(2u, std::thread::hardware_concurrency()));
    caf::actor_system sys{cfg};
    for (int rep = 1; rep <= reps; ++rep) {
      for (const auto& mode : modes) {
        for (auto c : concurrencies) {
          auto m = mode == "runner" ? run_runner(sys, runner, l, c, seconds)
                                    : run_probes(sys, runner, l, c, seconds);
          all[{mode, c}].push_back(m);
          char dims[160];
          std::snprintf(dims, sizeof dims, "\"mode\":\"%s\",\"concurrency\":%ld,\"seconds\":%g",
                        mode.c_str(), c, seconds);
          bench::json_line("probe_throughput", "checks_per_s", dims, rep, m.checks_per_s, "1/s");
          if (mode == "runner") {
            bench::json_line("probe_throughput", "failed", dims, rep, static_cast<double>(m.failed),
                             "count");
            bench::json_line("probe_throughput", "latency_p50", dims, rep, m.lat_p50, "us");
            bench::json_line("probe_throughput", "latency_p99", dims, rep, m.lat_p99, "us");
            bench::json_line("probe_throughput", "connect_p50", dims, rep, m.conn_p50, "us");
            bench::json_line("probe_throughput", "connect_p99", dims, rep, m.conn_p99, "us");
          }
          std::fflush(stdout);
        }
      }
    }
  }
  std::printf("\n# tcp checks against %ld listeners on 127.0.0.1, %g s per measurement; median "
              "[min-max] of %d repetitions\n",
              listener_count, seconds, reps);
  std::printf("%-7s %-6s %-24s %-8s %-22s %-22s %-20s %-20s\n", "mode", "C", "checks/s", "failed",
              "latency p50 (us)", "latency p99 (us)", "connect p50 (us)", "connect p99 (us)");
  for (auto& [key, ms] : all) {
    auto col = [&](auto field, const char* fmt) {
      std::vector<double> v;
      for (auto& m : ms)
        v.push_back(field(m));
      return bench::spread(v, fmt);
    };
    bool runner_mode = key.first == "runner";
    auto opt = [&](auto field) { return runner_mode ? col(field, "%.0f") : std::string{"-"}; };
    std::printf("%-7s %-6ld %-24s %-8s %-22s %-22s %-20s %-20s\n", key.first.c_str(), key.second,
                col([](auto& m) { return m.checks_per_s; }, "%.0f").c_str(),
                opt([](auto& m) { return static_cast<double>(m.failed); }).c_str(),
                opt([](auto& m) { return m.lat_p50; }).c_str(),
                opt([](auto& m) { return m.lat_p99; }).c_str(),
                opt([](auto& m) { return m.conn_p50; }).c_str(),
                opt([](auto& m) { return m.conn_p99; }).c_str());
  }
  std::printf("\n# total %.1f s, load at end %s\n",
              std::chrono::duration<double>(bench_clock::now() - started).count(),
              bench::load_average().c_str());
  return 0;
}
