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

class EvaluationLog {
 public:
  // Opens or creates the database; throws LogError with a one-line message.
  explicit EvaluationLog(const std::filesystem::path& path);
  ~EvaluationLog();
  EvaluationLog(const EvaluationLog&) = delete;
  EvaluationLog& operator=(const EvaluationLog&) = delete;

  std::int64_t startRun(const std::string& command, const std::string& module_path,
                        const std::string& module_sha256, const nlohmann::json& options);

  // Rows are buffered and written in one transaction by flush(), and also
  // by record() itself once the oldest buffered row is older than
  // flush_interval: a run killed during a set-up that takes many minutes
  // keeps what it finished. A failure of such a write is thrown by the next
  // flush().
  void record(std::int64_t run_id, const std::string& module_sha256,
              const pipeline::PipelineConfig& config, const engine::EvalResult& result, int island,
              int generation);
  void flush();

  // Every stored result for this module whose verification options match,
  // most recent first per configuration: what a resumed run already knows.
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
  void exec(const char* sql);
  void flushLocked();
  sqlite3* db_ = nullptr;
  std::mutex mutex_;
  std::vector<std::function<void()>> pending_;
  std::chrono::steady_clock::time_point oldest_pending_;
  std::chrono::steady_clock::duration flush_interval_ = std::chrono::seconds(10);
  std::string deferred_error_;
  std::string verify_fingerprint_;
  std::filesystem::path path_;
};

}  // namespace loom::driver
