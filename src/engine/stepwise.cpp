#include "loom/engine/stepwise.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <utility>

#include "loom/engine/repair.hpp"
#include "loom/pipeline/apply.hpp"
#include "loom/wasm/binary_layout.hpp"

namespace loom::engine {

StepwiseState StepwiseState::copy() const {
  return {module.copy(), reverted, stats, ledger, bounded, stack_ir_phases};
}

namespace {

std::vector<std::string> globalNames(const wasm::Module& module) {
  std::vector<std::string> names;
  for (BinaryenIndex i = 0, n = BinaryenGetNumGlobals(module.get()); i < n; ++i)
    names.emplace_back(BinaryenGlobalGetName(BinaryenGetGlobalByIndex(module.get(), i)));
  return names;
}

// Passes keep a global's name: each global after a step is the one of the
// same name before it. Said explicitly, since positional names ("global$3"
// of a binary without names) would otherwise be aligned by guesswork.
verify::GlobalOrigins sameNames(const wasm::Module& before, const wasm::Module& after) {
  verify::GlobalOrigins origins;
  for (const auto& name : globalNames(after)) {
    if (BinaryenGetGlobal(before.get(), name.c_str())) origins.emplace(name, name);
  }
  return origins;
}

// Writing renames globals by position: which IR global each decoded one is.
verify::GlobalOrigins writtenOrigins(const wasm::Module& ir, const wasm::Module& decoded) {
  const std::vector<std::string> before = wasm::writtenGlobalOrder(ir);
  const std::vector<std::string> after = wasm::writtenGlobalOrder(decoded);
  verify::GlobalOrigins origins;
  if (before.size() != after.size()) return origins;
  for (std::size_t i = 0; i < before.size(); ++i) origins.emplace(after[i], before[i]);
  return origins;
}

wasm::Module decodeWritten(const wasm::Module& module, wasm::Bytes& binary) {
  binary = module.writeBinary();
  wasm::Module decoded =
      wasm::Module::parseBinaryTrusted(module.writeBinary({.names_section = true}));
  decoded.setFeatures(module.features());
  return decoded;
}

bool makesStackIr(const std::string& phase) {
  return phase == "generate-stack-ir" || phase == "optimize-stack-ir";
}

bool accepted(const verify::FunctionVerdict& v, bool accept_bounded) {
  return v.verdict == verify::Verdict::Proved ||
         (accept_bounded && v.verdict == verify::Verdict::Bounded);
}

// LOOM_STEPWISE_DUMP=DIR: the two sides of every step that is not proved,
// as binaries with names, to study what the verifier could not show.
void dumpUnproved(const wasm::Module& before, const wasm::Module& after, const std::string& phase,
                  std::uint32_t step) {
  static const char* const dir = [] {
    const char* env = std::getenv("LOOM_STEPWISE_DUMP");
    return env && *env ? env : nullptr;
  }();
  if (!dir) return;
  auto write = [&](const wasm::Module& m, const char* side) {
    const wasm::Bytes bytes = m.writeBinary({.names_section = true});
    std::ofstream(fmt::format("{}/step{:02}-{}-{}.wasm", dir, step, phase, side), std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
  };
  write(before, "before");
  write(after, "after");
}

struct StepResult {
  std::optional<wasm::Module> module;  // absent: the whole step is undone
  std::vector<RevertedStep> reverted;
  std::string why_undone;
  StepwiseStats stats;
  bool bounded = false;
};

// Verifies `after` against `before` for one step and repairs what does not
// verify, a few rounds at most (a reverted callee changes what its callers
// are verified against).
StepResult checkStep(const wasm::Module& before, wasm::Module after,
                     const verify::GlobalOrigins& origins, const std::string& phase,
                     std::uint32_t step, const StepwiseOptions& options,
                     const std::shared_ptr<verify::VerdictCache>& cache,
                     verify::BudgetLedger& ledger) {
  StepResult out;
  verify::Verifier verifier(before, options.verify_options, cache);
  if (options.progress)
    verifier.onDecided([&](std::size_t decided, std::size_t changed) {
      options.progress(StepProgress{step, 0, phase, decided, changed});
    });
  verify::ModuleVerdict verdict = verifier.verify(after, origins, ledger, options.shard);
  auto tally = [&](const verify::ModuleVerdict& v) {
    if (v.functions.empty() && v.module_problems.empty() && v.locals_renamed_functions == 0)
      ++out.stats.steps_unchanged;
    out.stats.changed += v.locals_renamed_functions;
    out.stats.proved_renamed += v.locals_renamed_functions;
    for (const auto& f : v.functions) {
      ++out.stats.changed;
      if (f.verdict == verify::Verdict::Proved) {
        ++(f.cached ? out.stats.proved_cached : out.stats.proved_by_solver);
      } else if (f.verdict == verify::Verdict::Bounded && options.accept_bounded) {
        ++out.stats.bounded;
        out.bounded = true;
      }
    }
  };
  tally(verdict);
  ++out.stats.steps;
  if (!verdict.module_problems.empty()) {
    out.why_undone = verdict.module_problems.front();
    return out;
  }
  std::vector<std::string> failing;
  for (const auto& f : verdict.functions) {
    if (accepted(f, options.accept_bounded)) continue;
    failing.push_back(f.function);
    out.reverted.push_back(
        {f.function, phase, step, fmt::format("{}: {}", verify::verdictName(f.verdict), f.reason)});
  }
  if (failing.empty()) {
    out.module = std::move(after);
    return out;
  }
  dumpUnproved(before, after, phase, step);
  const std::map<std::string, std::string> globals = verifier.pairGlobals(after, origins);
  constexpr int kRounds = 3;
  for (int round = 1;; ++round) {
    Repair repair = revertFunctions(before, after, failing, globals);
    if (!repair.module) {
      out.why_undone = "not repairable: " + repair.why_not;
      return out;
    }
    verify::GlobalOrigins repaired_origins = origins;
    for (const auto& [added, original_name] : repair.added_globals)
      repaired_origins.emplace(added, original_name);
    const verify::ModuleVerdict again =
        verifier.verify(*repair.module, repaired_origins, ledger, options.shard);
    std::vector<std::string> more;
    for (const auto& f : again.functions) {
      if (accepted(f, options.accept_bounded)) continue;
      more.push_back(f.function);
      out.reverted.push_back({f.function, phase, step,
                              fmt::format("{}: {}", verify::verdictName(f.verdict), f.reason)});
    }
    if (again.module_problems.empty() && more.empty()) {
      // Callers reverted with a callee whose signature went back are listed too.
      for (const auto& name : repair.reverted) {
        bool listed = false;
        for (const auto& r : out.reverted) listed = listed || r.function == name;
        if (!listed)
          out.reverted.push_back(
              {name, phase, step, "reverted with a function whose signature went back"});
      }
      for (const auto& f : again.functions) {
        if (f.verdict == verify::Verdict::Bounded) out.bounded = true;
      }
      out.module = std::move(*repair.module);
      return out;
    }
    if (round == kRounds || !again.module_problems.empty()) {
      out.why_undone = again.module_problems.empty()
                           ? "the repaired step did not verify either"
                           : "after repair: " + again.module_problems.front();
      return out;
    }
    failing.insert(failing.end(), more.begin(), more.end());
  }
}

void keepOutcome(StepwiseState& state, StepResult result, const std::string& phase,
                 std::uint32_t step, wasm::Module& before) {
  state.stats += result.stats;
  state.bounded = state.bounded || result.bounded;
  if (result.module) {
    state.stats.reverted += result.reverted.size();
    state.reverted.insert(state.reverted.end(), result.reverted.begin(), result.reverted.end());
    state.module = std::move(*result.module);
  } else {
    ++state.stats.reverted;
    state.reverted.push_back({"", phase, step, result.why_undone});
    state.module = std::move(before);
  }
}

}  // namespace

StepwiseValidator::StepwiseValidator(StepwiseOptions options,
                                     std::shared_ptr<verify::VerdictCache> cache)
    : options_(std::move(options)),
      cache_(cache ? std::move(cache) : std::make_shared<verify::VerdictCache>()) {}

void StepwiseValidator::step(StepwiseState& state, const pipeline::PipelineConfig& config,
                             std::size_t index) {
  const std::string& phase = config.phases.at(index);
  const auto step_number = static_cast<std::uint32_t>(index + 1);
  if (makesStackIr(phase)) {
    state.stack_ir_phases.push_back(index);
    return;
  }
  // A later phase changes the IR that Stack IR was made from; Binaryen
  // would throw that function's Stack IR away, and the write makes it anew
  // only for phases after this one.
  for (std::size_t dropped : state.stack_ir_phases) {
    state.reverted.push_back({"", config.phases[dropped], static_cast<std::uint32_t>(dropped + 1),
                              "not run: Stack IR made before a later phase is not carried over"});
    ++state.stats.reverted;
  }
  state.stack_ir_phases.clear();
  step(state, phase, step_number,
       [&](wasm::Module& module) { pipeline::runPhase(module, config, index); });
}

void StepwiseValidator::step(StepwiseState& state, const std::string& phase,
                             std::uint32_t step_number, const Transform& transform) {
  wasm::Module before = state.module.copy();
  transform(state.module);
  if (!state.module.validate()) {
    ++state.stats.steps;
    ++state.stats.reverted;
    state.reverted.push_back({"", phase, step_number, "the module does not validate after it"});
    state.module = std::move(before);
    return;
  }
  const verify::GlobalOrigins origins = sameNames(before, state.module);
  wasm::Module after = std::move(state.module);
  StepResult result =
      checkStep(before, after.copy(), origins, phase, step_number, options_, cache_, state.ledger);
  if (result.module && result.reverted.empty()) result.module = std::move(after);
  keepOutcome(state, std::move(result), phase, step_number, before);
  state.stats.budget_units = state.ledger.spent_units;
}

void StepwiseValidator::run(StepwiseState& state, const pipeline::PipelineConfig& config,
                            std::size_t first, const StepObserver& after_step) {
  for (std::size_t i = first; i < config.phases.size(); ++i) {
    const bool late =
        state.ledger.deadline && std::chrono::steady_clock::now() >= *state.ledger.deadline;
    if (state.ledger.exhausted || late) {
      state.reverted.push_back({"", config.phases[i], static_cast<std::uint32_t>(i + 1),
                                late ? "not run: the time allowed has run out"
                                     : "not run: the module's verification budget is spent"});
      ++state.stats.reverted;
      return;
    }
    step(state, config, i);
    if (after_step) after_step(i + 1, state);
  }
}

StepwiseOutcome StepwiseValidator::finish(StepwiseState state,
                                          const pipeline::PipelineConfig& config) const {
  StepwiseOutcome out;
  // Kept before Stack IR exists, for a write without it.
  wasm::Module plain = state.module.copy();
  for (std::size_t index : state.stack_ir_phases) pipeline::runPhase(state.module, config, index);
  // What is written is what ships: the encoding (and the Stack IR that
  // optimize-stack-ir rewrote behind the IR's back) is one more step.
  wasm::Bytes binary;
  wasm::Module shipped = decodeWritten(state.module, binary);
  const verify::GlobalOrigins origins = writtenOrigins(state.module, shipped);
  // An encoding step that is not proved for a function gives it back the
  // IR's body, which a plain write (no Stack IR) then encodes.
  const auto write_step = static_cast<std::uint32_t>(config.phases.size() + 1);
  // Every candidate needs its write verified, so the module budget (which
  // bounds the pipeline's steps, and may be spent) does not hold here: the
  // write's checks are bounded by the function budget alone. The chain's
  // deadline does hold for the Stack IR's checks (on a large module they
  // take minutes); past it, what they did not prove is written from the IR
  // as it is, whose encoding is checked without a deadline below.
  StepwiseOptions write_options = options_;
  write_options.verify_options.module_budget = std::chrono::milliseconds(0);
  verify::BudgetLedger write_ledger;
  write_ledger.deadline = state.ledger.deadline;
  StepResult result = checkStep(plain, shipped.copy(), origins, "write", write_step, write_options,
                                cache_, write_ledger);
  state.stats += result.stats;
  state.bounded = state.bounded || result.bounded;
  bool written = false;
  std::string why_not = result.why_undone;
  if (result.module && result.reverted.empty()) {
    out.shipped = std::move(shipped);
    out.binary = std::move(binary);
    written = true;
  } else if (result.module) {
    // Some functions took back their IR bodies: the repaired module is
    // written in its turn, and that encoding verified against it too.
    wasm::Bytes repaired_binary;
    wasm::Module decoded = decodeWritten(*result.module, repaired_binary);
    const StepResult encoding =
        checkStep(*result.module, decoded.copy(), writtenOrigins(*result.module, decoded), "write",
                  write_step, write_options, cache_, write_ledger);
    state.stats += encoding.stats;
    if (encoding.module && encoding.reverted.empty()) {
      state.stats.reverted += result.reverted.size();
      state.reverted.insert(state.reverted.end(), result.reverted.begin(), result.reverted.end());
      out.shipped = std::move(decoded);
      out.binary = std::move(repaired_binary);
      written = true;
    } else {
      why_not = "the repaired module's encoding did not verify";
    }
  }
  if (!written) {
    // Without Stack IR: a copy of the IR carries none, and writes the IR as it is.
    ++state.stats.reverted;
    state.reverted.push_back({"", "write", write_step, why_not});
    out.shipped = decodeWritten(plain, out.binary);
    verify::BudgetLedger plain_ledger;
    const StepResult plain_check =
        checkStep(plain, out.shipped.copy(), writtenOrigins(plain, out.shipped), "write",
                  write_step, write_options, cache_, plain_ledger);
    state.stats += plain_check.stats;
    if (!plain_check.module || !plain_check.reverted.empty()) {
      // Not even the module compared with its own encoding verifies (a
      // module-level check the verifier cannot make): nothing is proved.
      out.unverifiable =
          plain_check.module ? plain_check.reverted.front().reason : plain_check.why_undone;
    }
  }
  state.stats.budget_units = state.ledger.spent_units;
  out.reverted = std::move(state.reverted);
  out.stats = state.stats;
  out.bounded = state.bounded;
  return out;
}

StepwiseOutcome runStepwise(const wasm::Module& input, const pipeline::PipelineConfig& config,
                            const StepwiseOptions& options,
                            std::shared_ptr<verify::VerdictCache> cache) {
  StepwiseValidator validator(options, std::move(cache));
  StepwiseState state{input.copy(), {}, {}, {}, false, {}};
  state.ledger.deadline = options.deadline;
  validator.run(state, config);
  return validator.finish(std::move(state), config);
}

}  // namespace loom::engine
