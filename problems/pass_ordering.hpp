// The pass-ordering problem as a pagmo user-defined problem: a decision
// vector is a pipeline (see genome.hpp), its fitness the verified size and
// estimated cycles of what that pipeline makes of the input module.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <pagmo/problem.hpp>
#include <pagmo/types.hpp>
#include <string>
#include <unordered_map>

#include "problems/candidate_evaluator.hpp"
#include "problems/fitness.hpp"
#include "problems/genome.hpp"

namespace loom::problems {

// One evaluated candidate, as the driver's archive and log see it.
struct EvaluatedCandidate {
  const pipeline::PipelineConfig& config;
  const engine::EvalResult& result;
  const Score& score;
  unsigned island;
  unsigned generation;
};

// What every copy of the problem shares: pagmo copies problems freely (one
// per island, one per evolve), and they all feed the same engine and archive.
struct SearchContext {
  std::shared_ptr<CandidateEvaluator> evaluator;
  GenomeLayout layout;
  FitnessSpec spec;
  std::atomic<bool> stop{false};  // once set, fitness returns at once (the generation is discarded)
  std::atomic<bool> cut{false};   // set when a fitness call skipped or lost a candidate to `stop`
  std::atomic<unsigned> generation{0};
  // Candidates measured above this objective are not verified (see
  // CandidateEvaluator); the driver lowers it as better candidates verify.
  std::atomic<double> verify_threshold{CandidateEvaluator::kVerifyAll};
  std::function<void(const EvaluatedCandidate&)> on_evaluated;

  // Total bytes of every pipeline evaluated so far, for histories.
  void rememberSize(const pipeline::PipelineConfig& config, std::uint64_t bytes);
  std::optional<std::uint64_t> sizeOf(const pipeline::PipelineConfig& config) const;

 private:
  mutable std::mutex sizes_mutex_;
  std::unordered_map<wasm::Hash128, std::uint64_t, wasm::Hash128Hasher> sizes_;
};

enum class ConstraintHandling {
  Constraint,  // one inequality constraint (gaco, ihs, the sequence GA)
  Penalty,     // no constraint, infeasible candidates penalized (sga, de, pso, nsga2)
};

class pass_ordering_problem {
 public:
  pass_ordering_problem() = default;
  pass_ordering_problem(std::shared_ptr<SearchContext> context, ConstraintHandling handling,
                        unsigned island);

  pagmo::vector_double fitness(const pagmo::vector_double& x) const;
  // pagmo's member_bfe calls this: a whole batch goes to the engine at once.
  pagmo::vector_double batch_fitness(const pagmo::vector_double& xs) const;
  bool has_batch_fitness() const { return true; }

  std::pair<pagmo::vector_double, pagmo::vector_double> get_bounds() const;
  pagmo::vector_double::size_type get_nobj() const;
  pagmo::vector_double::size_type get_nic() const;
  pagmo::vector_double::size_type get_nix() const;
  std::string get_name() const { return "loom pass ordering"; }
  std::string get_extra_info() const;
  pagmo::thread_safety get_thread_safety() const { return pagmo::thread_safety::basic; }

  const GenomeLayout& layout() const { return context_->layout; }
  const SearchContext& context() const { return *context_; }
  ConstraintHandling handling() const { return handling_; }
  unsigned island() const { return island_; }

  // The pagmo fitness vector this problem gives a scored candidate.
  pagmo::vector_double toFitness(const Score& score) const;

 private:
  pagmo::vector_double evaluateAll(const std::vector<pagmo::vector_double>& xs) const;

  std::shared_ptr<SearchContext> context_;
  ConstraintHandling handling_ = ConstraintHandling::Constraint;
  unsigned island_ = 0;
};

}  // namespace loom::problems
