// packaging/nodevisor.service as systemd reads it: `systemd-analyze verify` must load it without
// a word, since it exits 0 even for an unknown key or a bad value and only says so.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& file) {
  std::ifstream in{file};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<fs::path> on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs{path ? path : "/usr/bin:/bin"};
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (auto candidate = fs::path{dir} / program; ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  return std::nullopt;
}

struct run_result {
  int status = -1;
  std::string output; // stdout and stderr
};

run_result run(const std::string& command) {
  run_result result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe)
    return result;
  char buffer[4096];
  while (auto n = std::fread(buffer, 1, sizeof buffer, pipe))
    result.output.append(buffer, n);
  result.status = ::pclose(pipe);
  return result;
}

// The unit with ExecStart pointing at the binary just built: verify checks that the command
// is executable, and nothing is installed in /usr/bin here.
fs::path unit_for_this_build(const fs::path& dir) {
  auto unit = read(NV_SOURCE_DIR "/packaging/nodevisor.service");
  const std::string installed = "ExecStart=/usr/bin/nodevisor ";
  auto at = unit.find(installed);
  EXPECT_NE(at, std::string::npos) << "the unit starts /usr/bin/nodevisor";
  if (at != std::string::npos)
    unit.replace(at, installed.size(), "ExecStart=" + std::string{NV_BINARY} + " ");
  fs::create_directories(dir);
  auto file = dir / "nodevisor.service"; // verify takes the unit's type from its name
  std::ofstream{file} << unit;
  return file;
}

class SystemdUnit : public testing::Test {
protected:
  void SetUp() override {
    analyze_ = on_path("systemd-analyze");
    if (!analyze_)
      GTEST_SKIP() << "systemd-analyze is not installed (Debian package systemd): the unit "
                      "is not verified";
    dir_ = fs::temp_directory_path() / ("nv-unit-" + std::to_string(::getpid()));
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  run_result verify(const fs::path& unit) const {
    return run(analyze_->string() + " verify " + unit.string());
  }

  std::optional<fs::path> analyze_;
  fs::path dir_;
};

} // namespace

TEST_F(SystemdUnit, VerifiesWithoutAWord) {
  auto result = verify(unit_for_this_build(dir_));
  EXPECT_EQ(result.status, 0) << result.output;
  EXPECT_EQ(result.output, "") << "systemd-analyze verify has something to say about the unit";
}

TEST_F(SystemdUnit, TheCheckSeesAMisspeltKey) {
  // The test above can fail: the same unit with one directive misspelt is not silent.
  auto file = unit_for_this_build(dir_);
  auto unit = read(file);
  auto at = unit.find("WatchdogSec=");
  ASSERT_NE(at, std::string::npos);
  unit.replace(at, 12, "WachdogSec=");
  std::ofstream{file} << unit;
  EXPECT_NE(verify(file).output.find("Unknown key 'WachdogSec'"), std::string::npos);
}
