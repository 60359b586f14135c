#include "src/verify/check/regions.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <set>

#include "loom/wasm/hash.hpp"
#include "loom/wasm/ir.hpp"

namespace loom::verify::check {

namespace {

bool sameLocals(BinaryenFunctionRef a, BinaryenFunctionRef b) {
  if (BinaryenFunctionGetParams(a) != BinaryenFunctionGetParams(b) ||
      BinaryenFunctionGetResults(a) != BinaryenFunctionGetResults(b) ||
      BinaryenFunctionGetNumVars(a) != BinaryenFunctionGetNumVars(b)) {
    return false;
  }
  for (BinaryenIndex i = 0, n = BinaryenFunctionGetNumVars(a); i < n; ++i) {
    if (BinaryenFunctionGetVar(a, i) != BinaryenFunctionGetVar(b, i)) return false;
  }
  return true;
}

// Walks both bodies in step while they are the same tree, collecting the
// smallest subtrees (or runs of block children) where they part.
class RegionFinder {
  struct Hash128Pair {
    wasm::Hash128 first, second;
  };

 public:
  explicit RegionFinder(std::size_t max_regions) : max_(max_regions) {}

  std::optional<std::vector<Region>> run(BinaryenExpressionRef a, BinaryenExpressionRef b) {
    if (!a || !b || !diff(a, b)) return std::nullopt;
    return std::move(regions_);
  }

 private:
  // A label's position among the enclosing ones; labels not enclosing the
  // compared trees (impossible in valid code) get numbers that never pair.
  static std::uint64_t position(const std::vector<const char*>& labels, const char* name,
                                std::uint64_t side) {
    for (std::size_t i = labels.size(); i-- > 0;) {
      if (labels[i] && name && std::strcmp(labels[i], name) == 0) return i;
    }
    return (1ULL << 62) | side;
  }

  Hash128Pair hashes(BinaryenExpressionRef a, BinaryenExpressionRef b, bool node_only) const {
    const wasm::OuterLabels outer_a = [&](const char* n) { return position(labels_a_, n, 0); };
    const wasm::OuterLabels outer_b = [&](const char* n) { return position(labels_b_, n, 1); };
    if (node_only)
      return {wasm::hashExpressionNode(a, outer_a), wasm::hashExpressionNode(b, outer_b)};
    return {wasm::hashExpression(a, outer_a), wasm::hashExpression(b, outer_b)};
  }

  bool add(Fragment a, Fragment b) {
    if (regions_.size() == max_) return false;
    Region r{a, b, labels_a_, labels_b_, {}};
    r.enclosing.assign(enclosing_.rbegin(), enclosing_.rend());
    regions_.push_back(std::move(r));
    return true;
  }

  static const char* labelOf(BinaryenExpressionRef e) {
    switch (wasm::kindOf(e)) {
      case wasm::ExprKind::Block:
        return BinaryenBlockGetName(e);
      case wasm::ExprKind::Loop:
        return BinaryenLoopGetName(e);
      default:
        return nullptr;
    }
  }

  // False: these trees cannot be split into regions.
  bool diff(BinaryenExpressionRef a, BinaryenExpressionRef b) {
    const auto [tree_a, tree_b] = hashes(a, b, false);
    if (tree_a == tree_b) return true;
    const wasm::ExprKind kind = wasm::kindOf(a);
    if (!wasm::isTransparent(kind) || !wasm::isTransparent(wasm::kindOf(b))) return false;
    // Two blocks of one type are walked into even with other numbers of
    // children (a pass merged or split statements): the children that
    // differ become a run. Any other node must be the same but for its
    // children.
    const bool blocks = kind == wasm::ExprKind::Block && wasm::kindOf(b) == wasm::ExprKind::Block &&
                        BinaryenExpressionGetType(a) == BinaryenExpressionGetType(b);
    if (!blocks) {
      const auto [node_a, node_b] = hashes(a, b, true);
      if (node_a != node_b) return depth_ > 0 && add({a}, {b});
    }
    ++depth_;
    labels_a_.push_back(labelOf(a));
    labels_b_.push_back(labelOf(b));
    bool ok = true;
    if (kind == wasm::ExprKind::Block) {
      ok = diffChildren(a, b);
    } else {
      const auto kids_a = wasm::childrenOf(a);
      const auto kids_b = wasm::childrenOf(b);
      for (std::size_t i = 0; ok && i < kids_a.size(); ++i) ok = diff(kids_a[i], kids_b[i]);
    }
    labels_a_.pop_back();
    labels_b_.pop_back();
    --depth_;
    return ok;
  }

  // The same children at both ends; what is between is one region, or
  // child-by-child regions when both sides have as many children there.
  bool diffChildren(BinaryenExpressionRef a, BinaryenExpressionRef b) {
    const BinaryenIndex na = BinaryenBlockGetNumChildren(a);
    const BinaryenIndex nb = BinaryenBlockGetNumChildren(b);
    auto same = [&](BinaryenIndex i, BinaryenIndex j) {
      const auto [x, y] =
          hashes(BinaryenBlockGetChildAt(a, i), BinaryenBlockGetChildAt(b, j), false);
      return x == y;
    };
    BinaryenIndex prefix = 0;
    while (prefix < na && prefix < nb && same(prefix, prefix)) ++prefix;
    BinaryenIndex suffix = 0;
    while (suffix < na - prefix && suffix < nb - prefix && same(na - 1 - suffix, nb - 1 - suffix)) {
      ++suffix;
    }
    // Regions grow to the statements before them; in the body's own block
    // only while that leaves statements out (else it is the whole function,
    // which the check of the whole does better: its vars start at zero).
    const bool root = depth_ == 1;
    const std::size_t outside = labels_a_.size() - 1;
    auto grows_to = [&](BinaryenIndex end_a, BinaryenIndex end_b) {
      return !root || end_a < na || end_b < nb;
    };
    if (na - prefix - suffix == nb - prefix - suffix) {
      for (BinaryenIndex i = prefix; i < na - suffix; ++i) {
        const bool frame = grows_to(i + 1, i + 1);
        if (frame) enclosing_.push_back({a, b, i + 1, i + 1, outside});
        const bool ok = diff(BinaryenBlockGetChildAt(a, i), BinaryenBlockGetChildAt(b, i));
        if (frame) enclosing_.pop_back();
        if (!ok) return false;
      }
      return true;
    }
    if (prefix == 0 && suffix == 0 && root) return false;  // the whole body
    const bool frame = prefix > 0 && grows_to(na - suffix, nb - suffix);
    if (frame) enclosing_.push_back({a, b, na - suffix, nb - suffix, outside});
    const bool ok = add({nullptr, a, prefix, na - suffix}, {nullptr, b, prefix, nb - suffix});
    if (frame) enclosing_.pop_back();
    return ok;
  }

  std::size_t max_;
  std::size_t depth_ = 0;
  std::vector<const char*> labels_a_, labels_b_;
  std::vector<Enclosing> enclosing_;  // outermost first
  std::vector<Region> regions_;
};

constexpr const char* kExit = "__loom_region_exit";

bool harnessType(BinaryenType t) {
  return t == BinaryenTypeInt32() || t == BinaryenTypeInt64() || t == BinaryenTypeFloat32() ||
         t == BinaryenTypeFloat64() || t == BinaryenTypeVec128();
}

std::string typeName(BinaryenType t) {
  if (t == BinaryenTypeInt32()) return "i32";
  if (t == BinaryenTypeInt64()) return "i64";
  if (t == BinaryenTypeFloat32()) return "f32";
  if (t == BinaryenTypeFloat64()) return "f64";
  return "v128";
}

BinaryenLiteral zeroOf(BinaryenType t) {
  if (t == BinaryenTypeInt32()) return BinaryenLiteralInt32(0);
  if (t == BinaryenTypeInt64()) return BinaryenLiteralInt64(0);
  if (t == BinaryenTypeFloat32()) return BinaryenLiteralFloat32Bits(0);
  if (t == BinaryenTypeFloat64()) return BinaryenLiteralFloat64Bits(0);
  const std::uint8_t zeros[16] = {};
  return BinaryenLiteralVec128(zeros);
}

std::vector<BinaryenExpressionRef> fragmentRoots(const Fragment& f) {
  if (f.expr) return {f.expr};
  std::vector<BinaryenExpressionRef> out;
  for (BinaryenIndex i = f.begin; i < f.end; ++i)
    out.push_back(BinaryenBlockGetChildAt(f.block, i));
  return out;
}

// Which enclosing labels the fragment branches to (positions in `labels`),
// or nothing when a branch out of it carries a value, or it names a
// function or global the harness module does not have alike.
std::optional<std::set<std::size_t>> exitsOf(const Fragment& f,
                                             const std::vector<const char*>& labels,
                                             BinaryenModuleRef fragment_module,
                                             BinaryenModuleRef harness_module) {
  std::set<std::string> defined;
  std::set<std::size_t> used;
  bool ok = true;
  auto outer = [&](const char* name, bool carries) {
    if (!name || defined.count(name)) return;
    for (std::size_t i = labels.size(); i-- > 0;) {
      if (labels[i] && std::strcmp(labels[i], name) == 0) {
        used.insert(i);
        ok = ok && !carries;
        return;
      }
    }
    ok = false;
  };
  for (BinaryenExpressionRef root : fragmentRoots(f)) {
    // Labels are defined before (pre-order) anything that branches to them.
    wasm::walk(root, [&](BinaryenExpressionRef e, unsigned) {
      switch (wasm::kindOf(e)) {
        case wasm::ExprKind::Block:
          if (const char* n = BinaryenBlockGetName(e)) defined.insert(n);
          break;
        case wasm::ExprKind::Loop:
          if (const char* n = BinaryenLoopGetName(e)) defined.insert(n);
          break;
        case wasm::ExprKind::Break:
          outer(BinaryenBreakGetName(e), BinaryenBreakGetValue(e) != nullptr);
          break;
        case wasm::ExprKind::Switch: {
          const bool carries = BinaryenSwitchGetValue(e) != nullptr;
          for (BinaryenIndex i = 0, n = BinaryenSwitchGetNumNames(e); i < n; ++i)
            outer(BinaryenSwitchGetNameAt(e, i), carries);
          outer(BinaryenSwitchGetDefaultName(e), carries);
          break;
        }
        case wasm::ExprKind::Call: {
          const char* name = BinaryenCallGetTarget(e);
          BinaryenFunctionRef there = BinaryenGetFunction(harness_module, name);
          BinaryenFunctionRef here = BinaryenGetFunction(fragment_module, name);
          ok = ok && there && here &&
               BinaryenFunctionGetParams(there) == BinaryenFunctionGetParams(here) &&
               BinaryenFunctionGetResults(there) == BinaryenFunctionGetResults(here);
          break;
        }
        case wasm::ExprKind::GlobalGet:
        case wasm::ExprKind::GlobalSet: {
          const char* name = wasm::kindOf(e) == wasm::ExprKind::GlobalGet
                                 ? BinaryenGlobalGetGetName(e)
                                 : BinaryenGlobalSetGetName(e);
          BinaryenGlobalRef there = BinaryenGetGlobal(harness_module, name);
          BinaryenGlobalRef here = BinaryenGetGlobal(fragment_module, name);
          ok = ok && there && here && BinaryenGlobalGetType(there) == BinaryenGlobalGetType(here) &&
               BinaryenGlobalIsMutable(there) == BinaryenGlobalIsMutable(here);
          break;
        }
        default:
          break;
      }
      return ok;
    });
  }
  if (!ok) return std::nullopt;
  return used;
}

class HarnessBuilder {
 public:
  HarnessBuilder(BinaryenModuleRef m, BinaryenFunctionRef function) : m_(m), f_(function) {
    const BinaryenType params = BinaryenFunctionGetParams(function);
    const BinaryenIndex arity = BinaryenTypeArity(params);
    locals_.resize(arity);
    if (arity) BinaryenTypeExpand(params, locals_.data());
    for (BinaryenIndex i = 0, n = BinaryenFunctionGetNumVars(function); i < n; ++i)
      locals_.push_back(BinaryenFunctionGetVar(function, i));
  }

  bool supported() const {
    const BinaryenType r = BinaryenFunctionGetResults(f_);
    if (r != BinaryenTypeNone() && !harnessType(r)) return false;
    for (BinaryenType t : locals_) {
      if (!harnessType(t)) return false;
    }
    return true;
  }

  // The harness globals the function's harnesses write.
  void addGlobals(std::set<std::string>& added) {
    addGlobal(added, kExit, BinaryenTypeInt32());
    std::map<BinaryenType, unsigned> count;
    for (BinaryenType t : locals_) addGlobal(added, localGlobal(t, count[t]++), t);
    for (BinaryenType t : {BinaryenTypeInt32(), BinaryenTypeInt64(), BinaryenTypeFloat32(),
                           BinaryenTypeFloat64(), BinaryenTypeVec128()}) {
      if (t != BinaryenTypeVec128() || (BinaryenModuleGetFeatures(m_) & BinaryenFeatureSIMD128()))
        addGlobal(added, valueGlobal(t), t);
    }
  }

  // Enters the fragment from any state of the locals; ends by returning
  // after recording how it ended: exit 0 for a return inside it, 1 for
  // falling through, 2 + i for a branch to the i-th used label from the
  // inside, with every local and the fragment's value in globals.
  void add(const std::string& name, const Fragment& fragment,
           const std::vector<const char*>& labels, const std::vector<std::size_t>& used) {
    std::vector<BinaryenExpressionRef> current;
    for (BinaryenExpressionRef root : fragmentRoots(fragment)) {
      BinaryenExpressionRef copy = BinaryenExpressionCopy(root, m_);
      const BinaryenType t = BinaryenExpressionGetType(root);
      current.push_back(harnessType(t) ? BinaryenGlobalSet(m_, valueGlobal(t).c_str(), copy)
                                       : copy);
    }
    finish(current, 1);
    for (std::size_t j = 0; j < used.size(); ++j) {
      BinaryenExpressionRef wrapper =
          BinaryenBlock(m_, labels[used[used.size() - 1 - j]], current.data(),
                        static_cast<BinaryenIndex>(current.size()), BinaryenTypeAuto());
      current = {wrapper};
      finish(current, static_cast<int>(2 + j));
    }
    current.insert(current.begin(), setExit(0));
    BinaryenExpressionRef body =
        BinaryenBlock(m_, nullptr, current.data(), static_cast<BinaryenIndex>(current.size()),
                      BinaryenTypeAuto());
    BinaryenAddFunction(
        m_, name.c_str(),
        BinaryenTypeCreate(locals_.data(), static_cast<BinaryenIndex>(locals_.size())),
        BinaryenFunctionGetResults(f_), nullptr, 0, body);
  }

 private:
  static std::string localGlobal(BinaryenType t, unsigned k) {
    return fmt::format("__loom_region_local_{}_{}", typeName(t), k);
  }
  static std::string valueGlobal(BinaryenType t) { return "__loom_region_value_" + typeName(t); }

  void addGlobal(std::set<std::string>& added, const std::string& name, BinaryenType t) {
    if (!added.insert(name).second) return;
    BinaryenAddGlobal(m_, name.c_str(), t, true, BinaryenConst(m_, zeroOf(t)));
  }

  BinaryenExpressionRef setExit(int code) {
    return BinaryenGlobalSet(m_, kExit, BinaryenConst(m_, BinaryenLiteralInt32(code)));
  }

  void finish(std::vector<BinaryenExpressionRef>& list, int code) {
    list.push_back(setExit(code));
    std::map<BinaryenType, unsigned> count;
    for (BinaryenIndex i = 0; i < locals_.size(); ++i) {
      const BinaryenType t = locals_[i];
      list.push_back(
          BinaryenGlobalSet(m_, localGlobal(t, count[t]++).c_str(), BinaryenLocalGet(m_, i, t)));
    }
    const BinaryenType r = BinaryenFunctionGetResults(f_);
    list.push_back(
        BinaryenReturn(m_, r == BinaryenTypeNone() ? nullptr : BinaryenConst(m_, zeroOf(r))));
  }

  BinaryenModuleRef m_;
  BinaryenFunctionRef f_;
  std::vector<BinaryenType> locals_;
};

}  // namespace

std::size_t Fragment::expressions() const {
  std::size_t n = 0;
  const auto count = [&](BinaryenExpressionRef e) {
    wasm::walk(e, [&](BinaryenExpressionRef, unsigned) {
      ++n;
      return true;
    });
  };
  if (expr) count(expr);
  for (BinaryenIndex i = begin; block && i < end; ++i) count(BinaryenBlockGetChildAt(block, i));
  return n;
}

Region Region::grown(std::size_t level) const {
  const Enclosing& e = enclosing.at(level - 1);
  Region out;
  out.original = {nullptr, e.original, 0, e.original_end};
  out.optimized = {nullptr, e.optimized, 0, e.optimized_end};
  out.original_labels.assign(original_labels.begin(),
                             original_labels.begin() + static_cast<std::ptrdiff_t>(e.labels + 1));
  out.optimized_labels.assign(optimized_labels.begin(),
                              optimized_labels.begin() + static_cast<std::ptrdiff_t>(e.labels + 1));
  out.enclosing.assign(enclosing.begin() + static_cast<std::ptrdiff_t>(level), enclosing.end());
  out.function_expressions = function_expressions;
  return out;
}

namespace {

bool tooLarge(const Region& r) {
  return 2 * r.original.expressions() > r.function_expressions;
}

}  // namespace

std::vector<Region> differingRegions(BinaryenFunctionRef original, BinaryenFunctionRef optimized,
                                     std::size_t max_regions) {
  if (!sameLocals(original, optimized)) return {};
  // Loops (induction) and calls (callees executed symbolically) are what
  // make a whole-function check costly; so is size.
  bool costly = false;
  std::size_t size = 0;
  wasm::walk(BinaryenFunctionGetBody(original), [&](BinaryenExpressionRef e, unsigned) {
    const wasm::ExprKind kind = wasm::kindOf(e);
    costly = costly || kind == wasm::ExprKind::Loop || kind == wasm::ExprKind::Call ||
             kind == wasm::ExprKind::CallIndirect;
    ++size;
    return true;
  });
  if (!costly && size < kLargeFunction) return {};
  RegionFinder finder(max_regions);
  auto regions = finder.run(BinaryenFunctionGetBody(original), BinaryenFunctionGetBody(optimized));
  if (!regions) return {};
  std::size_t in_regions = 0;
  for (Region& r : *regions) {
    r.function_expressions = size;
    in_regions += r.original.expressions();
  }
  if (2 * in_regions > size) return {};
  return std::move(*regions);
}

namespace {

struct Attempt {
  std::size_t check = 0, region = 0;
  Region region_now;  // the region as tried this round, maybe grown
  bool proved = false;
  std::string reason;
};

// One round: every attempt in a harness function of its own, in two copies
// of the step's original module, verified together.
void proveBatch(const wasm::Module& original, const wasm::Module& optimized,
                std::vector<RegionCheck>& checks, std::vector<Attempt>& attempts,
                const VerifyOptions& options, const std::shared_ptr<VerdictCache>& cache,
                BudgetLedger& ledger) {
  wasm::Module harness_a = original.copy();
  wasm::Module harness_b = original.copy();
  std::set<std::string> globals_a, globals_b;
  std::map<std::string, std::size_t> owner;  // harness function -> attempt
  for (std::size_t n = 0; n < attempts.size(); ++n) {
    Attempt& at = attempts[n];
    const RegionCheck& check = checks[at.check];
    BinaryenFunctionRef fa = BinaryenGetFunction(original.get(), check.function.c_str());
    BinaryenFunctionRef fb = BinaryenGetFunction(optimized.get(), check.function.c_str());
    if (!fa || !fb) continue;
    HarnessBuilder builder_a(harness_a.get(), fa), builder_b(harness_b.get(), fb);
    if (!builder_a.supported()) {
      at.reason = "locals of a type the region harness does not record";
      continue;
    }
    const Region& r = at.region_now;
    auto ea = exitsOf(r.original, r.original_labels, original.get(), harness_a.get());
    auto eb = exitsOf(r.optimized, r.optimized_labels, optimized.get(), harness_b.get());
    if (!ea || !eb) {
      at.reason = "the region branches out with a value or names what the step changed";
      continue;
    }
    ea->insert(eb->begin(), eb->end());
    const std::vector<std::size_t> exits(ea->begin(), ea->end());
    builder_a.addGlobals(globals_a);
    builder_b.addGlobals(globals_b);
    const std::string name = fmt::format("__loom_region_{}", n);
    owner.emplace(name, n);
    builder_a.add(name, r.original, r.original_labels, exits);
    builder_b.add(name, r.optimized, r.optimized_labels, exits);
  }
  if (owner.empty()) return;
  if (!harness_a.validate() || !harness_b.validate()) {
    for (const auto& [name, n] : owner) attempts[n].reason = "the region harness does not validate";
    return;
  }
  // A region is a small part of a function: what it cannot show within a
  // share of the function's budget is left to the check of the whole.
  VerifyOptions nested = options;
  nested.function_timeout =
      std::max(options.function_timeout / kRegionShare, std::chrono::milliseconds(100));
  nested.by_regions = false;
  nested.match_by_export = false;
  Verifier verifier(harness_a, nested, cache);
  GlobalOrigins same;
  for (BinaryenIndex g = 0, count = BinaryenGetNumGlobals(harness_b.get()); g < count; ++g) {
    const std::string name = BinaryenGlobalGetName(BinaryenGetGlobalByIndex(harness_b.get(), g));
    same.emplace(name, name);
  }
  const ModuleVerdict verdict = verifier.verify(harness_b, same, ledger);
  if (!verdict.module_problems.empty()) {
    for (const auto& [name, n] : owner) attempts[n].reason = verdict.module_problems.front();
    return;
  }
  // A harness that is not listed hashes alike on both sides: the same code.
  std::set<std::size_t> listed;
  for (const FunctionVerdict& f : verdict.functions) {
    auto it = owner.find(f.function);
    if (it == owner.end()) continue;
    Attempt& at = attempts[it->second];
    listed.insert(it->second);
    checks[at.check].solver_seconds += f.solver_seconds;
    checks[at.check].solver_units += f.solver_units;
    at.proved = f.verdict == Verdict::Proved;
    if (!at.proved) at.reason = fmt::format("{}: {}", verdictName(f.verdict), f.reason);
  }
  for (const auto& [name, n] : owner) {
    if (!listed.count(n)) attempts[n].proved = true;
  }
}

}  // namespace

void proveRegions(const wasm::Module& original, const wasm::Module& optimized,
                  std::vector<RegionCheck>& checks, const VerifyOptions& options,
                  const std::shared_ptr<VerdictCache>& cache, BudgetLedger& ledger,
                  std::size_t max_growth) {
  // Regions still open per check, with the level each is at.
  std::vector<std::vector<std::size_t>> level(checks.size());
  std::vector<std::vector<bool>> done(checks.size());
  for (std::size_t i = 0; i < checks.size(); ++i) {
    level[i].assign(checks[i].regions.size(), 0);
    done[i].assign(checks[i].regions.size(), false);
  }
  std::vector<bool> failed(checks.size(), false);
  for (std::size_t round = 0; round <= max_growth; ++round) {
    std::vector<Attempt> attempts;
    for (std::size_t i = 0; i < checks.size(); ++i) {
      if (failed[i]) continue;
      std::vector<Attempt> of_check;
      for (std::size_t k = 0; k < checks[i].regions.size() && !failed[i]; ++k) {
        if (done[i][k]) continue;
        const Region& r = checks[i].regions[k];
        Attempt at;
        at.check = i;
        at.region = k;
        at.region_now = level[i][k] == 0 ? r : r.grown(level[i][k]);
        if (tooLarge(at.region_now)) {
          failed[i] = true;
          checks[i].reason += " (grown to more than half of the function)";
        }
        of_check.push_back(std::move(at));
      }
      if (!failed[i]) std::move(of_check.begin(), of_check.end(), std::back_inserter(attempts));
    }
    if (attempts.empty()) break;
    proveBatch(original, optimized, checks, attempts, options, cache, ledger);
    for (const Attempt& at : attempts) {
      if (at.proved) {
        done[at.check][at.region] = true;
        continue;
      }
      checks[at.check].reason = fmt::format("region {}: {}", at.region, at.reason);
      // Grown as far as it goes: the function is checked whole.
      if (++level[at.check][at.region] > checks[at.check].regions[at.region].enclosing.size() ||
          level[at.check][at.region] > max_growth) {
        failed[at.check] = true;
      }
    }
    if (ledger.exhausted) break;
  }
  for (std::size_t i = 0; i < checks.size(); ++i) {
    checks[i].proved =
        !failed[i] && std::all_of(done[i].begin(), done[i].end(), [](bool d) { return d; });
    if (checks[i].proved) checks[i].reason.clear();
  }
}

}  // namespace loom::verify::check
