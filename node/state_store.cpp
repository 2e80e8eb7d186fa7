#include "node/state_store.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <sqlite3.h>
#include <unistd.h>

#include "messages/printable.hpp"

namespace nv {
namespace fs = std::filesystem;

namespace {

// The schema, one step per version: the file's `PRAGMA user_version` says how many steps it has
// had. A file of version N gets steps N+1.. in one transaction when it is opened; a file of a
// version above the last step was written by a newer nodevisor and is refused, since this one
// cannot know what the newer tables mean. The keeper's records that live restore needs
// (design.md §9) are the next step: its tables come with a step of their own.
constexpr const char* schema_steps[] = {
    // 1: the deployments. `id` is the creation order: apply and set_desired update the row in
    // place, so a deployment keeps its place however often it changes.
    "CREATE TABLE deployments ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " spec TEXT NOT NULL,"
    " canonical TEXT NOT NULL,"
    " generation INTEGER NOT NULL CHECK (generation >= 1),"
    " desired TEXT NOT NULL CHECK (desired IN ('running', 'stopped')),"
    " created_at_us INTEGER NOT NULL,"
    " updated_at_us INTEGER NOT NULL)",
    // 2: where a deployment came from: the manifest file that made it, or '' (the API). A
    // manifest removed while the daemon was down still deletes its deployment at the next start.
    "ALTER TABLE deployments ADD COLUMN source TEXT NOT NULL DEFAULT ''",
};
constexpr int schema_version = static_cast<int>(std::size(schema_steps));

// Long enough for another process's change (an fsync or two) to finish, short enough that a
// stuck one turns into an error the caller can report.
constexpr int busy_timeout_ms = 5000;

constexpr const char* row_columns =
    "name, spec, canonical, generation, desired, created_at_us, updated_at_us, source";

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string in_quotes(std::string_view name) {
  return "'" + printable(name) + "'";
}

// The error of a failed SQLite call on `file`, as a sentence: what failed (`doing`), why, and
// what to do. Read before anything else runs on the connection (a rollback resets the message).
store_error sqlite_error(sqlite3* db, int rc, const fs::path& file, std::string_view doing,
                         bool is_change) {
  const std::string path = printable(file.string());
  std::string cause = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  const int sys_errno = db != nullptr ? sqlite3_system_errno(db) : 0;
  if (sys_errno != 0 && (rc & 0xff) == SQLITE_IOERR) {
    cause += std::string(": ") + std::strerror(sys_errno);
  }
  const std::string unchanged = is_change ? "; nothing was changed" : "";
  auto says = [&](std::string_view remedy) {
    return std::string(doing) + " failed: " + path + ": " + cause + unchanged + ". " +
           std::string(remedy);
  };
  const bool no_space =
      (rc & 0xff) == SQLITE_FULL ||
      ((rc & 0xff) == SQLITE_IOERR && (sys_errno == ENOSPC || sys_errno == EDQUOT));
  if (no_space) {
    return {store_error::kind::full, says("Free space on the file system of " + path + ".")};
  }
  switch (rc & 0xff) {
  case SQLITE_READONLY:
  case SQLITE_PERM:
    return {store_error::kind::io,
            says("Give the daemon's user write access to " + path + " and its directory.")};
  case SQLITE_CANTOPEN:
    return {store_error::kind::io, says("Check that the directory of " + path +
                                        " exists and that the daemon's user can write to it.")};
  case SQLITE_NOTADB:
  case SQLITE_CORRUPT:
    return {store_error::kind::io, says("It is not a nodevisor state db, or it is damaged: move it "
                                        "away to start with no deployments, or restore a backup.")};
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return {store_error::kind::io,
            says("Another process held it for more than " + std::to_string(busy_timeout_ms / 1000) +
                 " s: find it with `fuser " + path + "`.")};
  default:
    return {store_error::kind::io, says("Check the file system of " + path + ".")};
  }
}

// One prepared statement; a failed prepare is answered by its first step.
class statement {
public:
  statement(sqlite3* db, const char* sql) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~statement() { sqlite3_finalize(stmt_); }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  // Not copied (a spec may be megabytes): every statement is stepped and finalized within the
  // call that owns the text.
  void bind(int i, std::string_view text) {
    // A null pointer would bind NULL: an empty view may have one.
    sqlite3_bind_text64(stmt_, i, text.empty() ? "" : text.data(), text.size(), SQLITE_STATIC,
                        SQLITE_UTF8);
  }
  void bind(int i, int64_t value) { sqlite3_bind_int64(stmt_, i, value); }
  // SQLITE_ROW, SQLITE_DONE or the error.
  int step() { return rc_ == SQLITE_OK ? sqlite3_step(stmt_) : rc_; }

  std::string text(int i) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, i));
    return p == nullptr ? std::string() : std::string(p, sqlite3_column_bytes(stmt_, i));
  }
  int64_t integer(int i) const { return sqlite3_column_int64(stmt_, i); }

private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
};

// The open file: every SQLite failure on it becomes a store_error through `fail`.
struct connection {
  fs::path file;
  sqlite3* db = nullptr;

  [[noreturn]] void fail(int rc, std::string_view doing, bool is_change) const {
    throw sqlite_error(db, rc, file, doing, is_change);
  }

  void exec(const std::string& sql, std::string_view doing, bool is_change) {
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
      fail(rc, doing, is_change);
    }
  }

  // A change run to its end; returns how many rows it changed.
  template <class Bind>
  int run(const char* sql, std::string_view doing, Bind bind) {
    statement st(db, sql);
    bind(st);
    const int rc = st.step();
    if (rc != SQLITE_DONE) {
      fail(rc, doing, true);
    }
    return sqlite3_changes(db);
  }

  stored_deployment read_row(const statement& st, std::string_view doing) const {
    stored_deployment row;
    row.name = st.text(0);
    row.spec = st.text(1);
    row.canonical = st.text(2);
    row.generation = static_cast<uint64_t>(st.integer(3));
    const std::string desired = st.text(4);
    if (desired == "running") {
      row.desired = desired_state::running;
    } else if (desired == "stopped") {
      row.desired = desired_state::stopped;
    } else {
      throw store_error(store_error::kind::io,
                        std::string(doing) + " failed: " + printable(file.string()) +
                            ": deployment " + in_quotes(row.name) + " has desired state " +
                            in_quotes(desired) +
                            ", expected 'running' or 'stopped'. Something other than nodevisor "
                            "changed the file: restore a backup.");
    }
    row.created_at_us = st.integer(5);
    row.updated_at_us = st.integer(6);
    row.source = st.text(7);
    return row;
  }

  std::optional<stored_deployment> select_one(std::string_view name, std::string_view doing,
                                              bool is_change) const {
    const std::string sql =
        std::string("SELECT ") + row_columns + " FROM deployments WHERE name = ?1";
    statement st(db, sql.c_str());
    st.bind(1, name);
    const int rc = st.step();
    if (rc == SQLITE_DONE) {
      return std::nullopt;
    }
    if (rc != SQLITE_ROW) {
      fail(rc, doing, is_change);
    }
    return read_row(st, doing);
  }

  int user_version(std::string_view doing) const {
    statement st(db, "PRAGMA user_version");
    const int rc = st.step();
    if (rc != SQLITE_ROW) {
      fail(rc, doing, false);
    }
    return static_cast<int>(st.integer(0));
  }
};

// A write transaction: BEGIN IMMEDIATE takes the write lock up front, so what a change reads
// (does the name exist, which generation) is still true when it writes, in this process or
// another. Rolled back unless committed; SQLite may already have rolled back by itself
// (SQLITE_FULL), hence the check.
class transaction {
public:
  transaction(connection& c, std::string_view doing) : c_(c), doing_(doing) {
    c_.exec("BEGIN IMMEDIATE", doing_, true);
  }
  ~transaction() {
    if (!committed_ && sqlite3_get_autocommit(c_.db) == 0) {
      sqlite3_exec(c_.db, "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;

  // On disk when this returns (WAL, synchronous=FULL: the WAL is fsynced at each commit).
  void commit() {
    c_.exec("COMMIT", doing_, true);
    committed_ = true;
  }

private:
  connection& c_;
  std::string_view doing_;
  bool committed_ = false;
};

} // namespace

std::string_view to_string(desired_state state) {
  return state == desired_state::running ? "running" : "stopped";
}

struct state_store::impl {
  connection c;
  std::mutex mutex;

  ~impl() { sqlite3_close_v2(c.db); }
};

state_store::state_store(const fs::path& db, store_options options)
    : impl_(std::make_unique<impl>()) {
  connection& s = impl_->c;
  s.file = db;
  const std::string path = printable(db.string());
  const std::string doing = "opening the state db";

  // SQLite would create the file 0644 (less the umask); its -wal and -shm files take the mode of
  // the db file. The specs it holds may carry secrets (env), so the file is made here, 0600. An
  // existing file keeps the mode it has.
  const int fd = ::open(db.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    throw store_error(err == ENOSPC || err == EDQUOT ? store_error::kind::full
                                                     : store_error::kind::io,
                      doing + " failed: " + path + ": " + std::strerror(err) +
                          (err == EISDIR ? ". Name the file, not its directory."
                                         : ". Check that its directory exists and that the "
                                           "daemon's user can write to it."));
  }
  ::close(fd);

  // SQLite opens every file with O_CLOEXEC, so no workload inherits them. The connection is
  // used under impl::mutex only, hence NOMUTEX.
  const int rc =
      sqlite3_open_v2(db.c_str(), &s.db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, nullptr);
  if (rc != SQLITE_OK) {
    s.fail(rc, doing, false);
  }
  sqlite3_busy_timeout(s.db, busy_timeout_ms);

  // WAL: a reader (a second process, `sqlite3` by hand) never blocks a change, and a commit is
  // one append and one fsync. journal_mode answers the mode it got; a file system without
  // shared memory for the -shm file would leave the old one.
  {
    statement st(s.db, "PRAGMA journal_mode = WAL");
    const int step = st.step();
    if (step != SQLITE_ROW) {
      s.fail(step, doing, false);
    }
    if (const std::string mode = st.text(0); mode != "wal") {
      throw store_error(store_error::kind::io, doing + " failed: " + path +
                                                   ": SQLite cannot use WAL there (journal "
                                                   "mode stays " +
                                                   in_quotes(mode) +
                                                   "). Put the state dir on a local file system.");
    }
  }
  s.exec("PRAGMA synchronous = FULL", doing, false);
  if (options.max_pages) {
    s.exec("PRAGMA max_page_count = " + std::to_string(*options.max_pages), doing, false);
  }

  const auto refuse_newer = [&](int version) {
    throw store_error(store_error::kind::io,
                      doing + " failed: " + path + " has schema version " +
                          std::to_string(version) + ", newer than this nodevisor's " +
                          std::to_string(schema_version) +
                          ": it was written by a newer nodevisor. Run that one, or move the file "
                          "away to start with no deployments.");
  };
  if (const int version = s.user_version(doing); version > schema_version) {
    refuse_newer(version);
  } else if (version < schema_version) {
    // Read again under the write lock: another process may be creating the schema right now.
    transaction tx(s, doing);
    const int locked_version = s.user_version(doing);
    if (locked_version > schema_version) {
      refuse_newer(locked_version);
    }
    for (int step = locked_version; step < schema_version; ++step) {
      s.exec(schema_steps[step], doing, false);
    }
    s.exec("PRAGMA user_version = " + std::to_string(schema_version), doing, false);
    tx.commit();
  }
}

state_store::~state_store() = default;
state_store::state_store(state_store&&) noexcept = default;
state_store& state_store::operator=(state_store&&) noexcept = default;

std::vector<stored_deployment> state_store::list() const {
  std::lock_guard lock(impl_->mutex);
  const std::string doing = "listing the deployments";
  const std::string sql = std::string("SELECT ") + row_columns + " FROM deployments ORDER BY id";
  statement st(impl_->c.db, sql.c_str());
  std::vector<stored_deployment> rows;
  for (;;) {
    const int rc = st.step();
    if (rc == SQLITE_DONE) {
      return rows;
    }
    if (rc != SQLITE_ROW) {
      impl_->c.fail(rc, doing, false);
    }
    rows.push_back(impl_->c.read_row(st, doing));
  }
}

std::optional<stored_deployment> state_store::get(std::string_view name) const {
  std::lock_guard lock(impl_->mutex);
  return impl_->c.select_one(name, "reading deployment " + in_quotes(name), false);
}

stored_deployment state_store::create(std::string_view name, std::string_view spec,
                                      std::string_view canonical, std::string_view source) {
  std::lock_guard lock(impl_->mutex);
  const std::string doing = "storing new deployment " + in_quotes(name);
  transaction tx(impl_->c, doing);
  if (impl_->c.select_one(name, doing, true)) {
    throw store_error(store_error::kind::exists,
                      "deployment " + in_quotes(name) + " already exists");
  }
  const int64_t now = now_us();
  stored_deployment row{std::string(name),
                        std::string(spec),
                        std::string(canonical),
                        1,
                        desired_state::running,
                        now,
                        now,
                        std::string(source)};
  impl_->c.run("INSERT INTO deployments (name, spec, canonical, generation, desired, "
               "created_at_us, updated_at_us, source) VALUES (?1, ?2, ?3, 1, ?4, ?5, ?5, ?6)",
               doing, [&](statement& st) {
                 st.bind(1, name);
                 st.bind(2, spec);
                 st.bind(3, canonical);
                 st.bind(4, to_string(row.desired));
                 st.bind(5, row.created_at_us);
                 st.bind(6, source);
               });
  tx.commit();
  return row;
}

state_store::applied state_store::apply(std::string_view name, std::string_view spec,
                                        std::string_view canonical,
                                        std::optional<std::string_view> source) {
  std::lock_guard lock(impl_->mutex);
  const std::string doing = "storing the new spec of deployment " + in_quotes(name);
  transaction tx(impl_->c, doing);
  auto row = impl_->c.select_one(name, doing, true);
  if (!row) {
    throw store_error(store_error::kind::not_found, "no deployment named " + in_quotes(name));
  }
  const bool moved = source && *source != row->source;
  if (moved)
    row->source = *source;
  const bool changed = row->canonical != canonical;
  if (!changed && !moved) {
    return {std::move(*row), false};
  }
  if (changed) {
    row->spec = spec;
    row->canonical = canonical;
    row->generation += 1;
    row->updated_at_us = now_us();
  }
  impl_->c.run("UPDATE deployments SET spec = ?2, canonical = ?3, generation = ?4, "
               "updated_at_us = ?5, source = ?6 WHERE name = ?1",
               doing, [&](statement& st) {
                 st.bind(1, name);
                 st.bind(2, row->spec);
                 st.bind(3, row->canonical);
                 st.bind(4, static_cast<int64_t>(row->generation));
                 st.bind(5, row->updated_at_us);
                 st.bind(6, row->source);
               });
  tx.commit();
  return {std::move(*row), changed};
}

stored_deployment state_store::set_desired(std::string_view name, desired_state desired) {
  std::lock_guard lock(impl_->mutex);
  const std::string doing = "storing that deployment " + in_quotes(name) + " should be " +
                            std::string(to_string(desired));
  transaction tx(impl_->c, doing);
  auto row = impl_->c.select_one(name, doing, true);
  if (!row) {
    throw store_error(store_error::kind::not_found, "no deployment named " + in_quotes(name));
  }
  if (row->desired == desired) {
    return std::move(*row);
  }
  row->desired = desired;
  row->updated_at_us = now_us();
  impl_->c.run("UPDATE deployments SET desired = ?2, updated_at_us = ?3 WHERE name = ?1", doing,
               [&](statement& st) {
                 st.bind(1, name);
                 st.bind(2, to_string(desired));
                 st.bind(3, row->updated_at_us);
               });
  tx.commit();
  return std::move(*row);
}

void state_store::remove(std::string_view name) {
  std::lock_guard lock(impl_->mutex);
  const std::string doing = "removing deployment " + in_quotes(name);
  transaction tx(impl_->c, doing);
  const int removed = impl_->c.run("DELETE FROM deployments WHERE name = ?1", doing,
                                   [&](statement& st) { st.bind(1, name); });
  if (removed == 0) {
    throw store_error(store_error::kind::not_found, "no deployment named " + in_quotes(name));
  }
  tx.commit();
}

} // namespace nv
