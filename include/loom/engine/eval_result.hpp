// The outcome of evaluating one candidate pipeline on the input module.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loom/cost/cost_model.hpp"
#include "loom/verify/verifier.hpp"
#include "loom/wasm/module.hpp"

namespace loom::engine {

enum class EvalStatus {
  Ok,           // the pipeline ran and produced a valid module (verdict aside)
  Invalid,      // Binaryen produced a module that does not validate
  Failed,       // the pipeline threw (bad configuration, pass error)
  Crashed,      // the worker died (abort, _Exit from Binaryen's Fatal, a signal)
  TimedOut,     // over the per-candidate time limit
  OutOfMemory,  // over the per-candidate memory limit
  Canceled,     // stopped by Engine::cancelPending: says nothing about the pipeline,
                // so it is neither memoized nor reported to the listener
};

std::string_view statusName(EvalStatus status);
std::optional<EvalStatus> parseStatus(std::string_view name);

struct VerificationSummary {
  verify::Verdict overall = verify::Verdict::Unknown;
  std::uint32_t proved = 0, bounded = 0, refuted = 0, unknown = 0;
  std::uint32_t unchanged = 0;
  std::uint32_t module_problems = 0;
  std::string first_problem;  // the first refuted/unknown function or module problem, one line
  friend bool operator==(const VerificationSummary&, const VerificationSummary&) = default;
};

// One (function, step) that was undone, or a whole step (`function` empty).
struct RevertedStep {
  std::string function;
  std::string phase;       // the phase's name, or "write" for the final encoding
  std::uint32_t step = 0;  // 1-based position in the pipeline; phases + 1 for "write"
  std::string reason;
  nlohmann::json toJson() const;
  static RevertedStep fromJson(const nlohmann::json& json);
  friend bool operator==(const RevertedStep&, const RevertedStep&) = default;
};

struct StepwiseStats {
  std::uint32_t steps = 0;            // steps checked, the final write included
  std::uint32_t steps_unchanged = 0;  // steps that changed no function
  std::uint64_t changed = 0;          // (step, function) pairs whose body changed
  std::uint64_t proved_renamed = 0;   // equal up to renamed vars: no solver call
  std::uint64_t proved_cached = 0;    // proved from the verdict cache, no solver call
  std::uint64_t proved_by_solver = 0;
  std::uint64_t bounded = 0;       // accepted as bounded (only with accept_bounded)
  std::uint64_t reverted = 0;      // (step, function) pairs undone, whole steps counted once
  std::uint64_t budget_units = 0;  // solver units the chain charged to the module budget
  StepwiseStats& operator+=(const StepwiseStats& other);
  nlohmann::json toJson() const;
  static StepwiseStats fromJson(const nlohmann::json& json);
  friend bool operator==(const StepwiseStats&, const StepwiseStats&) = default;
};

struct StageTimes {
  double passes = 0, validation = 0, measuring = 0, verification = 0, total = 0;  // seconds
};

struct EvalResult {
  EvalStatus status = EvalStatus::Failed;
  std::string reason;  // one line when status != Ok
  cost::Metrics metrics;
  std::optional<VerificationSummary> verification;  // absent when not verified
  StageTimes times;
  std::vector<std::string> repaired;  // functions that kept their original body (see repair.hpp)
  // Stepwise verification (stepwise.hpp): the (function, step) pairs undone,
  // and what the chain checked.
  std::vector<RevertedStep> reverted_steps;
  std::optional<StepwiseStats> stepwise;
  // The run's deadline (--time-budget) came before its verification ended:
  // steps were undone for want of time, so a run with time left may do
  // better. Such a result is not kept in the evaluation log.
  bool cut_short = false;
  std::uint32_t phases_reused = 0;  // phases skipped thanks to the prefix cache
  bool memo_hit = false;            // answered from the engine's memo, no work done
  // The measured module's hash (before any repair): a verification of the same
  // bytes says the same, whatever pipeline made them.
  std::string output_hash;
  wasm::Bytes module;  // only when asked for

  // Whether this candidate may win: it ran, and its output is verified.
  bool verified(bool allow_bounded) const;

  nlohmann::json toJson(bool with_times = true) const;
  static EvalResult fromJson(const nlohmann::json& json);
};

// What a search compares: same outcome, same sizes, same verdicts. Times,
// cache flags and module bytes are not part of the result's identity.
bool sameOutcome(const EvalResult& a, const EvalResult& b);

}  // namespace loom::engine
