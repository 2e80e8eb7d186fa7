// Real-process supervision, side by side: nodevisor (the real `nodevisor run` binary) against
// s6, runit, daemontools, supervisord, systemd (user manager), an OTP supervisor and the floor
// (bench/floor.hpp: the same kernel work with no supervisor), in one run, on the same work:
// N children running `/bin/sleep 3600`.
//
//   peer_bench [--n 1000] [--small 100] [--reps 3] [--kills 50] [--crash-seconds 30]
//              [--peers floor,nodevisor,runit,s6,daemontools,supervisord,systemd,otp]
//              [--nodevisor PATH] [--phase-timeout 60]
//   (run as root after scripts/setup-bench.sh; --small 0, --reps 0 or --crash-seconds 0 skip
//   those parts)
//
// Every implementation is observed the same way, from outside, through /proc:
//   start    launch of the supervisor → all N children have exec'd the command (N processes
//            named `sleep`, not zombies, descended from the supervisor), scanned with a pause
//            of twice the last scan between scans (at least 2 ms);
//   memory   1.2 s after all-up: PSS (RSS, Private_Dirty) from /proc/PID/smaps_rollup summed over
//   every
//            supervisor-side process, i.e. the supervisor and all its descendants that are not
//            a child (runsvdir + runsv, s6-svscan + s6-supervise, svscan + supervise,
//            supervisord, systemd, beam.smp + erl_child_setup + the killer sh, nodevisor, the
//            floor's server process);
//   restart  with N running, 1.2 s after all-up (the 1 s pacing of runit, daemontools and s6 is
//            then not due): kill -9 of child P of parent Q, then /proc/Q/task/*/children polled
//            every ~20 us until a new pid appears whose comm is `sleep` (it has exec'd); --kills
//            distinct children spread over the N; a kill with no replacement in 10 s counts as
//            missed; each kill 50 ms after the previous replacement appeared, so that it finds
//            the supervisor idle. The floor is asked to do its own kill (floor_pool::restart)
//            through a pipe;
//   stop     1.2 s after the kills (or after all-up for --small; runsv delays the stop of a
//            service younger than 1 s): the stop request → every one of the N children is
//            reaped (gone from /proc); also → the supervisor-side processes are gone too;
//   crash    every peer at once, for --crash-seconds: one child that appends its start time
//            (CLOCK_MONOTONIC) to a file and exits 1 (crash_child), each peer at its defaults;
//            the start times relative to the launch, and what the tool says at the end.
// Each repetition runs the implementations one after the other, alone on the machine, in an
// order that rotates with the repetition; N=--n then N=--small. The crash-loop run comes last.
//
// Output: one JSON object per line on stdout, then a human-readable table. Fields:
//   metric  "machine" | "config" | "start" | "memory" | "restart" | "stop" | "crash" | "summary"
//           | "error"
//   impl    "floor" | "nodevisor" | "runit" | "s6" | "daemontools" | "supervisord" | "systemd"
//           | "otp"
//   n       children supervised;  rep: 1-based repetition (0 on machine, config, crash, summary)
//   value   number or null;  unit: "ms" | "kB" | "starts" | ""
//   config:  mode ("steady" | "crash"), note (the configuration used, in words)
//   memory:  value = PSS; rss_kb, dirty_kb (Private_Dirty: the pages the supervisor wrote
//            itself; PSS also holds library text, whose share depends on which other processes
//            map the same libraries at the time), processes, by_comm {comm: count}
//   restart: value = median of the rep's kills; p90, min, max, kills, missed, samples [ms...]
//   stop:    value = until the N children are reaped; tree_ms (until the supervisor side is
//            gone too, null if it outlived 10 s); leftover (processes still alive after the
//            bounded wait, killed by the benchmark: should be 0)
//   machine: impl "-", at ("begin" | "end"), cores, load (1/5/15 min averages), kernel
//   start:   timed_out (bool), polls (scans of /proc), poll_ms (mean duration of one scan)
//   crash:   value = starts seen in the window; window_s, starts_ms [ms after launch...],
//            gaps_ms [...], state (the tool's own report at the end of the window)
//   summary: of (the metric summarised: start, stop, memory, memory_dirty, restart), value =
//            median over the reps, min, max, reps; for restart the pooled median, p90, min,
//            max over every kill of every rep, and rep_median_min, rep_median_max
//   error:   what (text)
// Nothing is left running: every wait is bounded; the benchmark runs in a child of a guardian
// (bench/floor.hpp guard_children: a subreaper that kills and reaps whatever is left however
// the benchmark ends); the benchmark is a subreaper too and kills every descendant by pid after
// each implementation; service dirs live in a private mktemp directory, removed at the end
// with the cgroups the systemd user managers used.
#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "bench/floor.hpp"
#include "bench/peers/common.hpp"
#include "bench/peers/peer.hpp"

using namespace nv::bench::peers;
using namespace std::chrono_literals;

namespace {

struct options {
  std::size_t n = 1000;
  std::size_t small = 100;
  int reps = 3;
  std::size_t kills = 50;
  int crash_seconds = 30;
  std::vector<std::string> peers{"floor",       "nodevisor",   "runit",   "s6",
                                 "daemontools", "supervisord", "systemd", "otp"};
  std::string nodevisor;
  int phase_timeout = 60;
};

const adapter* find_adapter(const std::string& name) {
  for (auto* a :
       {&floor_adapter(), &nodevisor_adapter(), &runit_adapter(), &s6_adapter(),
        &daemontools_adapter(), &supervisord_adapter(), &systemd_adapter(), &otp_adapter()})
    if (name == a->name)
      return a;
  return nullptr;
}

// ---- JSON output ----------------------------------------------------------------------------

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string json_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

std::string json_numbers(const std::vector<double>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i)
    out += (i ? "," : "") + json_number(v[i]);
  return out + "]";
}

// One line: the common fields, then `extra` (already JSON: ,"key":value...).
void emit(const std::string& metric, const std::string& impl, std::size_t n, int rep,
          std::optional<double> value, const std::string& unit, const std::string& extra = {}) {
  std::printf("{\"metric\":%s,\"impl\":%s,\"n\":%zu,\"rep\":%d,\"value\":%s,\"unit\":%s%s}\n",
              json_string(metric).c_str(), json_string(impl).c_str(), n, rep,
              value ? json_number(*value).c_str() : "null", json_string(unit).c_str(),
              extra.c_str());
  std::fflush(stdout);
}

// ---- statistics -----------------------------------------------------------------------------

double quantile(std::vector<double> v, double q) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  // Nearest rank: the smallest value with at least q of the samples at or below it.
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

double median(const std::vector<double>& v) {
  if (v.empty())
    return 0;
  auto s = v;
  std::sort(s.begin(), s.end());
  auto m = s.size() / 2;
  return s.size() % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// Results kept for the summary and the table: (impl, metric, n) → one value per rep.
struct results {
  std::map<std::tuple<std::string, std::string, std::size_t>, std::vector<double>> per_rep;
  std::map<std::string, std::vector<double>> restart_samples; // impl → every kill, pooled
  std::map<std::string, std::vector<double>> restart_p90;     // impl → p90 per rep
  struct crash_result {
    std::vector<double> starts_ms;
    std::string state;
  };
  std::map<std::string, crash_result> crash;
  std::map<std::string, std::string> errors;
};

// ---- process bookkeeping --------------------------------------------------------------------

std::string child_comm(const std::vector<std::string>& argv) {
  auto base = argv[0].substr(argv[0].rfind('/') + 1);
  return base.substr(0, 15); // the kernel's TASK_COMM_LEN - 1
}

struct tree_view {
  std::vector<proc_entry> children;   // running the command (exec'd, not zombies)
  std::vector<proc_entry> supervisor; // the root and every other descendant
};

tree_view view_of(pid_t root, const std::string& comm) {
  tree_view v;
  auto all = scan_proc();
  for (auto& p : all)
    if (p.pid == root)
      v.supervisor.push_back(p);
  for (auto& p : descendants(all, root)) {
    if (p.comm == comm) {
      if (p.state != 'Z')
        v.children.push_back(p);
    } else {
      v.supervisor.push_back(p);
    }
  }
  return v;
}

// SIGKILLs every descendant of this process (supervisors, children, orphans re-parented here)
// and reaps them; bounded.
void kill_everything() {
  for (int pass = 0; pass < 100; ++pass) {
    reap_exited();
    auto mine = descendants(scan_proc(), ::getpid());
    std::erase_if(mine, [](const proc_entry& p) { return p.state == 'Z'; });
    if (mine.empty())
      break;
    for (auto& p : mine)
      ::kill(p.pid, SIGKILL);
    sleep_ms(20);
  }
  reap_exited();
}

const char* const cgroup_hierarchies[] = {"systemd", "unified", "pids"};

// ---- one implementation, steady mode --------------------------------------------------------

struct runner {
  options opt;
  environment env;
  std::vector<std::string> child_argv;
  results res;
  int instance_counter = 0;

  instance make_instance(const adapter& a, std::size_t n, mode m,
                         const std::vector<std::string>& argv) {
    instance in;
    in.env = &env;
    in.name = std::string{a.name} + "-" + std::to_string(++instance_counter);
    in.w.dir = env.run_dir + "/" + in.name;
    in.w.n = n;
    in.w.argv = argv;
    in.w.m = m;
    in.log = in.w.dir + "/supervisor.log";
    ::mkdir(in.w.dir.c_str(), 0755);
    return in;
  }

  void finish_instance(const adapter& a, instance& in) {
    if (in.control >= 0)
      ::close(in.control);
    in.control = -1;
    kill_everything();
    if (a.cleanup)
      a.cleanup(in);
    std::error_code ec;
    std::filesystem::remove_all(in.w.dir, ec);
  }

  void error(const adapter& a, std::size_t n, int rep, const std::string& what) {
    emit("error", a.name, n, rep, std::nullopt, "", ",\"what\":" + json_string(what));
    res.errors[a.name] = what;
  }

  // Waits until `n` children run; returns the time it happened, or nothing on timeout. A scan
  // of /proc costs a few microseconds per process, milliseconds with thousands: the pause
  // between scans is twice the last scan (at least 2 ms), so that the observer takes at most a
  // third of one core from the implementation it watches. `polls` and `poll_ms` say what it
  // cost.
  std::optional<clk::time_point> wait_running(pid_t root, std::size_t n, clk::time_point start,
                                              std::size_t& polls, double& poll_ms) {
    auto comm = child_comm(child_argv);
    auto deadline = start + std::chrono::seconds{opt.phase_timeout};
    while (clk::now() < deadline) {
      auto t0 = clk::now();
      auto v = view_of(root, comm);
      auto seen = clk::now();
      ++polls;
      poll_ms += ms_since(t0, seen);
      if (v.children.size() >= n)
        return seen;
      if (!alive(root))
        return std::nullopt;
      std::this_thread::sleep_for(std::max<clk::duration>(2ms, 2 * (seen - t0)));
    }
    return std::nullopt;
  }

  void measure_memory(const adapter& a, pid_t root, std::size_t n, int rep) {
    auto v = view_of(root, child_comm(child_argv));
    memory sum;
    std::map<std::string, int> by_comm;
    for (auto& p : v.supervisor) {
      memory one;
      if (!memory_of(p.pid, one))
        continue;
      sum.pss += one.pss;
      sum.rss += one.rss;
      sum.dirty += one.dirty;
      ++by_comm[p.comm];
    }
    std::string comms = "{";
    int processes = 0;
    for (auto& [comm, count] : by_comm) {
      comms += (comms.size() > 1 ? "," : "") + json_string(comm) + ":" + std::to_string(count);
      processes += count;
    }
    comms += "}";
    emit("memory", a.name, n, rep, static_cast<double>(sum.pss), "kB",
         ",\"rss_kb\":" + std::to_string(sum.rss) + ",\"dirty_kb\":" + std::to_string(sum.dirty) +
             ",\"processes\":" + std::to_string(processes) + ",\"by_comm\":" + comms);
    res.per_rep[{a.name, "memory", n}].push_back(static_cast<double>(sum.pss));
    res.per_rep[{a.name, "memory_dirty", n}].push_back(static_cast<double>(sum.dirty));
  }

  void measure_restarts(const adapter& a, instance& in, int rep) {
    auto comm = child_comm(child_argv);
    auto v = view_of(in.root, comm);
    std::sort(v.children.begin(), v.children.end(), [](auto& x, auto& y) { return x.pid < y.pid; });
    std::vector<proc_entry> targets;
    std::size_t count = std::min(opt.kills, v.children.size());
    for (std::size_t k = 0; k < count; ++k)
      targets.push_back(v.children[k * v.children.size() / count]);
    std::vector<double> samples;
    std::size_t missed = 0;
    std::vector<pid_t> tasks;
    std::vector<pid_t> before;
    std::vector<pid_t> now_children;
    for (auto& t : targets) {
      // Kill when the supervisor is idle again: right after a respawn it is still busy, and a
      // death then is handled sooner than one that finds it asleep (supervisord: a death during
      // its loop pass is respawned in the next pass at once, one during its poll waits for the
      // poll's 1 s timeout).
      sleep_ms(50);
      pid_t parent = t.ppid;
      tasks.clear();
      before.clear();
      children_of(parent, tasks, before);
      std::sort(before.begin(), before.end());
      if (!std::binary_search(before.begin(), before.end(), t.pid)) {
        ++missed; // it moved or died on its own: not a measurement
        continue;
      }
      auto t0 = clk::now();
      if (a.kill_child)
        a.kill_child(in, t.pid);
      else
        ::kill(t.pid, SIGKILL);
      auto deadline = t0 + 10s;
      std::optional<double> got;
      timespec tick{0, 20'000};
      while (!got && clk::now() < deadline) {
        now_children.clear();
        children_of(parent, tasks, now_children);
        for (pid_t c : now_children) {
          if (c == t.pid || std::binary_search(before.begin(), before.end(), c))
            continue;
          if (comm_of(c) == comm) {
            got = ms_since(t0, clk::now());
            break;
          }
        }
        if (!got)
          ::nanosleep(&tick, nullptr);
      }
      if (got)
        samples.push_back(*got);
      else
        ++missed;
    }
    if (samples.empty()) {
      error(a, in.w.n, rep, "restart: no replacement seen for any of the kills");
      return;
    }
    auto p90 = quantile(samples, 0.9);
    emit("restart", a.name, in.w.n, rep, median(samples), "ms",
         ",\"p90\":" + json_number(p90) +
             ",\"min\":" + json_number(*std::min_element(samples.begin(), samples.end())) +
             ",\"max\":" + json_number(*std::max_element(samples.begin(), samples.end())) +
             ",\"kills\":" + std::to_string(samples.size()) +
             ",\"missed\":" + std::to_string(missed) + ",\"samples\":" + json_numbers(samples));
    res.per_rep[{a.name, "restart", in.w.n}].push_back(median(samples));
    res.restart_p90[a.name].push_back(p90);
    auto& pooled = res.restart_samples[a.name];
    pooled.insert(pooled.end(), samples.begin(), samples.end());
  }

  void measure_stop(const adapter& a, instance& in, int rep) {
    auto v = view_of(in.root, child_comm(child_argv));
    std::vector<pid_t> children;
    for (auto& p : v.children)
      children.push_back(p.pid);
    std::vector<pid_t> supervisor;
    for (auto& p : v.supervisor)
      supervisor.push_back(p.pid);
    auto t0 = clk::now();
    a.stop(in);
    auto deadline = t0 + std::chrono::seconds{opt.phase_timeout};
    std::optional<double> children_gone;
    std::optional<double> tree_gone;
    std::size_t next = 0; // children before `next` are known to be gone
    while (clk::now() < deadline && !tree_gone) {
      reap_exited(); // orphans of a supervisor that exited first land here
      while (!children_gone && next < children.size() && !alive(children[next]))
        ++next;
      auto now = clk::now();
      if (!children_gone && next == children.size())
        children_gone = ms_since(t0, now);
      if (children_gone) {
        bool any = std::any_of(supervisor.begin(), supervisor.end(), alive);
        if (!any)
          tree_gone = ms_since(t0, now);
        else if (now - t0 > std::chrono::milliseconds{static_cast<long>(*children_gone)} + 10s)
          break;
      }
      sleep_ms(1);
    }
    reap_exited();
    auto left = descendants(scan_proc(), ::getpid());
    std::erase_if(left, [](const proc_entry& p) { return p.state == 'Z'; });
    std::string extra = ",\"tree_ms\":" + (tree_gone ? json_number(*tree_gone) : "null") +
                        ",\"leftover\":" + std::to_string(left.size());
    if (!children_gone) {
      error(a, in.w.n, rep,
            "stop: children still alive after " + std::to_string(opt.phase_timeout) + " s");
      emit("stop", a.name, in.w.n, rep, std::nullopt, "ms", extra);
      return;
    }
    emit("stop", a.name, in.w.n, rep, *children_gone, "ms", extra);
    res.per_rep[{a.name, "stop", in.w.n}].push_back(*children_gone);
  }

  // One implementation with n children: start, [memory, restarts], stop. The instances are
  // prepared one job ahead: the next job's files are written during this job's last idle pause,
  // so that the wait below costs no extra time.
  struct job {
    const adapter* a;
    std::size_t n;
    bool full; // memory and restarts too
  };
  struct prepared {
    instance in;
    clk::time_point at;
    bool ok = false;
  };

  prepared prepare_job(const job& j, int rep) {
    prepared p{make_instance(*j.a, j.n, mode::steady, child_argv), clk::now(), false};
    std::string err;
    p.ok = j.a->prepare(p.in, err);
    if (!p.ok) {
      error(*j.a, j.n, rep, "prepare: " + err);
      finish_instance(*j.a, p.in);
    }
    return p;
  }

  // Sleeps `ms` in all, doing `work` (unmeasured) first.
  static void pause_with(long ms, const std::function<void()>& work) {
    auto until = clk::now() + std::chrono::milliseconds{ms};
    if (work)
      work();
    std::this_thread::sleep_until(until);
  }

  void run_job(const job& j, prepared& p, int rep, const std::function<void()>& prepare_next) {
    auto& a = *j.a;
    auto& in = p.in;
    if (!p.ok)
      return;
    // runsvdir defers a directory modified within the current second (measured: its services
    // came up a second late): start in a later second than the files were written in, for
    // every implementation alike.
    std::this_thread::sleep_until(p.at + 1100ms);
    std::string err;
    auto t0 = clk::now();
    if (!a.start(in, err)) {
      error(a, j.n, rep, "start: " + err);
      finish_instance(a, in);
      return;
    }
    std::size_t polls = 0;
    double poll_ms = 0;
    auto up = wait_running(in.root, j.n, t0, polls, poll_ms);
    emit("start", a.name, j.n, rep, up ? std::optional{ms_since(t0, *up)} : std::nullopt, "ms",
         std::string{",\"timed_out\":"} + (up ? "false" : "true") +
             ",\"polls\":" + std::to_string(polls) +
             ",\"poll_ms\":" + json_number(polls ? poll_ms / static_cast<double>(polls) : 0));
    if (!up) {
      auto seen = view_of(in.root, child_comm(child_argv)).children.size();
      error(a, j.n, rep,
            "start: " + std::to_string(seen) + " of " + std::to_string(j.n) +
                " running when the wait ended; log: " + in.log);
      finish_instance(a, in);
      return;
    }
    res.per_rep[{a.name, "start", j.n}].push_back(ms_since(t0, *up));
    if (j.full) {
      sleep_ms(1200);
      measure_memory(a, in.root, j.n, rep);
      measure_restarts(a, in, rep);
    }
    pause_with(1200, prepare_next);
    measure_stop(a, in, rep);
    finish_instance(a, in);
  }

  void run_rep(const std::vector<job>& jobs, int rep) {
    if (jobs.empty())
      return;
    auto next = prepare_job(jobs[0], rep);
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      auto current = std::move(next);
      bool last = i + 1 == jobs.size();
      bool next_ready = false;
      run_job(jobs[i], current, rep, [&] {
        if (!last)
          next = prepare_job(jobs[i + 1], rep);
        next_ready = true;
      });
      if (!last && !next_ready) // the job ended early, before its pause
        next = prepare_job(jobs[i + 1], rep);
    }
  }

  // ---- crash loop: every peer at once ------------------------------------------------------

  void run_crash(const std::vector<const adapter*>& peers, const std::string& crash_child) {
    struct running {
      const adapter* a;
      instance in;
      clk::time_point t0;
      std::string starts_file;
      bool started = false;
    };
    std::vector<running> all;
    for (auto* a : peers) {
      if (std::string{a->name} == "floor")
        continue; // no restart policy to observe
      running r{a, {}, {}, {}, false};
      r.starts_file = env.run_dir + "/" + a->name + ".crash-starts";
      r.in = make_instance(*a, 1, mode::crash, {crash_child, r.starts_file});
      std::string err;
      if (!a->prepare(r.in, err)) {
        error(*a, 1, 0, "crash prepare: " + err);
        continue;
      }
      all.push_back(std::move(r));
    }
    sleep_ms(1100); // runsvdir: see run_job
    for (auto& r : all) {
      std::string err;
      r.t0 = clk::now();
      r.started = r.a->start(r.in, err);
      if (!r.started)
        error(*r.a, 1, 0, "crash start: " + err);
    }
    sleep_ms(opt.crash_seconds * 1000L);
    for (auto& r : all) {
      if (!r.started)
        continue;
      auto state = r.a->state(r.in);
      std::vector<double> starts;
      auto t0_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(r.t0.time_since_epoch());
      std::istringstream lines{read_file(r.starts_file)};
      long long ns = 0;
      while (lines >> ns)
        starts.push_back(static_cast<double>(ns - t0_ns.count()) / 1e6);
      std::sort(starts.begin(), starts.end());
      std::vector<double> gaps;
      for (std::size_t i = 1; i < starts.size(); ++i)
        gaps.push_back(starts[i] - starts[i - 1]);
      emit("crash", r.a->name, 1, 0, static_cast<double>(starts.size()), "starts",
           ",\"window_s\":" + std::to_string(opt.crash_seconds) +
               ",\"starts_ms\":" + json_numbers(starts) + ",\"gaps_ms\":" + json_numbers(gaps) +
               ",\"state\":" + json_string(state));
      res.crash[r.a->name] = {starts, state};
    }
    for (auto& r : all)
      if (r.started)
        r.a->stop(r.in);
    // Each stops on its own time; whatever is left after 10 s is killed with the rest.
    auto deadline = clk::now() + 10s;
    while (clk::now() < deadline) {
      reap_exited();
      bool any = std::any_of(all.begin(), all.end(),
                             [](auto& r) { return r.started && alive(r.in.root); });
      if (!any)
        break;
      sleep_ms(10);
    }
    for (auto& r : all)
      finish_instance(*r.a, r.in);
  }

  // ---- summary and table -------------------------------------------------------------------

  void summarise(const std::vector<const adapter*>& peers) {
    for (auto& [key, values] : res.per_rep) {
      auto& [impl, metric, n] = key;
      std::string unit = metric.rfind("memory", 0) == 0 ? "kB" : "ms";
      if (metric == "restart") {
        auto& pooled = res.restart_samples[impl];
        emit("summary", impl, n, 0, median(pooled), unit,
             ",\"of\":\"restart\",\"p90\":" + json_number(quantile(pooled, 0.9)) +
                 ",\"min\":" + json_number(*std::min_element(pooled.begin(), pooled.end())) +
                 ",\"max\":" + json_number(*std::max_element(pooled.begin(), pooled.end())) +
                 ",\"kills\":" + std::to_string(pooled.size()) + ",\"rep_median_min\":" +
                 json_number(*std::min_element(values.begin(), values.end())) +
                 ",\"rep_median_max\":" +
                 json_number(*std::max_element(values.begin(), values.end())) +
                 ",\"reps\":" + std::to_string(values.size()));
        continue;
      }
      emit("summary", impl, n, 0, median(values), unit,
           ",\"of\":" + json_string(metric) +
               ",\"min\":" + json_number(*std::min_element(values.begin(), values.end())) +
               ",\"max\":" + json_number(*std::max_element(values.begin(), values.end())) +
               ",\"reps\":" + std::to_string(values.size()));
    }
    print_table(peers);
  }

  std::optional<double> med(const std::string& impl, const std::string& metric, std::size_t n) {
    auto it = res.per_rep.find({impl, metric, n});
    if (it == res.per_rep.end() || it->second.empty())
      return std::nullopt;
    return median(it->second);
  }

  std::string cell(const std::string& impl, const std::string& metric, std::size_t n,
                   double scale = 1) {
    auto it = res.per_rep.find({impl, metric, n});
    if (it == res.per_rep.end() || it->second.empty())
      return "-";
    auto& v = it->second;
    char buf[96];
    std::snprintf(buf, sizeof buf, "%.1f [%.1f-%.1f]", median(v) / scale,
                  *std::min_element(v.begin(), v.end()) / scale,
                  *std::max_element(v.begin(), v.end()) / scale);
    return buf;
  }

  void print_table(const std::vector<const adapter*>& peers) {
    std::printf("\n# %d rep(s); median [min-max] over reps; restart: median and p90 of all "
                "kills pooled, [min-max] of the per-rep medians\n",
                opt.reps);
    std::printf("%-12s %-22s %-24s %-36s %-20s %-20s %-20s %-24s\n", "impl",
                ("start " + std::to_string(opt.small) + " ms").c_str(),
                ("start " + std::to_string(opt.n) + " ms").c_str(),
                "restart ms med / p90 [rep meds]",
                ("PSS " + std::to_string(opt.n) + " MiB").c_str(),
                ("dirty " + std::to_string(opt.n) + " MiB").c_str(),
                ("stop " + std::to_string(opt.small) + " ms").c_str(),
                ("stop " + std::to_string(opt.n) + " ms").c_str());
    for (auto* a : peers) {
      std::string impl = a->name;
      std::string restart = "-";
      auto& pooled = res.restart_samples[impl];
      auto it = res.per_rep.find({impl, "restart", opt.n});
      if (!pooled.empty() && it != res.per_rep.end()) {
        char buf[96];
        std::snprintf(buf, sizeof buf, "%.2f / %.2f [%.2f-%.2f]", median(pooled),
                      quantile(pooled, 0.9),
                      *std::min_element(it->second.begin(), it->second.end()),
                      *std::max_element(it->second.begin(), it->second.end()));
        restart = buf;
      }
      std::printf("%-12s %-22s %-24s %-36s %-20s %-20s %-20s %-24s\n", impl.c_str(),
                  cell(impl, "start", opt.small).c_str(), cell(impl, "start", opt.n).c_str(),
                  restart.c_str(), cell(impl, "memory", opt.n, 1024).c_str(),
                  cell(impl, "memory_dirty", opt.n, 1024).c_str(),
                  cell(impl, "stop", opt.small).c_str(), cell(impl, "stop", opt.n).c_str());
    }
    print_targets(peers);
    if (!res.crash.empty()) {
      std::printf("\n# crash loop: a child that exits 1 at once, %d s, every peer at once, "
                  "defaults\n",
                  opt.crash_seconds);
      for (auto* a : peers) {
        auto it = res.crash.find(a->name);
        if (it == res.crash.end())
          continue;
        auto& c = it->second;
        std::string first;
        for (std::size_t i = 0; i < c.starts_ms.size() && i < 8; ++i) {
          char buf[32];
          std::snprintf(buf, sizeof buf, "%s%.0f", i ? ", " : "", c.starts_ms[i]);
          first += buf;
        }
        if (c.starts_ms.size() > 8)
          first += ", ...";
        std::printf("%-12s %6zu starts  at ms: %s\n%-12s final: %s\n", a->name, c.starts_ms.size(),
                    first.c_str(), "", c.state.c_str());
      }
    }
    for (auto& [impl, what] : res.errors)
      std::printf("# %s: %s\n", impl.c_str(), what.c_str());
  }

  void print_targets(const std::vector<const adapter*>& peers) {
    auto nv = std::string{"nodevisor"};
    auto best_peer = [&](const std::string& metric, std::size_t n) {
      std::optional<std::pair<double, std::string>> best;
      for (auto* a : peers) {
        std::string impl = a->name;
        if (impl == "floor" || impl == nv)
          continue;
        auto v = metric == "restart" && !res.restart_samples[impl].empty()
                     ? std::optional{median(res.restart_samples[impl])}
                     : med(impl, metric, n);
        if (v && (!best || *v < best->first))
          best = std::pair{*v, impl};
      }
      return best;
    };
    auto nv_value = [&](const std::string& metric, std::size_t n) -> std::optional<double> {
      if (metric == "restart")
        return res.restart_samples[nv].empty() ? std::nullopt
                                               : std::optional{median(res.restart_samples[nv])};
      return med(nv, metric, n);
    };
    auto floor_value = [&](const std::string& metric, std::size_t n) -> std::optional<double> {
      if (metric == "restart")
        return res.restart_samples["floor"].empty()
                   ? std::nullopt
                   : std::optional{median(res.restart_samples["floor"])};
      return med("floor", metric, n);
    };
    std::printf("\n# targets (medians, N=%zu)\n", opt.n);
    struct target {
      const char* metric;
      double floor_ratio; // 0: no floor target
    };
    for (auto t : {target{"start", 1.1}, target{"restart", 2.5}, target{"stop", 2.0},
                   target{"memory", 0}, target{"memory_dirty", 0}}) {
      auto mine = nv_value(t.metric, opt.n);
      auto best = best_peer(t.metric, opt.n);
      if (!mine) {
        std::printf("%-8s nodevisor not measured\n", t.metric);
        continue;
      }
      std::string line = std::string{t.metric} + ": nodevisor " + json_number(*mine);
      if (best)
        line += std::string{" vs best peer "} + best->second + " " + json_number(best->first) +
                (*mine < best->first ? " -> ahead (met)" : " -> behind (NOT met)");
      auto fl = floor_value(t.metric, opt.n);
      if (t.floor_ratio > 0 && fl && *fl > 0) {
        double ratio = *mine / *fl;
        char buf[96];
        std::snprintf(buf, sizeof buf, "; %.2fx the floor (target <= %.1fx: %s)", ratio,
                      t.floor_ratio, ratio <= t.floor_ratio ? "met" : "NOT met");
        line += buf;
      }
      std::printf("%s\n", line.c_str());
    }
  }
};

// ---- command line ---------------------------------------------------------------------------

const char usage[] =
    "usage: peer_bench [--n 1000] [--small 100] [--reps 3] [--kills 50] [--crash-seconds 30]\n"
    "                  [--peers floor,nodevisor,runit,s6,daemontools,supervisord,systemd,otp]\n"
    "                  [--nodevisor PATH] [--phase-timeout 60]\n"
    "(as root; one JSON line per measurement, then a table: see the top of peer_bench.cpp)\n";

std::optional<options> parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(usage, stdout);
      std::exit(0);
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "peer_bench: %s needs a value\n", a.c_str());
      return std::nullopt;
    }
    std::string v = argv[++i];
    char* end = nullptr;
    long num = std::strtol(v.c_str(), &end, 10);
    bool numeric = end && *end == '\0' && num >= 0 && num < INT_MAX;
    auto need_number = [&]() {
      if (!numeric)
        std::fprintf(stderr, "peer_bench: %s takes a number, got '%s'\n", a.c_str(), v.c_str());
      return numeric;
    };
    if (a == "--n" || a == "--small" || a == "--reps" || a == "--kills" || a == "--crash-seconds" ||
        a == "--phase-timeout") {
      if (!need_number())
        return std::nullopt;
    }
    if (a == "--n")
      o.n = static_cast<std::size_t>(num);
    else if (a == "--small")
      o.small = static_cast<std::size_t>(num);
    else if (a == "--reps")
      o.reps = static_cast<int>(num);
    else if (a == "--kills")
      o.kills = static_cast<std::size_t>(num);
    else if (a == "--crash-seconds")
      o.crash_seconds = static_cast<int>(num);
    else if (a == "--phase-timeout")
      o.phase_timeout = static_cast<int>(num);
    else if (a == "--nodevisor")
      o.nodevisor = v;
    else if (a == "--peers") {
      o.peers.clear();
      std::stringstream ss{v};
      for (std::string p; std::getline(ss, p, ',');) {
        if (!find_adapter(p)) {
          std::fprintf(stderr, "peer_bench: unknown peer '%s'\n", p.c_str());
          return std::nullopt;
        }
        o.peers.push_back(p);
      }
    } else {
      std::fprintf(stderr, "peer_bench: unknown option %s\n", a.c_str());
      return std::nullopt;
    }
  }
  if (o.n == 0 || o.phase_timeout == 0) {
    std::fprintf(stderr, "peer_bench: --n and --phase-timeout must be positive\n");
    return std::nullopt;
  }
  return o;
}

void emit_machine(const char* at) {
  auto load = read_file("/proc/loadavg");
  std::istringstream in{load};
  double l1 = 0, l5 = 0, l15 = 0;
  in >> l1 >> l5 >> l15;
  auto kernel = read_file("/proc/sys/kernel/osrelease");
  while (!kernel.empty() && kernel.back() == '\n')
    kernel.pop_back();
  emit("machine", "-", 0, 0, std::nullopt, "",
       std::string{",\"at\":"} + json_string(at) + ",\"cores\":" +
           std::to_string(std::thread::hardware_concurrency()) + ",\"load\":[" + json_number(l1) +
           "," + json_number(l5) + "," + json_number(l15) + "],\"kernel\":" + json_string(kernel));
}

extern "C" void on_signal(int sig) {
  // Async-signal-safe: the supervisors die with their groups; the guardian kills the rest.
  nv::bench::kill_own_children();
  ::_exit(128 + sig);
}

int bench_main(options opt, const environment& env_in) {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1); // orphans of a supervisor land here, not with the guardian
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP})
    ::sigaction(sig, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN); // a supervisor gone before we write its stop request

  runner r;
  r.opt = std::move(opt);
  r.env = env_in;
  r.child_argv = {"/bin/sleep", "3600"};
  std::vector<const adapter*> peers;
  for (auto& p : r.opt.peers)
    peers.push_back(find_adapter(p));

  auto selected = [&](const char* name) {
    return std::find(r.opt.peers.begin(), r.opt.peers.end(), name) != r.opt.peers.end();
  };
  if (selected("otp")) {
    auto ebin = r.env.run_dir + "/ebin";
    ::mkdir(ebin.c_str(), 0755);
    auto out = run_capture({"/usr/bin/erlc", "-o", ebin, NV_PEERS_SOURCE_DIR "/otp_peer.erl"},
                           std::chrono::seconds{60});
    if (!std::filesystem::exists(ebin + "/otp_peer.beam")) {
      std::fprintf(stderr, "peer_bench: erlc otp_peer.erl failed: %s\n", out.c_str());
      return 1;
    }
    r.env.otp_ebin = ebin;
  }
  if (selected("systemd"))
    for (auto* h : cgroup_hierarchies)
      ::mkdir(("/sys/fs/cgroup/" + std::string{h} + "/" + r.env.cgroup).c_str(), 0755);

  auto began = clk::now();
  emit_machine("begin");
  for (auto* a : peers) {
    emit("config", a->name, r.opt.n, 0, std::nullopt, "",
         ",\"mode\":\"steady\",\"note\":" + json_string(a->config(mode::steady)));
    if (r.opt.crash_seconds > 0 && std::string{a->name} != "floor")
      emit("config", a->name, 1, 0, std::nullopt, "",
           ",\"mode\":\"crash\",\"note\":" + json_string(a->config(mode::crash)));
  }
  for (int rep = 1; rep <= r.opt.reps; ++rep) {
    std::vector<runner::job> jobs;
    for (std::size_t k = 0; k < peers.size(); ++k) {
      auto* a = peers[(k + static_cast<std::size_t>(rep) - 1) % peers.size()];
      jobs.push_back({a, r.opt.n, true});
      if (r.opt.small > 0)
        jobs.push_back({a, r.opt.small, false});
    }
    r.run_rep(jobs, rep);
  }
  if (r.opt.crash_seconds > 0) {
    auto dir = r.env.self.substr(0, r.env.self.rfind('/'));
    r.run_crash(peers, dir + "/crash_child");
  }
  emit_machine("end");
  r.summarise(peers);
  std::printf("# total %.0f s; load at the end %s", ms_since(began, clk::now()) / 1000,
              read_file("/proc/loadavg").c_str());
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  if (argc >= 4 && std::string{argv[1]} == "--floor-server") {
    std::vector<std::string> cmd(argv + 3, argv + argc);
    return floor_server(static_cast<std::size_t>(std::atol(argv[2])), cmd);
  }
  auto opt = parse(argc, argv);
  if (!opt) {
    std::fputs(usage, stderr);
    return 2;
  }
  if (::geteuid() != 0) {
    std::fprintf(stderr, "peer_bench: run as root (systemd needs a mount namespace and "
                         "cgroups; the service dirs of the peers are private either way)\n");
    return 2;
  }
  char self[PATH_MAX];
  auto len = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (len <= 0)
    return 1;
  self[len] = '\0';
  environment env;
  env.self = self;
  auto dir = env.self.substr(0, env.self.rfind('/'));
  env.nodevisor = opt->nodevisor.empty() ? dir + "/../../app/nodevisor" : opt->nodevisor;
  if (::access(env.nodevisor.c_str(), X_OK) != 0 &&
      std::find(opt->peers.begin(), opt->peers.end(), "nodevisor") != opt->peers.end()) {
    std::fprintf(stderr, "peer_bench: no nodevisor at %s (build it, or pass --nodevisor)\n",
                 env.nodevisor.c_str());
    return 2;
  }
  char tmpl[] = "/tmp/nv-peer-bench.XXXXXX";
  if (!::mkdtemp(tmpl)) {
    std::perror("mkdtemp");
    return 1;
  }
  env.run_dir = tmpl;
  env.cgroup = env.run_dir.substr(env.run_dir.rfind('/') + 1);

  // Still one thread: fork the guardian now. It returns in the parent once the benchmark is over
  // and everything it left is dead; then the directories can go.
  int code = nv::bench::guard_children();
  if (code >= 0) {
    for (auto* h : cgroup_hierarchies)
      remove_cgroup("/sys/fs/cgroup/" + std::string{h} + "/" + env.cgroup);
    std::error_code ec;
    std::filesystem::remove_all(env.run_dir, ec);
    return code;
  }
  return bench_main(std::move(*opt), env);
}
