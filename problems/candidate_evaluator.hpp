// What a problem asks of the outside world: score a batch of pipelines. For
// one module that is one engine; for corpus tuning it is one engine per
// module and a geometric mean.
#pragma once

#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "loom/engine/engine.hpp"
#include "problems/fitness.hpp"

namespace loom::problems {

struct ScoredCandidate {
  engine::EvalResult
      result;  // for a corpus: summed sizes and verdict counts, worst status and verdict
  Score score;
  bool checked = true;  // verification was attempted (or the pipeline failed): the score is final
};

// Candidates are measured first and verified only if they could matter: a
// candidate whose measured objective is above the threshold is scored as
// infeasible ("screened") without asking the solver. Verification only ever
// gives functions their original bodies back, so a candidate measured above
// the best verified objective is most unlikely to verify below it.
class CandidateEvaluator {
 public:
  explicit CandidateEvaluator(FitnessSpec spec) : spec_(spec) {}
  virtual ~CandidateEvaluator() = default;

  // `verify_threshold`: objective (the first one) above which a candidate is
  // screened; infinity verifies every candidate. Pareto runs verify all.
  std::vector<ScoredCandidate> evaluate(const std::vector<pipeline::PipelineConfig>& configs,
                                        double verify_threshold = kVerifyAll);

  static constexpr double kVerifyAll = std::numeric_limits<double>::infinity();
  const FitnessSpec& spec() const { return spec_; }

  // Ends the evaluations in progress, from any thread: evaluate() then returns
  // at once, with EvalStatus::Canceled for what had not finished.
  virtual void cancel() = 0;

  // The violation a screened candidate gets: above 1 like every infeasible
  // one, growing with its distance to the threshold so that selection among
  // screened candidates still prefers the better ones.
  static double screenedViolation(double objective, double threshold);

 protected:
  virtual std::vector<ScoredCandidate> scoreAll(
      const std::vector<pipeline::PipelineConfig>& configs, engine::Check check) = 0;
  FitnessSpec spec_;
};

// One module: objectives are ratios to the unoptimized input.
class ModuleEvaluator : public CandidateEvaluator {
 public:
  ModuleEvaluator(std::shared_ptr<engine::Engine> engine, cost::Metrics input, FitnessSpec spec);
  engine::Engine& engine() { return *engine_; }
  const cost::Metrics& input() const { return input_; }
  void cancel() override { engine_->cancelPending(); }

 protected:
  std::vector<ScoredCandidate> scoreAll(const std::vector<pipeline::PipelineConfig>& configs,
                                        engine::Check check) override;

 private:
  std::shared_ptr<engine::Engine> engine_;
  cost::Metrics input_;
};

// Many modules: the objective is the geometric mean over modules of each
// module's ratio to its own reference (wasm-opt -Oz), so every module weighs
// alike whatever its size; a pipeline is verified only if it is verified on
// every module.
class CorpusEvaluator : public CandidateEvaluator {
 public:
  struct Member {
    std::string name;
    std::shared_ptr<engine::Engine> engine;
    cost::Metrics reference;  // the module under the reference pipeline
  };
  CorpusEvaluator(std::vector<Member> members, FitnessSpec spec);

  // Per-module results of the last evaluate() call for `config`, evaluated anew
  // (the engines' memos answer at once).
  std::vector<engine::EvalResult> perModule(const pipeline::PipelineConfig& config);
  const std::vector<Member>& members() const { return members_; }
  void cancel() override;

  // The corpus score of per-module results (exposed for tests).
  static ScoredCandidate combine(const std::vector<engine::EvalResult>& results,
                                 const std::vector<Member>& members, const FitnessSpec& spec);

 protected:
  std::vector<ScoredCandidate> scoreAll(const std::vector<pipeline::PipelineConfig>& configs,
                                        engine::Check check) override;

 private:
  std::vector<Member> members_;
};

}  // namespace loom::problems
