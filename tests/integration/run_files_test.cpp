// `nodevisor run` and what it leaves to its children and on disk: the log files, the trace
// file, a child's environment, user and descriptors, and the words of a signal's exit.
#include <fstream>
#include <iterator>
#include <map>
#include <pwd.h>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <vector>

#include "tests/integration/nodevisor_process.hpp"

using namespace nv_test;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, {}};
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    if (!line.empty())
      out.push_back(line);
  return out;
}

// The lines of a log file without their timestamps; a line without one fails the test.
std::vector<std::string> log_lines(const fs::path& path) {
  static const std::regex stamp{R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (.*)$)"};
  std::vector<std::string> out;
  for (auto& line : lines_of(read_file(path))) {
    std::smatch m;
    EXPECT_TRUE(std::regex_match(line, m, stamp)) << "no timestamp: " << line;
    out.push_back(m.size() > 1 ? m[1].str() : line);
  }
  return out;
}

unsigned mode_of(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::string job(const std::string& command, const std::string& extra = "") {
  return "version: v1\ndeployment: files\nsupervision: {max_restarts: 0}\nservices:\n  app:\n"
         "    rtype: job\n    image: {name: local/test}\n    command: {entrypoint: " +
         command + "}\n    supervision: {max_restarts: 0}\n" + extra;
}

} // namespace

TEST_F(Run, LogFilesAreTimestampedAndEachRunIsMarked) {
  auto logs = dir / "logs";
  auto spec = write_spec(job(R"(["sh", "-c", "echo first; echo second"])"));
  for (int run = 0; run < 2; ++run) {
    nodevisor_process nv{{"run", spec, "--until", "healthy", "--log-dir", logs.string()}};
    ASSERT_EQ(nv.wait_exit(), 0) << nv.stderr_text;
  }
  auto lines = log_lines(logs / "app-rep-1.log");
  ASSERT_EQ(lines.size(), 6u) << read_file(logs / "app-rep-1.log");
  // Written by each run's keeper, which names itself.
  const std::regex marker{R"(--- nodevisor keeper \(pid \d+\) started app-rep-1 ---)"};
  EXPECT_TRUE(std::regex_match(lines[0], marker)) << lines[0];
  EXPECT_TRUE(std::regex_match(lines[3], marker)) << lines[3];
  EXPECT_NE(lines[0], lines[3]) << "each run's marker names its own keeper";
  EXPECT_EQ(lines[1], "first");
  EXPECT_EQ(lines[2], "second");
  EXPECT_EQ(lines[4], "first");
  EXPECT_EQ(lines[5], "second");
}

TEST_F(Run, FilesGetExplicitModesWhateverTheUmask) {
  auto logs = dir / "made" / "logs";
  auto spec = write_spec(job(R"(["true"])"));
  auto old = ::umask(0);
  nodevisor_process nv{
      {"run", spec, "--until", "healthy", "--log-dir", logs.string(), "--trace", trace_path()}};
  ::umask(old);
  ASSERT_EQ(nv.wait_exit(), 0) << nv.stderr_text;
  EXPECT_EQ(mode_of(logs / "app-rep-1.log"), 0640u);
  EXPECT_EQ(mode_of(trace_path()), 0640u);
  EXPECT_EQ(mode_of(logs), 0750u);
  EXPECT_EQ(mode_of(dir / "made"), 0750u);
}

TEST_F(Run, ASymlinkPlantedInTheLogDirIsRefusedAndItsTargetUnchanged) {
  auto logs = dir / "logs";
  fs::create_directories(logs);
  fs::permissions(logs, fs::perms{0750});
  std::ofstream{dir / "victim"} << "precious\n";
  fs::create_symlink(dir / "victim", logs / "app-rep-1.log");
  auto spec = write_spec(job(R"(["sh", "-c", "echo overwritten"])"));
  nodevisor_process nv{{"run", spec, "--until", "healthy", "--log-dir", logs.string()}};
  EXPECT_EQ(nv.wait_exit(), 1) << nv.stdout_text << nv.stderr_text;
  EXPECT_NE(nv.stdout_text.find("is a symbolic link, which is not followed"), std::string::npos)
      << nv.stdout_text;
  EXPECT_EQ(read_file(dir / "victim"), "precious\n");
}

TEST_F(Run, ALogDirOthersCanWriteToIsRefusedWithOneLineAndExit2) {
  auto logs = dir / "open";
  fs::create_directories(logs);
  fs::permissions(logs, fs::perms{0777});
  auto spec = write_spec(job(R"(["true"])"));
  nodevisor_process nv{{"run", spec, "--log-dir", logs.string(), "--trace", trace_path()}};
  EXPECT_EQ(nv.wait_exit(), 2);
  auto lines = lines_of(nv.stderr_text);
  ASSERT_EQ(lines.size(), 1u) << nv.stderr_text;
  EXPECT_NE(lines[0].find("--log-dir " + logs.string() + ": mode 0777"), std::string::npos)
      << lines[0];
  EXPECT_TRUE(fs::is_empty(logs)) << "nothing was written into it";
}

TEST_F(Run, ALogDirThatCannotBeCreatedOrATraceThroughASymlinkIsOneLineAndExit2) {
  auto spec = write_spec(job(R"(["true"])"));
  std::ofstream{dir / "file"} << "x";
  {
    nodevisor_process nv{{"run", spec, "--log-dir", (dir / "file" / "logs").string()}};
    EXPECT_EQ(nv.wait_exit(), 2);
    auto lines = lines_of(nv.stderr_text);
    ASSERT_EQ(lines.size(), 1u) << nv.stderr_text;
    EXPECT_NE(lines[0].find("cannot create it: Not a directory"), std::string::npos) << lines[0];
  }
  std::ofstream{dir / "victim"} << "precious\n";
  fs::create_symlink(dir / "victim", dir / "trace-link");
  nodevisor_process nv{{"run", spec, "--trace", (dir / "trace-link").string()}};
  EXPECT_EQ(nv.wait_exit(), 2);
  auto lines = lines_of(nv.stderr_text);
  ASSERT_EQ(lines.size(), 1u) << nv.stderr_text;
  EXPECT_NE(lines[0].find("symbolic link"), std::string::npos) << lines[0];
  EXPECT_EQ(read_file(dir / "victim"), "precious\n");
}

TEST_F(Run, AChildGetsOnlyWhatTheSpecGivesItNotNodevisorsEnvironment) {
  setenv("NV_SECRET_SENTINEL", "1", 1);
  setenv("NV_RUN_FILES_ASKED", "asked-for", 1);
  auto logs = dir / "logs";
  auto spec = write_spec(
      job(R"(["env"])", "    env: {GREETING: hello, ASKED: \"$E:NV_RUN_FILES_ASKED\"}\n"));
  nodevisor_process nv{{"run", spec, "--until", "healthy", "--log-dir", logs.string()}};
  ASSERT_EQ(nv.wait_exit(), 0) << nv.stderr_text;
  unsetenv("NV_SECRET_SENTINEL");
  std::set<std::string> names;
  std::map<std::string, std::string> values;
  auto lines = log_lines(logs / "app-rep-1.log");
  for (std::size_t i = 1; i < lines.size(); ++i) { // after the marker
    auto eq = lines[i].find('=');
    ASSERT_NE(eq, std::string::npos) << lines[i];
    names.insert(lines[i].substr(0, eq));
    values[lines[i].substr(0, eq)] = lines[i].substr(eq + 1);
  }
  EXPECT_EQ(names, (std::set<std::string>{"PATH", "HOME", "LANG", "GREETING", "ASKED",
                                          "NODEVISOR_DEPLOYMENT", "NODEVISOR_SERVICE",
                                          "NODEVISOR_REPLICA"}));
  EXPECT_EQ(values["PATH"], "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  EXPECT_EQ(values["ASKED"], "asked-for");
  if (const passwd* me = getpwuid(geteuid())) {
    EXPECT_EQ(values["HOME"], me->pw_dir);
  }
}

TEST_F(Run, AChildHoldsOnlyDescriptors012EvenWithATraceAndLogFiles) {
  if (geteuid() != 0)
    GTEST_SKIP() << "the second service switches to nobody, which needs root";
  auto logs = dir / "logs";
  // $$ is the shell itself, which holds nothing else while ls lists its descriptors.
  const std::string list = R"(["sh", "-c", "ls /proc/$$/fd"])";
  auto spec = write_spec("version: v1\ndeployment: fds\nservices:\n"
                         "  mine:\n    rtype: job\n    image: {name: local/test}\n"
                         "    command: {entrypoint: " +
                         list +
                         "}\n"
                         "  nobodys:\n    rtype: job\n    image: {name: local/test}\n"
                         "    user: nobody\n    command: {entrypoint: " +
                         list + "}\n");
  nodevisor_process nv{
      {"run", spec, "--until", "healthy", "--log-dir", logs.string(), "--trace", trace_path()}};
  ASSERT_EQ(nv.wait_exit(), 0) << nv.stderr_text;
  for (const char* replica : {"mine-rep-1.log", "nobodys-rep-1.log"}) {
    auto lines = log_lines(logs / replica);
    ASSERT_FALSE(lines.empty()) << replica;
    lines.erase(lines.begin()); // the marker
    EXPECT_EQ(lines, (std::vector<std::string>{"0", "1", "2"})) << replica;
  }
}

TEST_F(Run, UserNobodyIsHonouredAndAnUnknownUserIsNotStarted) {
  if (geteuid() != 0)
    GTEST_SKIP() << "switching users needs root";
  const passwd* nobody = getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  auto logs = dir / "logs";
  auto spec = write_spec(job(R"(["sh", "-c", "id -u; id -g; echo $HOME"])", "    user: nobody\n"));
  {
    nodevisor_process nv{{"run", spec, "--until", "healthy", "--log-dir", logs.string()}};
    ASSERT_EQ(nv.wait_exit(), 0) << nv.stdout_text << nv.stderr_text;
  }
  auto lines = log_lines(logs / "app-rep-1.log");
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[1], std::to_string(nobody->pw_uid));
  EXPECT_EQ(lines[2], std::to_string(nobody->pw_gid));
  EXPECT_EQ(lines[3], nobody->pw_dir);

  auto unknown = write_spec(job(R"(["true"])", "    user: nv-no-such-user\n"));
  nodevisor_process nv{{"run", unknown, "--until", "healthy"}};
  EXPECT_EQ(nv.wait_exit(), 1);
  EXPECT_NE(nv.stdout_text.find("Failed to start container 'app-rep-1': user 'nv-no-such-user': "
                                "no such user"),
            std::string::npos)
      << nv.stdout_text;
  EXPECT_NE(nv.stderr_text.find("services.app.user: warning: user 'nv-no-such-user': no such user"),
            std::string::npos)
      << "warned at plan time: " << nv.stderr_text;
}

TEST_F(Run, AReplicaKilledBySigkillSaysSoInTheExitEventAndTraceWhy) {
  auto spec = write_spec(R"(version: v1
deployment: killed
supervision: {max_restarts: 0}
services:
  app:
    image: {name: local/test}
    command: {entrypoint: ["sleep", "300"]}
    supervision: {max_restarts: 0}
)");
  nodevisor_process nv{{"run", spec, "--trace", trace_path()}};
  ASSERT_TRUE(nv.wait_for_stdout("/killed: healthy")) << nv.stdout_text << nv.stderr_text;
  auto all = pids();
  // The trace is flushed in batches: the state event with the pid may follow the stdout line.
  for (int i = 0; i < 100 && all.empty(); ++i) {
    nv.pump(100ms);
    all = pids();
  }
  ASSERT_EQ(all.size(), 1u);
  kill(*all.begin(), SIGKILL);
  ASSERT_TRUE(nv.wait_for_stdout("deployment failed")) << nv.stdout_text;
  EXPECT_NE(nv.stdout_text.find("Container 'app-rep-1' exited unexpectedly with code 137"),
            std::string::npos)
      << "the seed's text stays: " << nv.stdout_text;
  kill(nv.pid, SIGTERM);
  nv.wait_exit();
  nlohmann::json exit_event;
  for (auto& e : trace())
    if (e["actor"] == "/killed/app/app-rep-1" && e["event"] == "exit")
      exit_event = e;
  ASSERT_FALSE(exit_event.is_null());
  EXPECT_EQ(exit_event["reason"], "failure");
  EXPECT_EQ(exit_event["signal"], "SIGKILL") << exit_event.dump();
  EXPECT_EQ(exit_event["code"], 137) << exit_event.dump();

  nodevisor_process why{{"trace", "why", "app-rep-1", trace_path()}};
  EXPECT_EQ(why.wait_exit(), 0) << why.stderr_text;
  EXPECT_NE(why.stdout_text.find("killed by SIGKILL"), std::string::npos) << why.stdout_text;
}
