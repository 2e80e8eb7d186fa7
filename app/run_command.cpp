#include "app/run_command.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <poll.h>
#include <string>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <system_error>
#include <thread>
#include <unistd.h>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/node_actor.hpp"
#include "app/cli.hpp"
#include "app/console.hpp"
#include "app/live_status.hpp"
#include "app/logging.hpp"
#include "app/observer.hpp"
#include "app/run_lock.hpp"
#include "app/run_signals.hpp"
#include "app/service_output.hpp"
#include "app/verbs.hpp"
#include "messages/caf/atoms.hpp"
#include "messages/caf/register_types.hpp"
#include "node/plan_from_spec.hpp"
#include "posix/unique_fd.hpp"
#include "runtimes/composite/composite_runtime.hpp"
#include "runtimes/oci/oci_runtime.hpp"
#include "runtimes/process/process_runtime.hpp"
#include "runtimes/sim/sim_runtime.hpp"
#include "spec/duration.hpp"
#include "spec/loader.hpp"
#include "trace/emit.hpp"
#include "trace/trace_sink.hpp"
#include "trace/traced_actor.hpp"

namespace nv {

namespace {

struct run_options {
  std::string spec_file;
  std::string runtime = "process";
  std::string state_dir = "/var/lib/nodevisor"; // the oci runtime's images and bundles
  std::string trace_file;
  bool trace_messages = false; // also a send/recv pair for every message between actors
  bool until_healthy = false;
  std::optional<duration> timeout;
  std::string log_level; // default: info, or warn under the live status
  bool live = false;     // stdout is a terminal: draw the live status instead of state lines
  std::string log_dir;
  bool quiet = false; // services' output is not shown
};

// The trace file named by --trace (null without one), or false when it cannot be opened.
bool open_trace(const run_options& opts, std::unique_ptr<trace_sink>& trace) {
  if (opts.trace_file.empty())
    return true;
  trace_sink_options topts;
  topts.on_error = [](const std::string& why) { spdlog::error("[/_trace] {}", why); };
  try {
    trace = std::make_unique<trace_sink>(opts.trace_file, "n1", std::move(topts));
  } catch (const std::system_error& e) {
    spdlog::error("[/_trace] {}", e.what());
    return false;
  }
  trace->set_messages(opts.trace_messages);
  return true;
}

// What main waits on: the stop signals (a signalfd) and the observer's news (an eventfd).
struct wakeups {
  unique_fd signals;
  unique_fd news;
};

// "SIGINT": what a person types with kill -s, rather than strsignal's "Interrupt".
std::string signal_name(int sig) {
  if (sig >= SIGRTMIN && sig <= SIGRTMAX)
    return "SIGRTMIN+" + std::to_string(sig - SIGRTMIN);
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string{"SIG"} + abbrev : "signal " + std::to_string(sig);
}

// Blocks in poll until a signal or news, or `deadline`; returns the stop signals that came
// (0 when none did), after logging and dropping the ignored ones.
int wait_for_wakeup(const wakeups& w,
                    std::optional<std::chrono::steady_clock::time_point> deadline) {
  int timeout_ms = -1;
  if (deadline) {
    auto left =
        std::chrono::ceil<std::chrono::milliseconds>(*deadline - std::chrono::steady_clock::now());
    timeout_ms = static_cast<int>(std::clamp<int64_t>(left.count(), 0, 24 * 3600 * 1000));
  }
  pollfd fds[2] = {{w.signals.get(), POLLIN, 0}, {w.news.get(), POLLIN, 0}};
  if (::poll(fds, 2, timeout_ms) <= 0)
    return 0; // the deadline, or EINTR (nothing is caught, so it would be a debugger)
  if (fds[1].revents & POLLIN) {
    eventfd_t ignored;
    eventfd_read(w.news.get(), &ignored);
  }
  int stop = 0;
  signalfd_siginfo info;
  while (::read(w.signals.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    int sig = static_cast<int>(info.ssi_signo);
    if (meaning_of(sig) == signal_meaning::stop) {
      stop = sig;
      continue;
    }
    spdlog::info("[/] {} received from pid {}: ignored (only SIGINT, SIGTERM, SIGHUP and "
                 "SIGQUIT stop nodevisor run)",
                 signal_name(sig), info.ssi_pid);
  }
  return stop;
}

// Until a stop signal, until the deployment failed for good, or what --until and --timeout
// ask for; the exit code so far. `signalled`: it was a stop signal.
int wait_for_end(const wakeups& w, const run_options& opts, outcome& out, bool& signalled,
                 console& screen) {
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (opts.timeout)
    deadline = std::chrono::steady_clock::now() + *opts.timeout;
  for (;;) {
    int sig = wait_for_wakeup(w, deadline);
    std::lock_guard<std::mutex> g{out.mu};
    if (sig) {
      spdlog::info("[/] {} received: stopping everything", signal_name(sig));
      signalled = true;
      // A deployment that had failed for good is a failed run, however it is stopped.
      return out.failed ? 1 : 0;
    }
    if (out.failed)
      return 1; // printed by the observer; what remains is stopped next
    bool healthy = out.deployment == lifecycle::healthy || out.deployment == lifecycle::completed;
    if (opts.until_healthy && healthy)
      return 0;
    if (deadline && std::chrono::steady_clock::now() >= *deadline) {
      if (healthy) {
        deadline.reset(); // healthy in time: --timeout has nothing more to say
        continue;
      }
      screen.print("not healthy after " + format_duration(*opts.timeout) +
                   " (deployment: " + std::string{to_string(out.deployment)} + ")");
      return 1;
    }
  }
}

// "stopping: waiting up to 35s for web-rep-1, api-rep-1, api-rep-2 and 1 more to stop":
// services stop one after another in reverse start order, each its replicas in parallel, so
// the longest wait is the sum over services of their longest grace.
std::string stop_notice(const deployment_plan& plan) {
  duration total{0};
  std::vector<std::string> replicas;
  for (auto s = plan.services.rbegin(); s != plan.services.rend(); ++s) {
    duration longest{0};
    for (auto& r : s->replicas) {
      longest = std::max(longest, r->stop_grace);
      replicas.push_back(r->spec.id);
    }
    total += longest;
  }
  std::string who;
  constexpr std::size_t named = 6;
  for (std::size_t i = 0; i < replicas.size() && i < named; ++i)
    who += (i ? ", " : "") + replicas[i];
  if (replicas.size() > named)
    who += " and " + std::to_string(replicas.size() - named) + " more";
  if (who.empty())
    who = "the deployment";
  return "stopping: waiting up to " + format_duration(total) + " for " + who + " to stop";
}

// Stops the node, waiting for it to be down. A stop signal meanwhile (the second Ctrl-C) skips
// what is left of every grace: the tree kills whatever still runs.
void stop_node(const wakeups& w, const caf::actor& node, outcome& out, const std::string& notice,
               bool signalled, console& screen) {
  {
    // A deployment that failed for good has stopped its services already: nothing to wait for.
    std::lock_guard<std::mutex> g{out.mu};
    if (!out.failed)
      screen.print(notice + (signalled ? " (Ctrl-C again to kill now)" : " (Ctrl-C to kill now)"));
  }
  caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
  bool hurried = false;
  for (;;) {
    {
      std::lock_guard<std::mutex> g{out.mu};
      if (out.node_down)
        return;
    }
    int sig = wait_for_wakeup(w, std::nullopt);
    if (!sig)
      continue;
    if (hurried) {
      spdlog::info("[/] {} received: already killing what is left", signal_name(sig));
      continue;
    }
    hurried = true;
    spdlog::warn("[/] {} received again: killing what is still running", signal_name(sig));
    screen.print("stopping: killing what is still running now");
    caf::anon_send(node, hurry_atom::value);
  }
}

// Runs the node with one deployment until the end, then stops it; the exit code.
int supervise(deployment_plan plan, const run_options& opts, const node_services& services,
              const wakeups& w, console& screen) {
  caf::actor_system_config cfg;
  register_message_types(cfg);
  register_supervisor_types(cfg);
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("scheduler.max-threads", std::max(2u, std::thread::hardware_concurrency()));
  caf::actor_system sys{cfg};
  outcome out;
  out.print_states = !opts.live;
  out.wake = w.news.get();
  auto notice = stop_notice(plan);
  std::map<std::string, std::vector<dependency>> depends;
  for (auto& s : plan.services)
    depends[plan.name + "/" + s.name] = s.depends;
  // The observer is the node's parent: spawn it first, hand it the node once it exists.
  caf::actor obs;
  {
    trace::spawn_name name{"/_observer"};
    obs = sys.spawn(observer, &out, &screen);
  }
  node_config nc;
  nc.deployments.push_back(std::move(plan));
  nc.observer = obs.address();
  nc.services = &services;
  caf::actor node;
  {
    trace::spawn_name name{"/"};
    node = sys.spawn(node_actor, std::move(nc));
  }
  caf::anon_send(obs, node);
  // It draws until the node is down, its last frame included, and then exits by itself.
  if (opts.live)
    sys.spawn(live_status_actor, node, &screen, std::move(depends));

  bool signalled = false;
  int code = wait_for_end(w, opts, out, signalled, screen);
  stop_node(w, node, out, notice, signalled, screen);
  trace::exit("/", exit_event::reason_kind::shutdown, nullptr);
  caf::anon_send_exit(obs, caf::exit_reason::user_shutdown);
  node = nullptr;
  obs = nullptr;
  sys.await_all_actors_done();
  return code;
}

int run(const std::shared_ptr<run_options>& opts) {
  // First, while this is the only thread: every thread started from here inherits the mask.
  wakeups w;
  w.signals = take_run_signals();
  w.news = unique_fd{eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
  if (!w.news)
    throw std::system_error{errno, std::generic_category(), "eventfd"};
  opts->live = isatty(STDOUT_FILENO) == 1;
  if (opts->log_level.empty())
    opts->log_level = opts->live ? "warn" : "info";
  console screen{STDOUT_FILENO, opts->live}; // from here on stdout has one writer, its thread
  // From here on, logging never waits for whoever reads stderr; when that is the terminal the
  // live status draws on, the lines go above the table through the console.
  std::optional<async_log> log;
  std::optional<console_log> log_on_screen;
  const auto level = spdlog::level::from_str(opts->log_level);
  if (opts->live && same_terminal(STDOUT_FILENO, STDERR_FILENO))
    log_on_screen.emplace([&screen](std::string line) { screen.print(std::move(line)); });
  else if (level != spdlog::level::off) // with nothing to write, no writer and no queue
    log.emplace();
  spdlog::set_level(level);

  auto loaded = spec::load_spec_file(opts->spec_file);
  for (auto& p : loaded.problems)
    std::fprintf(stderr, "%s\n", spec::to_string(p).c_str());
  if (!loaded.spec)
    return 2;

  auto planned = plan_from_spec(*loaded.spec, opts->runtime);
  for (auto& warning : planned.warnings) {
    warning.file = opts->spec_file;
    std::fprintf(stderr, "%s\n", spec::to_string(warning).c_str());
  }
  for (auto& e : planned.errors)
    std::fprintf(stderr, "%s: %s\n", opts->spec_file.c_str(), e.c_str());
  if (!planned.errors.empty())
    return 2;

  // Held until run returns; the kernel lets go of it however the process ends.
  auto lock = lock_deployment(planned.plan.name, opts->spec_file);
  if (!lock.error.empty()) {
    std::fprintf(stderr, "nodevisor run: %s\n", lock.error.c_str());
    return 2;
  }
  if (!lock.warning.empty())
    spdlog::warn("[/] {}", lock.warning);

  auto output = std::make_unique<service_output>(planned.plan, stdout_wants_color(opts->live));
  std::unique_ptr<process_runtime> processes; // the keeper's client: outlives the oci runtime
  std::unique_ptr<runtime> local;
  try {
    if (opts->runtime == "sim") {
      local = std::make_unique<sim_runtime>();
    } else {
      process_runtime_options popts;
      popts.log_dir = opts->log_dir;
      if (!opts->quiet)
        popts.on_line = [&output, &screen](const std::string& id, std::string_view line) {
          screen.print(output->format(id, line));
        };
      processes = std::make_unique<process_runtime>(std::move(popts));
      if (opts->runtime == "oci") {
        oci_runtime_options oopts;
        oopts.state_dir = opts->state_dir;
        oopts.instance = "run-" + std::to_string(::getpid());
        local = std::make_unique<oci_runtime>(*processes, std::move(oopts));
      }
    }
  } catch (const std::exception& e) {
    // A refused --log-dir, no keeper, or no image store: nothing can run.
    spdlog::error("[/] {}", e.what());
    return 2;
  }
  // The oci runtime before the process runtime, which still runs `image: process` services.
  std::vector<runtime*> locals;
  for (runtime* r : {static_cast<runtime*>(local.get()), static_cast<runtime*>(processes.get())})
    if (r != nullptr)
      locals.push_back(r);
  composite_runtime rt{std::move(locals)};
  check_runner runner;

  std::unique_ptr<trace_sink> trace;
  if (!open_trace(*opts, trace))
    return 2;
  node_services services{&rt, &runner, trace.get()};
  // Main's own events (the node's last) and the actors it spawns go to the same sink.
  trace::context_scope tracing{trace.get()};
  int code = supervise(std::move(planned.plan), *opts, services, w, screen);
  // A trace that lost events is a failed run, even of a healthy deployment.
  if (trace && !trace->close())
    code = 1;
  return code;
}

} // namespace

void add_run_command(CLI::App& app) {
  auto opts = std::make_shared<run_options>();
  auto* cmd = app.add_subcommand(
      "run",
      summary_of("run") +
          ". Ctrl-C, SIGTERM, SIGHUP (a closed terminal) and SIGQUIT stop "
          "everything gracefully; the same again skips the remaining stop grace and kills at once. "
          "Other signals (SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE, Ctrl-Z, ...) are logged and ignored. "
          "One run per deployment per directory: a lock in .nodevisor/<deployment>.lock.\n"
          "Exit codes: 0 a clean stop (signalled, or --until healthy met) of a deployment that had "
          "not failed; 1 the deployment failed "
          "for good (escalated past its restart intensity: run stops what remains and exits), "
          "--until healthy or --timeout not met, or the trace lost events; 2 an invalid spec or "
          "usage, a trace file that cannot be opened, or the deployment already running here");
  cmd->add_option("SPEC", opts->spec_file, "The deployment spec (ZLayer's format, YAML or JSON)")
      ->required();
  cmd->add_option("--runtime", opts->runtime,
                  "What runs the containers: real child processes, real containers (runc, with "
                  "images pulled by skopeo), or simulated ones")
      ->check(CLI::IsMember({"process", "oci", "sim"}))
      ->capture_default_str();
  cmd->add_option("--state-dir", opts->state_dir,
                  "The oci runtime's image store, bundles and runc state (shared with a daemon's)")
      ->type_name("DIR")
      ->capture_default_str();
  cmd->add_option("--trace", opts->trace_file, "Write the actor trace, one JSON event per line")
      ->type_name("FILE");
  cmd->add_flag("--trace-messages", opts->trace_messages,
                "Also trace a send/recv pair for every message between actors");
  cmd->add_option_function<std::string>(
         "--until", [opts](const std::string&) { opts->until_healthy = true; },
         "Stop once every service is healthy (a job: completed) and exit 0, or exit 1 when the "
         "deployment fails")
      ->check(CLI::IsMember({"healthy"}));
  cmd->add_option_function<std::string>(
         "--timeout",
         [opts](const std::string& text) { opts->timeout = spec::parse_duration(text); },
         "Exit 1 when still not healthy after DUR (30s, 500ms)")
      ->check(CLI::Validator{[](std::string& text) {
                               return spec::parse_duration(text)
                                          ? std::string{}
                                          : "expected a duration such as 30s, got '" + text + "'";
                             },
                             "DUR"});
  cmd->add_option("--log-level", opts->log_level,
                  "Log lines on stderr from this level up (default: info, or warn under the live "
                  "status)")
      ->check(CLI::IsMember(
          {"trace", "debug", "info", "warn", "warning", "err", "error", "critical", "off"}));
  cmd->add_flag("--quiet,-q", opts->quiet,
                "Do not show the services' output (shown by default, each line prefixed by its "
                "replica)");
  cmd->add_option("--log-dir", opts->log_dir,
                  "Also append each replica's output to DIR/<replica>.log, each line timestamped "
                  "and each start marked; DIR is created (0750) and refused when others can "
                  "write to it")
      ->type_name("DIR");
  on_parsed(cmd, [opts] { return run(opts); });
}

} // namespace nv
