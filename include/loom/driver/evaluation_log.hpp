// Every evaluation of every run, in SQLite, for research queries and for
// resuming without evaluating anything twice. Schema: docs/evaluation-log.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "loom/engine/eval_result.hpp"
#include "loom/pipeline/config.hpp"

struct sqlite3;

namespace loom::driver {

class LogError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The log is a record of the search, never a source of truth: a run reads
// it for hints (earlier evaluations to skip), and the answer it writes is
// verified in that run. Writing is therefore never allowed to fail a run,
// nor to drop rows silently: a busy database is retried for as long as the
// run lasts, rows wait in memory meanwhile, and close() says how many could
// not be written in the end.
class EvaluationLog {
 public:
  // Opens or creates the database. A file that is not an evaluation log (not
  // SQLite, or SQLite with other tables) is refused before anything is
  // written to it; throws LogError with a one-line message.
  explicit EvaluationLog(const std::filesystem::path& path);
  // Writes what it can without waiting. A file this object created that
  // holds no evaluation and no other run is removed, so that a run that
  // failed to start leaves nothing behind.
  ~EvaluationLog();
  EvaluationLog(const EvaluationLog&) = delete;
  EvaluationLog& operator=(const EvaluationLog&) = delete;

  // A handle for record(); the runs row itself is written with the first
  // rows.
  std::int64_t startRun(const std::string& command, const std::string& module_path,
                        const std::string& module_sha256, const nlohmann::json& options);

  // Rows are buffered and written in one transaction by flush(), and also
  // by record() itself once the oldest buffered row is older than
  // flush_interval: a run killed during a set-up that takes many minutes
  // keeps what it finished.
  void record(std::int64_t run, const std::string& module_sha256,
              const pipeline::PipelineConfig& config, const engine::EvalResult& result, int island,
              int generation);

  // Tries once to write the buffered rows. When the database is busy or
  // fails, the rows stay buffered for the next attempt; returns whether
  // nothing is left.
  bool flush();

  // The end of a run: retries with back-off for up to `wait` and returns the
  // number of rows (evaluations and runs) that could not be written (0: the
  // log is complete).
  std::size_t close(std::chrono::steady_clock::duration wait);

  std::size_t pendingRows() const;
  // Why the last write failed ("" when it did not).
  std::string lastError() const;
  const std::filesystem::path& path() const { return path_; }

  // Every stored result for this module whose verification options match,
  // most recent first per configuration: what a resumed run already knows.
  // A busy database is read as empty (these are hints).
  void forEachKnown(
      const std::string& module_sha256, const std::string& verify_fingerprint,
      const std::function<void(const pipeline::PipelineConfig&, const engine::EvalResult&)>& visit);

  void setFlushInterval(std::chrono::steady_clock::duration interval) {
    flush_interval_ = interval;
  }

  void setVerifyFingerprint(std::string fingerprint) {
    verify_fingerprint_ = std::move(fingerprint);
  }

 private:
  struct Row;
  void exec(const char* sql);
  void checkSchema();
  bool flushLocked();
  void writeRow(const Row& row);
  sqlite3* db_ = nullptr;
  mutable std::mutex mutex_;
  struct PendingRun {
    std::string command, module_path, module_sha256, options, started_at;
    std::int64_t id = 0;  // 0: not written yet
  };
  std::vector<PendingRun> runs_;
  std::vector<std::shared_ptr<const Row>> pending_;
  std::chrono::steady_clock::time_point oldest_pending_;
  std::chrono::steady_clock::time_point next_attempt_;
  std::chrono::steady_clock::duration backoff_{};
  std::chrono::steady_clock::duration flush_interval_ = std::chrono::seconds(10);
  std::string last_error_;
  std::string verify_fingerprint_;
  std::filesystem::path path_;
  bool created_ = false;
  bool wrote_ = false;
};

}  // namespace loom::driver
