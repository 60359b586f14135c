#include "loom/engine/evaluator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <new>

#include "loom/engine/proof_store.hpp"
#include "loom/engine/repair.hpp"
#include "loom/pipeline/apply.hpp"
#include "loom/pipeline/builtins.hpp"
#include "loom/wasm/binary_layout.hpp"

namespace loom::engine {

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

verify::GlobalOrigins withAdded(verify::GlobalOrigins origins,
                                const std::map<std::string, std::string>& added) {
  origins.insert(added.begin(), added.end());
  return origins;
}

VerificationSummary summarize(const verify::ModuleVerdict& verdict) {
  VerificationSummary s;
  s.overall = verdict.overall();
  s.proved = static_cast<std::uint32_t>(verdict.count(verify::Verdict::Proved));
  s.bounded = static_cast<std::uint32_t>(verdict.count(verify::Verdict::Bounded));
  s.refuted = static_cast<std::uint32_t>(verdict.count(verify::Verdict::Refuted));
  s.unknown = static_cast<std::uint32_t>(verdict.count(verify::Verdict::Unknown));
  s.unchanged = static_cast<std::uint32_t>(verdict.unchanged_functions);
  s.module_problems = static_cast<std::uint32_t>(verdict.module_problems.size());
  if (!verdict.module_problems.empty()) s.first_problem = verdict.module_problems.front();
  for (const auto& f : verdict.functions) {
    if (!s.first_problem.empty()) break;
    if (f.verdict == verify::Verdict::Refuted || f.verdict == verify::Verdict::Unknown) {
      s.first_problem =
          fmt::format("{}: {} ({})", f.function, verify::verdictName(f.verdict), f.reason);
    }
  }
  return s;
}

}  // namespace

nlohmann::json EvaluatorOptions::toJson() const {
  const auto& v = verify_options;
  return {{"verify",
           {{"function_timeout_ms", v.function_timeout.count()},
            {"module_budget_ms", v.module_budget.count()},
            {"loop_bound", v.loop_bound},
            {"inline_depth", v.inline_depth},
            {"max_terms", v.max_terms}}},
          {"prefix_cache_bytes", prefix_cache_bytes},
          {"prefix_stride", prefix_stride},
          {"repair", repair},
          {"accept_bounded", accept_bounded},
          {"stepwise", stepwise},
          {"proof_store", proof_store}};
}

EvaluatorOptions EvaluatorOptions::fromJson(const nlohmann::json& j) {
  EvaluatorOptions o;
  const auto& v = j.at("verify");
  o.verify_options.function_timeout =
      std::chrono::milliseconds(v.at("function_timeout_ms").get<long>());
  o.verify_options.module_budget = std::chrono::milliseconds(v.at("module_budget_ms").get<long>());
  o.verify_options.loop_bound = v.at("loop_bound");
  o.verify_options.inline_depth = v.at("inline_depth");
  o.verify_options.max_terms = v.at("max_terms");
  o.prefix_cache_bytes = j.at("prefix_cache_bytes");
  o.prefix_stride = j.at("prefix_stride");
  o.repair = j.at("repair");
  o.accept_bounded = j.at("accept_bounded");
  o.stepwise = j.value("stepwise", true);
  o.proof_store = j.value("proof_store", "");
  return o;
}

std::vector<wasm::Hash128> prefixKeys(const pipeline::PipelineConfig& config) {
  pipeline::PipelineConfig settings = config;
  settings.phases.clear();
  std::vector<wasm::Hash128> keys;
  keys.reserve(config.phases.size() + 1);
  keys.push_back(wasm::hashString(settings.canonicalText()));
  for (const auto& phase : config.phases) {
    keys.push_back(wasm::hashString(keys.back().hex() + "/" + phase));
  }
  return keys;
}

Evaluator::Evaluator(wasm::ModuleSource source, EvaluatorOptions options)
    : source_(std::move(source)),
      options_(std::move(options)),
      base_(wasm::instantiate(source_)),
      verdicts_(std::make_shared<verify::VerdictCache>()) {
  // Through a copy, like every candidate: Binaryen's module copy forgets
  // which globals had explicit names, so the copy's written form names them
  // by index; both sides must be named the same way for the verifier to pair
  // them (docs/fuzzing.md, finding 2).
  original_ = decodeWritten(base_.copy());
  const std::vector<std::string> base_globals = wasm::writtenGlobalOrder(base_);
  const std::vector<std::string> original_globals = wasm::writtenGlobalOrder(original_);
  if (base_globals.size() == original_globals.size()) {
    for (std::size_t i = 0; i < base_globals.size(); ++i)
      original_global_of_.emplace(base_globals[i], original_globals[i]);
  }
  if (!options_.proof_store.empty()) {
    // The run opened it first and said what was wrong with it; here a
    // store that cannot be opened only means verdicts are not shared.
    try {
      verdicts_->attachStore(std::make_shared<ProofStore>(options_.proof_store));
    } catch (const std::exception&) {
    }
  }
  verifier_ = std::make_unique<verify::Verifier>(original_, options_.verify_options, verdicts_);
  stepwise_ = std::make_unique<StepwiseValidator>(
      StepwiseOptions{options_.verify_options, options_.accept_bounded, std::nullopt, {}, {}},
      verdicts_);
  if (options_.prefix_stride > 0) {
    // Binaryen IR takes tens of bytes per byte of binary; 40 is what the
    // prefix-cache benchmark measured as a safe over-estimate.
    const std::uint64_t estimate = std::max<std::uint64_t>(1, base_.writeBinary().size() * 40);
    snapshot_capacity_ = static_cast<std::size_t>(
        std::max<std::uint64_t>(1, options_.prefix_cache_bytes / estimate));
  }
}

Evaluator::~Evaluator() = default;

wasm::Module Evaluator::decodeWritten(const wasm::Module& module) const {
  // With the names section, so that functions keep the names they are matched by.
  wasm::Module decoded =
      wasm::Module::parseBinaryTrusted(module.writeBinary({.names_section = true}));
  decoded.setFeatures(module.features());
  return decoded;
}

namespace {

// Stack IR lives outside the Binaryen IR that Module::copy() copies, so a
// snapshot taken after it exists would not resume to the same output.
// The names among `names` that `module` still defines.
std::vector<std::string> presentIn(const wasm::Module& module,
                                   const std::vector<std::string>& names) {
  std::vector<std::string> present;
  for (const auto& name : names) {
    if (BinaryenGetFunction(module.get(), name.c_str())) present.push_back(name);
  }
  return present;
}

// The first function whose check ran into Z3's memory limit, described.
std::string z3MemoryProblem(const verify::ModuleVerdict& verdict) {
  for (const auto& f : verdict.functions) {
    if (f.verdict == verify::Verdict::Unknown &&
        f.reason.find("out of memory") != std::string::npos)
      return fmt::format("Z3 reached its memory limit verifying {}: {}", f.function, f.reason);
  }
  return {};
}

bool makesStackIr(const std::string& phase) {
  return phase == "generate-stack-ir" || phase == "optimize-stack-ir";
}

}  // namespace

const StepwiseState* Evaluator::findSnapshot(const wasm::Hash128& key) {
  auto it = snapshot_index_.find(key);
  if (it == snapshot_index_.end()) return nullptr;
  snapshots_.splice(snapshots_.begin(), snapshots_, it->second);
  return &it->second->state;
}

bool Evaluator::wantsSnapshot(const wasm::Hash128& key) const {
  return snapshot_capacity_ > 0 && !snapshot_index_.count(key);
}

void Evaluator::storeSnapshot(const wasm::Hash128& key, StepwiseState state) {
  if (!wantsSnapshot(key)) return;
  while (snapshots_.size() >= snapshot_capacity_) {
    snapshot_index_.erase(snapshots_.back().key);
    snapshots_.pop_back();
    ++prefix_stats_.evictions;
  }
  snapshots_.push_front(Snapshot{key, std::move(state)});
  snapshot_index_[key] = snapshots_.begin();
  ++prefix_stats_.snapshots;
}

bool Evaluator::acceptable(const verify::ModuleVerdict& verdict) const {
  const verify::Verdict v = verdict.overall();
  return v == verify::Verdict::Proved || (options_.accept_bounded && v == verify::Verdict::Bounded);
}

// Passes keep a global's name, and writing names globals by position: the
// module before and after writing says which original global each one is.
verify::GlobalOrigins Evaluator::originsOf(const wasm::Module& optimized,
                                           const wasm::Module& shipped) const {
  const std::vector<std::string> before = wasm::writtenGlobalOrder(optimized);
  const std::vector<std::string> after = wasm::writtenGlobalOrder(shipped);
  verify::GlobalOrigins origins;
  if (before.size() != after.size()) return origins;
  for (std::size_t i = 0; i < before.size(); ++i) {
    if (auto it = original_global_of_.find(before[i]); it != original_global_of_.end())
      origins.emplace(after[i], it->second);
  }
  return origins;
}

void Evaluator::repairInto(EvalResult& result, wasm::Bytes& binary, const wasm::Module& shipped,
                           const verify::GlobalOrigins& origins,
                           const verify::ModuleVerdict& verdict) {
  auto unverifiedIn = [&](const verify::ModuleVerdict& v) {
    std::vector<std::string> names;
    for (const auto& f : v.functions) {
      const bool ok = f.verdict == verify::Verdict::Proved ||
                      (options_.accept_bounded && f.verdict == verify::Verdict::Bounded);
      if (!ok) names.push_back(f.function);
    }
    return names;
  };
  std::vector<std::string> unverified = unverifiedIn(verdict);
  if (unverified.empty()) return;
  const std::map<std::string, std::string> globals = verifier_->pairGlobals(shipped, origins);
  // A reverted callee changes what its callers are verified against, and a
  // module budget may run out at a different function: whatever the repaired
  // module still cannot verify is reverted too, a few rounds at most.
  constexpr int kRounds = 3;
  for (int round = 1;; ++round) {
    Repair repair = revertFunctions(original_, shipped, unverified, globals);
    if (!repair.module) {
      result.verification->first_problem += fmt::format(" (not repairable: {})", repair.why_not);
      return;
    }
    const verify::ModuleVerdict again =
        verifier_->verify(*repair.module, withAdded(origins, repair.added_globals));
    if (acceptable(again)) {
      binary = repair.module->writeBinary();
      result.metrics = cost::measure(*repair.module, binary);
      result.verification = summarize(again);
      result.repaired = std::move(repair.reverted);
      return;
    }
    const std::vector<std::string> more = unverifiedIn(again);
    if (round == kRounds || !again.module_problems.empty() || more.empty()) {
      result.verification->first_problem += " (the repaired module did not verify either)";
      return;
    }
    unverified.insert(unverified.end(), more.begin(), more.end());
  }
}

void Evaluator::verifyStepwise(EvalResult& result, wasm::Bytes& binary,
                               const pipeline::PipelineConfig& config,
                               const std::vector<wasm::Hash128>& keys) {
  const std::size_t n = config.phases.size();
  const unsigned stride = options_.prefix_stride;
  // Verified chains share the prefix snapshots, under keys of their own.
  auto stepKey = [&](std::size_t k) { return wasm::hashString("stepwise|" + keys[k].hex()); };
  std::size_t first = 0;
  std::optional<StepwiseState> state;
  for (std::size_t k = stride > 0 ? (n / stride) * stride : 0; k > 0; k -= stride) {
    if (const StepwiseState* snapshot = findSnapshot(stepKey(k))) {
      state = snapshot->copy();
      // The safety net is wall-clock time: a resumed chain starts its own.
      state->ledger.deadline = deadline_;
      first = k;
      break;
    }
  }
  if (!state) {
    state = StepwiseState{base_.copy(), {}, {}, {}, false, {}};
    state->ledger.deadline = deadline_;
  }
  auto late = [&] { return deadline_ && Clock::now() >= *deadline_; };
  if (progress_) stepwise_->setProgress(progressOf(config));
  stepwise_->run(*state, config, first, [&](std::size_t done, const StepwiseState& s) {
    // A chain the deadline cut is not what this prefix gives with time left.
    if (stride > 0 && done % stride == 0 && done < n && !late() && wantsSnapshot(stepKey(done)))
      storeSnapshot(stepKey(done), s.copy());
  });
  StepwiseOutcome outcome = stepwise_->finish(std::move(*state), config);
  stepwise_->setProgress({});
  result.cut_short = late();
  binary = std::move(outcome.binary);
  result.metrics = cost::measure(outcome.shipped, binary);
  VerificationSummary s;
  s.overall = outcome.bounded ? verify::Verdict::Bounded : verify::Verdict::Proved;
  s.proved =
      static_cast<std::uint32_t>(outcome.stats.proved_cached + outcome.stats.proved_by_solver);
  s.bounded = static_cast<std::uint32_t>(outcome.stats.bounded);
  s.unchanged = outcome.stats.steps_unchanged;
  if (!outcome.reverted.empty()) {
    const RevertedStep& r = outcome.reverted.front();
    s.first_problem = fmt::format(
        "{}{} at step {} ({}): {}", r.function.empty() ? "whole step" : r.function,
        outcome.reverted.size() > 1 ? fmt::format(" and {} more", outcome.reverted.size() - 1) : "",
        r.step, r.phase, r.reason);
  }
  if (!outcome.unverifiable.empty()) {
    s.overall = verify::Verdict::Unknown;
    s.module_problems = 1;
    s.first_problem = outcome.unverifiable;
  }
  result.verification = s;
  result.reverted_steps = std::move(outcome.reverted);
  result.stepwise = outcome.stats;
}

void Evaluator::warm(const pipeline::PipelineConfig& config, verify::Shard shard) {
  if (!options_.stepwise) return;
  pipeline::validate(config);
  StepwiseOptions options{options_.verify_options, options_.accept_bounded, deadline_, shard, {}};
  if (progress_) options.progress = progressOf(config);
  runStepwise(base_, config, options, verdicts_);
}

std::function<void(const StepProgress&)> Evaluator::progressOf(
    const pipeline::PipelineConfig& config) const {
  // The write is the last step.
  return [this, steps = config.phases.size() + 1](const StepProgress& p) {
    StepProgress whole = p;
    whole.steps = steps;
    progress_(whole);
  };
}

void Evaluator::setDeadline(std::optional<std::chrono::steady_clock::time_point> deadline) {
  deadline_ = deadline;
}

void Evaluator::setProgress(std::function<void(const StepProgress&)> progress) {
  progress_ = std::move(progress);
}

EvalResult Evaluator::evaluate(const pipeline::PipelineConfig& config, bool verify,
                               bool want_module, const std::vector<std::string>& keep_original) {
  const auto start = Clock::now();
  EvalResult result;
  try {
    pipeline::validate(config);
    const std::vector<wasm::Hash128> keys = prefixKeys(config);
    const std::size_t n = config.phases.size();
    const unsigned stride = options_.prefix_stride;

    std::size_t first = 0;
    wasm::Module module;
    if (stride > 0) {
      ++prefix_stats_.lookups;
      for (std::size_t k = (n / stride) * stride; k > 0; k -= stride) {
        if (const StepwiseState* snapshot = findSnapshot(keys[k])) {
          module = snapshot->module.copy();
          first = k;
          ++prefix_stats_.hits;
          break;
        }
      }
    }
    if (!module) module = base_.copy();
    result.phases_reused = static_cast<std::uint32_t>(first);
    prefix_stats_.phases_reused += first;
    prefix_stats_.phases_run += n - first;

    const auto passes_start = Clock::now();
    bool stack_ir = false;
    pipeline::runPhases(module, config, first, [&](std::size_t done, const wasm::Module& m) {
      stack_ir = stack_ir || makesStackIr(config.phases[done - 1]);
      if (stride > 0 && !stack_ir && done % stride == 0 && done < n && wantsSnapshot(keys[done]))
        storeSnapshot(keys[done], StepwiseState{m.copy(), {}, {}, {}, false, {}});
    });
    result.times.passes = secondsSince(passes_start);

    const auto validation_start = Clock::now();
    const bool valid = module.validate();
    result.times.validation = secondsSince(validation_start);
    if (!valid) {
      result.status = EvalStatus::Invalid;
      result.reason = "the optimized module does not validate";
      result.times.total = secondsSince(start);
      return result;
    }

    const auto measure_start = Clock::now();
    wasm::Bytes binary = module.writeBinary();
    const wasm::Module shipped = decodeWritten(module);
    verify::GlobalOrigins origins = originsOf(module, shipped);
    // Functions kept original in a measurement too: it then predicts the verified size.
    const wasm::Module* checked = &shipped;
    std::optional<wasm::Module> kept;
    std::vector<std::string> kept_names;
    if (options_.repair && !keep_original.empty()) {
      Repair pre = revertFunctions(original_, shipped, presentIn(shipped, keep_original),
                                   verifier_->pairGlobals(shipped, origins));
      if (pre.module) {
        origins = withAdded(std::move(origins), pre.added_globals);
        kept = std::move(pre.module);
        kept_names = std::move(pre.reverted);
        checked = &*kept;
        binary = kept->writeBinary();
      }
    }
    result.metrics = cost::measure(*checked, binary);
    result.output_hash = wasm::hashBytes(binary).hex();
    result.times.measuring = secondsSince(measure_start);

    if (verify && options_.stepwise) {
      const auto verify_start = Clock::now();
      verifyStepwise(result, binary, config, keys);
      result.times.verification = secondsSince(verify_start);
      for (const auto& r : result.reverted_steps) {
        // As below: past Z3's memory limit this worker cannot check anything more.
        if (r.reason.find("out of memory") == std::string::npos) continue;
        result.status = EvalStatus::OutOfMemory;
        result.reason = fmt::format("Z3 reached its memory limit verifying {} at step {}: {}",
                                    r.function, r.step, r.reason);
        result.times.total = secondsSince(start);
        return result;
      }
      kept_names.clear();
    } else if (verify) {
      const auto verify_start = Clock::now();
      const verify::ModuleVerdict verdict = verifier_->verify(*checked, origins);
      result.verification = summarize(verdict);
      // Z3's memory limit holds for the whole process, and once it is
      // reached, later checks here fail too (Z3 cannot even create a
      // context): the candidate ends, and this worker makes way for a fresh one.
      if (const std::string problem = z3MemoryProblem(verdict); !problem.empty()) {
        result.status = EvalStatus::OutOfMemory;
        result.reason = problem;
        result.times.verification = secondsSince(verify_start);
        result.times.total = secondsSince(start);
        return result;
      }
      if (options_.repair && !acceptable(verdict) && verdict.module_problems.empty()) {
        repairInto(result, binary, *checked, origins, verdict);
      }
      result.times.verification = secondsSince(verify_start);
    }
    if (!kept_names.empty()) {
      result.repaired.insert(result.repaired.end(), kept_names.begin(), kept_names.end());
      std::sort(result.repaired.begin(), result.repaired.end());
      result.repaired.erase(std::unique(result.repaired.begin(), result.repaired.end()),
                            result.repaired.end());
    }
    if (want_module) result.module = std::move(binary);
    result.status = EvalStatus::Ok;
  } catch (const std::bad_alloc&) {
    result = EvalResult{};
    result.status = EvalStatus::OutOfMemory;
    result.reason = "out of memory";
  } catch (const std::exception& e) {
    result = EvalResult{};
    result.status = EvalStatus::Failed;
    result.reason = e.what();
  }
  result.times.total = secondsSince(start);
  return result;
}

}  // namespace loom::engine
