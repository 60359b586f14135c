// The Verifier: module-level checks, then a verdict per changed function,
// skipping unchanged ones and reusing cached verdicts.
#include "loom/verify/verifier.hpp"

#include <fmt/format.h>

#include <deque>
#include <set>

#include "src/verify/check/correspondence.hpp"
#include "src/verify/check/function_check.hpp"
#include "src/verify/check/module_checks.hpp"
#include "src/verify/semantics/module_info.hpp"

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

}  // namespace

struct Verifier::Impl {
  const wasm::Module& original;
  VerifyOptions options;
  std::shared_ptr<VerdictCache> cache;
  sem::ModuleInfo original_info;
  wasm::Hash128 original_fingerprint;

  Impl(const wasm::Module& m, VerifyOptions o, std::shared_ptr<VerdictCache> c)
      : original(m),
        options(o),
        cache(c ? std::move(c) : std::make_shared<VerdictCache>()),
        original_info(m) {
    std::string s;
    for (const auto& [name, f] : original_info.functions()) s += describeFunction(f) + "|";
    original_fingerprint = wasm::hashString(s);
  }

  bool unchanged(const check::Correspondence& c, const check::FunctionPair& pair) const {
    const sem::FunctionInfo& o = *c.original().function(pair.original);
    const sem::FunctionInfo& p = *c.optimized().function(pair.optimized);
    if (o.hash.opaque || p.hash.opaque) return false;
    // The same body names globals; each name must stand for the same global
    // on both sides. Names shift when unnamed globals are removed, so a body
    // may also be the same once its globals are called by their counterparts'
    // names (a function repair put back).
    const bool same_names = o.hash.hash == p.hash.hash;
    if (!same_names && !c.globalsRenamed()) return false;
    if (!same_names) {
      const wasm::GlobalRename to_original = [&](std::string_view name) {
        const std::string counterpart = c.originalGlobal(std::string(name));
        return counterpart.empty() ? "unpaired " + std::string(name) : counterpart;
      };
      if (wasm::hashFunction(p.ref, to_original).hash != o.hash.hash) return false;
    }
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

  wasm::Hash128 cacheKey(const check::Correspondence& c, const check::FunctionPair& pair,
                         const GlobalOrigins& origins) const {
    std::string s = "loom-verify-1|" + options.toJson().dump() + "|" + original_fingerprint.hex() +
                    "|" + c.original().contextHash().hex() + "|" +
                    c.optimized().contextHash().hex();
    for (const auto& [optimized_name, original_name] : origins)
      s += "|origin " + optimized_name + "=" + original_name;
    s += "|pair " + pair.label + " " + pair.original + " " + pair.optimized;
    for (const auto& name : callClosure(c.original(), pair.original, options.inline_depth)) {
      if (const auto* f = c.original().function(name)) s += "|o " + describeFunction(*f);
    }
    for (const auto& name : callClosure(c.optimized(), pair.optimized, options.inline_depth)) {
      if (const auto* f = c.optimized().function(name)) s += "|p " + describeFunction(*f);
      if (const auto* f = c.original().function(name)) s += "|po " + describeFunction(*f);
    }
    return wasm::hashString(s);
  }

  ModuleVerdict verify(const wasm::Module& optimized, const GlobalOrigins& origins) {
    ModuleVerdict out;
    try {
      sem::ModuleInfo optimized_info(optimized);
      check::Correspondence c(
          original_info, optimized_info,
          options.match_by_export ? check::Matching::ByExport : check::Matching::ByName, origins);
      check::ModuleProblems problems = check::checkModules(c);
      out.module_problems = std::move(problems.problems);
      out.module_problems_refute = problems.definite;
      for (const auto& pair : c.pairs()) {
        if (unchanged(c, pair)) {
          ++out.unchanged_functions;
          continue;
        }
        const wasm::Hash128 key = cacheKey(c, pair, origins);
        if (auto hit = cache->find(key)) {
          hit->cached = true;
          hit->solver_seconds = 0;
          out.functions.push_back(std::move(*hit));
          continue;
        }
        FunctionVerdict v = check::checkFunction(c, pair, options);
        cache->insert(key, v);
        out.functions.push_back(std::move(v));
      }
    } catch (const std::exception& e) {
      out.module_problems.push_back(fmt::format("verifier error: {}", e.what()));
    }
    return out;
  }

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

Verifier::Verifier(const wasm::Module& original, VerifyOptions options,
                   std::shared_ptr<VerdictCache> cache)
    : impl_(std::make_unique<Impl>(original, options, std::move(cache))) {}

Verifier::~Verifier() = default;

ModuleVerdict Verifier::verify(const wasm::Module& optimized, const GlobalOrigins& origins) {
  return impl_->verify(optimized, origins);
}

std::map<std::string, std::string> Verifier::pairGlobals(const wasm::Module& optimized,
                                                         const GlobalOrigins& origins) {
  return impl_->pairGlobals(optimized, origins);
}

const VerifyOptions& Verifier::options() const {
  return impl_->options;
}

VerdictCache& Verifier::cache() {
  return *impl_->cache;
}

}  // namespace loom::verify
