// What a long run shows while it works: a status block redrawn in place on a
// terminal, one plain line per generation otherwise, nothing with --quiet.
#pragma once

#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "loom/engine/engine.hpp"

namespace loom::driver {

struct IslandStatus {
  std::string name;              // "0 pga/inline-first"
  double best_objective = 0;     // of verified candidates; NaN if none yet
  std::uint64_t best_bytes = 0;  // 0 if none yet
};

struct ProgressSnapshot {
  unsigned generation = 0, generations = 0;
  std::vector<IslandStatus> islands;
  std::uint64_t best_bytes = 0;     // best verified overall
  std::uint64_t oz_bytes = 0;       // the verified -Oz, for comparison (0 if unknown)
  std::uint64_t tool_oz_bytes = 0;  // what the wasm-opt tool writes at -Oz, unverified (0: unknown)
  double evaluations_per_second = 0;
  std::uint64_t evaluations = 0;
  double elapsed_seconds = 0;
  double remaining_seconds = -1;  // < 0: unknown
};

// Thread-safe: the set-up's status comes from the engine's thread.
class Progress {
 public:
  enum class Mode { Quiet, Lines, Terminal };
  static Mode detect(bool quiet, bool force_lines);

  explicit Progress(Mode mode, std::FILE* out = stderr) : mode_(mode), out_(out) {}
  void update(const ProgressSnapshot& snapshot);
  void message(const std::string& line);  // a line that stays
  // One line redrawn in place on a terminal (the next output replaces it);
  // otherwise a plain line, at most every `kStatusEverySeconds`.
  void status(const std::string& line);
  static constexpr double kStatusEverySeconds = 10;
  // What --quiet must not hide: data that could not be kept, work that
  // degraded.
  void warning(const std::string& line);
  void finish();

 private:
  void clearStatus();  // caller holds mutex_

  Mode mode_;
  std::FILE* out_;
  std::mutex mutex_;
  int drawn_lines_ = 0;
  bool status_drawn_ = false;
  std::chrono::steady_clock::time_point last_status_line_{};
};

// The set-up's status line: which stage, where the stepwise verifications
// of the engine's workers are (the one furthest behind), the time so far
// and an estimate of what is left of it. Fed by Engine::setProgressListener.
class SetupStatus {
 public:
  SetupStatus(Progress& progress, std::chrono::steady_clock::time_point started,
              std::chrono::steady_clock::time_point deadline)
      : progress_(progress), started_(started), deadline_(deadline) {}
  // A new stage: its line stays (Progress::message), and status lines name it.
  void stage(const std::string& what);
  // `engine`: which of several engines (a tune has one per module) it comes from.
  void onProgress(const engine::Engine::Progress& p, unsigned engine = 0);
  // The line onProgress would show now (tests see it).
  std::string line(std::chrono::steady_clock::time_point now);

 private:
  struct Chain {
    std::chrono::steady_clock::time_point started;
    engine::StepProgress at;
  };
  Progress& progress_;
  std::chrono::steady_clock::time_point started_, deadline_;
  std::mutex mutex_;
  std::string stage_;
  std::map<std::pair<unsigned, unsigned>, Chain> chains_;  // by engine and worker
};

std::string formatDuration(double seconds);

// " (+1.23% vs wasm-opt -Oz 1703 B, unverified; -0.50% vs verified -Oz 1744 B)":
// how `bytes` compares with the tool's -Oz and with the verified -Oz (a zero
// reference is left out; empty if both are).
// One line from a report's "degraded" section ("" when nothing degraded):
// how many candidates failed for want of memory or time, and what helps.
std::string degradationLine(const nlohmann::json& degraded);

std::string versusReferences(std::uint64_t bytes, std::uint64_t tool_oz, std::uint64_t verified_oz);

}  // namespace loom::driver
