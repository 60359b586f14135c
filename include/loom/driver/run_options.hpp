// Everything a search run is told: what to optimize, how to search, where
// to put the results.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "loom/engine/engine.hpp"
#include "problems/fitness.hpp"

namespace loom::driver {

struct RunOptions {
  std::filesystem::path module;
  std::optional<std::filesystem::path> output;  // the best verified module
  std::optional<std::filesystem::path> report;  // JSON report
  std::optional<std::filesystem::path> log;     // SQLite evaluation log
  double log_wait_seconds = 60;                 // how long the end of a run waits for a busy log
  std::optional<std::filesystem::path> checkpoint;  // default: derived from report/output/module
  bool resume = false;
  unsigned checkpoint_every = 1;  // generations

  unsigned generations = 30;
  unsigned islands = 4;
  unsigned population = 16;
  std::string topology = "ring";        // ring, fully-connected, unconnected, free:0-1,1-2,...
  unsigned migrate_every = 3;           // generations between migrations
  unsigned migrants = 2;                // per migration, from each source island
  std::string selection = "best";       // migrants chosen by: best (pagmo select_best)
  std::string replacement = "fair";     // and placed by: fair (pagmo fair_replace)
  std::string migration_type = "p2p";   // p2p: from one neighbour; broadcast: from all
  std::vector<std::string> algorithms;  // empty: the heterogeneous default
  problems::FitnessSpec fitness;
  double time_budget_seconds = 0;  // 0: no limit
  std::uint64_t seed = 1;
  std::size_t max_phases = 128;
  bool strip_debug = false;
  bool quiet = false;
  bool progress_lines = false;  // plain lines even on a terminal

  unsigned jobs = 0;                     // worker processes; 0: one per core
  double candidate_timeout_seconds = 0;  // 0: scaled to the module (engine::autoCandidateTimeout)
  std::uint64_t memory_limit_bytes = 4ull << 30;
  verify::VerifyOptions verify;
  bool repair = true;  // give unverified functions their original bodies back (engine/repair.hpp)
  // Verify each step of a pipeline against the one before (engine/stepwise.hpp);
  // off: the output against the input, as one step.
  bool stepwise = true;
  // The proof store (engine/proof_store.hpp); empty: none.
  std::string proof_store;
  // Verify only candidates measured within this fraction of the best verified
  // objective (problems/candidate_evaluator.hpp); negative: verify every one.
  double screen_margin = 0.0;

  // The options a resumed run must share with the run it continues.
  nlohmann::json searchIdentity() const;
  nlohmann::json toJson() const;
  std::filesystem::path checkpointPath() const;
};

}  // namespace loom::driver
