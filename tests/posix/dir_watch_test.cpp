// The manifest directory watch on real files: what an editor, `cp`, `mv` and `rm` do to it.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "posix/dir_watch.hpp"

using namespace nv;
using testing::ElementsAre;

namespace {

namespace fs = std::filesystem;

class temp_dir {
public:
  explicit temp_dir(const std::string& suffix = "") {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("nv-watch-" + std::to_string(::getpid()) + "-" + info->name() + suffix);
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

private:
  fs::path path_;
};

void write(const fs::path& file, const std::string& text) {
  std::ofstream{file} << text;
}

// What the watcher reported, as "change NAME", "remove NAME", "overflow", "gone", in order.
class recorder {
public:
  dir_watch_handlers handlers() {
    return {[this](const fs::path& p) { add("change " + p.filename().string()); },
            [this](const fs::path& p) { add("remove " + p.filename().string()); },
            [this] { add("overflow"); }, [this] { add("gone"); }};
  }

  // The next report, or "(none)" when nothing comes within a generous deadline.
  std::string next(std::chrono::milliseconds wait = std::chrono::seconds{10}) {
    std::unique_lock lock{mutex_};
    if (!arrived_.wait_for(lock, wait, [&] { return !events_.empty(); }))
      return "(none)";
    auto event = events_.front();
    events_.pop_front();
    return event;
  }

private:
  void add(std::string event) {
    std::lock_guard lock{mutex_};
    events_.push_back(std::move(event));
    arrived_.notify_all();
  }

  std::mutex mutex_;
  std::condition_variable arrived_;
  std::deque<std::string> events_;
};

} // namespace

TEST(DirWatch, ManifestNamesAreYamlYmlAndJsonButNotHidden) {
  EXPECT_TRUE(is_manifest_name("web.yaml"));
  EXPECT_TRUE(is_manifest_name("web.yml"));
  EXPECT_TRUE(is_manifest_name("web.json"));
  EXPECT_FALSE(is_manifest_name("web.yaml.swp"));
  EXPECT_FALSE(is_manifest_name("web.yaml~"));
  EXPECT_FALSE(is_manifest_name(".#web.yaml"));
  EXPECT_FALSE(is_manifest_name(".web.yaml"));
  EXPECT_FALSE(is_manifest_name("README.md"));
  EXPECT_FALSE(is_manifest_name("yaml"));
}

TEST(DirWatch, ScanListsTheManifestsInNameOrder) {
  temp_dir dir;
  write(dir.path() / "web.yaml", "a");
  write(dir.path() / "api.json", "b");
  write(dir.path() / "db.yml", "c");
  write(dir.path() / "notes.txt", "d");
  write(dir.path() / ".hidden.yaml", "e");
  fs::create_directory(dir.path() / "dir.yaml");
  fs::create_symlink(dir.path() / "web.yaml", dir.path() / "link.yaml");
  fs::create_symlink(dir.path() / "missing.yaml", dir.path() / "dangling.yaml");
  std::vector<std::string> names;
  for (const auto& p : scan_manifests(dir.path()))
    names.push_back(p.filename().string());
  EXPECT_THAT(names, ElementsAre("api.json", "db.yml", "link.yaml", "web.yaml"));
  EXPECT_TRUE(scan_manifests(dir.path() / "absent").empty());
}

TEST(DirWatch, ReportsWritesRenamesAndRemovals) {
  temp_dir dir;
  recorder events;
  std::string error;
  auto watch = dir_watch::start(dir.path(), events.handlers(), error);
  ASSERT_TRUE(watch) << error;

  write(dir.path() / "web.yaml", "version: v1\n");
  EXPECT_EQ(events.next(), "change web.yaml") << "created and written: one report, once closed";
  write(dir.path() / "web.yaml", "version: v1\ndeployment: web\n");
  EXPECT_EQ(events.next(), "change web.yaml") << "rewritten in place";

  // An editor's save: a temporary file (not a manifest name), renamed over the old one.
  write(dir.path() / "web.yaml.tmp", "version: v1\ndeployment: web2\n");
  fs::rename(dir.path() / "web.yaml.tmp", dir.path() / "web.yaml");
  EXPECT_EQ(events.next(), "change web.yaml") << "renamed into place";

  temp_dir outside_holder{"-outside"};
  write(outside_holder.path() / "api.json", "{}");
  fs::rename(outside_holder.path() / "api.json", dir.path() / "api.json");
  EXPECT_EQ(events.next(), "change api.json") << "moved in from another directory";

  fs::rename(dir.path() / "api.json", outside_holder.path() / "api.json");
  EXPECT_EQ(events.next(), "remove api.json") << "moved out";

  fs::rename(dir.path() / "web.yaml", dir.path() / "web.yml");
  EXPECT_EQ(events.next(), "remove web.yaml") << "renamed within the directory: old name";
  EXPECT_EQ(events.next(), "change web.yml") << "renamed within the directory: new name";

  fs::create_symlink(outside_holder.path() / "api.json", dir.path() / "linked.json");
  EXPECT_EQ(events.next(), "change linked.json") << "a symlink is complete when created";

  write(dir.path() / "notes.txt", "not a manifest");
  write(dir.path() / ".web.yaml.swp", "an editor's swap file");
  write(dir.path() / ".#web.yaml", "a hidden file with a manifest's extension");
  fs::remove(dir.path() / "notes.txt");
  fs::remove(dir.path() / "web.yml");
  EXPECT_EQ(events.next(), "remove web.yml") << "non-manifest names are not reported";
  EXPECT_EQ(events.next(std::chrono::milliseconds{300}), "(none)");
}

TEST(DirWatch, ReportsTheDirectoryGoingAway) {
  temp_dir dir;
  const auto watched = dir.path() / "manifests";
  fs::create_directory(watched);
  recorder events;
  std::string error;
  auto watch = dir_watch::start(watched, events.handlers(), error);
  ASSERT_TRUE(watch) << error;
  write(watched / "web.yaml", "a");
  EXPECT_EQ(events.next(), "change web.yaml");
  fs::remove_all(watched);
  EXPECT_EQ(events.next(), "remove web.yaml");
  EXPECT_EQ(events.next(), "gone");
}

TEST(DirWatch, StopsPromptlyAndReportsNothingAfter) {
  temp_dir dir;
  recorder events;
  std::string error;
  auto watch = dir_watch::start(dir.path(), events.handlers(), error);
  ASSERT_TRUE(watch) << error;
  watch->stop();
  write(dir.path() / "web.yaml", "a");
  EXPECT_EQ(events.next(std::chrono::milliseconds{300}), "(none)");
  watch->stop(); // twice is harmless; so is the destructor after it
}

TEST(DirWatch, NamesTheDirectoryItCannotWatch) {
  temp_dir dir;
  recorder events;
  std::string error;
  EXPECT_FALSE(dir_watch::start(dir.path() / "absent", events.handlers(), error));
  EXPECT_EQ(error, "cannot watch " + (dir.path() / "absent").string() +
                       ": inotify_add_watch: No such file or directory");
  write(dir.path() / "file.yaml", "a");
  EXPECT_FALSE(dir_watch::start(dir.path() / "file.yaml", events.handlers(), error));
  EXPECT_EQ(error, "cannot watch " + (dir.path() / "file.yaml").string() +
                       ": inotify_add_watch: Not a directory");
}
