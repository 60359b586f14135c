// Translation validation: is each optimized function equivalent to its
// original? Z3 decides it over the Binaryen IR of both modules.
//
// The verifier is split like Alive2: src/verify/smt/ wraps Z3, the meaning of
// WebAssembly instructions lives in src/verify/semantics/, and the
// equivalence check (per function, loops, module level) in src/verify/check/.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loom/wasm/hash.hpp"
#include "loom/wasm/module.hpp"

namespace loom::verify {

enum class Verdict {
  Proved,   // equivalent for every input and every initial state
  Bounded,  // equivalent whenever no loop runs more than `bound` iterations
  Refuted,  // a counterexample shows a difference
  Unknown,  // could not decide; `reason` says why
};

std::string_view verdictName(Verdict verdict);
std::string solverVersion();  // the SMT solver's, as it reports it  // "proved", "bounded",
                              // "refuted", "unknown"
std::optional<Verdict> parseVerdict(std::string_view name);
// Past `megabytes` of memory (process-wide) the SMT solver gives up, which
// gives an unknown verdict ("out of memory"), instead of failing inside an
// allocation.
void limitSolverMemory(int megabytes);

struct VerifyOptions {
  std::chrono::milliseconds function_timeout{5000};  // solver budget per function
  // Solver budget for all the changed functions of one module together (0:
  // none), in the same units. Functions are checked smallest first; those
  // met once it is spent get an Unknown verdict without a solver call, so a
  // large module costs at most about this much (plus one function's budget).
  std::chrono::milliseconds module_budget{0};
  unsigned loop_bound = 8;    // iterations per loop entry when falling back to bounded unrolling
  unsigned inline_depth = 3;  // how deep calls to module functions are executed symbolically
  std::uint64_t max_terms =
      2'000'000;  // give up (unknown) on functions whose encoding grows past this
  // Modules read from two separate binaries without a names section have
  // index-based function names that need not correspond: then only exported
  // functions are matched, by export name, and the rest are internal.
  bool match_by_export = false;
  // Check a changed function by the regions where it changed before
  // checking it whole (src/verify/check/regions.hpp).
  bool by_regions = true;
  nlohmann::json toJson() const;
  friend bool operator==(const VerifyOptions&, const VerifyOptions&) = default;
};

// Values use scripts/wasm-run.mjs syntax: i32/i64 as signed decimal,
// f32/f64 as "bits:0x..." of the IEEE pattern.
struct TypedValue {
  std::string type;  // "i32", "i64", "f32", "f64"
  std::string value;
  friend bool operator==(const TypedValue&, const TypedValue&) = default;
};

// Inputs that make the two versions of a function behave differently, in a
// form an independent engine can replay (scripts/wasm-run.mjs).
struct Counterexample {
  std::string function;  // name in the original module
  std::vector<TypedValue> arguments;
  std::uint64_t memory_pages = 0;                       // memory size at the call (0 if no memory)
  std::map<std::uint32_t, std::uint8_t> memory;         // initial bytes that matter
  std::map<std::string, TypedValue> globals;            // initial values of the globals read
  std::vector<std::vector<TypedValue>> import_results;  // results of the i-th call to an import
  std::string original_outcome;  // e.g. "returns i32 7", "traps", "calls env.log(3) first"
  std::string optimized_outcome;
  nlohmann::json toJson() const;
  static Counterexample fromJson(const nlohmann::json& json);
};

struct FunctionVerdict {
  std::string function;  // name in the original module
  Verdict verdict = Verdict::Unknown;
  std::string reason;  // why unknown; what differs when refuted; what was bounded
  unsigned bound = 0;  // the loop bound of a Bounded verdict
  std::optional<Counterexample> counterexample;  // when Refuted
  double solver_seconds = 0;
  // Z3 resource units the check spent; charged to the module budget again
  // when the verdict comes from the cache, so that what a module's budget
  // covers does not depend on what happened to be cached.
  std::uint64_t solver_units = 0;
  std::uint64_t encoding_terms = 0;  // terms built to encode both sides, likewise charged
  bool cached = false;
  nlohmann::json toJson() const;
  static FunctionVerdict fromJson(const nlohmann::json& json);
};

struct ModuleVerdict {
  std::vector<FunctionVerdict> functions;  // the functions that changed
  std::size_t unchanged_functions = 0;     // skipped: same body hash, no solver call
  // Of those, bodies equal only up to a renaming of their vars.
  std::size_t locals_renamed_functions = 0;
  // Module-level differences: exports, imports, start, tables, segments,
  // globals, a removed function that something can still reach.
  std::vector<std::string> module_problems;
  bool module_problems_refute = false;  // a problem is a definite difference, not a limitation

  // Worst verdict: any refuted -> Refuted; else any unknown -> Unknown; else
  // any bounded -> Bounded; else Proved.
  Verdict overall() const;
  std::size_t count(Verdict verdict) const;
  nlohmann::json toJson() const;
};

// Verdicts kept beyond one process (engine/proof_store.hpp keeps them on
// disk): every verdict but those that say something of the process that
// checked (out of memory, a solver error).
class VerdictStore {
 public:
  virtual ~VerdictStore() = default;
  virtual std::optional<FunctionVerdict> find(const wasm::Hash128& key) = 0;
  virtual void insert(const wasm::Hash128& key, const FunctionVerdict& verdict) = 0;
};

// Verdicts keyed by everything they depend on (the function's body on both
// sides, the bodies of the callees that were executed symbolically, the
// module context and the options). Thread-safe. Entries can be exported and
// imported so that worker processes share what they learn.
class VerdictCache {
 public:
  VerdictCache();
  ~VerdictCache();
  std::optional<FunctionVerdict> find(const wasm::Hash128& key) const;
  void insert(const wasm::Hash128& key, const FunctionVerdict& verdict);
  std::size_t size() const;
  std::uint64_t hits() const;
  std::uint64_t misses() const;
  // Entries another process may take as its own: all but the unknowns that
  // this process's load decided (a wall-clock limit, memory).
  nlohmann::json exportEntries() const;
  void importEntries(const nlohmann::json& entries);
  // Misses are looked up in `store`, and decided verdicts written to it.
  void attachStore(std::shared_ptr<VerdictStore> store);
  std::uint64_t storeHits() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Which original global each global of an optimized module is, by name, when
// the caller knows: the engine does, since Binaryen's passes keep a global's
// name while the written form renames by position. Verification stays sound
// under any pairing (initial values are checked and every function is
// verified under it); a right one only lets more of it succeed.
using GlobalOrigins = std::map<std::string, std::string>;  // optimized -> original

// What the module budget has paid for across several verify() calls: the
// steps of one stepwise chain share a candidate's budget, so a long pipeline
// is bounded like a short one.
struct BudgetLedger {
  std::uint64_t spent_units = 0;
  // The wall-clock safety net of the whole chain, set by the first call.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  bool exhausted = false;  // a function went unchecked because the budget was spent
};

// One of `count` workers that check a module's changed functions together,
// each its share, to fill a shared cache (VerdictCache) that the one full
// check then finds most verdicts in. A function belongs to the same worker
// at every step (by its name), so that the worker undoes it where the full
// check will and checks its later steps from the same body. What is not
// this worker's share is taken as proved and never cached: a sharded
// verdict only ever warms a cache, it is never an answer.
struct Shard {
  unsigned index = 0, count = 1;
  bool whole() const { return count <= 1; }
  bool mine(const std::string& function) const {
    return whole() || std::hash<std::string>{}(function) % count == index;
  }
};

class Verifier {
 public:
  // `original` must outlive the verifier; its function hashes are computed once.
  explicit Verifier(const wasm::Module& original, VerifyOptions options = {},
                    std::shared_ptr<VerdictCache> cache = nullptr);
  ~Verifier();
  Verifier(const Verifier&) = delete;
  Verifier& operator=(const Verifier&) = delete;

  // Verifies every function of `optimized` that differs from the original.
  // Never throws for a verification problem: those become verdicts.
  // Without `origins`, globals whose names do not say which is which (a
  // binary without a names section names them by position) are aligned in
  // order by type, import, exports and initial value.
  ModuleVerdict verify(const wasm::Module& optimized, const GlobalOrigins& origins = {});
  // The same, with the module budget taken from and charged to `ledger`.
  ModuleVerdict verify(const wasm::Module& optimized, const GlobalOrigins& origins,
                       BudgetLedger& ledger, Shard shard = {});

  // Which global of `optimized` each original global is, by name, as
  // verify() pairs them. An original global without a counterpart is absent.
  std::map<std::string, std::string> pairGlobals(const wasm::Module& optimized,
                                                 const GlobalOrigins& origins = {});

  // Told before each changed function of a verify() call is decided, and
  // once at its end, how many of them are decided so far: what a progress
  // line shows. It changes nothing that is checked.
  using OnDecided = std::function<void(std::size_t decided, std::size_t changed)>;
  void onDecided(OnDecided callback);

  const VerifyOptions& options() const;
  VerdictCache& cache();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace loom::verify
