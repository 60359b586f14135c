// What a long run shows while it works: a status block redrawn in place on a
// terminal, one plain line per generation otherwise, nothing with --quiet.
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

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

class Progress {
 public:
  enum class Mode { Quiet, Lines, Terminal };
  static Mode detect(bool quiet, bool force_lines);

  explicit Progress(Mode mode, std::FILE* out = stderr) : mode_(mode), out_(out) {}
  void update(const ProgressSnapshot& snapshot);
  void message(const std::string& line);  // a line that stays
  // What --quiet must not hide: data that could not be kept, work that
  // degraded.
  void warning(const std::string& line);
  void finish();

 private:
  Mode mode_;
  std::FILE* out_;
  int drawn_lines_ = 0;
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
