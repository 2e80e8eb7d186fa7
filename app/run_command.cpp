#include "app/run_command.hpp"

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <unistd.h>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/node_actor.hpp"
#include "app/cli.hpp"
#include "app/live_status.hpp"
#include "app/logging.hpp"
#include "app/plan_from_spec.hpp"
#include "messages/caf/register_types.hpp"
#include "runtimes/composite/composite_runtime.hpp"
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
  std::string trace_file;
  bool trace_messages = false; // also a send/recv pair for every message between actors
  bool until_healthy = false;
  std::optional<duration> timeout;
  std::string log_level; // default: info, or warn under the live status
  bool live = false;     // stdout is a terminal: draw the live status instead of state lines
  std::string log_dir;
};

// What the CLI learns from the node, shared between the observer actor and main.
struct outcome {
  bool quiet = false; // the live status shows states; print only failures
  std::mutex mu;
  std::condition_variable cv;
  lifecycle deployment = lifecycle::pending;
  std::optional<failure> failed; // the deployment gave up
  bool node_down = false;
};

// The node's parent: it hears about deployments and escalated failures, and tells main.
caf::behavior observer(traced_actor* self, outcome* out) {
  self->set_down_handler([out](caf::down_msg&) {
    std::lock_guard<std::mutex> g{out->mu};
    out->node_down = true;
    out->cv.notify_all();
  });
  return {
      [self](caf::actor& node) { self->monitor(node); },
      [out](state_change& c) {
        if (c.path == "/")
          return; // the node itself
        if (!out->quiet) {
          std::printf("%s: %s\n", c.path.c_str(), std::string{to_string(c.to)}.c_str());
          std::fflush(stdout);
        }
        std::lock_guard<std::mutex> g{out->mu};
        out->deployment = c.to;
        out->cv.notify_all();
      },
      [out](failure& f) {
        if (auto* r = std::get_if<RouteToPeer>(&f.error)) {
          std::printf("%s failed: %s\n  %s\n", f.path.c_str(), to_string(f.error).c_str(),
                      route_remedy(*r).c_str());
          std::fflush(stdout);
          return;
        }
        std::printf("deployment failed: %s (first failure at %s)\n", to_string(f.error).c_str(),
                    f.path.c_str());
        std::fflush(stdout);
        std::lock_guard<std::mutex> g{out->mu};
        out->failed = f;
        out->cv.notify_all();
      },
  };
}

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

// Until a stop signal, or what --until and --timeout ask for; the exit code so far.
int wait_for_end(const sigset_t& stop_signals, const run_options& opts, outcome& out) {
  auto started = std::chrono::steady_clock::now();
  for (;;) {
    timespec tick{0, 100'000'000};
    int sig = sigtimedwait(&stop_signals, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) {
      spdlog::info("[/] {} received: stopping everything", strsignal(sig));
      return 0;
    }
    std::lock_guard<std::mutex> g{out.mu};
    if (opts.until_healthy &&
        (out.deployment == lifecycle::healthy || out.deployment == lifecycle::completed))
      return 0;
    if (opts.until_healthy && out.failed)
      return 1;
    if (opts.timeout && std::chrono::steady_clock::now() - started > *opts.timeout) {
      std::printf("not healthy after %s (deployment: %s)\n", format_duration(*opts.timeout).c_str(),
                  std::string{to_string(out.deployment)}.c_str());
      return 1;
    }
  }
}

// Runs the node with one deployment until the end, then stops it; the exit code.
int supervise(deployment_plan plan, const run_options& opts, const node_services& services,
              const sigset_t& stop_signals) {
  caf::actor_system_config cfg;
  register_message_types(cfg);
  register_supervisor_types(cfg);
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("scheduler.max-threads", std::max(2u, std::thread::hardware_concurrency()));
  caf::actor_system sys{cfg};
  outcome out;
  out.quiet = opts.live;
  // The observer is the node's parent: spawn it first, hand it the node once it exists.
  caf::actor obs;
  {
    trace::spawn_name name{"/_observer"};
    obs = sys.spawn(observer, &out);
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
  caf::actor status;
  if (opts.live)
    status = sys.spawn(live_status_actor, node);

  int code = wait_for_end(stop_signals, opts, out);
  if (status)
    caf::anon_send_exit(status, caf::exit_reason::user_shutdown);
  status = nullptr;
  caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
  {
    std::unique_lock<std::mutex> g{out.mu};
    out.cv.wait(g, [&] { return out.node_down; });
  }
  trace::exit("/", exit_event::reason_kind::shutdown, nullptr);
  caf::anon_send_exit(obs, caf::exit_reason::user_shutdown);
  node = nullptr;
  obs = nullptr;
  sys.await_all_actors_done();
  return code;
}

int run(const std::shared_ptr<run_options>& opts) {
  opts->live = isatty(STDOUT_FILENO) == 1;
  if (opts->log_level.empty())
    opts->log_level = opts->live ? "warn" : "info";
  async_log log; // from here on, logging never waits for whoever reads stderr
  spdlog::set_level(spdlog::level::from_str(opts->log_level));

  auto loaded = spec::load_spec_file(opts->spec_file);
  for (auto& p : loaded.problems)
    std::fprintf(stderr, "%s\n", spec::to_string(p).c_str());
  if (!loaded.spec)
    return 2;

  // Signals are taken by sigtimedwait; every thread started from here inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::unique_ptr<runtime> local;
  try {
    if (opts->runtime == "sim")
      local = std::make_unique<sim_runtime>();
    else
      local = std::make_unique<process_runtime>(process_runtime_options{opts->log_dir, 1000});
  } catch (const std::exception& e) {
    // A refused --log-dir, or no epoll: nothing can run.
    spdlog::error("[/] {}", e.what());
    return 2;
  }
  composite_runtime rt{{local.get()}};
  check_runner runner;

  auto planned = plan_from_spec(*loaded.spec, opts->runtime);
  for (auto& e : planned.errors)
    std::fprintf(stderr, "%s: %s\n", opts->spec_file.c_str(), e.c_str());
  for (auto& w : planned.warnings)
    spdlog::warn("[/] {}: {}", opts->spec_file, w);
  if (!planned.errors.empty())
    return 2;

  std::unique_ptr<trace_sink> trace;
  if (!open_trace(*opts, trace))
    return 2;
  node_services services{&rt, &runner, trace.get()};
  // Main's own events (the node's last) and the actors it spawns go to the same sink.
  trace::context_scope tracing{trace.get()};
  int code = supervise(std::move(planned.plan), *opts, services, stop_signals);
  // A trace that lost events is a failed run, even of a healthy deployment.
  if (trace && !trace->close())
    code = 1;
  return code;
}

} // namespace

void add_run_command(CLI::App& app) {
  auto opts = std::make_shared<run_options>();
  auto* cmd = app.add_subcommand(
      "run", "Run a deployment in the foreground under the node supervisor until signalled "
             "(Ctrl-C, SIGTERM): exit 0 after a clean stop, 1 if the deployment failed or the "
             "trace lost events, 2 for an invalid spec or a trace file that cannot be opened");
  cmd->add_option("SPEC", opts->spec_file, "The deployment spec (ZLayer's format, YAML or JSON)")
      ->required();
  cmd->add_option("--runtime", opts->runtime,
                  "What runs the containers: real child processes, or simulated ones")
      ->check(CLI::IsMember({"process", "sim"}))
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
  cmd->add_option("--log-dir", opts->log_dir,
                  "Also append each replica's output to DIR/<replica>.log, each line timestamped "
                  "and each start marked; DIR is created (0750) and refused when others can "
                  "write to it")
      ->type_name("DIR");
  on_parsed(cmd, [opts] { return run(opts); });
}

} // namespace nv
