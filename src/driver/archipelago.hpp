// The generation loop shared by `loom-evolve MODULE` and `loom-evolve tune`:
// a pagmo archipelago of thread islands, one generation at a time, with
// deterministic migration between generations (see driver.hpp for why).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <pagmo/problem.hpp>
#include <pagmo/topology.hpp>
#include <vector>

#include "algorithms/islands.hpp"
#include "problems/pass_ordering.hpp"
#include "report.hpp"

namespace loom::driver {

struct ArchipelagoSettings {
  unsigned islands = 4;
  unsigned population = 16;
  std::string topology = "ring";
  unsigned migrate_every = 3;
  unsigned migrants = 2;
  std::string selection = "best";
  std::string replacement = "fair";
  std::string migration_type = "p2p";
  std::vector<std::string> algorithms;
  std::uint64_t seed = 1;
};

class Archipelago {
 public:
  // Throws std::invalid_argument (one line) for settings that cannot work.
  Archipelago(const ArchipelagoSettings& settings,
              std::shared_ptr<problems::SearchContext> context);
  ~Archipelago();

  // The first generation: each island's biased seeds, evaluated in one batch.
  // At `deadline` the evaluations still running are canceled, and the seeds
  // not evaluated count as failed (the run then ends with its set-up's answer).
  void seed(std::chrono::steady_clock::time_point deadline =
                std::chrono::steady_clock::time_point::max());
  void restore(const nlohmann::json& saved_islands, const nlohmann::json& saved_migrations);
  nlohmann::json saveIslands() const;
  nlohmann::json saveMigrations() const;

  // Evolves generations first..last. After each completed generation calls
  // `done(g)`. Stops early when `stop` is set (returns true: interrupted) or
  // at `deadline`, canceling the evaluations in progress and throwing that
  // generation away.
  bool evolve(unsigned first, unsigned last, const std::atomic<bool>& stop,
              std::chrono::steady_clock::time_point deadline,
              const std::function<void(unsigned)>& done);

  std::vector<IslandRecord> records() const;
  const std::vector<Migration>& migrations() const { return migrations_; }
  std::size_t size() const;

  // Counts, per island, the candidates the workers ran (for histories).
  void countEvaluation(unsigned island);

 private:
  struct Island;
  void recordHistory(Island& island, unsigned generation, unsigned migrants_in);
  void migrate(unsigned generation);

  ArchipelagoSettings settings_;
  std::shared_ptr<problems::SearchContext> context_;
  pagmo::topology topology_;
  std::vector<std::unique_ptr<Island>> islands_;
  std::vector<Migration> migrations_;
};

pagmo::topology makeTopology(const std::string& spec, unsigned islands);

}  // namespace loom::driver
