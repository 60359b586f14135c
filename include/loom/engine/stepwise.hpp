// Stepwise translation validation: every step of a pipeline (one phase, as
// the engine runs it, and the final write to bytes) is verified for each
// function it changed, against that function as it was just before the step.
// Steps chain by transitivity under the verifier's one relation, so the
// output is proved equivalent to the input when every step is. A step that
// is not proved for a function is undone for that function only (its body
// from before the step comes back) and the pipeline goes on from there, so
// what the other steps gained is kept.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "loom/engine/eval_result.hpp"
#include "loom/pipeline/config.hpp"
#include "loom/verify/verifier.hpp"
#include "loom/wasm/module.hpp"

namespace loom::engine {

// The chain's state after some steps: what a later step starts from.
struct StepwiseState {
  wasm::Module module;  // Binaryen IR after the steps so far, each verified or undone
  std::vector<RevertedStep> reverted;
  StepwiseStats stats;
  verify::BudgetLedger ledger;
  bool bounded = false;  // some accepted step is only bounded
  // Stack IR phases (generate-/optimize-stack-ir) change only what is
  // written, and a module holding Stack IR cannot be copied: they run at the
  // final write, which is verified as a step of its own.
  std::vector<std::size_t> stack_ir_phases;
  StepwiseState copy() const;
};

// The end of the chain: the bytes to ship, decoded again, verified against
// the last IR state.
struct StepwiseOutcome {
  wasm::Module shipped;  // `binary` decoded with names: what was verified
  wasm::Bytes binary;
  std::vector<RevertedStep> reverted;
  StepwiseStats stats;
  bool bounded = false;
  // Why nothing at all verifies (the module's own encoding does not), or empty.
  std::string unverifiable;
};

// Where a chain is, for a progress line: step `step` of `steps` (1-based;
// the write is the last; 0 steps: not known), `decided` of the `changed`
// functions it checks.
struct StepProgress {
  std::uint32_t step = 0;
  std::size_t steps = 0;
  std::string phase;
  std::size_t decided = 0, changed = 0;
};

struct StepwiseOptions {
  verify::VerifyOptions verify_options;
  bool accept_bounded = false;
  // When the chain must end (runStepwise): past it the module budget counts
  // as spent, so the steps left are not run and the module verified so far
  // is written.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  // A warm-up chain (verify::Shard): checks only its share of every step's
  // changed functions and takes the rest as proved. What it writes is not
  // an answer; the verdicts it leaves in the cache are what it is for.
  verify::Shard shard;
  // Told as the chain goes; changes nothing that is checked.
  std::function<void(const StepProgress&)> progress;
};

class StepwiseValidator {
 public:
  StepwiseValidator(StepwiseOptions options, std::shared_ptr<verify::VerdictCache> cache);

  // Runs phase `index` of `config` on `state` and keeps what verifies.
  void step(StepwiseState& state, const pipeline::PipelineConfig& config, std::size_t index);

  // The same for any transformation of the module, named `name` in what is
  // undone (how tests put a wrong step between two real ones).
  using Transform = std::function<void(wasm::Module&)>;
  void step(StepwiseState& state, const std::string& name, std::uint32_t step_number,
            const Transform& transform);

  // Runs phases [first, end) of `config` on `state`. Once the module budget
  // is spent every later step would be undone unchecked: one entry says so
  // and none runs. `after_step` sees the state after each step.
  using StepObserver = std::function<void(std::size_t phases_done, const StepwiseState& state)>;
  void run(StepwiseState& state, const pipeline::PipelineConfig& config, std::size_t first = 0,
           const StepObserver& after_step = {});

  // The final step: writing `state.module` as it would be shipped, after the
  // Stack IR phases of `config` that no other phase followed.
  StepwiseOutcome finish(StepwiseState state, const pipeline::PipelineConfig& config) const;

  void setProgress(std::function<void(const StepProgress&)> progress) {
    options_.progress = std::move(progress);
  }

 private:
  StepwiseOptions options_;
  std::shared_ptr<verify::VerdictCache> cache_;
};

// Runs all of `config` from `input` stepwise: the verified module that
// pipeline makes, with what had to be undone.
StepwiseOutcome runStepwise(const wasm::Module& input, const pipeline::PipelineConfig& config,
                            const StepwiseOptions& options,
                            std::shared_ptr<verify::VerdictCache> cache = nullptr);

}  // namespace loom::engine
