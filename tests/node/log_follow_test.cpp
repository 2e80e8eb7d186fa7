// The logs endpoint's reader (node/log_follow) over files the keeper's writer (keeper/log_file)
// really writes and rotates in a temporary directory: every line is read once and in order
// across rotations, a file that came and went between two reads, a truncation, and a replica
// whose file appears late.
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "keeper/log_file.hpp"
#include "node/log_follow.hpp"

using namespace nv;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

class LogFollow : public ::testing::Test {
protected:
  LogFollow() {
    dir = fs::temp_directory_path() /
          ("nv-follow-" + std::to_string(getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    auto opened = open_log_dir(dir.string());
    EXPECT_TRUE(opened.error.empty()) << opened.error;
    dir_fd = std::move(opened.dir);
  }
  ~LogFollow() override { fs::remove_all(dir); }

  log_file writer(const std::string& replica, uint64_t max_size, uint32_t max_files) {
    return log_file{dir_fd.get(), dir.string(), "shop." + replica + ".log",
                    replica,      max_size,     max_files};
  }
  log_follow reader(std::string instance = "", std::size_t lines = 100) {
    return log_follow{log_selection{dir, "shop", "api", lines, std::move(instance)}};
  }

  // The payloads (what follows the keeper's timestamp) of the lines in `text`, markers left out.
  static std::vector<std::string> payloads(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in{text};
    for (std::string line; std::getline(in, line);) {
      if (line.find("--- nodevisor keeper") != std::string::npos)
        continue;
      auto space = line.find(' ', line.find("Z "));
      out.push_back(space == std::string::npos ? line : line.substr(space + 1));
    }
    return out;
  }
  static std::vector<std::string> numbered(int from, int to) {
    std::vector<std::string> out;
    for (int i = from; i < to; ++i)
      out.push_back("line " + std::to_string(i));
    return out;
  }
  static void write_lines(log_file& f, int from, int to) {
    for (int i = from; i < to; ++i)
      f.write("line " + std::to_string(i) + "\n");
  }
  // What the reader has for now (a short wait: the writes are done by then).
  static std::string drain(log_follow& r) {
    std::string out;
    r.next(out, 200ms, true);
    return out;
  }

  fs::path dir;
  unique_fd dir_fd;
};

TEST_F(LogFollow, FirstTheLastLinesThenWhatIsAppended) {
  auto f = writer("api-rep-1", 0, 0);
  write_lines(f, 0, 10);
  auto r = reader("api-rep-1", 3);
  std::string out;
  EXPECT_TRUE(r.next(out, 0ms, true));
  EXPECT_EQ(payloads(out), numbered(7, 10));
  f.write("line 10\nline 1");
  EXPECT_EQ(payloads(drain(r)), numbered(10, 11)) << "an unterminated line waits for its end";
  f.write("1\n");
  EXPECT_EQ(payloads(drain(r)), numbered(11, 12));
}

TEST_F(LogFollow, EveryLineOnceAndInOrderAcrossRotations) {
  auto f = writer("api-rep-1", 2048, 3);
  auto r = reader("api-rep-1");
  std::vector<std::string> seen;
  auto take = [&] {
    for (auto& p : payloads(drain(r)))
      seen.push_back(p);
  };
  take();
  // Each round rotates the file at least once; the reader reads between rounds.
  for (int round = 0; round < 10; ++round) {
    write_lines(f, round * 100, round * 100 + 100);
    take();
  }
  EXPECT_TRUE(fs::exists(dir / "shop.api-rep-1.log.3")) << "the files did rotate";
  auto want = numbered(0, 1000);
  EXPECT_EQ(seen.size(), want.size());
  for (std::size_t i = 0; i < std::min(seen.size(), want.size()); ++i)
    if (seen[i] != want[i]) {
      ADD_FAILURE() << "line " << i << ": '" << seen[i] << "', expected '" << want[i] << "'";
      break;
    }
}

TEST_F(LogFollow, AFileThatCameAndWentBetweenTwoReadsIsReadToo) {
  auto f = writer("api-rep-1", 4096, 3);
  auto r = reader("api-rep-1");
  drain(r);
  write_lines(f, 0, 20);
  EXPECT_EQ(payloads(drain(r)), numbered(0, 20));
  // Far more than one file between two reads: the old one (still open) is read to its end,
  // the one rotated to .1 whole, then the new one. What went on to .2 is lost, as with tail -F.
  write_lines(f, 20, 400);
  auto got = payloads(drain(r));
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back(), "line 399");
  for (std::size_t i = 1; i < got.size(); ++i)
    EXPECT_LT(std::stoi(got[i - 1].substr(5)), std::stoi(got[i].substr(5))) << "in order";
  EXPECT_EQ(std::stoi(got.front().substr(5)), 20) << "the old file's rest comes first";
}

TEST_F(LogFollow, ATruncatedFileIsReadAgainFromItsStart) {
  auto f = writer("api-rep-1", 1 << 20, 3);
  auto r = reader("api-rep-1");
  write_lines(f, 0, 50);
  EXPECT_EQ(payloads(drain(r)), numbered(0, 50));
  ASSERT_EQ(::truncate((dir / "shop.api-rep-1.log").c_str(), 0), 0);
  write_lines(f, 50, 55);
  EXPECT_EQ(payloads(drain(r)), numbered(50, 55));
  EXPECT_LT(fs::file_size(dir / "shop.api-rep-1.log"), 1000u)
      << "the writer appends at the new end: no hole where the old lines were";
}

TEST_F(LogFollow, AReplicaWhoseFileAppearsLaterIsFollowedWithItsName) {
  auto one = writer("api-rep-1", 0, 0);
  auto r = reader();
  drain(r);
  write_lines(one, 0, 2);
  auto first = drain(r);
  EXPECT_EQ(payloads(first), numbered(0, 2));
  EXPECT_EQ(first.rfind("api-rep-1 | ", 0), 0u) << first;
  auto two = writer("api-rep-2", 0, 0);
  two.write("from two\n");
  auto out = drain(r);
  EXPECT_NE(out.find("api-rep-2 | "), std::string::npos) << out;
  EXPECT_NE(out.find("from two"), std::string::npos) << out;
}

} // namespace
