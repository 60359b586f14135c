// The Verifier: module-level checks, then a verdict per changed function,
// skipping unchanged ones and reusing cached verdicts.
#include "loom/verify/verifier.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "src/verify/check/correspondence.hpp"
#include "src/verify/check/function_check.hpp"
#include "src/verify/check/module_checks.hpp"
#include "src/verify/check/regions.hpp"
#include "src/verify/semantics/module_info.hpp"
#include "src/verify/smt/context.hpp"

namespace loom::verify {

namespace {

std::string signatureText(const sem::FunctionInfo& f) {
  return sem::describeTypes(f.params) + "->" + sem::describeTypes(f.results);
}

std::string describeFunction(const sem::FunctionInfo& f) {
  if (f.imported)
    return fmt::format("import {}.{} {}", f.import_module, f.import_base, signatureText(f));
  return fmt::format("{} {} {}{}", f.name, signatureText(f), f.hash.hash.hex(),
                     f.hash.opaque ? "!" : "");
}

std::string describeEffects(const sem::ModuleInfo& m, const sem::FunctionInfo& f) {
  if (f.imported) return {};
  const sem::EffectSummary& e = m.effects(f.name);
  std::string s =
      fmt::format(" fx{}{}{}{}", e.writes_memory ? 'm' : '-', e.grows_memory ? 'g' : '-',
                  e.calls ? 'c' : '-', e.writes_all_globals ? 'a' : '-');
  for (const auto& g : e.globals_written) s += "," + g;
  return s;
}

// Names of the functions an encoding of `root` may execute or abstract:
// everything reachable within one call level more than the inline depth.
std::set<std::string> callClosure(const sem::ModuleInfo& m, const std::string& root,
                                  unsigned depth) {
  std::set<std::string> seen{root};
  std::deque<std::pair<std::string, unsigned>> work{{root, 0}};
  while (!work.empty()) {
    auto [name, d] = work.front();
    work.pop_front();
    const sem::FunctionInfo* f = m.function(name);
    if (!f || f->imported || d > depth) continue;
    std::vector<std::string> next = f->direct_callees;
    if (f->calls_indirect) {
      for (const auto& slot : m.table().slots) {
        if (slot) next.push_back(*slot);
      }
    }
    for (const auto& n : next) {
      if (seen.insert(n).second) work.push_back({n, d + 1});
    }
  }
  return seen;
}

// The solver budget of one verify() call, in Z3 resource units like a
// function's (so what it covers does not depend on machine load), with a
// wall-clock safety net several times the nominal budget for the encoding
// work the units do not count.
class ModuleBudget {
 public:
  ModuleBudget(std::chrono::milliseconds nominal, BudgetLedger& ledger)
      : nominal_(nominal),
        units_(static_cast<std::uint64_t>(std::max<long long>(0, nominal.count())) *
               smt::Budget::unitsPerMs()),
        ledger_(ledger) {
    // The first call of a chain sets it; a deadline the caller set (the
    // run's) holds too, whichever comes first.
    if (units_ > 0) {
      const auto net = std::chrono::steady_clock::now() + 3 * nominal + std::chrono::seconds(1);
      if (!ledger_.deadline || net < *ledger_.deadline) ledger_.deadline = net;
    }
  }

  // Encoding work counts too, or a module of cheap proofs over expensive
  // encodings would only ever stop at the safety net: a term costs about as
  // much time to build as 20 resource units take to solve (measured on
  // sqljs's -Oz output: 4-250 us per term, median near 10 us).
  static constexpr std::uint64_t kUnitsPerTerm = 20;
  static std::uint64_t cost(const FunctionVerdict& v) {
    return v.solver_units + v.encoding_terms * kUnitsPerTerm;
  }
  void charge(const FunctionVerdict& v) { ledger_.spent_units += cost(v); }
  // What is left of the budget, when there is one.
  std::optional<std::uint64_t> remaining() const {
    if (units_ == 0) return std::nullopt;
    return ledger_.spent_units >= units_ ? 0 : units_ - ledger_.spent_units;
  }
  // A deadline the ledger was given holds without a budget in units too
  // (the checks of regions, on behalf of a function the budget covers).
  bool spent() const {
    if (ledger_.deadline && std::chrono::steady_clock::now() >= *ledger_.deadline) return true;
    return units_ > 0 && ledger_.spent_units >= units_;
  }
  FunctionVerdict notChecked(const std::string& function) const {
    ledger_.exhausted = true;
    FunctionVerdict v;
    v.function = function;
    v.verdict = Verdict::Unknown;
    const bool late = ledger_.deadline && std::chrono::steady_clock::now() >= *ledger_.deadline;
    v.reason = units_ == 0 || late
                   ? std::string("not checked: the time allowed for the checks has run out")
                   : fmt::format("not checked: the module's verification budget ({} s) is spent",
                                 static_cast<double>(nominal_.count()) / 1000.0);
    return v;
  }

 private:
  std::chrono::milliseconds nominal_;
  std::uint64_t units_;  // 0: no module budget
  BudgetLedger& ledger_;
};

}  // namespace

struct Verifier::Impl {
  const wasm::Module& original;
  VerifyOptions options;
  std::shared_ptr<VerdictCache> cache;
  sem::ModuleInfo original_info;
  OnDecided on_decided;

  Impl(const wasm::Module& m, VerifyOptions o, std::shared_ptr<VerdictCache> c)
      : original(m),
        options(o),
        cache(c ? std::move(c) : std::make_shared<VerdictCache>()),
        original_info(m) {}

  // Whether the pair needs no check: the same body, or the same up to a
  // renaming of vars (`*locals_renamed` then says so).
  bool unchanged(const check::Correspondence& c, const check::FunctionPair& pair,
                 bool* locals_renamed = nullptr) const {
    const sem::FunctionInfo& o = *c.original().function(pair.original);
    const sem::FunctionInfo& p = *c.optimized().function(pair.optimized);
    if (o.hash.opaque || p.hash.opaque) return false;
    // The same body names globals; each name must stand for the same global
    // on both sides. Names shift when unnamed globals are removed, so a body
    // may also be the same once its globals are called by their counterparts'
    // names (a function repair put back).
    bool same_names = o.hash.hash == p.hash.hash;
    bool renamed = false;
    if (!same_names &&
        wasm::hashFunctionUpToLocals(o.ref).hash == wasm::hashFunctionUpToLocals(p.ref).hash) {
      same_names = renamed = true;
    }
    if (!same_names && !c.globalsRenamed()) return false;
    if (!same_names) {
      const wasm::GlobalRename to_original = [&](std::string_view name) {
        const std::string counterpart = c.originalGlobal(std::string(name));
        return counterpart.empty() ? "unpaired " + std::string(name) : counterpart;
      };
      if (wasm::hashFunction(p.ref, to_original).hash != o.hash.hash) {
        if (wasm::hashFunctionUpToLocals(p.ref, &to_original).hash !=
            wasm::hashFunctionUpToLocals(o.ref).hash)
          return false;
        renamed = true;
      }
    }
    if (locals_renamed) *locals_renamed = renamed;
    for (const auto& g : o.globals_used) {
      const auto os = c.layout().slot(sem::Side::Original, g);
      const auto ps = c.layout().slot(sem::Side::Optimized, same_names ? g : c.optimizedGlobal(g));
      if (!os || !ps || *os != *ps) return false;
    }
    // The same body calls functions by name; each callee must be the same
    // import, or a function verified on its own (same name and signature).
    for (const auto& callee : o.direct_callees) {
      const sem::FunctionInfo* oc = c.original().function(callee);
      const sem::FunctionInfo* pc = c.optimized().function(callee);
      if (!oc || !pc || !oc->sameSignature(*pc)) return false;
      if (oc->imported != pc->imported) return false;
      if (oc->imported &&
          (oc->import_module != pc->import_module || oc->import_base != pc->import_base)) {
        return false;
      }
      if (!oc->imported && !c.functionKey(sem::Side::Optimized, callee)) return false;
    }
    return !o.calls_indirect || c.tablesCorrespond();
  }

  // Everything a verdict depends on, and nothing more, so that it is found
  // again in another module where the same functions meet the same context
  // (the next candidate, the next step): the options, both modules'
  // contexts (memory, table, globals and what writes them, imports,
  // exports), the global pairing, and for every function the check may
  // execute or abstract (`callClosure`, on both sides) its name, signature,
  // body hash and transitive effects (an abstracted call writes what they
  // say). Twins and counterparts of those functions follow from the same
  // descriptions.
  wasm::Hash128 cacheKey(const check::Correspondence& c, const check::FunctionPair& pair,
                         const GlobalOrigins& origins) const {
    std::string s = "loom-verify-2|" + options.toJson().dump() + "|" +
                    c.original().contextHash().hex() + "|" + c.optimized().contextHash().hex();
    for (const auto& [optimized_name, original_name] : origins)
      s += "|origin " + optimized_name + "=" + original_name;
    s += "|pair " + pair.label + " " + pair.original + " " + pair.optimized;
    for (const auto& name : callClosure(c.original(), pair.original, options.inline_depth)) {
      if (const auto* f = c.original().function(name))
        s += "|o " + describeFunction(*f) + describeEffects(c.original(), *f);
    }
    for (const auto& name : callClosure(c.optimized(), pair.optimized, options.inline_depth)) {
      if (const auto* f = c.optimized().function(name))
        s += "|p " + describeFunction(*f) + describeEffects(c.optimized(), *f);
      if (const auto* f = c.original().function(name))
        s += "|po " + describeFunction(*f) + describeEffects(c.original(), *f);
    }
    return wasm::hashString(s);
  }

  ModuleVerdict verify(const wasm::Module& optimized, const GlobalOrigins& origins,
                       BudgetLedger& ledger, Shard shard = {}) {
    ModuleVerdict out;
    // LOOM_VERIFY_TRACE=FILE: one line per function checked, appended to
    // FILE (workers' stderr is the engine's), to see where a budget goes.
    static const char* const trace = [] {
      const char* env = std::getenv("LOOM_VERIFY_TRACE");
      return env && *env ? env : nullptr;
    }();
    try {
      sem::ModuleInfo optimized_info(optimized);
      check::Correspondence c(
          original_info, optimized_info,
          options.match_by_export ? check::Matching::ByExport : check::Matching::ByName, origins);
      check::ModuleProblems problems = check::checkModules(c);
      out.module_problems = std::move(problems.problems);
      out.module_problems_refute = problems.definite;
      std::vector<const check::FunctionPair*> changed;
      for (const auto& pair : c.pairs()) {
        bool locals_renamed = false;
        if (unchanged(c, pair, &locals_renamed)) {
          ++out.unchanged_functions;
          if (locals_renamed) ++out.locals_renamed_functions;
        } else {
          changed.push_back(&pair);
        }
      }
      // Smallest first: when the module budget runs out, as many functions
      // as it allows have been decided.
      std::stable_sort(changed.begin(), changed.end(), [&](const auto* a, const auto* b) {
        return c.original().function(a->original)->hash.expressions <
               c.original().function(b->original)->hash.expressions;
      });
      std::vector<std::pair<const check::FunctionPair*, FunctionVerdict>> decided;
      if (!shard.whole()) {
        std::vector<const check::FunctionPair*> mine;
        for (std::size_t i = 0; i < changed.size(); ++i) {
          if (shard.mine(changed[i]->original)) {
            mine.push_back(changed[i]);
            continue;
          }
          FunctionVerdict v;
          v.function = changed[i]->label;
          v.verdict = Verdict::Proved;
          v.reason = "another shard's";
          decided.emplace_back(changed[i], std::move(v));
        }
        changed = std::move(mine);
      }
      ModuleBudget budget(options.module_budget, ledger);
      const smt::WallClockCap cap(ledger.deadline);
      // What is tried before a function's full check (a short whole check,
      // its regions) runs for a window of functions at a time, smallest
      // first like the rest, as the loop reaches them: each function's share
      // is charged to the module budget with its verdict.
      std::map<const check::FunctionPair*, Prework> prework;
      std::size_t prepared = 0;
      // A key is built once per function (prepare looks ahead at the next ones).
      std::map<const check::FunctionPair*, wasm::Hash128> keys;
      const KeyOf keyOf = [&](const check::FunctionPair* pair) {
        auto [it, fresh] = keys.try_emplace(pair);
        if (fresh) it->second = cacheKey(c, *pair, origins);
        return it->second;
      };
      for (std::size_t index = 0; index < changed.size(); ++index) {
        if (on_decided) on_decided(index, changed.size());
        const check::FunctionPair* pair = changed[index];
        if (budget.spent()) {
          decided.emplace_back(pair, budget.notChecked(pair->label));
          continue;
        }
        const wasm::Hash128 key = keyOf(pair);
        if (auto hit = cache->find(key)) {
          hit->cached = true;
          hit->solver_seconds = 0;
          budget.charge(*hit);
          decided.emplace_back(pair, std::move(*hit));
          continue;
        }
        const auto started = std::chrono::steady_clock::now();
        if (index >= prepared) {
          const std::size_t end = std::min(changed.size(), index + kRegionBatch);
          prepare(c,
                  std::vector<const check::FunctionPair*>(changed.begin() + index,
                                                          changed.begin() + end),
                  keyOf, optimized, budget, ledger, prework);
          prepared = end;
        }
        FunctionVerdict v = decide(c, *pair, prework[pair]);
        budget.charge(v);
        if (trace) {
          // One write per line, so that lines of concurrent workers do not mix.
          const std::string line = fmt::format(
              "{}\t{}\t{}\t{}\t{}\t{:.3f}\t{:.3f}\t{}\t{}\t{:.3f}\n", v.function,
              verdictName(v.verdict), c.original().function(pair->original)->hash.expressions,
              v.solver_units, v.encoding_terms, v.solver_seconds,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
              v.reason.substr(0, 120), ::getpid(),
              std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
                  .count());
          if (std::FILE* f = std::fopen(trace, "a")) {
            std::fwrite(line.data(), 1, line.size(), f);
            std::fclose(f);
          }
        }
        cache->insert(key, v);
        decided.emplace_back(pair, std::move(v));
      }
      if (on_decided) on_decided(changed.size(), changed.size());
      // Reported in the module's order, whatever order they were checked in.
      std::sort(decided.begin(), decided.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      for (auto& [pair, verdict] : decided) out.functions.push_back(std::move(verdict));
    } catch (const std::exception& e) {
      out.module_problems.push_back(fmt::format("verifier error: {}", e.what()));
    }
    return out;
  }

  using KeyOf = std::function<wasm::Hash128(const check::FunctionPair*)>;

  // What is tried for a changed function before its full check.
  struct Prework {
    std::optional<FunctionVerdict> quick;          // the whole function with a region's share
    std::optional<check::RegionCheck> by_regions;  // when that did not decide it
  };

  // The changed functions of `window` a step rewrote in a few places (see
  // check/regions.hpp): a small one is first checked whole with a region's
  // share of its budget, since most are settled so and a region's harness,
  // which starts from any state, is often harder than the whole function;
  // what that does not decide, and every large one, is checked place by
  // place. Stops taking on functions once it has spent what the module
  // budget has left, or at the budget's deadline.
  void prepare(const check::Correspondence& c,
               const std::vector<const check::FunctionPair*>& window, const KeyOf& keyOf,
               const wasm::Module& optimized, const ModuleBudget& budget,
               const BudgetLedger& ledger, std::map<const check::FunctionPair*, Prework>& prework) {
    const std::optional<std::uint64_t> remaining = budget.remaining();
    if (!options.by_regions || options.match_by_export) return;
    VerifyOptions quick = options;
    quick.function_timeout =
        std::max(options.function_timeout / check::kRegionShare, std::chrono::milliseconds(100));
    std::uint64_t spent = 0;
    std::vector<check::RegionCheck> checks;
    std::vector<const check::FunctionPair*> pairs;
    for (const check::FunctionPair* pair : window) {
      if (budget.spent() || (remaining && spent >= *remaining)) break;
      if (pair->original != pair->optimized || cache->find(keyOf(pair))) continue;
      const sem::FunctionInfo* o = c.original().function(pair->original);
      const sem::FunctionInfo* p = c.optimized().function(pair->optimized);
      if (!o || !p || o->imported || p->imported) continue;
      std::vector<check::Region> regions =
          check::differingRegions(o->ref, p->ref, kMaxRegionsPerFunction);
      if (regions.empty()) continue;
      Prework& work = prework[pair];
      if (o->hash.expressions < check::kLargeFunction) {
        work.quick = check::checkFunction(c, *pair, quick);
        spent += ModuleBudget::cost(*work.quick);
        if (decisive(*work.quick)) continue;
      }
      check::RegionCheck region_check;
      region_check.function = pair->original;
      region_check.regions = std::move(regions);
      checks.push_back(std::move(region_check));
      pairs.push_back(pair);
    }
    if (checks.empty()) return;
    // Each region has a share of its function's budget; what they spend is
    // charged to the module budget per function, as the loop decides it.
    VerifyOptions unbounded = options;
    unbounded.module_budget = std::chrono::milliseconds(0);
    BudgetLedger own;
    own.deadline = ledger.deadline;
    check::proveRegions(original, optimized, checks, unbounded, cache, own);
    for (std::size_t i = 0; i < checks.size(); ++i)
      prework[pairs[i]].by_regions = std::move(checks[i]);
  }

  static bool decisive(const FunctionVerdict& v) {
    return v.verdict == Verdict::Proved || v.verdict == Verdict::Refuted;
  }

  // A function's verdict from what `prepare` did and, when that did not
  // decide it, its full check; the cost of everything tried is in it.
  FunctionVerdict decide(const check::Correspondence& c, const check::FunctionPair& pair,
                         const Prework& work) const {
    if (work.quick && decisive(*work.quick)) return *work.quick;
    FunctionVerdict v;
    if (work.by_regions && work.by_regions->proved) {
      v = provedByRegions(pair, *work.by_regions);
    } else {
      v = check::checkFunction(c, pair, options);
      if (work.by_regions) {
        v.solver_units += work.by_regions->solver_units;
        v.solver_seconds += work.by_regions->solver_seconds;
        if (v.verdict != Verdict::Proved && !work.by_regions->reason.empty())
          v.reason += " (by regions: " + work.by_regions->reason + ")";
      }
    }
    if (work.quick) check::addCost(v, *work.quick);
    return v;
  }

  static FunctionVerdict provedByRegions(const check::FunctionPair& pair,
                                         const check::RegionCheck& check) {
    FunctionVerdict v;
    v.function = pair.label;
    v.verdict = Verdict::Proved;
    v.reason = fmt::format("proved region by region ({} regions)", check.regions.size());
    v.solver_seconds = check.solver_seconds;
    v.solver_units = check.solver_units;
    return v;
  }

  static constexpr std::size_t kMaxRegionsPerFunction = 32;
  static constexpr std::size_t kRegionBatch = 32;  // functions per pair of harness modules

  std::map<std::string, std::string> pairGlobals(const wasm::Module& optimized,
                                                 const GlobalOrigins& origins) try {
    sem::ModuleInfo optimized_info(optimized);
    check::Correspondence c(
        original_info, optimized_info,
        options.match_by_export ? check::Matching::ByExport : check::Matching::ByName, origins);
    std::map<std::string, std::string> pairs;
    for (const auto& name : original_info.globalOrder()) {
      std::string counterpart = c.optimizedGlobal(name);
      if (!counterpart.empty() && optimized_info.global(counterpart))
        pairs.emplace(name, std::move(counterpart));
    }
    return pairs;
  } catch (const std::exception&) {
    return {};  // nothing paired: a caller can then only add immutable globals
  }
};

std::string solverVersion() {
  return smt::version();
}

void limitSolverMemory(int megabytes) {
  smt::setMemoryLimit(megabytes);
}

Verifier::Verifier(const wasm::Module& original, VerifyOptions options,
                   std::shared_ptr<VerdictCache> cache)
    : impl_(std::make_unique<Impl>(original, options, std::move(cache))) {}

Verifier::~Verifier() = default;

ModuleVerdict Verifier::verify(const wasm::Module& optimized, const GlobalOrigins& origins) {
  BudgetLedger ledger;
  return impl_->verify(optimized, origins, ledger);
}

ModuleVerdict Verifier::verify(const wasm::Module& optimized, const GlobalOrigins& origins,
                               BudgetLedger& ledger, Shard shard) {
  return impl_->verify(optimized, origins, ledger, shard);
}

std::map<std::string, std::string> Verifier::pairGlobals(const wasm::Module& optimized,
                                                         const GlobalOrigins& origins) {
  return impl_->pairGlobals(optimized, origins);
}

void Verifier::onDecided(OnDecided callback) {
  impl_->on_decided = std::move(callback);
}

const VerifyOptions& Verifier::options() const {
  return impl_->options;
}

VerdictCache& Verifier::cache() {
  return *impl_->cache;
}

}  // namespace loom::verify
