// The daemon's desired state on real SQLite files in a temporary directory: the change rules,
// the errors, the file's mode and descriptors, a disk that fills up, a second process on the
// same file, and SIGKILL at random moments while changes are being made.
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <optional>
#include <poll.h>
#include <random>
#include <sqlite3.h>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "node/state_store.hpp"

using namespace nv;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "nv-store-test-XXXXXX").string();
    path = fs::canonical(::mkdtemp(tmpl.data()));
  }
  ~temp_dir() { fs::remove_all(path); }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

// What a test compares: every field but the timestamps.
struct row_view {
  std::string name, spec, canonical;
  uint64_t generation;
  desired_state desired;
  bool operator==(const row_view&) const = default;
};

row_view view(const stored_deployment& d) {
  return {d.name, d.spec, d.canonical, d.generation, d.desired};
}

std::vector<row_view> view(const std::vector<stored_deployment>& rows) {
  std::vector<row_view> out;
  for (const auto& r : rows) {
    out.push_back(view(r));
  }
  return out;
}

std::vector<std::string> names(const std::vector<stored_deployment>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) {
    out.push_back(r.name);
  }
  return out;
}

std::ostream& operator<<(std::ostream& out, const row_view& r) {
  return out << "{" << r.name << ", spec of " << r.spec.size() << " bytes, " << r.canonical
             << ", generation " << r.generation << ", " << to_string(r.desired) << "}";
}

// The kind of the store_error `f` throws, or nullopt when it throws none.
template <class F>
std::optional<store_error::kind> error_kind(F f, std::string* message = nullptr) {
  try {
    f();
  } catch (const store_error& e) {
    if (message != nullptr) {
      *message = e.what();
    }
    return e.why;
  }
  return std::nullopt;
}

class state_store_test : public ::testing::Test {
protected:
  temp_dir dir;
  fs::path db = dir.path / "state.db";
};

TEST_F(state_store_test, GenerationIsOneAtCreateAndRisesOnlyWhenTheCanonicalFormChanges) {
  state_store store(db);
  EXPECT_TRUE(store.list().empty());
  EXPECT_FALSE(store.get("web"));

  const auto created = store.create("web", "name: web\n", "{\"v\":1}");
  EXPECT_EQ(view(created),
            (row_view{"web", "name: web\n", "{\"v\":1}", 1, desired_state::running}));
  EXPECT_GT(created.created_at_us, 0);
  EXPECT_EQ(created.updated_at_us, created.created_at_us);
  EXPECT_EQ(view(*store.get("web")), view(created));

  // The same canonical form in other words: nothing changes, not even the stored text.
  const auto same = store.apply("web", "name:   web  # comment\n", "{\"v\":1}");
  EXPECT_FALSE(same.changed);
  EXPECT_EQ(view(same.row), view(created));
  EXPECT_EQ(same.row.updated_at_us, created.updated_at_us);

  const auto changed = store.apply("web", "name: web\nx: 2\n", "{\"v\":2}");
  EXPECT_TRUE(changed.changed);
  EXPECT_EQ(view(changed.row),
            (row_view{"web", "name: web\nx: 2\n", "{\"v\":2}", 2, desired_state::running}));
  EXPECT_EQ(changed.row.created_at_us, created.created_at_us);
  EXPECT_GE(changed.row.updated_at_us, created.updated_at_us);
  EXPECT_EQ(view(*store.get("web")), view(changed.row));

  // Stop and start keep the generation and the spec.
  const auto stopped = store.set_desired("web", desired_state::stopped);
  EXPECT_EQ(stopped.desired, desired_state::stopped);
  EXPECT_EQ(stopped.generation, 2u);
  EXPECT_EQ(store.get("web")->desired, desired_state::stopped);
  EXPECT_EQ(view(store.set_desired("web", desired_state::stopped)), view(stopped));
  // An apply leaves a stopped deployment stopped.
  const auto while_stopped = store.apply("web", "x: 3\n", "{\"v\":3}");
  EXPECT_EQ(while_stopped.row.generation, 3u);
  EXPECT_EQ(while_stopped.row.desired, desired_state::stopped);
  const auto started = store.set_desired("web", desired_state::running);
  EXPECT_EQ(view(started), (row_view{"web", "x: 3\n", "{\"v\":3}", 3, desired_state::running}));
  EXPECT_FALSE(store.apply("web", "x: 3\n", "{\"v\":3}").changed);
  EXPECT_EQ(store.get("web")->generation, 3u);

  store.remove("web");
  EXPECT_FALSE(store.get("web"));
  EXPECT_TRUE(store.list().empty());
  // A name that comes back starts over.
  EXPECT_EQ(store.create("web", "a", "{\"v\":9}").generation, 1u);
}

TEST_F(state_store_test, ListIsInCreationOrderWhateverChangesAfterwards) {
  state_store store(db);
  store.create("c", "c", "c1");
  store.create("a", "a", "a1");
  store.create("b", "b", "b1");
  store.apply("c", "c", "c2");
  store.set_desired("a", desired_state::stopped);
  store.apply("a", "a", "a2");
  store.set_desired("a", desired_state::running);
  EXPECT_EQ(names(store.list()), (std::vector<std::string>{"c", "a", "b"}));

  store.remove("c");
  store.create("c", "c", "c3");
  EXPECT_EQ(names(store.list()), (std::vector<std::string>{"a", "b", "c"}));
  store.remove("c"); // the newest: its rowid may be reused, and order still holds
  store.create("d", "d", "d1");
  store.create("c", "c", "c4");
  EXPECT_EQ(names(store.list()), (std::vector<std::string>{"a", "b", "d", "c"}));
}

TEST_F(state_store_test, EverythingComesBackWhenTheFileIsOpenedAgain) {
  std::vector<stored_deployment> before;
  {
    state_store store(db);
    store.create("one", "spec 1", "c1");
    store.create("two", "spec 2", "c2");
    store.apply("one", "spec 1b", "c1b");
    store.set_desired("two", desired_state::stopped);
    before = store.list();
  }
  state_store store(db);
  const auto after = store.list();
  ASSERT_EQ(view(after), view(before));
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].created_at_us, before[i].created_at_us);
    EXPECT_EQ(after[i].updated_at_us, before[i].updated_at_us);
  }
}

TEST_F(state_store_test, TextIsStoredByteForByte) {
  state_store store(db);
  std::string spec = "name: \xc3\xa9t\xc3\xa9\n";
  spec += std::string("nul\0byte\n", 9);
  spec += "\xff\xfe not UTF-8\r\n";
  spec += std::string(1 << 20, 'x'); // a spec much larger than a page
  store.create("bytes", spec, std::string("{\"a\":\"\0\"}", 9));
  const auto back = store.get("bytes");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->spec, spec);
  EXPECT_EQ(back->canonical, std::string("{\"a\":\"\0\"}", 9));
  // Compared byte for byte too: a canonical form that differs after a NUL is a change.
  EXPECT_TRUE(store.apply("bytes", spec, std::string("{\"a\":\"\0!\"}", 10)).changed);

  // Empty text is text, not NULL (an empty string_view may carry a null pointer).
  store.create("empty", std::string_view(), std::string_view());
  EXPECT_EQ(store.get("empty")->spec, "");
  EXPECT_TRUE(store.apply("empty", std::string_view(), "c").changed);
  EXPECT_TRUE(store.apply("empty", "x", std::string_view()).changed);
}

TEST_F(state_store_test, ARefusedChangeNamesTheDeploymentAndChangesNothing) {
  state_store store(db);
  store.create("web", "original", "c1");
  const auto before = view(store.list());

  std::string message;
  EXPECT_EQ(error_kind([&] { store.create("web", "other", "c2"); }, &message),
            store_error::kind::exists);
  EXPECT_NE(message.find("'web'"), std::string::npos) << message;
  EXPECT_EQ(error_kind([&] { store.apply("api", "x", "c"); }, &message),
            store_error::kind::not_found);
  EXPECT_NE(message.find("'api'"), std::string::npos) << message;
  EXPECT_EQ(error_kind([&] { store.set_desired("api", desired_state::stopped); }),
            store_error::kind::not_found);
  EXPECT_EQ(error_kind([&] { store.remove("api"); }), store_error::kind::not_found);
  // A name with control characters is shown escaped.
  EXPECT_EQ(error_kind([&] { store.remove("a\x1b[2Jb"); }, &message), store_error::kind::not_found);
  EXPECT_EQ(message.find('\x1b'), std::string::npos) << message;

  EXPECT_EQ(view(store.list()), before);
  // The connection is still usable after the errors, and nothing was left in a transaction.
  EXPECT_TRUE(store.apply("web", "changed", "c3").changed);
  state_store reopened(db);
  EXPECT_EQ(reopened.get("web")->spec, "changed");
}

TEST_F(state_store_test, OpenedInWalModeWithTheSchemaVersionInTheFile) {
  { state_store store(db); }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  auto pragma = [&](const char* sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(raw, sql, -1, &st, nullptr), SQLITE_OK);
    EXPECT_EQ(sqlite3_step(st), SQLITE_ROW);
    std::string value = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return value;
  };
  EXPECT_EQ(pragma("PRAGMA journal_mode"), "wal"); // a property of the file, not the connection
  EXPECT_EQ(pragma("PRAGMA user_version"), "2");
  sqlite3_close(raw);
}

void set_user_version(const fs::path& db, int version) {
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  const std::string sql = "PRAGMA user_version = " + std::to_string(version);
  EXPECT_EQ(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);
}

TEST_F(state_store_test, AFileOfANewerSchemaIsRefusedWithItsPathAndLeftAlone) {
  {
    state_store store(db);
    store.create("web", "spec", "c");
  }
  set_user_version(db, 7);
  std::string message;
  EXPECT_EQ(error_kind([&] { state_store store(db); }, &message), store_error::kind::io);
  EXPECT_NE(message.find(db.string()), std::string::npos) << message;
  EXPECT_NE(message.find("schema version 7, newer than this nodevisor's 2"), std::string::npos)
      << message;

  set_user_version(db, 2);
  state_store store(db);
  EXPECT_EQ(names(store.list()), std::vector<std::string>{"web"});
}

TEST_F(state_store_test, TheSourceIsKeptAndMovesWithoutRaisingTheGeneration) {
  state_store store(db);
  EXPECT_EQ(store.create("api", "spec", "c").source, "");
  EXPECT_EQ(store.create("web", "spec", "c", "/m/web.yaml").source, "/m/web.yaml");
  // The same spec from another file: the new owner is stored, the generation stays.
  auto moved = store.apply("web", "spec", "c", "/m/site.yaml");
  EXPECT_FALSE(moved.changed);
  EXPECT_EQ(moved.row.generation, 1u);
  EXPECT_EQ(store.get("web")->source, "/m/site.yaml");
  // No source given (an API change) keeps the one stored.
  auto changed = store.apply("web", "spec 2", "c2");
  EXPECT_TRUE(changed.changed);
  EXPECT_EQ(changed.row.source, "/m/site.yaml");
  EXPECT_EQ(state_store(db).get("web")->source, "/m/site.yaml");
}

TEST_F(state_store_test, AFileOfTheFirstSchemaIsUpgradedInPlaceKeepingItsRows) {
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
    const char* v1 =
        "CREATE TABLE deployments (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, spec TEXT "
        "NOT NULL, canonical TEXT NOT NULL, generation INTEGER NOT NULL CHECK (generation >= 1), "
        "desired TEXT NOT NULL CHECK (desired IN ('running', 'stopped')), created_at_us INTEGER "
        "NOT NULL, updated_at_us INTEGER NOT NULL);"
        "INSERT INTO deployments (name, spec, canonical, generation, desired, created_at_us, "
        "updated_at_us) VALUES ('old', 'text', 'c', 3, 'stopped', 1, 2);"
        "PRAGMA user_version = 1;";
    ASSERT_EQ(sqlite3_exec(raw, v1, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(raw);
  }
  state_store store(db);
  auto old = store.get("old");
  ASSERT_TRUE(old);
  EXPECT_EQ(view(*old), (row_view{"old", "text", "c", 3, desired_state::stopped}));
  EXPECT_EQ(old->source, "");
  EXPECT_EQ(store.apply("old", "text", "c", "/m/old.yaml").row.source, "/m/old.yaml");
}

TEST_F(state_store_test, AFileThatCannotBeAStateDbIsRefusedWithItsPath) {
  std::string message;
  const fs::path missing = dir.path / "no-such-dir" / "state.db";
  EXPECT_EQ(error_kind([&] { state_store store(missing); }, &message), store_error::kind::io);
  EXPECT_NE(message.find(missing.string()), std::string::npos) << message;
  EXPECT_NE(message.find("directory"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(missing.parent_path())); // the directory is the caller's to make

  std::ofstream{db, std::ios::binary} << std::string(8192, 'g');
  EXPECT_EQ(error_kind([&] { state_store store(db); }, &message), store_error::kind::io);
  EXPECT_NE(message.find(db.string()), std::string::npos) << message;
  EXPECT_NE(message.find("not a nodevisor state db"), std::string::npos) << message;

  fs::remove(db);
  fs::create_directory(db);
  EXPECT_EQ(error_kind([&] { state_store store(db); }, &message), store_error::kind::io);
  EXPECT_NE(message.find(db.string()), std::string::npos) << message;
}

TEST_F(state_store_test, TheFilesAreOwnerOnlyAndClosedOnExec) {
  const mode_t old_mask = ::umask(0); // SQLite alone would make them 0666 now
  std::optional<state_store> store;
  store.emplace(db);
  ::umask(old_mask);
  store->create("web", "env: {TOKEN: secret}", "c");

  int seen = 0;
  for (const auto& entry : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const fs::path target = fs::read_symlink(entry.path(), ec);
    if (ec || target.parent_path() != dir.path) {
      continue;
    }
    ++seen;
    const int fd = std::stoi(entry.path().filename().string());
    EXPECT_TRUE(::fcntl(fd, F_GETFD) & FD_CLOEXEC) << target << " is inherited by children";
  }
  EXPECT_GE(seen, 3) << "the db, its -wal and its -shm should be open";
  for (const char* suffix : {"", "-wal", "-shm"}) {
    struct stat st {};
    const std::string file = db.string() + suffix;
    ASSERT_EQ(::stat(file.c_str(), &st), 0) << file;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << file;
  }
}

TEST_F(state_store_test, AFullDiskRefusesTheChangeKeepsThePreviousStateAndASmallerChangeWorks) {
  {
    state_store store(db, {.max_pages = 48}); // 192 KiB of 4 KiB pages
    store.create("web", "small", "w1");
    store.create("api", "small", "a1");
    store.set_desired("api", desired_state::stopped);

    std::vector<row_view> before;
    std::string message;
    std::optional<store_error::kind> kind;
    for (size_t size = 1024; size <= (8u << 20) && !kind; size *= 2) {
      before = view(store.list());
      kind = error_kind(
          [&] { store.apply("web", std::string(size, 's'), "w-" + std::to_string(size)); },
          &message);
    }
    ASSERT_EQ(kind, store_error::kind::full) << "a growing spec never filled 48 pages";
    EXPECT_NE(message.find("Free space on the file system of " + db.string()), std::string::npos)
        << message;
    EXPECT_NE(message.find("'web'"), std::string::npos) << message;
    EXPECT_EQ(view(store.list()), before);

    const std::string big = std::string(1 << 20, 'b');
    EXPECT_EQ(error_kind([&] { store.create("db", big, "d1"); }), store_error::kind::full);
    EXPECT_FALSE(store.get("db"));
    EXPECT_EQ(view(store.list()), before);

    // What fits still goes in, on the same connection.
    const auto api = store.apply("api", "smaller", "a2");
    EXPECT_TRUE(api.changed);
    EXPECT_EQ(api.row.generation, 2u);
    store.set_desired("api", desired_state::running);
    store.create("db", "tiny", "d1");
    before = view(store.list());
    EXPECT_EQ(names(store.list()), (std::vector<std::string>{"web", "api", "db"}));
    store.remove("db");
    before.pop_back();
    EXPECT_EQ(view(store.list()), before);
  }
  // And the file holds exactly that.
  state_store store(db);
  EXPECT_EQ(names(store.list()), (std::vector<std::string>{"web", "api"}));
  EXPECT_EQ(store.get("api")->spec, "smaller");
  EXPECT_EQ(store.get("api")->desired, desired_state::running);
}

// Blocks for one byte from `fd` (with a generous deadline); false on EOF, error or timeout.
bool read_byte(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 20'000) != 1) {
    return false;
  }
  char c;
  return ::read(fd, &c, 1) == 1;
}

void write_byte(int fd) {
  ASSERT_EQ(::write(fd, "x", 1), 1);
}

TEST_F(state_store_test, AnotherProcessCanOpenAndChangeTheSameFileAtTheSameTime) {
  int to_child[2], to_parent[2];
  ASSERT_EQ(::pipe(to_child), 0);
  ASSERT_EQ(::pipe(to_parent), 0);
  // Forked before this process opens the file: SQLite's connections must not cross a fork.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(to_child[1]);
    ::close(to_parent[0]);
    int code = 0;
    try {
      if (!read_byte(to_child[0])) {
        ::_exit(10);
      }
      state_store store(db);
      code = !store.get("first") ? 11 : 0;
      store.create("second", "from the child", "c2");
      if (::write(to_parent[1], "x", 1) != 1 || !read_byte(to_child[0])) {
        ::_exit(12);
      }
      if (code == 0 && (!store.get("third") || names(store.list()).size() != 3)) {
        code = 13;
      }
    } catch (const std::exception&) {
      code = 14;
    }
    ::_exit(code);
  }
  ::close(to_child[0]);
  ::close(to_parent[1]);

  state_store store(db);
  store.create("first", "from the parent", "c1");
  write_byte(to_child[1]);
  ASSERT_TRUE(read_byte(to_parent[0])) << "the child did not open the store";
  const auto second = store.get("second");
  ASSERT_TRUE(second) << "the child's change is not visible here";
  EXPECT_EQ(second->spec, "from the child");
  store.create("third", "from the parent", "c3");
  write_byte(to_child[1]);

  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "child status " << status << " (exit " << WEXITSTATUS(status) << ")";
  EXPECT_EQ(names(store.list()), (std::vector<std::string>{"first", "second", "third"}));
  ::close(to_child[1]);
  ::close(to_parent[0]);

  // Two stores of one file in one process, too.
  state_store other(db);
  other.remove("first");
  EXPECT_EQ(names(store.list()), (std::vector<std::string>{"second", "third"}));
}

TEST_F(state_store_test, ConcurrentCallersAreSerialized) {
  state_store store(db);
  store.create("shared", "s", "0");
  constexpr int threads = 4, applies = 8;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      store.create("own-" + std::to_string(t), "o", "o");
      for (int j = 0; j < applies; ++j) {
        const std::string canonical = std::to_string(t) + "-" + std::to_string(j);
        store.apply("shared", "spec " + canonical, canonical);
        store.get("shared");
        store.list();
      }
    });
  }
  for (auto& w : workers) {
    w.join();
  }
  EXPECT_EQ(store.get("shared")->generation, 1u + threads * applies);
  EXPECT_EQ(store.list().size(), 1u + threads);
}

// --- SIGKILL at a random moment ---------------------------------------------------------------
// A child runs change number start, start+1, ... and acknowledges each on a pipe once the call
// has returned. The same changes on a model say what the file must hold after n of them.

std::string op_spec(int i) {
  // From a few bytes to several pages, so that a torn change would show.
  return "change " + std::to_string(i) + "\n" +
         std::string(static_cast<size_t>(i * 7919 % 30000), static_cast<char>('a' + i % 26));
}

// Change i: six per deployment d<k> (create, apply, stop, identical re-apply, start the one
// before, remove the one before that). Each is valid after changes 0..i-1.
template <class Create, class Apply, class Desire, class Remove>
void change(int i, Create create, Apply apply, Desire desire, Remove remove) {
  const int k = i / 6;
  const std::string name = "d" + std::to_string(k);
  switch (i % 6) {
  case 0:
    return create(name, op_spec(i), "c" + std::to_string(i));
  case 1:
    return apply(name, op_spec(i), "c" + std::to_string(i));
  case 2:
    return desire(name, desired_state::stopped);
  case 3:
    return apply(name, "same canonical, other text", "c" + std::to_string(i - 2));
  case 4:
    if (k >= 1) {
      return desire("d" + std::to_string(k - 1), desired_state::running);
    }
    return apply(name, op_spec(i), "c" + std::to_string(i));
  default:
    if (k >= 2) {
      return remove("d" + std::to_string(k - 2));
    }
    return apply(name, op_spec(i), "c" + std::to_string(i));
  }
}

void run_change(state_store& store, int i) {
  change(
      i,
      [&](const std::string& n, const std::string& s, const std::string& c) {
        store.create(n, s, c);
      },
      [&](const std::string& n, const std::string& s, const std::string& c) {
        store.apply(n, s, c);
      },
      [&](const std::string& n, desired_state d) { store.set_desired(n, d); },
      [&](const std::string& n) { store.remove(n); });
}

std::vector<row_view> model_after(int changes) {
  std::vector<row_view> rows;
  auto find = [&](const std::string& n) {
    return std::find_if(rows.begin(), rows.end(), [&](const row_view& r) { return r.name == n; });
  };
  for (int i = 0; i < changes; ++i) {
    change(
        i,
        [&](const std::string& n, const std::string& s, const std::string& c) {
          rows.push_back({n, s, c, 1, desired_state::running});
        },
        [&](const std::string& n, const std::string& s, const std::string& c) {
          auto r = find(n);
          if (r->canonical != c) {
            *r = {n, s, c, r->generation + 1, r->desired};
          }
        },
        [&](const std::string& n, desired_state d) { find(n)->desired = d; },
        [&](const std::string& n) { rows.erase(find(n)); });
  }
  return rows;
}

TEST_F(state_store_test, EveryAcknowledgedChangeSurvivesSigkillAndNoneIsHalfDone) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  constexpr int rounds = 16;
  int done = 0;                // changes the file holds after the rounds so far
  int unacknowledged_kept = 0; // rounds whose last, unacknowledged change made it
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round) + ", from change " + std::to_string(done));
    int acks[2];
    ASSERT_EQ(::pipe2(acks, O_CLOEXEC), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(acks[0]);
      try {
        state_store store(db);
        for (int i = done; i < done + 100'000; ++i) {
          run_change(store, i);
          if (::write(acks[1], "k\n", 2) != 2) {
            ::_exit(3);
          }
        }
      } catch (const std::exception& e) {
        (void)::write(2, e.what(), std::strlen(e.what()));
        ::_exit(4);
      }
      ::_exit(5);
    }
    ::close(acks[1]);

    // Kill after a random number of acknowledgements (0: possibly while it opens the file),
    // then a random few more microseconds, so the kill lands anywhere in a change.
    const int wait_for = std::uniform_int_distribution<int>(0, 30)(rng);
    size_t bytes = 0;
    char buf[4096];
    while (bytes / 2 < static_cast<size_t>(wait_for)) {
      pollfd p{acks[0], POLLIN, 0};
      ASSERT_EQ(::poll(&p, 1, 20'000), 1) << "the child stopped acknowledging";
      const ssize_t n = ::read(acks[0], buf, sizeof buf);
      ASSERT_GT(n, 0) << "the child exited by itself";
      bytes += static_cast<size_t>(n);
    }
    ::usleep(std::uniform_int_distribution<useconds_t>(0, 4000)(rng));
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the child ended by itself, status " << status;
    for (ssize_t n; (n = ::read(acks[0], buf, sizeof buf)) > 0;) {
      bytes += static_cast<size_t>(n);
    }
    ::close(acks[0]);
    ASSERT_EQ(bytes % 2, 0u);
    const int acknowledged = done + static_cast<int>(bytes / 2);

    state_store store(db);
    const auto held = view(store.list());
    if (held == model_after(acknowledged)) {
      done = acknowledged;
    } else if (held == model_after(acknowledged + 1)) {
      done = acknowledged + 1;
      ++unacknowledged_kept;
    } else {
      ADD_FAILURE() << "after " << acknowledged << " acknowledged changes the file holds "
                    << ::testing::PrintToString(held) << ", expected "
                    << ::testing::PrintToString(model_after(acknowledged))
                    << " or the change after";
      return;
    }
  }
  std::printf("[ measure  ] %d changes over %d kills, %d unacknowledged ones kept\n", done, rounds,
              unacknowledged_kept);
  EXPECT_GT(done, 0);
}

} // namespace
