// The evaluation engine: memoized, parallel, isolated candidate evaluation
// for one input module. Thread-safe; the search calls it from many islands.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "loom/engine/eval_result.hpp"
#include "loom/engine/evaluator.hpp"
#include "loom/engine/worker_pool.hpp"
#include "loom/pipeline/config.hpp"
#include "loom/wasm/loader.hpp"

namespace loom::engine {

struct EngineOptions {
  unsigned workers = 0;           // 0: one per hardware thread
  std::string worker_executable;  // empty: defaultWorkerExecutable()
  // 0: scaled to the module, since verifying a candidate may take the solver
  // budget for every function (autoCandidateTimeout).
  std::chrono::milliseconds candidate_timeout{0};
  std::uint64_t memory_limit_bytes = 4ull << 30;  // per worker process
  bool verify = true;
  EvaluatorOptions evaluator;
};

// What an evaluation includes. A measurement alone is cheap (the passes and
// the cost model); verification is what costs seconds, so a search measures
// first and verifies only the candidates that could matter.
enum class Check {
  Verify,       // measure and verify (unless the engine was built with verify off)
  MeasureOnly,  // measure only; a result verified earlier is returned as is
};

struct EngineCounters {
  std::uint64_t requests = 0;       // evaluate() calls, batch members included
  std::uint64_t memo_hits = 0;      // answered from the memo (same decoded pipeline)
  std::uint64_t output_hits = 0;    // of those, verifications answered by an earlier
                                    // verification of the same output bytes
  std::uint64_t evaluations = 0;    // candidates a worker actually ran
  std::uint64_t verified = 0;       // of those, verified (proved, or bounded if allowed)
  std::uint64_t measured_only = 0;  // of those, measured without verification (Check::MeasureOnly)
  std::uint64_t canceled = 0;       // requests ended by cancelPending (not in `evaluations`)
  std::map<std::string, std::uint64_t> by_status;   // "ok", "crashed", "timed-out", ...
  std::map<std::string, std::uint64_t> by_verdict;  // "proved", "bounded", "refuted", "unknown"
  std::uint64_t phases_run = 0, phases_reused = 0;  // prefix cache effect
  std::uint64_t functions_verified = 0, functions_unchanged = 0;
  StageTimes time;  // summed over evaluations, seconds
  WorkerPoolStats pool;
  double memoHitRate() const;
  double prefixReuseRate() const;
  nlohmann::json toJson() const;
};

// What one candidate may take: two minutes for the passes, plus the wall-clock
// safety net of the solver budget (3x) for every defined function, or of the
// module budget when that is smaller, twice (a repaired candidate is verified
// again). Capped at two hours.
std::chrono::milliseconds autoCandidateTimeout(std::size_t defined_functions,
                                               std::chrono::milliseconds function_budget,
                                               std::chrono::milliseconds module_budget,
                                               bool verify);

class Engine {
 public:
  Engine(const wasm::ModuleSource& source, EngineOptions options);
  ~Engine();

  // A result this call verified itself also carries the module bytes it
  // verified (EvalResult::module); one answered from the memo does not.
  EvalResult evaluate(const pipeline::PipelineConfig& config, Check check = Check::Verify);
  std::vector<EvalResult> evaluateBatch(const std::vector<pipeline::PipelineConfig>& configs,
                                        Check check = Check::Verify);

  // For results a whole run depends on (the input's measurement, a corpus
  // module's -Oz reference): a worker killed from outside must not end the
  // run, so a crashed evaluation is run again, up to `attempts` times in all;
  // so is one that ran out of memory (Z3's limit is per worker process, and
  // a fresh worker starts with all of it).
  EvalResult evaluateRetryingCrashes(const pipeline::PipelineConfig& config, unsigned attempts = 3);

  // Before one costly verification that would keep a single worker busy
  // (a reference at set-up): every worker checks its share of each step of
  // `config` (verify::Shard), and the verdicts they learn go to the worker
  // that then evaluates it. Nothing is memoized or counted; a failed share
  // only leaves more to that evaluation. Does nothing with one worker, when
  // verification is off or not stepwise, or when `config` is memoized.
  void warmUp(const pipeline::PipelineConfig& config);

  // Runs the pipeline again (never from the memo) and returns the module bytes too.
  EvalResult evaluateWithModule(const pipeline::PipelineConfig& config);

  // Functions that keep their original bodies in every later candidate,
  // without asking the solver: those that do not verify even in -Oz's output
  // (its EvalResult::repaired). A search meets them in nearly every candidate,
  // and each attempt would cost the full solver budget only to end in the
  // same repair. Set once, before the search; deterministic like the budgets.
  void keepOriginal(std::vector<std::string> functions);

  // Ends every evaluation in progress or queued now, from any thread: their
  // calls return at once with EvalStatus::Canceled (workers running them are
  // killed and replaced), and so do calls that joined them through the memo
  // meanwhile. Nothing canceled is memoized or logged, so asking again later
  // evaluates afresh. For hard time limits and prompt interruption.
  void cancelPending();

  // Seeds the memo with a result found earlier (a resumed run's log).
  void remember(const pipeline::PipelineConfig& config, const EvalResult& result);

  // Called after every evaluation a worker ran (not for memo hits).
  using Listener = std::function<void(const pipeline::PipelineConfig&, const EvalResult&)>;
  void setListener(Listener listener);

  // Where the stepwise verifications running now are, a few times a second
  // each, on the engine's own thread (keep it short; do not evaluate from
  // it). Empty: workers send none.
  struct Progress {
    unsigned worker = 0;
    StepProgress step;
  };
  using ProgressListener = std::function<void(const Progress&)>;
  void setProgressListener(ProgressListener listener);

  // When the run must end (--time-budget): evaluations started from now on
  // stop verifying by then and undo the steps they have not proved
  // (EvalResult::cut_short). One still running `grace` later is ended like
  // a hung one (EvalStatus::TimedOut): Z3 does not always stop at its
  // timeout. None by default.
  void setDeadline(std::optional<std::chrono::steady_clock::time_point> deadline,
                   std::chrono::milliseconds grace = std::chrono::seconds(30));

  EngineCounters counters() const;
  unsigned workers() const;
  const EngineOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace loom::engine
