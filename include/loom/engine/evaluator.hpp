// Evaluating candidates in this process: copy the input module, run the
// pipeline, validate, measure, verify. Worker processes each own one; tests
// and benchmarks may use one directly.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "loom/engine/eval_result.hpp"
#include "loom/engine/stepwise.hpp"
#include "loom/pipeline/config.hpp"
#include "loom/verify/verifier.hpp"
#include "loom/wasm/loader.hpp"

namespace loom::engine {

struct EvaluatorOptions {
  verify::VerifyOptions verify_options;
  // Snapshots of the module after every `prefix_stride` phases, so that a
  // pipeline sharing a prefix with an earlier one resumes from there.
  std::uint64_t prefix_cache_bytes = 512ull << 20;
  unsigned prefix_stride = 4;  // 0 turns the prefix cache off
  // When some optimized functions are not verified, give them their original
  // bodies back (see repair.hpp) and verify the result; Bounded counts as
  // verified only with accept_bounded.
  bool repair = true;
  bool accept_bounded = false;
  // Verify each step of the pipeline against the step before (stepwise.hpp)
  // rather than the output against the input; a step that does not verify is
  // undone for the functions it could not prove.
  bool stepwise = true;
  // The proof store's file (proof_store.hpp), shared with every other
  // process that verifies; empty: none.
  std::string proof_store;
  nlohmann::json toJson() const;
  static EvaluatorOptions fromJson(const nlohmann::json& json);
};

struct PrefixCacheStats {
  std::uint64_t lookups = 0, hits = 0, phases_reused = 0, phases_run = 0, snapshots = 0,
                evictions = 0;
};

class Evaluator {
 public:
  Evaluator(wasm::ModuleSource source, EvaluatorOptions options);
  ~Evaluator();

  // `keep_original`: functions that keep their original bodies in every
  // candidate without asking the solver (see Engine::keepOriginal).
  EvalResult evaluate(const pipeline::PipelineConfig& config, bool verify, bool want_module,
                      const std::vector<std::string>& keep_original = {});

  // Runs `config`'s stepwise verification for its share of every step
  // (verify::Shard), for the verdicts it leaves in the cache: nothing else
  // is kept. Does nothing when verification is not stepwise.
  void warm(const pipeline::PipelineConfig& config, verify::Shard shard);

  // When the run must end (--time-budget): a stepwise verification that
  // reaches it undoes the steps it has not proved, and its result says so
  // (EvalResult::cut_short). None by default.
  void setDeadline(std::optional<std::chrono::steady_clock::time_point> deadline);
  // Told where stepwise verifications are, as they go (a progress line).
  void setProgress(std::function<void(const StepProgress&)> progress);

  verify::VerdictCache& verdictCache() { return *verdicts_; }
  const PrefixCacheStats& prefixStats() const { return prefix_stats_; }

  // The module as it would be shipped, decoded again: what the verifier and
  // the cost model look at. Binaryen's writer emits Stack IR where a pass made
  // some (optimize-stack-ir rewrites it), so the Binaryen IR in memory is not
  // always the code that gets written.
  wasm::Module decodeWritten(const wasm::Module& module) const;

 private:
  // A pipeline's state after some phases: for the measurement, only its
  // module; for a stepwise verification, the verified chain.
  struct Snapshot {
    wasm::Hash128 key;
    StepwiseState state;
  };

  bool acceptable(const verify::ModuleVerdict& verdict) const;
  verify::GlobalOrigins originsOf(const wasm::Module& optimized, const wasm::Module& shipped) const;
  void repairInto(EvalResult& result, wasm::Bytes& binary, const wasm::Module& shipped,
                  const verify::GlobalOrigins& origins, const verify::ModuleVerdict& verdict);
  void verifyStepwise(EvalResult& result, wasm::Bytes& binary,
                      const pipeline::PipelineConfig& config,
                      const std::vector<wasm::Hash128>& keys);
  // progress_, told how many steps `config`'s chain has.
  std::function<void(const StepProgress&)> progressOf(const pipeline::PipelineConfig& config) const;
  const StepwiseState* findSnapshot(const wasm::Hash128& key);
  bool wantsSnapshot(const wasm::Hash128& key) const;
  void storeSnapshot(const wasm::Hash128& key, StepwiseState state);

  wasm::ModuleSource source_;
  EvaluatorOptions options_;
  wasm::Module base_;
  wasm::Module original_;  // base_ written and decoded again: what candidates are verified against
  // A global's name in base_ (which passes keep) -> its name in original_.
  std::map<std::string, std::string> original_global_of_;
  std::shared_ptr<verify::VerdictCache> verdicts_;
  std::unique_ptr<verify::Verifier> verifier_;
  std::list<Snapshot> snapshots_;  // most recently used first
  std::unordered_map<wasm::Hash128, std::list<Snapshot>::iterator, wasm::Hash128Hasher>
      snapshot_index_;
  std::size_t snapshot_capacity_ = 0;
  std::unique_ptr<StepwiseValidator> stepwise_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  std::function<void(const StepProgress&)> progress_;
  PrefixCacheStats prefix_stats_;
};

// Keys of every prefix of `config`'s phase list: key[k] identifies the module
// after its first k phases (settings included, since they change what passes do).
std::vector<wasm::Hash128> prefixKeys(const pipeline::PipelineConfig& config);

}  // namespace loom::engine
