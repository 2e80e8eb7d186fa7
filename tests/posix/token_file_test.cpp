// The API token file: only its owner may read it, and it holds one line.
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "posix/token_file.hpp"

using namespace nv;

namespace {

namespace fs = std::filesystem;

class token_dir {
public:
  token_dir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ =
        fs::temp_directory_path() / ("nv-token-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~token_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  fs::path write(const std::string& text, mode_t mode) const {
    auto file = path_ / "token";
    std::ofstream{file, std::ios::binary} << text;
    ::chmod(file.c_str(), mode);
    return file;
  }
  const fs::path& path() const { return path_; }

private:
  fs::path path_;
};

} // namespace

TEST(TokenFile, ReadsAnOwnerOnlyFileAndDropsTheTrailingNewline) {
  token_dir dir;
  auto file = dir.write("s3cret-token\n", 0600);
  auto read = read_token_file(file);
  EXPECT_EQ(read.error, "");
  EXPECT_EQ(read.token, "s3cret-token");

  file = dir.write("crlf-token\r\n", 0400);
  EXPECT_EQ(read_token_file(file).token, "crlf-token");
  file = dir.write("no-newline", 0600);
  EXPECT_EQ(read_token_file(file).token, "no-newline");
}

TEST(TokenFile, RefusesAFileOthersCanReadWithTheRemedy) {
  token_dir dir;
  for (mode_t mode : {0644, 0640, 0604, 0700, 0660}) {
    auto file = dir.write("s3cret\n", mode);
    auto read = read_token_file(file);
    EXPECT_EQ(read.token, "");
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
    EXPECT_EQ(read.error, "token file " + file.string() + ": mode " + octal +
                              ", but only its owner may read it (0600 or 0400); run: chmod 600 " +
                              file.string());
  }
}

TEST(TokenFile, RefusesEmptyMultiLineMissingAndNonRegular) {
  token_dir dir;
  auto file = dir.write("\n", 0600);
  auto read = read_token_file(file);
  EXPECT_EQ(read.token, "");
  EXPECT_EQ(read.error.rfind("token file " + file.string() + ": empty", 0), 0u) << read.error;

  file = dir.write("one\ntwo\n", 0600);
  EXPECT_NE(read_token_file(file).error.find("one line of printable characters"),
            std::string::npos);
  file = dir.write("with space", 0600);
  EXPECT_NE(read_token_file(file).error.find("one line"), std::string::npos);

  EXPECT_EQ(read_token_file(dir.path() / "absent").error,
            "token file " + (dir.path() / "absent").string() + ": No such file or directory");
  EXPECT_EQ(read_token_file(dir.path()).error,
            "token file " + dir.path().string() + ": not a regular file");

  const auto fifo = dir.path() / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(read_token_file(fifo).error, "token file " + fifo.string() + ": not a regular file")
      << "and it did not hang waiting for a writer";
}
