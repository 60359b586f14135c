// Small pieces both kinds of run (one module, a corpus) need.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "archipelago.hpp"
#include "loom/driver/archive.hpp"
#include "loom/driver/evaluation_log.hpp"
#include "loom/driver/progress.hpp"
#include "loom/driver/run_options.hpp"
#include "loom/engine/engine.hpp"
#include "problems/candidate_evaluator.hpp"
#include "report.hpp"

namespace loom::driver {

// Before any work: every file the run writes can be written, none is the
// input, and no two roles (-o, --report, --log, the checkpoint, the proof
// store) share a file. One line (support::FileError) otherwise.
void checkRunFiles(const RunOptions& options);

// Before any work: the process may open enough files for `workers` worker
// processes (three pipes each, held by this process) beside the reference
// engine and the SQLite files. Raises the soft limit when the hard one
// allows; otherwise one line with the limit needed.
void checkDescriptors(unsigned workers);

// A hint for a worker that died at set-up: with a small --memory-limit it
// is the likely cause. "" otherwise.
std::string memoryLimitHint(const RunOptions& options);

// The exit status of a run that finished but could not write all of its
// evaluation log.
inline constexpr int kExitLogIncomplete = 4;

// The end of a run: writes the log's last rows, waiting up to --log-wait for
// a busy database, and says how many could not be written.
std::size_t closeLog(EvaluationLog* log, const RunOptions& options, Progress& progress);

// The verification options a stored verdict depends on.
std::string verifyFingerprint(const RunOptions& options);

engine::EngineOptions engineOptions(const RunOptions& options);

// Opens the run's proof store once before any work: a file that is not one
// throws engine::ProofStoreError; a corrupt one is made anew, with a warning.
void openProofStore(const RunOptions& options, Progress& progress);

// When a run that started at `started` must stop (--time-budget; max(): never).
std::chrono::steady_clock::time_point deadlineOf(std::chrono::steady_clock::time_point started,
                                                 const RunOptions& options);

// After the run's deadline: the input's and -Oz's results (memoized in the
// set-up), and every other built-in marked canceled, not evaluated (its
// passes alone take minutes on a large module).
std::vector<problems::ScoredCandidate> knownBaselines(
    problems::CandidateEvaluator& evaluator, const std::vector<pipeline::PipelineConfig>& configs,
    const cost::Metrics& input, const RunOptions& options);

// How long past --time-budget a candidate may still run before its worker
// is stopped (Z3 does not always stop at its timeout): a fifth of the
// budget, at least 30 s (the passes of a reference on a large module).
std::chrono::milliseconds graceOf(const RunOptions& options);

// Evaluates -Oz (with repair) and keeps the functions its repair reverted
// original in every later candidate (Engine::keepOriginal). Returns that
// evaluation (nullopt when repair is off).
std::optional<engine::EvalResult> keepWhatOzCannotVerify(engine::Engine& engine,
                                                         const RunOptions& options);
ArchipelagoSettings archipelagoSettings(const RunOptions& options);

// What the wasm-opt tool writes at each of `levels` (wasmOptLevels()): the
// built-in pipelines run by an engine of their own that verifies nothing
// and keeps no function original, so its results are the raw pipeline
// output and the run's own engine and memo are left alone.
std::vector<ToolOutput> measureWasmOpt(const wasm::ModuleSource& source, const RunOptions& options,
                                       const std::vector<std::string>& levels = wasmOptLevels());

// The input file's own bytes as a candidate against `best` (scored by the
// run's objective, like every candidate): which one to write.
Answer chooseAnswer(const wasm::ModuleSource& source, const engine::EvalResult& input,
                    const std::optional<ArchivedCandidate>& best, const RunOptions& options);

// The objective above which candidates are measured but not verified: the
// best verified objective so far plus the screening margin. Set between
// generations only, so that results do not depend on the order in which
// parallel islands finish.
double verifyThreshold(const Archive& archive, const RunOptions& options);

// Scores the built-in pipelines like candidates: -Oz (verified first; with
// repair it already is) sets the screening threshold, and only the baselines
// measured at or below it are verified. Verifying all six on a large module
// took longer than many searches' whole budget.
std::vector<problems::ScoredCandidate> scoreBaselines(
    problems::CandidateEvaluator& evaluator, const std::vector<pipeline::PipelineConfig>& configs,
    const RunOptions& options);

}  // namespace loom::driver
