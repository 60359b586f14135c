#include "loom/driver/evaluation_log.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <optional>
#include <sstream>
#include <thread>
#include <utility>

#include "loom/pipeline/phase.hpp"

namespace loom::driver {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS runs (
  run_id        INTEGER PRIMARY KEY,
  started_at    TEXT NOT NULL,
  command       TEXT NOT NULL,
  module_path   TEXT NOT NULL,
  module_sha256 TEXT NOT NULL,
  options       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS evaluations (
  id            INTEGER PRIMARY KEY,
  run_id        INTEGER NOT NULL REFERENCES runs(run_id),
  module_sha256 TEXT NOT NULL,
  config_key    TEXT NOT NULL,
  config        TEXT NOT NULL,
  phases        TEXT NOT NULL,
  phase_count   INTEGER NOT NULL,
  optimize_level INTEGER NOT NULL,
  shrink_level  INTEGER NOT NULL,
  unroll_factor INTEGER NOT NULL,
  status        TEXT NOT NULL,
  reason        TEXT,
  total_bytes   INTEGER,
  code_bytes    INTEGER,
  instructions  INTEGER,
  cycles        REAL,
  verdict       TEXT,
  proved        INTEGER,
  bounded       INTEGER,
  refuted       INTEGER,
  unknown       INTEGER,
  unchanged     INTEGER,
  seconds       REAL,
  passes_seconds REAL,
  verify_seconds REAL,
  island        INTEGER,
  generation    INTEGER,
  verify_fingerprint TEXT NOT NULL,
  result        TEXT NOT NULL,
  created_at    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS evaluations_by_module ON evaluations(module_sha256, config_key);
)sql";

std::string now() {
  const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

struct Statement {
  sqlite3_stmt* stmt = nullptr;
  Statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
      throw LogError(fmt::format("evaluation log: {}", sqlite3_errmsg(db)));
    }
  }
  ~Statement() { sqlite3_finalize(stmt); }
  void text(int i, const std::string& s) {
    sqlite3_bind_text(stmt, i, s.c_str(), -1, SQLITE_TRANSIENT);
  }
  void integer(int i, std::int64_t v) { sqlite3_bind_int64(stmt, i, v); }
  void real(int i, double v) { sqlite3_bind_double(stmt, i, v); }
  void null(int i) { sqlite3_bind_null(stmt, i); }
};

}  // namespace

struct EvaluationLog::Row {
  std::int64_t run = 0;  // index into runs_ + 1
  std::string module_sha256;
  pipeline::PipelineConfig config;
  engine::EvalResult result;
  int island = 0;
  int generation = 0;
  std::string phases;
  std::string created_at;
  std::string fingerprint;
};

namespace {

constexpr std::array kEvaluationColumns = {"run_id",         "module_sha256",  "config_key",
                                           "config",         "phases",         "phase_count",
                                           "optimize_level", "shrink_level",   "unroll_factor",
                                           "status",         "reason",         "total_bytes",
                                           "code_bytes",     "instructions",   "cycles",
                                           "verdict",        "proved",         "bounded",
                                           "refuted",        "unknown",        "unchanged",
                                           "seconds",        "passes_seconds", "verify_seconds",
                                           "island",         "generation",     "verify_fingerprint",
                                           "result",         "created_at"};

// Each attempt waits this long for a lock before it gives up until the next
// attempt: a busy log must not hold the search up.
constexpr int kBusyTimeoutMs = 250;

}  // namespace

EvaluationLog::EvaluationLog(const std::filesystem::path& path) : path_(path) {
  std::error_code ec;
  created_ = !std::filesystem::exists(path, ec);
  if (sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    const std::string why = db_ ? sqlite3_errmsg(db_) : "cannot open";
    sqlite3_close(db_);
    db_ = nullptr;
    throw LogError(fmt::format("cannot open evaluation log {}: {}", path.string(), why));
  }
  try {
    checkSchema();
  } catch (const LogError&) {
    sqlite3_close(db_);
    db_ = nullptr;
    if (created_) {
      std::filesystem::remove(path, ec);
      std::filesystem::remove(path.string() + "-wal", ec);
      std::filesystem::remove(path.string() + "-shm", ec);
    }
    throw;
  }
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
}

EvaluationLog::~EvaluationLog() {
  bool unused = false;
  {
    std::lock_guard lock(mutex_);
    if (db_) flushLocked();
    if (db_ && created_ && !wrote_) {
      // Another run may have opened the file this one created: only a file
      // with no run in it is this run's alone to remove.
      const auto ours =
          std::count_if(runs_.begin(), runs_.end(), [](const PendingRun& r) { return r.id != 0; });
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v2(
              db_, "SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM evaluations)", -1,
              &stmt, nullptr) == SQLITE_OK &&
          sqlite3_step(stmt) == SQLITE_ROW)
        unused = sqlite3_column_int64(stmt, 0) == ours && sqlite3_column_int64(stmt, 1) == 0;
      sqlite3_finalize(stmt);
    }
    if (db_) sqlite3_close(db_);
    db_ = nullptr;
  }
  if (unused) {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
    std::filesystem::remove(path_.string() + "-wal", ec);
    std::filesystem::remove(path_.string() + "-shm", ec);
  }
}

void EvaluationLog::exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string why = error ? error : sqlite3_errmsg(db_);
    sqlite3_free(error);
    throw LogError(fmt::format("evaluation log {}: {}", path_.string(), why));
  }
}

// Reads before it writes: the project's tables are created in an empty
// database only, so a foreign database is refused untouched.
void EvaluationLog::checkSchema() {
  // Opening waits for a lock longer than a write attempt: nothing has been
  // done yet, and a refusal here ends the run.
  sqlite3_busy_timeout(db_, 10000);
  std::vector<std::string> tables;
  {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, "SELECT name FROM sqlite_master WHERE type = 'table'", -1, &stmt,
                           nullptr) != SQLITE_OK) {
      const std::string why = sqlite3_errmsg(db_);
      sqlite3_finalize(stmt);
      throw LogError(fmt::format("cannot use {} as the evaluation log: {}", path_.string(), why));
    }
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
      tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
      throw LogError(fmt::format("cannot use {} as the evaluation log: {}", path_.string(),
                                 sqlite3_errmsg(db_)));
  }
  if (tables.empty()) {
    exec("PRAGMA journal_mode=WAL;");
    exec(kSchema);
    return;
  }
  auto has = [&](std::string_view t) {
    return std::find(tables.begin(), tables.end(), t) != tables.end();
  };
  std::vector<std::string> columns;
  if (has("evaluations")) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, "PRAGMA table_info(evaluations)", -1, &stmt, nullptr) ==
        SQLITE_OK) {
      while (sqlite3_step(stmt) == SQLITE_ROW)
        columns.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1)));
    }
    sqlite3_finalize(stmt);
  }
  const bool ours =
      has("runs") && has("evaluations") &&
      std::all_of(kEvaluationColumns.begin(), kEvaluationColumns.end(), [&](const char* c) {
        return std::find(columns.begin(), columns.end(), c) != columns.end();
      });
  if (!ours) {
    std::string names;
    for (const auto& t : tables) names += (names.empty() ? "" : ", ") + t;
    throw LogError(fmt::format(
        "{} is an SQLite database of another kind (tables: {}), not an evaluation log; give "
        "--log a new file",
        path_.string(), names));
  }
}

std::int64_t EvaluationLog::startRun(const std::string& command, const std::string& module_path,
                                     const std::string& module_sha256,
                                     const nlohmann::json& options) {
  std::lock_guard lock(mutex_);
  runs_.push_back({command, module_path, module_sha256, options.dump(), now(), 0});
  // At once when it can be: a second run sharing a new log then sees this
  // one's row (and so never removes the file as unused; see the destructor).
  flushLocked();
  return static_cast<std::int64_t>(runs_.size());
}

void EvaluationLog::record(std::int64_t run, const std::string& module_sha256,
                           const pipeline::PipelineConfig& config, const engine::EvalResult& result,
                           int island, int generation) {
  auto row = std::make_shared<Row>();
  row->run = run;
  row->module_sha256 = module_sha256;
  row->config = config;
  row->result = result;
  row->result.module.clear();
  row->island = island;
  row->generation = generation;
  for (const auto& p : config.phases) {
    if (!row->phases.empty()) row->phases += ' ';
    row->phases += p;
  }
  row->created_at = now();
  std::lock_guard lock(mutex_);
  row->fingerprint = verify_fingerprint_;
  if (pending_.empty()) oldest_pending_ = std::chrono::steady_clock::now();
  pending_.push_back(std::move(row));
  const auto at = std::chrono::steady_clock::now();
  if (at - oldest_pending_ >= flush_interval_ && at >= next_attempt_) flushLocked();
}

void EvaluationLog::writeRow(const Row& row) {
  Statement s(db_,
              "INSERT INTO evaluations(run_id, module_sha256, config_key, config, phases, "
              "phase_count, optimize_level,"
              " shrink_level, unroll_factor, status, reason, total_bytes, code_bytes, "
              "instructions, cycles, verdict,"
              " proved, bounded, refuted, unknown, unchanged, seconds, passes_seconds, "
              "verify_seconds, island,"
              " generation, verify_fingerprint, result, created_at)"
              " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  const auto& config = row.config;
  const auto& stored = row.result;
  int i = 1;
  s.integer(i++, runs_.at(static_cast<std::size_t>(row.run - 1)).id);
  s.text(i++, row.module_sha256);
  s.text(i++, config.key().hex());
  s.text(i++, config.canonicalText());
  s.text(i++, row.phases);
  s.integer(i++, static_cast<std::int64_t>(config.phases.size()));
  s.integer(i++, config.optimize_level);
  s.integer(i++, config.shrink_level);
  s.integer(i++, config.unrolls() ? config.unroll.factor : 1);
  s.text(i++, std::string(engine::statusName(stored.status)));
  s.text(i++, stored.reason);
  const bool ok = stored.status == engine::EvalStatus::Ok;
  if (ok) {
    s.integer(i++, static_cast<std::int64_t>(stored.metrics.total_bytes));
    s.integer(i++, static_cast<std::int64_t>(stored.metrics.code_bytes));
    s.integer(i++, static_cast<std::int64_t>(stored.metrics.instructions));
    s.real(i++, stored.metrics.cycles);
  } else {
    for (int k = 0; k < 4; ++k) s.null(i++);
  }
  if (stored.verification) {
    const auto& v = *stored.verification;
    s.text(i++, std::string(verify::verdictName(v.overall)));
    s.integer(i++, v.proved);
    s.integer(i++, v.bounded);
    s.integer(i++, v.refuted);
    s.integer(i++, v.unknown);
    s.integer(i++, v.unchanged);
  } else {
    for (int k = 0; k < 6; ++k) s.null(i++);
  }
  s.real(i++, stored.times.total);
  s.real(i++, stored.times.passes);
  s.real(i++, stored.times.verification);
  s.integer(i++, row.island);
  s.integer(i++, row.generation);
  s.text(i++, row.fingerprint);
  s.text(i++, stored.toJson().dump());
  s.text(i++, row.created_at);
  if (sqlite3_step(s.stmt) != SQLITE_DONE)
    throw LogError(fmt::format("evaluation log: {}", sqlite3_errmsg(db_)));
}

bool EvaluationLog::flush() {
  std::lock_guard lock(mutex_);
  return flushLocked();
}

bool EvaluationLog::flushLocked() {
  if (!db_) return pending_.empty();
  const bool runs_waiting =
      std::any_of(runs_.begin(), runs_.end(), [](const PendingRun& r) { return r.id == 0; });
  if (pending_.empty() && !runs_waiting) return true;
  std::vector<std::size_t> inserted;
  try {
    exec("BEGIN IMMEDIATE;");
    try {
      for (std::size_t r = 0; r < runs_.size(); ++r) {
        PendingRun& run = runs_[r];
        if (run.id != 0) continue;
        Statement s(db_,
                    "INSERT INTO runs(started_at, command, module_path, module_sha256, options) "
                    "VALUES (?,?,?,?,?)");
        s.text(1, run.started_at);
        s.text(2, run.command);
        s.text(3, run.module_path);
        s.text(4, run.module_sha256);
        s.text(5, run.options);
        if (sqlite3_step(s.stmt) != SQLITE_DONE)
          throw LogError(fmt::format("evaluation log: {}", sqlite3_errmsg(db_)));
        run.id = sqlite3_last_insert_rowid(db_);
        inserted.push_back(r);
      }
      for (const auto& row : pending_) writeRow(*row);
      exec("COMMIT;");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK;", nullptr, nullptr, nullptr);
      throw;
    }
  } catch (const std::exception& e) {
    for (std::size_t r : inserted) runs_[r].id = 0;
    last_error_ = e.what();
    using namespace std::chrono_literals;
    backoff_ = std::clamp<std::chrono::steady_clock::duration>(backoff_ * 2, 250ms, 30s);
    next_attempt_ = std::chrono::steady_clock::now() + backoff_;
    return false;
  }
  if (!pending_.empty()) wrote_ = true;
  pending_.clear();
  last_error_.clear();
  backoff_ = {};
  next_attempt_ = {};
  return true;
}

std::size_t EvaluationLog::close(std::chrono::steady_clock::duration wait) {
  using namespace std::chrono_literals;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  std::chrono::steady_clock::duration pause = 100ms;
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (flushLocked()) return 0;
      if (std::chrono::steady_clock::now() + pause > deadline)
        return pending_.size() +
               static_cast<std::size_t>(std::count_if(
                   runs_.begin(), runs_.end(), [](const PendingRun& r) { return r.id == 0; }));
    }
    std::this_thread::sleep_for(pause);
    pause = std::min<std::chrono::steady_clock::duration>(pause * 2, 5s);
  }
}

std::size_t EvaluationLog::pendingRows() const {
  std::lock_guard lock(mutex_);
  return pending_.size();
}

std::string EvaluationLog::lastError() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

void EvaluationLog::forEachKnown(
    const std::string& module_sha256, const std::string& verify_fingerprint,
    const std::function<void(const pipeline::PipelineConfig&, const engine::EvalResult&)>& visit) {
  std::lock_guard lock(mutex_);
  std::optional<Statement> query;
  try {
    query.emplace(db_,
                  "SELECT config, result FROM evaluations WHERE module_sha256 = ? AND "
                  "verify_fingerprint = ? ORDER BY id DESC");
  } catch (const LogError&) {
    return;  // busy or damaged: no hints this time
  }
  Statement& s = *query;
  s.text(1, module_sha256);
  s.text(2, verify_fingerprint);
  // A read that fails (busy, damaged) ends the hints early: nothing here is
  // needed for a correct run.
  while (sqlite3_step(s.stmt) == SQLITE_ROW) {
    const char* config = reinterpret_cast<const char*>(sqlite3_column_text(s.stmt, 0));
    const char* result = reinterpret_cast<const char*>(sqlite3_column_text(s.stmt, 1));
    try {
      visit(pipeline::PipelineConfig::fromJson(nlohmann::json::parse(config)),
            engine::EvalResult::fromJson(nlohmann::json::parse(result)));
    } catch (const std::exception&) {
      // A row from an incompatible version: evaluate that candidate again.
    }
  }
}

}  // namespace loom::driver
