// The run report: a JSON document with a stable schema (docs/report.md).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "algorithms/islands.hpp"
#include "loom/driver/archive.hpp"
#include "loom/driver/run_options.hpp"
#include "loom/engine/engine.hpp"
#include "loom/wasm/loader.hpp"

namespace loom::driver {

inline constexpr const char* kReportSchema = "loom-evolve-report/1";

struct HistoryPoint {
  unsigned generation = 0;
  double best_objective = NAN;    // best verified objective in the island; NaN if none
  double median_objective = NAN;  // median over the whole population
  std::uint64_t best_total_bytes = 0;
  double feasible_share = 0;
  std::uint64_t evaluations = 0;  // candidates the workers ran for this island in this generation
  unsigned migrants_in = 0;
  nlohmann::json toJson() const;
  static HistoryPoint fromJson(const nlohmann::json& json);
};

struct Migration {
  unsigned generation = 0, from = 0, to = 0, count = 0;
  nlohmann::json toJson() const {
    return {{"generation", generation}, {"from", from}, {"to", to}, {"count", count}};
  }
  static Migration fromJson(const nlohmann::json& j) {
    return {j.at("generation"), j.at("from"), j.at("to"), j.at("count")};
  }
};

struct Baseline {
  std::string name;
  pipeline::PipelineConfig config;
  engine::EvalResult result;
  problems::Score score;
};

// What the wasm-opt tool itself writes at one -O level: the built-in
// pipeline's raw output (scripts/check-builtins checks they are the same
// bytes), measured and never verified, with no function kept original.
struct ToolOutput {
  std::string level;  // "O", "Os", "Oz", "O3", "O4"
  engine::EvalResult result;
};

// The levels the report gives the wasm-opt tool's sizes for.
inline const std::vector<std::string>& wasmOptLevels() {
  static const std::vector<std::string> levels = {"O", "Os", "Oz", "O3", "O4"};
  return levels;
}

// The input file's own bytes as a candidate (verified by definition), and
// which of it and the best verified candidate the run writes.
struct Answer {
  bool input_file_wins = false;       // nothing beat the input file: it is written unchanged
  bool input_file_candidate = false;  // false for a text input or with --strip-debug
  std::uint64_t input_file_bytes = 0, input_file_code_bytes = 0;
  std::uint64_t total_bytes = 0, code_bytes = 0;  // what is (or would be) written
  std::string reason;  // why the input file was (not) a candidate or won, one line
};

struct IslandRecord {
  algorithms::IslandStrategy strategy;
  unsigned population = 0;
  std::vector<HistoryPoint> history;
};

struct ReportInputs {
  const RunOptions& options;
  const wasm::ModuleSource& source;
  std::string module_sha256;
  const engine::EvalResult& input;
  const std::vector<Baseline>& baselines;
  const Archive& archive;
  const std::optional<ArchivedCandidate>& best;
  std::size_t island_count = 0;
  const std::vector<Migration>& migrations;
  std::vector<IslandRecord> island_records = {};
  engine::EngineCounters engine_counters = {};
  std::uint64_t evaluations = 0;
  double seconds = 0;
  unsigned generations_done = 0;
  bool interrupted = false;
  std::vector<ToolOutput> wasm_opt = {};
  std::optional<Answer> answer = {};
};

// The `wasm_opt` object of a report: per level, the tool's bytes (unverified).
nlohmann::json describeToolOutputs(const std::vector<ToolOutput>& outputs);

// The tool's -Oz total bytes (0 if it failed or was not measured).
std::uint64_t toolOzBytes(const std::vector<ToolOutput>& outputs);

nlohmann::json buildReport(const ReportInputs& inputs);

// Candidates that failed for want of a resource (memory, time) or crashed,
// by status, each with the option that would help: the report's "degraded".
// Counted from the engine's by_status alone, so it agrees with it.
nlohmann::json degradation(const std::map<std::string, std::uint64_t>& by_status,
                           const RunOptions& options);

// The description of one configuration the report uses for the winner and
// for each baseline: phases, settings, wasm-opt arguments, sizes, verdicts.
nlohmann::json describeCandidate(const pipeline::PipelineConfig& config,
                                 const engine::EvalResult& result, BinaryenFeatures features);

}  // namespace loom::driver
