// The keeper end to end (design §9): what a killed `run` leaves (nothing), what a killed daemon
// leaves (every container, adopted by the next daemon with its pid and its counts), what a
// killed keeper leaves (containers restarted per policy), and the logs it writes and rotates.
// Real binaries, real processes, real signals; the deadlines are generous and nothing here
// asserts how fast the machine is (bench/ measures that).
#include <dirent.h>
#include <numeric>
#include <sstream>
#include <sys/stat.h>

#include "daemon_fixture.hpp"

using namespace nv_test;

namespace {

std::vector<int> read_pids(const fs::path& file) {
  std::vector<int> out;
  std::ifstream in{file};
  for (int pid; in >> pid;)
    out.push_back(pid);
  return out;
}

std::string read_text(const fs::path& file) {
  std::ifstream in{file};
  return {std::istreambuf_iterator<char>{in}, {}};
}

// The pids of the processes whose command line contains every one of `words`, in order.
std::vector<int> pids_running(const std::vector<std::string>& words) {
  std::vector<int> out;
  for (auto& entry : fs::directory_iterator{"/proc"}) {
    auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    auto cmdline = read_text(entry.path() / "cmdline");
    std::size_t at = 0;
    bool all = !cmdline.empty();
    for (auto& w : words)
      if (all && (at = cmdline.find(w, at)) == std::string::npos)
        all = false;
    if (all)
      out.push_back(std::stoi(name));
  }
  return out;
}

std::vector<nlohmann::json> trace_of(const fs::path& file) {
  std::vector<nlohmann::json> events;
  std::ifstream in{file};
  for (std::string line; std::getline(in, line);) {
    auto e = nlohmann::json::parse(line, nullptr, false);
    if (!e.is_discarded())
      events.push_back(std::move(e));
  }
  return events;
}

template <class Pred>
bool eventually(Pred pred, std::chrono::seconds limit = 30s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

// Two replicas, each of which leaves its process group twice before it settles: a `setsid`
// child (a session of its own) and a double-forked one (an orphan of the replica's shell). Each
// writes its pids to PIDS, three lines per replica.
std::string escapees(const fs::path& pids) {
  return R"(version: v1
deployment: escapes
services:
  app:
    image: {name: process}
    scale: {mode: fixed, replicas: 2}
    stop_grace_period: 2s
    command:
      entrypoint: [sh, -c, 'setsid sleep 3001 & echo $! >> )" +
         pids.string() + R"(; (sleep 3002 & echo $! >> )" + pids.string() + R"(); echo $$ >> )" +
         pids.string() + R"(; exec sleep 3000']
)";
}

class Keeper : public Daemon {
protected:
  fs::path work() const { return dir / "w"; }
  void SetUp() override { fs::create_directories(work()); }

  // `run` of the escapees, until every one of them has written its pid; the pids.
  std::vector<int> run_escapees(std::unique_ptr<nodevisor_process>& nv, bool own_group = false) {
    auto pids = work() / "pids";
    nv = std::make_unique<nodevisor_process>(
        std::vector<std::string>{"run", write_spec(escapees(pids)), "--log-dir",
                                 (dir / "logs").string()},
        dir, own_group);
    EXPECT_TRUE(eventually([&] {
      nv->pump(10ms);
      return read_pids(pids).size() == 6;
    })) << nv->stdout_text
        << nv->stderr_text;
    auto out = read_pids(pids);
    for (int pid : out)
      EXPECT_TRUE(running(pid)) << pid << " is not running before the test's signal";
    return out;
  }

  void nothing_left(const std::vector<int>& pids, int run_pid) {
    EXPECT_TRUE(eventually([&] {
      for (int pid : pids)
        if (running(pid))
          return false;
      return true;
    })) << "a process the run started outlived it";
    EXPECT_TRUE(eventually([&] {
      return pids_running({"--cgroup", "run-" + std::to_string(run_pid)}).empty();
    })) << "the run's keeper outlived it";
  }
};

} // namespace

// --- nothing outlives `run` -------------------------------------------------------------------

TEST_F(Keeper, RunKilledWithSigkillLeavesNoProcess) {
  std::unique_ptr<nodevisor_process> nv;
  auto pids = run_escapees(nv);
  ASSERT_EQ(pids.size(), 6u);
  kill(nv->pid, SIGKILL);
  EXPECT_EQ(nv->wait_exit(), 128 + SIGKILL);
  nothing_left(pids, nv->pid);
}

TEST_F(Keeper, RunKilledWithSigsegvLeavesNoProcess) {
  std::unique_ptr<nodevisor_process> nv;
  auto pids = run_escapees(nv);
  ASSERT_EQ(pids.size(), 6u);
  kill(nv->pid, SIGSEGV);
  // Dead by the signal or, under a sanitizer, by its handler's report (an abort, or exit 1).
  auto code = nv->wait_exit();
  EXPECT_TRUE(code == 128 + SIGSEGV || code == 128 + SIGABRT || code == 1) << code;
  nothing_left(pids, nv->pid);
}

TEST_F(Keeper, RunWhoseProcessGroupIsKilledLeavesNoProcess) {
  std::unique_ptr<nodevisor_process> nv;
  auto pids = run_escapees(nv, true);
  ASSERT_EQ(pids.size(), 6u);
  ASSERT_EQ(getpgid(nv->pid), nv->pid);
  killpg(nv->pid, SIGKILL);
  EXPECT_EQ(nv->wait_exit(), 128 + SIGKILL);
  nothing_left(pids, nv->pid);
}

TEST_F(Keeper, AStoppedRunTakesTheProcessesThatLeftTheirGroupWithIt) {
  std::unique_ptr<nodevisor_process> nv;
  auto pids = run_escapees(nv);
  ASSERT_EQ(pids.size(), 6u);
  kill(nv->pid, SIGTERM);
  EXPECT_EQ(nv->wait_exit(), 0) << nv->stdout_text << nv->stderr_text;
  // Stopped, not orphaned: gone by the time run exits (each is reaped by the keeper, or by
  // init for the ones that had left, hence `running`, which does not count a zombie).
  nothing_left(pids, nv->pid);
}

// --- a daemon killed and started again ---------------------------------------------------------

namespace {

// Three deployments, each caught by the kill in another phase:
//  - web: a job that ran once, `db` not yet healthy (its check fails until W/db-ready exists) and
//    `api` (2 replicas) waiting for db to be healthy;
//  - loop: `crashy`, which fails twice (W/crashy counts its starts), then stays up: its second
//    restart waits a 4 s backoff;
//  - seven: `seven`, which exits 7 once W/seven (a FIFO) is written to, and `steady`, probed.
std::string web(const fs::path& w) {
  return R"(version: v1
deployment: web
services:
  migrate:
    rtype: job
    image: {name: process}
    command: {entrypoint: [sh, -c, 'echo ran >> )" +
         (w / "migrate").string() + R"(']}
  db:
    image: {name: process}
    command: {entrypoint: [sleep, "3000"]}
    stop_grace_period: 2s
    health:
      start_grace: 0s
      interval: 200ms
      retries: 100000
      check: {type: command, command: "test -f )" +
         (w / "db-ready").string() + R"("}
  api:
    image: {name: process}
    command: {entrypoint: [sleep, "3000"]}
    scale: {mode: fixed, replicas: 2}
    stop_grace_period: 2s
    health:
      start_grace: 0s
      interval: 200ms
      check: {type: command, command: "true"}
    depends:
      - service: db
        condition: healthy
        timeout: 300s
)";
}

std::string loop(const fs::path& w) {
  auto count = (w / "crashy").string();
  return R"(version: v1
deployment: loop
services:
  crashy:
    image: {name: process}
    stop_grace_period: 2s
    command:
      entrypoint: [sh, -c, 'echo start >> )" +
         count + R"(; test $(wc -l < )" + count + R"() -ge 3 && exec sleep 300; exit 1']
    supervision: {max_restarts: 100, window: 600s, backoff: {initial: 4s, max: 4s}}
)";
}

std::string seven(const fs::path& w) {
  return R"(version: v1
deployment: seven
services:
  seven:
    image: {name: process}
    stop_grace_period: 2s
    command: {entrypoint: [sh, -c, 'read line < )" +
         (w / "seven").string() + R"(; exit 7']}
    supervision: {max_restarts: 100, window: 600s, backoff: {initial: 100ms, max: 100ms}}
  steady:
    image: {name: process}
    command: {entrypoint: [sleep, "3000"]}
    stop_grace_period: 2s
    health:
      start_grace: 0s
      interval: 100ms
      check: {type: command, command: "true"}
)";
}

const nlohmann::json* service(const nlohmann::json& d, const std::string& name) {
  if (d.contains("service_details"))
    for (auto& s : d["service_details"])
      if (s["name"] == name)
        return &s;
  return nullptr;
}

std::string state_of(const nlohmann::json& d, const std::string& name) {
  auto* s = service(d, name);
  return s ? (*s)["state"].get<std::string>() : "";
}

// The state of the service's first replica.
std::string replica_state(const nlohmann::json& d, const std::string& name) {
  auto* s = service(d, name);
  return s && !(*s)["instances"].empty() ? (*s)["instances"][0]["state"].get<std::string>() : "";
}

int restarts_of(const nlohmann::json& d, const std::string& name) {
  auto* s = service(d, name);
  return s ? (*s)["restarts"].get<int>() : -1;
}

} // namespace

TEST_F(Keeper, AKilledDaemonsContainersAreAdoptedWithTheirPidsAndCounts) {
  auto w = work();
  ASSERT_EQ(mkfifo((w / "seven").c_str(), 0600), 0);
  std::map<std::string, std::set<int>> web_pids, seven_pids;
  int loop_restarts = -1;
  nlohmann::json web_json;
  {
    auto d = start_daemon();
    for (auto* spec : {&web, &loop, &seven})
      ASSERT_EQ(request("POST", "/api/v1/deployments", spec_body((*spec)(w))).status, 201);
    auto j = wait_deployment(
        "web",
        [](const nlohmann::json& j) {
          return state_of(j, "migrate") == "completed" && replica_state(j, "db") == "running" &&
                 state_of(j, "api") == "waiting";
        },
        60s, d.get());
    web_pids = pids_by_service(j);
    web_json = j;
    seven_pids = pids_by_service(wait_deployment("seven", all_healthy, 60s, d.get()));
    auto l = wait_deployment(
        "loop",
        [](const nlohmann::json& j) { return replica_state(j, "crashy") == "crash_loop_backoff"; },
        60s, d.get());
    loop_restarts = restarts_of(l, "crashy");
    kill(d->pid, SIGKILL);
    EXPECT_EQ(d->wait_exit(), 128 + SIGKILL);
  }
  ASSERT_EQ(web_pids["db"].size(), 1u) << web_json.dump(1);
  ASSERT_EQ(seven_pids["seven"].size(), 1u);
  EXPECT_GE(loop_restarts, 1);

  // The outage: every container runs on; `seven` exits 7 with no daemon to see it.
  for (auto& pids : {web_pids, seven_pids})
    for (auto& [s, set] : pids)
      for (int pid : set)
        EXPECT_TRUE(running(pid)) << s << " " << pid << " died with the daemon";
  {
    int fd = ::open((w / "seven").c_str(), O_WRONLY | O_NONBLOCK);
    ASSERT_GE(fd, 0) << "seven does not read its FIFO: " << strerror(errno);
    ASSERT_EQ(::write(fd, "go\n", 3), 3);
    ::close(fd);
  }
  int old_seven = *seven_pids["seven"].begin();
  ASSERT_TRUE(eventually([&] { return !running(old_seven); }));

  auto d = start_daemon();
  // Adopted: db is still the same process, still not healthy; api still waits for it.
  auto j = wait_deployment(
      "web",
      [](const nlohmann::json& j) {
        return replica_state(j, "db") == "running" && state_of(j, "api") == "waiting";
      },
      60s, d.get());
  EXPECT_EQ(pids_by_service(j)["db"], web_pids["db"]);
  std::ofstream{w / "db-ready"} << "yes\n";
  j = wait_deployment(
      "web",
      [](const nlohmann::json& j) {
        return state_of(j, "db") == "healthy" && state_of(j, "api") == "healthy";
      },
      60s, d.get());
  EXPECT_EQ(state_of(j, "migrate"), "completed");
  EXPECT_EQ(pids_by_service(j)["db"], web_pids["db"]) << "db was adopted, not restarted";
  EXPECT_EQ(pids_by_service(j)["api"].size(), 2u);
  EXPECT_EQ(restarts_of(j, "db"), 0);
  EXPECT_EQ(read_text(w / "migrate"), "ran\n") << "the completed job ran again";

  // The exit during the outage: handled as an exit with code 7, restarted once per policy.
  j = wait_deployment(
      "seven",
      [&](const nlohmann::json& j) {
        auto p = pids_by_service(j);
        return all_healthy(j) && p["seven"].size() == 1 && !p["seven"].count(old_seven);
      },
      60s, d.get());
  EXPECT_EQ(restarts_of(j, "seven"), 1);
  EXPECT_EQ(restarts_of(j, "steady"), 0);
  EXPECT_EQ(pids_by_service(j)["steady"], seven_pids["steady"]);

  // The backoff went on where it was: crashy starts a third time, its count carried over.
  j = wait_deployment(
      "loop", [](const nlohmann::json& j) { return replica_state(j, "crashy") == "healthy"; }, 60s,
      d.get());
  EXPECT_EQ(restarts_of(j, "crashy"), 2) << "the count before the kill was " << loop_restarts;
  // Running is spawned, not yet written to its file.
  EXPECT_TRUE(eventually([&] { return read_text(w / "crashy") == "start\nstart\nstart\n"; }))
      << read_text(w / "crashy");

  // The new daemon's trace: seven's exit with its code; no restart and no failure in web, none
  // of `steady`; crashy spawned once, when its pending backoff fell due.
  bool seven_exit = false;
  int crashy_spawns = 0;
  for (auto& e : trace_of(state() / "trace.jsonl")) {
    std::string actor = e.value("actor", "");
    std::string event = e.value("event", "");
    if (actor == "/seven/seven/seven-rep-1" && event == "exit" && e.value("code", 0) == 7)
      seven_exit = true;
    if (actor.rfind("/web", 0) == 0 || actor.rfind("/seven/steady", 0) == 0) {
      EXPECT_NE(event, "restart") << e.dump();
      EXPECT_NE(event, "failure") << e.dump();
    }
    if (actor == "/loop/crashy/crashy-rep-1" && event == "spawn")
      ++crashy_spawns;
  }
  EXPECT_TRUE(seven_exit) << "no exit with code 7 in the new daemon's trace";
  EXPECT_EQ(crashy_spawns, 1);
}

TEST_F(Keeper, AKilledKeepersContainersAreRestartedByTheDaemon) {
  auto d = start_daemon();
  ASSERT_EQ(request("POST", "/api/v1/deployments", spec_body(seven(work()))).status, 201);
  ASSERT_EQ(mkfifo((work() / "seven").c_str(), 0600), 0);
  auto before = pids_by_service(wait_deployment("seven", all_healthy, 60s, d.get()));
  int keeper = 0;
  std::ifstream{state() / "keeper.pid"} >> keeper;
  ASSERT_GT(keeper, 0);
  kill(keeper, SIGKILL);

  auto after = wait_deployment(
      "seven",
      [&](const nlohmann::json& j) {
        auto p = pids_by_service(j);
        return all_healthy(j) && p["steady"].size() == 1 && p["steady"] != before["steady"];
      },
      60s, d.get());
  EXPECT_GE(restarts_of(after, "steady"), 1);
  for (auto& [s, set] : before)
    for (int pid : set)
      EXPECT_FALSE(running(pid)) << s << " " << pid << " outlived its keeper";
  int next = 0;
  std::ifstream{state() / "keeper.pid"} >> next;
  EXPECT_GT(next, 0);
  EXPECT_NE(next, keeper) << "a new keeper holds the restarted containers";
  EXPECT_TRUE(running(next));
  d->pump(200ms);
  EXPECT_NE(d->stderr_text.find("the keeper (pid " + std::to_string(keeper) + ") is gone"),
            std::string::npos)
      << d->stderr_text;
}

TEST_F(Keeper, SigtermEndsTheKeeperAndEveryContainer) {
  auto d = start_daemon();
  auto pids = work() / "pids";
  ASSERT_EQ(request("POST", "/api/v1/deployments", spec_body(escapees(pids))).status, 201);
  ASSERT_TRUE(eventually([&] { return read_pids(pids).size() == 6; }));
  int keeper = 0;
  std::ifstream{state() / "keeper.pid"} >> keeper;
  ASSERT_GT(keeper, 0);
  kill(d->pid, SIGTERM);
  EXPECT_EQ(d->wait_exit(), 0) << d->stderr_text;
  EXPECT_TRUE(eventually([&] {
    for (int pid : read_pids(pids))
      if (running(pid))
        return false;
    return !running(keeper);
  })) << "a container or the keeper outlived the daemon's SIGTERM";
}

// --- logs: written by the keeper, rotated, followed across rotations and a truncation ----------

TEST_F(Keeper, LogsFollowKeepsEveryLineAcrossRotationsAndATruncation) {
  auto config = dir / "node.yaml";
  std::ofstream{config} << "logs: {max_size: 16KiB, max_files: 2}\n";
  auto d = start_daemon({"--config", config.string()});
  auto w = work();
  // 3000 numbered lines once W/go exists, 100 at a time; 100 more once W/go2 exists.
  auto spec =
      R"(version: v1
deployment: chatty
services:
  talker:
    image: {name: process}
    stop_grace_period: 1s
    command:
      entrypoint: [sh, -c, 'while [ ! -f )" +
      (w / "go").string() +
      R"( ]; do sleep 0.05; done; i=0; while [ $i -lt 3000 ]; do echo "line $i"; i=$((i+1)); [ $((i % 100)) -eq 0 ] && sleep 0.02; done; while [ ! -f )" +
      (w / "go2").string() +
      R"( ]; do sleep 0.05; done; while [ $i -lt 3100 ]; do echo "line $i"; i=$((i+1)); done; exec sleep 3000']
)";
  ASSERT_EQ(request("POST", "/api/v1/deployments", spec_body(spec)).status, 201);
  wait_deployment("chatty", all_healthy, 60s, d.get());
  nodevisor_process logs{
      {"logs", "talker", "--deployment", "chatty", "-f", "--host", "unix://" + socket()}};
  // Following once the start marker is printed (the tail), before the first numbered line.
  ASSERT_TRUE(logs.wait_for_stdout("started talker-rep-1")) << logs.stderr_text;
  std::ofstream{w / "go"} << "\n";
  ASSERT_TRUE(logs.wait_for_stdout("line 2999\n", 60s)) << logs.stderr_text;
  auto file = state() / "logs" / "chatty.talker-rep-1.log";
  EXPECT_TRUE(fs::exists(file.string() + ".2")) << "the file rotated more than once";
  ASSERT_EQ(::truncate(file.c_str(), 0), 0);
  std::ofstream{w / "go2"} << "\n";
  ASSERT_TRUE(logs.wait_for_stdout("line 3099\n", 60s)) << logs.stderr_text;

  std::vector<int> seen;
  std::istringstream in{logs.stdout_text};
  for (std::string line; std::getline(in, line);)
    if (auto at = line.find(" line "); at != std::string::npos)
      seen.push_back(std::stoi(line.substr(at + 6)));
  std::vector<int> want(3100);
  std::iota(want.begin(), want.end(), 0);
  EXPECT_EQ(seen, want) << "every line once, in order";
}
