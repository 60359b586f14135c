// What a problem asks of the outside world: score a batch of pipelines. For
// one module that is one engine; for corpus tuning it is one engine per
// module and a geometric mean.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "loom/engine/engine.hpp"
#include "problems/fitness.hpp"

namespace loom::problems {

struct ScoredCandidate {
  engine::EvalResult result;  // for a corpus: summed sizes and verdict counts, worst status and verdict
  Score score;
};

class CandidateEvaluator {
 public:
  virtual ~CandidateEvaluator() = default;
  virtual std::vector<ScoredCandidate> evaluate(const std::vector<pipeline::PipelineConfig>& configs) = 0;
};

// One module: objectives are ratios to the unoptimized input.
class ModuleEvaluator : public CandidateEvaluator {
 public:
  ModuleEvaluator(std::shared_ptr<engine::Engine> engine, cost::Metrics input, FitnessSpec spec);
  std::vector<ScoredCandidate> evaluate(const std::vector<pipeline::PipelineConfig>& configs) override;
  engine::Engine& engine() { return *engine_; }
  const cost::Metrics& input() const { return input_; }

 private:
  std::shared_ptr<engine::Engine> engine_;
  cost::Metrics input_;
  FitnessSpec spec_;
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
  std::vector<ScoredCandidate> evaluate(const std::vector<pipeline::PipelineConfig>& configs) override;

  // Per-module results of the last evaluate() call for `config`, evaluated anew
  // (the engines' memos answer at once).
  std::vector<engine::EvalResult> perModule(const pipeline::PipelineConfig& config);
  const std::vector<Member>& members() const { return members_; }

  // The corpus score of per-module results (exposed for tests).
  static ScoredCandidate combine(const std::vector<engine::EvalResult>& results, const std::vector<Member>& members,
                                 const FitnessSpec& spec);

 private:
  std::vector<Member> members_;
  FitnessSpec spec_;
};

}  // namespace loom::problems
