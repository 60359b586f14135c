#include "loom/driver/evaluation_log.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <chrono>
#include <sstream>
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

EvaluationLog::EvaluationLog(const std::filesystem::path& path) : path_(path) {
  if (sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    const std::string why = db_ ? sqlite3_errmsg(db_) : "cannot open";
    sqlite3_close(db_);
    db_ = nullptr;
    throw LogError(fmt::format("cannot open evaluation log {}: {}", path.string(), why));
  }
  sqlite3_busy_timeout(db_, 10000);
  try {
    exec("PRAGMA journal_mode=WAL;");
    exec(kSchema);
  } catch (const LogError&) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

EvaluationLog::~EvaluationLog() {
  try {
    flush();
  } catch (...) {
  }
  if (db_) sqlite3_close(db_);
}

void EvaluationLog::exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string why = error ? error : "unknown error";
    sqlite3_free(error);
    throw LogError(fmt::format("evaluation log {}: {}", path_.string(), why));
  }
}

std::int64_t EvaluationLog::startRun(const std::string& command, const std::string& module_path,
                                     const std::string& module_sha256,
                                     const nlohmann::json& options) {
  std::lock_guard lock(mutex_);
  Statement s(db_,
              "INSERT INTO runs(started_at, command, module_path, module_sha256, options) VALUES "
              "(?,?,?,?,?)");
  s.text(1, now());
  s.text(2, command);
  s.text(3, module_path);
  s.text(4, module_sha256);
  s.text(5, options.dump());
  if (sqlite3_step(s.stmt) != SQLITE_DONE)
    throw LogError(fmt::format("evaluation log: {}", sqlite3_errmsg(db_)));
  return sqlite3_last_insert_rowid(db_);
}

void EvaluationLog::record(std::int64_t run_id, const std::string& module_sha256,
                           const pipeline::PipelineConfig& config, const engine::EvalResult& result,
                           int island, int generation) {
  std::string phases;
  for (const auto& p : config.phases) {
    if (!phases.empty()) phases += ' ';
    phases += p;
  }
  const engine::EvalResult stored = [&] {
    engine::EvalResult r = result;
    r.module.clear();
    return r;
  }();
  std::lock_guard lock(mutex_);
  if (pending_.empty()) oldest_pending_ = std::chrono::steady_clock::now();
  pending_.push_back([this, run_id, module_sha256, config, stored, island, generation, phases,
                      created = now(), fingerprint = verify_fingerprint_] {
    Statement s(db_,
                "INSERT INTO evaluations(run_id, module_sha256, config_key, config, phases, "
                "phase_count, optimize_level,"
                " shrink_level, unroll_factor, status, reason, total_bytes, code_bytes, "
                "instructions, cycles, verdict,"
                " proved, bounded, refuted, unknown, unchanged, seconds, passes_seconds, "
                "verify_seconds, island,"
                " generation, verify_fingerprint, result, created_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    int i = 1;
    s.integer(i++, run_id);
    s.text(i++, module_sha256);
    s.text(i++, config.key().hex());
    s.text(i++, config.canonicalText());
    s.text(i++, phases);
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
    s.integer(i++, island);
    s.integer(i++, generation);
    s.text(i++, fingerprint);
    s.text(i++, stored.toJson().dump());
    s.text(i++, created);
    if (sqlite3_step(s.stmt) != SQLITE_DONE)
      throw LogError(fmt::format("evaluation log: {}", sqlite3_errmsg(db_)));
  });
  if (deferred_error_.empty() &&
      std::chrono::steady_clock::now() - oldest_pending_ >= flush_interval_) {
    try {
      flushLocked();
    } catch (const std::exception& e) {
      deferred_error_ = e.what();
    }
  }
}

void EvaluationLog::flush() {
  std::lock_guard lock(mutex_);
  if (!deferred_error_.empty()) {
    const std::string why = std::exchange(deferred_error_, {});
    throw LogError(why);
  }
  flushLocked();
}

void EvaluationLog::flushLocked() {
  if (pending_.empty() || !db_) return;
  exec("BEGIN IMMEDIATE;");
  try {
    for (auto& write : pending_) write();
    exec("COMMIT;");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK;", nullptr, nullptr, nullptr);
    pending_.clear();
    throw;
  }
  pending_.clear();
}

void EvaluationLog::forEachKnown(
    const std::string& module_sha256, const std::string& verify_fingerprint,
    const std::function<void(const pipeline::PipelineConfig&, const engine::EvalResult&)>& visit) {
  std::lock_guard lock(mutex_);
  Statement s(
      db_,
      "SELECT config, result FROM evaluations WHERE module_sha256 = ? AND verify_fingerprint = ?"
      " ORDER BY id DESC");
  s.text(1, module_sha256);
  s.text(2, verify_fingerprint);
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
