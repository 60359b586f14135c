// Loop unrolling by body duplication; docs/unrolling.md has the construction
// and the argument for why it preserves behaviour for every loop.
#include "loom/pipeline/unroll.hpp"

#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "loom/wasm/ir.hpp"

namespace loom::pipeline {

namespace {

using wasm::ExprKind;
using wasm::kindOf;

// The label an expression defines, or null. Binaryen 108 gives only blocks,
// loops and try a label; unnamed ones report null.
const char* definedLabel(BinaryenExpressionRef expr, ExprKind kind) {
  switch (kind) {
    case ExprKind::Block:
      return BinaryenBlockGetName(expr);
    case ExprKind::Loop:
      return BinaryenLoopGetName(expr);
    case ExprKind::Try:
      return BinaryenTryGetName(expr);
    default:
      return nullptr;
  }
}

void setDefinedLabel(BinaryenExpressionRef expr, ExprKind kind, const char* name) {
  switch (kind) {
    case ExprKind::Block:
      BinaryenBlockSetName(expr, name);
      break;
    case ExprKind::Loop:
      BinaryenLoopSetName(expr, name);
      break;
    case ExprKind::Try:
      BinaryenTrySetName(expr, name);
      break;
    default:
      break;
  }
}

// Calls rename(old) for every label `expr` refers to and stores the result
// when it differs; with a rename that returns its argument it only reads.
// Delegate and rethrow targets name a try, never a loop, but they must follow
// the renamed try labels inside a copy.
template <class Rename>
void forEachTarget(BinaryenExpressionRef expr, ExprKind kind, Rename&& rename) {
  auto update = [&](const char* old, auto&& store) {
    if (!old) return;
    const char* now = rename(old);
    if (now != old) store(now);
  };
  switch (kind) {
    case ExprKind::Break:
      update(BinaryenBreakGetName(expr), [&](const char* n) { BinaryenBreakSetName(expr, n); });
      break;
    case ExprKind::Switch:
      for (BinaryenIndex i = 0, n = BinaryenSwitchGetNumNames(expr); i < n; ++i) {
        update(BinaryenSwitchGetNameAt(expr, i),
               [&](const char* name) { BinaryenSwitchSetNameAt(expr, i, name); });
      }
      update(BinaryenSwitchGetDefaultName(expr),
             [&](const char* n) { BinaryenSwitchSetDefaultName(expr, n); });
      break;
    case ExprKind::Try:
      if (BinaryenTryIsDelegate(expr)) {
        update(BinaryenTryGetDelegateTarget(expr),
               [&](const char* n) { BinaryenTrySetDelegateTarget(expr, n); });
      }
      break;
    case ExprKind::Rethrow:
      update(BinaryenRethrowGetTarget(expr),
             [&](const char* n) { BinaryenRethrowSetTarget(expr, n); });
      break;
    default:
      break;
  }
}

// Explicit-stack pre-order traversal: bodies from real compilers nest deeply
// enough that recursion could exhaust the stack.
template <class Visitor>
void preOrder(BinaryenExpressionRef root, Visitor&& visit) {
  std::vector<BinaryenExpressionRef> stack{root};
  std::vector<BinaryenExpressionRef> kids;
  while (!stack.empty()) {
    BinaryenExpressionRef expr = stack.back();
    stack.pop_back();
    const ExprKind kind = kindOf(expr);
    visit(expr, kind);
    kids.clear();
    wasm::appendChildren(expr, kids);
    for (auto it = kids.rbegin(); it != kids.rend(); ++it) stack.push_back(*it);
  }
}

// Every label name in a function, and a source of names that are not in it.
class LabelNames {
 public:
  bool add(std::string_view name) { return used_.emplace(name).second; }

  // A name derived from `base` for readability; the counter and the set make
  // it unique. A suffix added by an earlier unroll is dropped first, so that
  // copies of copies do not grow ever longer names.
  std::string fresh(std::string_view base, std::string_view tag) {
    if (auto cut = base.find('~'); cut != std::string_view::npos) base = base.substr(0, cut);
    for (;;) {
      std::string name = std::string(base) + "~" + std::string(tag) + std::to_string(next_++);
      if (used_.insert(name).second) return name;
    }
  }

 private:
  std::unordered_set<std::string> used_;
  std::uint64_t next_ = 0;
};

struct LoopEntry {
  BinaryenExpressionRef loop;
  bool has_inner_loop = false;
};

struct FunctionScan {
  std::vector<LoopEntry> loops;  // pre-order: an outer loop precedes the loops inside it
  LabelNames labels;
  // Labels that repeat, or classes whose children the C API cannot show
  // (labels and branches could hide in them), make renaming unreliable.
  bool unsafe = false;
};

FunctionScan scanFunction(BinaryenExpressionRef body) {
  FunctionScan scan;
  struct Item {
    BinaryenExpressionRef expr;
    std::size_t enclosing_loop;  // index into scan.loops, or npos
  };
  constexpr std::size_t npos = static_cast<std::size_t>(-1);
  std::vector<Item> stack{{body, npos}};
  std::vector<BinaryenExpressionRef> kids;
  while (!stack.empty()) {
    const Item item = stack.back();
    stack.pop_back();
    const ExprKind kind = kindOf(item.expr);
    if (!wasm::isTransparent(kind)) scan.unsafe = true;
    if (const char* label = definedLabel(item.expr, kind)) {
      if (!scan.labels.add(label)) scan.unsafe = true;
    }
    // Targets go into the set too: the delegate-to-caller target is a label
    // no expression defines.
    forEachTarget(item.expr, kind, [&](const char* target) {
      scan.labels.add(target);
      return target;
    });
    std::size_t enclosing = item.enclosing_loop;
    if (kind == ExprKind::Loop) {
      if (enclosing != npos) scan.loops[enclosing].has_inner_loop = true;
      enclosing = scan.loops.size();
      scan.loops.push_back({item.expr});
    }
    kids.clear();
    wasm::appendChildren(item.expr, kids);
    for (auto it = kids.rbegin(); it != kids.rend(); ++it) stack.push_back({*it, enclosing});
  }
  return scan;
}

struct BodyFacts {
  std::uint64_t size = 0;  // expressions, the body's root included
  bool has_back_edge = false;
};

BodyFacts inspectBody(BinaryenExpressionRef body, std::string_view label) {
  BodyFacts facts;
  preOrder(body, [&](BinaryenExpressionRef expr, ExprKind kind) {
    ++facts.size;
    forEachTarget(expr, kind, [&](const char* target) {
      if (target == label) facts.has_back_edge = true;
      return target;
    });
  });
  return facts;
}

// Gives every label the copy defines a fresh name and points the copy's
// branches at the new names; branches to `loop_label` go to `continue_label`.
// Labels are unique in the function, so a flat map is enough: no shadowing.
void relabelCopy(BinaryenExpressionRef copy, std::string_view loop_label,
                 const std::string& continue_label, LabelNames& names) {
  std::unordered_map<std::string, std::string> renamed;
  // Pre-order sees each label's definition before any branch to it, since a
  // branch can only target a label that encloses it.
  preOrder(copy, [&](BinaryenExpressionRef expr, ExprKind kind) {
    if (const char* label = definedLabel(expr, kind)) {
      const std::string& now = renamed.emplace(label, names.fresh(label, "u")).first->second;
      setDefinedLabel(expr, kind, now.c_str());
    }
    forEachTarget(expr, kind, [&](const char* target) -> const char* {
      if (target == loop_label) return continue_label.c_str();
      if (auto it = renamed.find(target); it != renamed.end()) return it->second.c_str();
      return target;
    });
  });
}

// (loop $L B) becomes, in place (the loop node and its type stay):
//   (loop $L
//     (block $out
//       (block $C1 (br $out B1))  ;; B1: copy of B, br $L -> br $C1
//       ...
//       (block $Ck-1 (br $out Bk-1))
//       B))                       ;; the original body still branches to $L
// A void body is followed by (br $out) instead of being its value; a body
// that never falls through needs neither.
void unrollLoop(BinaryenModuleRef module, BinaryenExpressionRef loop, std::uint32_t factor,
                LabelNames& names) {
  const std::string label = BinaryenLoopGetName(loop);
  BinaryenExpressionRef body = BinaryenLoopGetBody(loop);
  const BinaryenType loop_type = BinaryenExpressionGetType(loop);
  const BinaryenType body_type = BinaryenExpressionGetType(body);
  const bool falls_through = body_type != BinaryenTypeUnreachable();
  const std::string out_label = falls_through ? names.fresh(label, "out") : std::string();

  std::vector<BinaryenExpressionRef> sequence;
  for (std::uint32_t i = 1; i < factor; ++i) {
    BinaryenExpressionRef copy = BinaryenExpressionCopy(body, module);
    const std::string continue_label = names.fresh(label, "c");
    relabelCopy(copy, label, continue_label, names);
    std::vector<BinaryenExpressionRef> parts;
    if (!falls_through) {
      parts = {copy};
    } else if (body_type == BinaryenTypeNone()) {
      parts = {copy, BinaryenBreak(module, out_label.c_str(), nullptr, nullptr)};
    } else {
      parts = {BinaryenBreak(module, out_label.c_str(), nullptr, copy)};
    }
    sequence.push_back(BinaryenBlock(module, continue_label.c_str(), parts.data(),
                                     static_cast<BinaryenIndex>(parts.size()), BinaryenTypeNone()));
  }
  sequence.push_back(body);
  BinaryenExpressionRef chain =
      BinaryenBlock(module, falls_through ? out_label.c_str() : nullptr, sequence.data(),
                    static_cast<BinaryenIndex>(sequence.size()), loop_type);
  BinaryenLoopSetBody(loop, chain);
}

void unrollFunction(BinaryenModuleRef module, BinaryenFunctionRef function,
                    const UnrollSettings& settings, UnrollStats& stats) {
  FunctionScan scan = scanFunction(BinaryenFunctionGetBody(function));
  stats.loops_seen += static_cast<std::uint32_t>(scan.loops.size());
  if (scan.unsafe) return;
  // Inner loops first: each loop is measured as it is when its turn comes, so
  // an outer loop's size includes its already unrolled inner loops, and what
  // gets copied is never larger than max_body_size. Unrolling a loop keeps
  // its node, so the pointers of enclosing loops stay valid; the copies it
  // creates are not in the list and are not unrolled again.
  for (auto it = scan.loops.rbegin(); it != scan.loops.rend(); ++it) {
    if (settings.strategy == UnrollStrategy::Innermost && it->has_inner_loop) continue;
    const char* label = BinaryenLoopGetName(it->loop);
    if (!label) continue;  // nothing can branch back to an unnamed loop
    const BodyFacts facts = inspectBody(BinaryenLoopGetBody(it->loop), label);
    if (!facts.has_back_edge) continue;
    if (facts.size > settings.max_body_size) {
      ++stats.loops_too_large;
      continue;
    }
    unrollLoop(module, it->loop, settings.factor, scan.labels);
    ++stats.loops_unrolled;
  }
}

}  // namespace

UnrollStats unrollLoops(BinaryenModuleRef module, const UnrollSettings& settings) {
  UnrollStats stats;
  if (settings.strategy == UnrollStrategy::None || settings.factor <= 1) return stats;
  for (BinaryenFunctionRef function : wasm::definedFunctions(module)) {
    unrollFunction(module, function, settings, stats);
  }
  return stats;
}

}  // namespace loom::pipeline
