// What a long run shows while it works: a status block redrawn in place on a
// terminal, one plain line per generation otherwise, nothing with --quiet.
#pragma once

#include <cstdio>
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
  std::uint64_t best_bytes = 0;  // best verified overall
  std::uint64_t oz_bytes = 0;    // wasm-opt -Oz, for comparison (0 if unknown)
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
  void finish();

 private:
  Mode mode_;
  std::FILE* out_;
  int drawn_lines_ = 0;
};

std::string formatDuration(double seconds);

}  // namespace loom::driver
