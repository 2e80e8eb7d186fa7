#include "app/daemon_command.hpp"

#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <grp.h>
#include <mutex>
#include <optional>
#include <poll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <thread>
#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <spdlog/spdlog.h>

#include "actors/node_actor.hpp"
#include "actors/node_protocol.hpp"
#include "app/cli.hpp"
#include "app/logging.hpp"
#include "app/verbs.hpp"
#include "messages/caf/atoms.hpp"
#include "messages/caf/register_types.hpp"
#include "messages/signal_name.hpp"
#include "node/api_server.hpp"
#include "node/controller.hpp"
#include "node/manifests.hpp"
#include "node/metrics.hpp"
#include "node/peer_mesh.hpp"
#include "node/state_store.hpp"
#include "posix/machine_arch.hpp"
#include "posix/sd_notify.hpp"
#include "posix/token_file.hpp"
#include "posix/unique_fd.hpp"
#include "runtimes/composite/composite_runtime.hpp"
#include "runtimes/oci/oci_runtime.hpp"
#include "runtimes/process/process_runtime.hpp"
#include "runtimes/sim/sim_runtime.hpp"
#include "spec/node_config.hpp"
#include "trace/trace_ring.hpp"
#include "trace/trace_sink.hpp"
#include "trace/traced_actor.hpp"

namespace nv {

namespace {

struct daemon_options {
  std::string config_file;
  spec::node_config_overrides overrides;
  std::string log_level = "info";
};

// The signals the daemon takes through a signalfd: stop (TERM, INT), hand over (USR2), and the
// ones it only logs. Blocked before any thread starts, so every thread inherits the mask.
unique_fd take_daemon_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2})
    sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGXFSZ, SIG_IGN);
  unique_fd fd{signalfd(-1, &set, SFD_CLOEXEC)};
  if (!fd)
    throw std::system_error{errno, std::generic_category(), "signalfd"};
  return fd;
}

// One daemon per state directory: an flock the kernel lets go of however the daemon ends.
unique_fd lock_state_dir(const std::filesystem::path& dir, std::string& error) {
  auto path = dir / "daemon.lock";
  unique_fd fd{::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)};
  if (!fd) {
    error = path.string() + ": " + std::strerror(errno);
    return {};
  }
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    error = "state directory " + dir.string() + " is in use by another daemon (" + path.string() +
            " is locked); stop it first, or give this one another --state-dir";
    return {};
  }
  auto pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) == 0 && ::write(fd.get(), pid.data(), pid.size()) < 0)
    spdlog::warn("[/] {}: cannot write the pid: {}", path.string(), std::strerror(errno));
  return fd;
}

// The node's parent in the daemon: the node reports its deployments' states and the failures
// that reach it (and logs them itself); the controller reads the tree when asked.
caf::behavior daemon_observer(traced_actor* self) {
  self->trace_as("/_observer", nullptr);
  return {
      [](state_change&) {},
      [](failure&) {},
  };
}

bool make_dir(const std::filesystem::path& dir, std::filesystem::perms perms, std::string& error) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    error = dir.string() + ": " + ec.message();
    return false;
  }
  std::filesystem::permissions(dir, perms, ec);
  return true;
}

// WATCHDOG=1 at half systemd's interval, and only when the node actor answered within it: a
// wedged tree stops the pings, and systemd restarts the daemon.
class watchdog {
public:
  watchdog(caf::actor_system& sys, caf::actor node) {
    auto interval = systemd::watchdog_interval();
    if (!interval)
      return;
    auto half = std::chrono::duration_cast<std::chrono::milliseconds>(*interval / 2);
    thread_ = std::thread{[this, &sys, node, half] {
      std::unique_lock<std::mutex> lock{mu_};
      while (!cv_.wait_for(lock, half, [this] { return stop_; })) {
        lock.unlock();
        bool answered = false;
        {
          caf::scoped_actor self{sys};
          self->request(node, half, count_children_atom::value)
              .receive([&](child_counts&) { answered = true; }, [](caf::error&) {});
        }
        if (answered)
          systemd::notify("WATCHDOG=1");
        else
          spdlog::warn("[/] the node did not answer within {} ms: no watchdog ping", half.count());
        lock.lock();
      }
    }};
  }
  ~watchdog() {
    {
      std::lock_guard<std::mutex> g{mu_};
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable())
      thread_.join();
  }

private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

void tell_systemd(std::string_view state) {
  if (auto err = systemd::notify(state); !err.empty())
    spdlog::warn("[/] systemd notify {}: {}", state, err);
}

enum class ending : uint8_t { stop, hand_over };

// Waits for a signal that ends the daemon; logs the others.
ending wait_for_stop(int signals) {
  for (;;) {
    signalfd_siginfo info;
    if (::read(signals, &info, sizeof info) != static_cast<ssize_t>(sizeof info))
      continue;
    int sig = static_cast<int>(info.ssi_signo);
    if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT) {
      spdlog::info("[/] {} received: stopping every deployment in reverse order; their desired "
                   "state stays as it is",
                   signal_name(sig));
      return ending::stop;
    }
    if (sig == SIGUSR2)
      return ending::hand_over;
    spdlog::info("[/] {} received from pid {}: ignored (SIGTERM stops the daemon)",
                 signal_name(sig), info.ssi_pid);
  }
}

// SIGUSR2, the hand-over for an upgrade (design §8, §9): the daemon ends at once and the tree
// with it, untouched, so that no container is stopped; the keeper holds them for the next
// daemon, which adopts them. What the daemon has acknowledged is in state.db already.
[[noreturn]] void hand_over(api_server& api, trace_sink& trace, process_runtime* processes) {
  api.stop();
  trace.flush();
  // Written directly: the async logger's queue would be cut off by the exit.
  std::fprintf(stderr,
               "[/] SIGUSR2 received: handing over; every container runs on under its keeper%s "
               "for the next daemon to adopt\n",
               processes != nullptr
                   ? (" (pid " + std::to_string(processes->keeper_pid()) + ")").c_str()
                   : "");
  std::fflush(stderr);
  std::_Exit(0);
}

std::optional<api_server_config> api_config(const spec::node_config& nc, std::string& error) {
  api_server_config acfg;
  acfg.socket_path = nc.socket.string();
  acfg.version = NODEVISOR_VERSION;
  if (nc.socket_group) {
    group* g = ::getgrnam(nc.socket_group->c_str());
    if (!g) {
      error = "socket_group: no group '" + *nc.socket_group + "' on this machine (groupadd " +
              *nc.socket_group + ")";
      return std::nullopt;
    }
    acfg.socket_group = g->gr_gid;
  }
  if (nc.listen) {
    auto token = read_token_file(*nc.token_file);
    if (!token.error.empty()) {
      error = "token_file: " + token.error;
      return std::nullopt;
    }
    acfg.listen_host = nc.listen->host;
    acfg.listen_port = nc.listen->port;
    acfg.token = token.token;
  }
  return acfg;
}

// cluster.listen as the middleman binds it (the loader checked its form); what this daemon does
// not do yet is refused, not ignored.
std::optional<spec::tcp_listen> cluster_of(const spec::cluster_config& c, std::string& error) {
  if (!c.etcd.empty() || c.tls) {
    error = std::string{"cluster."} + (c.tls ? "tls" : "etcd") +
            ": not supported yet; use cluster.peers (a static list) without tls";
    return std::nullopt;
  }
  auto listen = spec::parse_host_port(c.listen);
  if (!listen)
    error = "cluster.listen: expected HOST:PORT (the middleman's port), got '" + c.listen + "'";
  return listen;
}

int serve(const spec::node_config& nc, unique_fd signals) {
  std::string error;
  namespace fs = std::filesystem;
  const fs::path& state_dir = nc.state_dir;
  auto dir_perms = fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec;
  if (!make_dir(state_dir, dir_perms, error) ||
      !make_dir(nc.socket.parent_path(), dir_perms, error)) {
    spdlog::error("[/] Configuration error: {}", error);
    return 2;
  }
  auto lock = lock_state_dir(state_dir, error);
  if (!lock) {
    spdlog::error("[/] Configuration error: {}", error);
    return 2;
  }
  auto acfg = api_config(nc, error);
  if (!acfg) {
    spdlog::error("[/] Configuration error: {}", error);
    return 2;
  }
  auto linux_runtime =
      nc.runtimes.count("linux") ? nc.runtimes.at("linux") : spec::runtime_name::process;
  // Another OS is served only by the sim runtime, standing in for it (how a Linux machine plays
  // a Windows node, design §10); the process and oci runtimes run linux workloads alone.
  std::map<std::string, std::string> other_runtimes;
  std::vector<std::string> stand_in_oses;
  for (auto& [os, rt] : nc.runtimes) {
    if (os == "linux")
      continue;
    if (rt == spec::runtime_name::sim) {
      other_runtimes[os] = "sim";
      stand_in_oses.push_back(os);
    } else {
      spdlog::warn("[/] runtimes.{}: the {} runtime runs only linux workloads; services for {} "
                   "fail with RouteToPeer",
                   os, to_string(rt), os);
    }
  }
  std::optional<state_store> store;
  try {
    store.emplace(state_dir / "state.db");
  } catch (const std::exception& e) {
    spdlog::error("[/] {}", e.what());
    return 2;
  }

  // The keeper's client, when the process or the oci runtime serves: it outlives the oci runtime.
  std::unique_ptr<process_runtime> keeper_client;
  process_runtime* processes = nullptr;
  std::unique_ptr<runtime> local;
  try {
    if (linux_runtime == spec::runtime_name::sim) {
      local = std::make_unique<sim_runtime>();
    } else {
      process_runtime_options popts;
      popts.log_dir = (state_dir / "logs").string();
      popts.qualified_log_names = true;
      popts.log_max_size = nc.logs.max_size;
      popts.log_max_files = nc.logs.max_files;
      popts.keeper_socket = (state_dir / "keeper.sock").string();
      keeper_client = std::make_unique<process_runtime>(std::move(popts));
      processes = keeper_client.get();
      if (linux_runtime == spec::runtime_name::oci) {
        oci_runtime_options oopts;
        oopts.state_dir = state_dir.string();
        if (nc.registries)
          oopts.insecure_registries = nc.registries->insecure;
        local = std::make_unique<oci_runtime>(*processes, std::move(oopts));
      }
    }
  } catch (const std::exception& e) {
    spdlog::error("[/] {}", e.what());
    return 2;
  }
  std::unique_ptr<sim_runtime> stand_in;
  if (!stand_in_oses.empty())
    stand_in = std::make_unique<sim_runtime>(stand_in_oses);
  std::vector<runtime*> locals;
  for (runtime* r :
       {local.get(), static_cast<runtime*>(processes), static_cast<runtime*>(stand_in.get())})
    if (r != nullptr)
      locals.push_back(r);
  composite_runtime rt{std::move(locals)};
  check_runner runner;
  // The daemon always records its events: a ring for the streams, and a rotated file behind it.
  auto ring = std::make_shared<trace_ring>();
  auto trace_file = state_dir / "trace.jsonl";
  trace_sink_options topts;
  topts.on_error = [](const std::string& why) { spdlog::error("[/_trace] {}", why); };
  topts.ring = ring;
  topts.rotate_bytes = uint64_t{64} << 20;
  topts.keep_files = 4;
  std::unique_ptr<trace_sink> trace;
  try {
    trace = std::make_unique<trace_sink>(trace_file, nc.name, std::move(topts));
  } catch (const std::system_error& e) {
    spdlog::error("[/_trace] {}", e.what());
    return 2;
  }
  node_services services{&rt, &runner, trace.get(), processes};
  trace::context_scope tracing{trace.get()};

  caf::actor_system_config cfg;
  register_message_types(cfg);
  register_supervisor_types(cfg);
  register_node_types(cfg);
  std::optional<spec::tcp_listen> cluster;
  if (nc.cluster) {
    cluster = cluster_of(*nc.cluster, error);
    if (!cluster) {
      spdlog::error("[/] Configuration error: {}", error);
      return 2;
    }
    configure_middleman(cfg, nc.cluster->name);
    register_mesh_types(cfg);
  }
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("scheduler.max-threads", std::max(2u, std::thread::hardware_concurrency()));
  caf::actor_system sys{cfg};
  caf::actor peers;
  if (cluster) {
    mesh_config mcfg;
    mcfg.self = node_info{nc.name, "linux", machine_arch(), {}, nc.cluster->listen};
    mcfg.self.runtimes.push_back({"linux", std::string{to_string(linux_runtime)}});
    for (auto& [os, runtime] : other_runtimes)
      mcfg.self.runtimes.push_back({os, runtime});
    mcfg.peers = nc.cluster->peers;
    peers = sys.spawn(peer_mesh, std::move(mcfg));
    // On this thread, not an actor's: the publish blocks until the port is bound.
    auto bound = sys.middleman().publish(peers, cluster->port, cluster->host.c_str(), true);
    if (!bound) {
      spdlog::error("[/] Configuration error: cluster.listen {}: {}", nc.cluster->listen,
                    sys.render(bound.error()));
      caf::anon_send_exit(peers, caf::exit_reason::user_shutdown);
      return 2;
    }
    spdlog::info("[/_peers] cluster {}: listening on {}, {} peers listed", nc.cluster->name,
                 nc.cluster->listen, nc.cluster->peers.size());
  }
  caf::actor obs;
  {
    trace::spawn_name name{"/_observer"};
    obs = sys.spawn(daemon_observer);
  }
  node_config ncfg;
  ncfg.name = nc.name;
  ncfg.observer = obs.address();
  ncfg.services = &services;
  caf::actor node;
  {
    trace::spawn_name name{"/"};
    node = sys.spawn(node_actor, std::move(ncfg));
  }

  int code = 0;
  {
    controller_config ccfg;
    ccfg.node_name = nc.name;
    ccfg.runtime = std::string{to_string(linux_runtime)};
    ccfg.other_runtimes = other_runtimes;
    ccfg.version = NODEVISOR_VERSION;
    ccfg.memory = processes;
    ccfg.peers = peers;
    ccfg.address = nc.cluster ? nc.cluster->listen : std::string{};
    controller ctl{sys, node, *store, ccfg};
    trace_metrics metrics;
    trace_metrics_feed feed{ring, trace_file, metrics};
    stream_source streams{ring, trace_file, &metrics, state_dir / "logs",
                          [&trace] { trace->flush(); }};
    std::optional<api_server> api;
    try {
      api.emplace(ctl, *acfg, &streams);
    } catch (const std::exception& e) {
      spdlog::error("[/] Configuration error: {}", e.what());
      code = 2;
    }
    if (api) {
      // Served from the start, so that /health/ready can say "restoring" while it restores.
      api->start();
      spdlog::info(
          "[/] node {} serving the control API on unix://{}{}", nc.name, nc.socket.string(),
          nc.listen ? " and tcp://" + nc.listen->host + ":" + std::to_string(api->tcp_port())
                    : std::string{});
      tell_systemd("STATUS=restoring the desired state");
      ctl.restore();
      std::unique_ptr<manifest_dir> manifests;
      if (nc.manifests)
        manifests = std::make_unique<manifest_dir>(ctl, *nc.manifests);
      spdlog::info("[/] desired state restored: ready");
      tell_systemd("READY=1\nSTATUS=ready");
      {
        watchdog dog{sys, node};
        if (wait_for_stop(signals.get()) == ending::hand_over)
          hand_over(*api, *trace, processes);
        tell_systemd("STOPPING=1\nSTATUS=stopping every deployment");
        manifests.reset();
        api->stop();
        ctl.stop_all();
      }
    }
  }
  caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(obs, caf::exit_reason::user_shutdown);
  if (peers)
    caf::anon_send_exit(peers, caf::exit_reason::user_shutdown);
  node = nullptr;
  obs = nullptr;
  peers = nullptr;
  sys.await_all_actors_done();
  // The tree has stopped every container; the keeper ends with what is left (nothing).
  if (processes != nullptr)
    processes->shut_down_keeper();
  if (trace && !trace->close())
    spdlog::error("[/_trace] the trace lost events");
  return code;
}

int daemon_main(const std::shared_ptr<daemon_options>& opts) {
  auto signals = take_daemon_signals(); // before any thread starts
  async_log log;
  spdlog::set_level(spdlog::level::from_str(opts->log_level));
  auto loaded = opts->config_file.empty()
                    ? spec::load_node_config_text("{}", "<defaults>", opts->overrides)
                    : spec::load_node_config(opts->config_file, opts->overrides);
  for (auto& w : loaded.warnings)
    spdlog::warn("[/] {}", spec::to_string(w));
  for (auto& p : loaded.problems)
    std::fprintf(stderr, "%s\n", spec::to_string(p).c_str());
  if (!loaded.config)
    return 2;
  return serve(*loaded.config, std::move(signals));
}

} // namespace

void add_daemon_command(CLI::App& app) {
  auto opts = std::make_shared<daemon_options>();
  auto* cmd = app.add_subcommand(
      "daemon",
      summary_of("daemon") +
          ". SIGTERM or Ctrl-C stops every deployment in reverse order and exits; their desired "
          "state stays, "
          "so the next start brings them back. Under systemd (Type=notify) it says READY=1 once "
          "restored, and pings the watchdog only while the node actor answers.\nExit codes: 0 a "
          "clean stop; 2 a bad node config, or the socket or state directory in use by another "
          "daemon");
  cmd->add_option("--config", opts->config_file,
                  "The node config (YAML or JSON; packaging/node.yaml shows every field)")
      ->type_name("NODE.yaml");
  auto flag = [&](const char* name, std::optional<std::string>& into, const char* help,
                  const char* type) {
    cmd->add_option_function<std::string>(
           name, [&into](const std::string& v) { into = v; }, help)
        ->type_name(type);
  };
  flag("--name", opts->overrides.name, "This node's name (default: the hostname)", "NAME");
  flag("--state-dir", opts->overrides.state_dir,
       "Where the desired state (state.db), the trace and the logs live (default "
       "/var/lib/nodevisor)",
       "DIR");
  flag("--socket", opts->overrides.socket,
       "The control API's Unix socket, mode 0660 (default /run/nodevisor/nodevisor.sock)", "PATH");
  flag("--listen", opts->overrides.listen,
       "Also serve the API on loopback TCP, with the bearer token of token_file",
       "tcp://HOST:PORT");
  flag("--manifests", opts->overrides.manifests,
       "A directory whose *.yaml / *.json files are deployments, applied at start and on change",
       "DIR");
  cmd->add_option("--log-level", opts->log_level, "Log lines on stderr from this level up")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "err", "critical", "off"}))
      ->capture_default_str();
  on_parsed(cmd, [opts] { return daemon_main(opts); });
}

} // namespace nv
