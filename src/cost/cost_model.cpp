#include "loom/cost/cost_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "loom/wasm/binary_layout.hpp"
#include "loom/wasm/ir.hpp"
#include "weights.hpp"

// The static cycle model (docs/cost-model.md).
//
// Every expression costs its weight (weights.cpp) times how often it is
// expected to run, relative to one call of its function:
//  - the code of a loop runs `tripCount(loop)` times per entry into the loop;
//  - each arm of an `if` runs with probability kIfArmProbability, except an
//    arm that goes back to the start of its loop, which runs on every pass;
//  - frequencies are capped at kMaxFrequency.
//
// A loop's trip count is its count in *original* iterations divided by how
// many iterations one pass through its body does. The body's conditional
// exits on its straight-line spine (the `br_if`s, `br_table`s and `if`s
// with an arm that branches away, not inside a nested `if` arm or loop)
// each end one original iteration: a loop unrolled k times keeps every copy's exit test,
// so it has k of them and its body runs k times less often. The count in
// original iterations is kAssumedTrips unless the loop counts a local from
// a constant to a constant: `i = a` before the loop, `i += c` on the body's
// spine (summed over copies), and a spine exit test comparing i with N
// gives |N - a| / (total step per pass).
//
// A module's estimate weighs each function by how often it is called per
// run of the module's entry points (callFrequencies): every export, the
// start function and every function in a table runs once, and each call
// site passes its caller's frequency times its own on. So code that nothing
// reaches costs nothing, and inlining moves a callee's cost into its caller
// at the same frequency, less the call.

namespace loom::cost {

namespace {

using wasm::ExprKind;

// What the walk knows about a loop's body, from one scan of its spine.
struct LoopShape {
  unsigned exits = 0;                                    // conditional exits on the spine
  std::unordered_map<BinaryenIndex, double> steps;       // local -> summed constant increment
  std::vector<std::pair<BinaryenIndex, double>> bounds;  // local compared with a constant
};

std::optional<double> constValue(BinaryenExpressionRef e) {
  if (!e || wasm::kindOf(e) != ExprKind::Const) return std::nullopt;
  const BinaryenType t = BinaryenExpressionGetType(e);
  if (t == BinaryenTypeInt32()) return BinaryenConstGetValueI32(e);
  if (t == BinaryenTypeInt64()) return static_cast<double>(BinaryenConstGetValueI64(e));
  return std::nullopt;
}

bool isAdd(BinaryenOp op) {
  return op == BinaryenAddInt32() || op == BinaryenAddInt64();
}
bool isSub(BinaryenOp op) {
  return op == BinaryenSubInt32() || op == BinaryenSubInt64();
}

// `local.set/tee $i (i.add (local.get $i) (const c))`: the step c.
std::optional<std::pair<BinaryenIndex, double>> increment(BinaryenExpressionRef e) {
  if (wasm::kindOf(e) != ExprKind::LocalSet) return std::nullopt;
  const BinaryenIndex index = BinaryenLocalSetGetIndex(e);
  BinaryenExpressionRef value = BinaryenLocalSetGetValue(e);
  if (wasm::kindOf(value) != ExprKind::Binary) return std::nullopt;
  const BinaryenOp op = BinaryenBinaryGetOp(value);
  if (!isAdd(op) && !isSub(op)) return std::nullopt;
  BinaryenExpressionRef left = BinaryenBinaryGetLeft(value);
  const auto c = constValue(BinaryenBinaryGetRight(value));
  if (!c || wasm::kindOf(left) != ExprKind::LocalGet || BinaryenLocalGetGetIndex(left) != index)
    return std::nullopt;
  return std::pair{index, isSub(op) ? -*c : *c};
}

// The local an exit test compares with a constant, and the constant.
void noteBound(BinaryenExpressionRef condition, LoopShape& shape) {
  if (!condition) return;
  if (wasm::kindOf(condition) == ExprKind::Unary) condition = BinaryenUnaryGetValue(condition);
  if (wasm::kindOf(condition) != ExprKind::Binary) return;
  BinaryenExpressionRef a = BinaryenBinaryGetLeft(condition);
  BinaryenExpressionRef b = BinaryenBinaryGetRight(condition);
  auto bound = constValue(b);
  if (!bound) {
    bound = constValue(a);
    std::swap(a, b);
  }
  if (!bound) return;
  if (wasm::kindOf(a) == ExprKind::LocalGet) {
    shape.bounds.emplace_back(BinaryenLocalGetGetIndex(a), *bound);
  } else if (wasm::kindOf(a) == ExprKind::LocalSet) {  // a tee, maybe the increment too
    if (auto inc = increment(a)) shape.steps[inc->first] += inc->second;
    shape.bounds.emplace_back(BinaryenLocalSetGetIndex(a), *bound);
  }
}

bool leavesUnconditionally(BinaryenExpressionRef e) {
  const ExprKind k = wasm::kindOf(e);
  if (k == ExprKind::Break) return BinaryenBreakGetCondition(e) == nullptr;
  if (k == ExprKind::Return || k == ExprKind::Unreachable) return true;
  if (k == ExprKind::Block && BinaryenBlockGetNumChildren(e) > 0)
    return leavesUnconditionally(BinaryenBlockGetChildAt(e, BinaryenBlockGetNumChildren(e) - 1));
  return false;
}

// Scans the straight-line spine of a loop body: blocks are entered, nested
// loops and `if` arms are not (an `if` whose only arm leaves counts as an
// exit test, as `br_if` does).
void scanSpine(BinaryenExpressionRef e, LoopShape& shape) {
  if (!e) return;
  switch (wasm::kindOf(e)) {
    case ExprKind::Block:
      for (BinaryenIndex i = 0; i < BinaryenBlockGetNumChildren(e); ++i)
        scanSpine(BinaryenBlockGetChildAt(e, i), shape);
      return;
    case ExprKind::Break:
      if (BinaryenExpressionRef c = BinaryenBreakGetCondition(e)) {
        ++shape.exits;
        noteBound(c, shape);
      }
      return;
    case ExprKind::Switch:
      ++shape.exits;
      return;
    case ExprKind::If: {
      // An `if` one of whose arms branches away (out of the loop, back to
      // its start, or returns) is an exit test, as a `br_if` is, with or
      // without an else arm: the same test takes either shape.
      BinaryenExpressionRef no = BinaryenIfGetIfFalse(e);
      if (leavesUnconditionally(BinaryenIfGetIfTrue(e)) || (no && leavesUnconditionally(no))) {
        ++shape.exits;
        noteBound(BinaryenIfGetCondition(e), shape);
      }
      return;
    }
    case ExprKind::LocalSet:
      if (auto inc = increment(e)) shape.steps[inc->first] += inc->second;
      return;
    case ExprKind::Drop:
      scanSpine(BinaryenDropGetValue(e), shape);
      return;
    default:
      return;
  }
}

class Walker {
 public:
  explicit Walker(CycleFeatures& features) : features_(features) {}

  void run(BinaryenExpressionRef root) {
    stack_.push_back({root, 1.0, false});
    std::vector<BinaryenExpressionRef> kids;
    while (!stack_.empty()) {
      const Item item = stack_.back();
      stack_.pop_back();
      BinaryenExpressionRef e = item.expr;
      const ExprKind kind = wasm::kindOf(e);
      ++features_.instructions;
      features_.by_class[static_cast<std::size_t>(costClass(e, kind))] +=
          expressionWeight(e, kind) * item.frequency;
      noteConstant(e, kind, item.in_block);
      if (kind == ExprKind::Call) {
        features_.calls.emplace_back(BinaryenCallGetTarget(e), item.frequency);
      } else if (kind == ExprKind::CallIndirect || kind == ExprKind::CallRef) {
        features_.indirect_calls += item.frequency;
      }
      switch (kind) {
        case ExprKind::Loop: {
          if (const char* name = BinaryenLoopGetName(e)) loops_.emplace(name);
          const double f = std::min(kMaxFrequency, item.frequency * tripCount(e));
          stack_.push_back({BinaryenLoopGetBody(e), f, false});
          break;
        }
        case ExprKind::If: {
          // An arm that ends by going back to the start of a loop is the
          // way the loop goes on: it runs on every pass but the last.
          auto probability = [&](BinaryenExpressionRef arm) {
            return continuesLoop(arm) ? 1.0 : kIfArmProbability;
          };
          BinaryenExpressionRef yes = BinaryenIfGetIfTrue(e);
          if (BinaryenExpressionRef no = BinaryenIfGetIfFalse(e))
            stack_.push_back({no, item.frequency * probability(no), false});
          stack_.push_back({yes, item.frequency * probability(yes), false});
          stack_.push_back({BinaryenIfGetCondition(e), item.frequency, false});
          break;
        }
        default: {
          kids.clear();
          wasm::appendChildren(e, kids);
          const bool block = kind == ExprKind::Block;
          for (auto it = kids.rbegin(); it != kids.rend(); ++it)
            stack_.push_back({*it, item.frequency, block});
        }
      }
    }
  }

 private:
  struct Item {
    BinaryenExpressionRef expr;
    double frequency;
    bool in_block;  // a direct child of a block (a statement)
  };

  // Locals set to a constant by a statement, as the walk reaches them (in
  // pre-order, so a loop sees the values set before it).
  void noteConstant(BinaryenExpressionRef e, ExprKind kind, bool statement) {
    if (kind != ExprKind::LocalSet) return;
    const BinaryenIndex index = BinaryenLocalSetGetIndex(e);
    const auto value = constValue(BinaryenLocalSetGetValue(e));
    if (statement && value) {
      constants_[index] = *value;
    } else {
      constants_.erase(index);
    }
  }

  // Whether `e` ends with an unconditional branch to a loop already seen
  // (an enclosing one: labels are unique in a function, and the walk sees a
  // loop before its body).
  bool continuesLoop(BinaryenExpressionRef e) const {
    while (e && wasm::kindOf(e) == ExprKind::Block && BinaryenBlockGetNumChildren(e) > 0)
      e = BinaryenBlockGetChildAt(e, BinaryenBlockGetNumChildren(e) - 1);
    if (!e || wasm::kindOf(e) != ExprKind::Break || BinaryenBreakGetCondition(e)) return false;
    const char* target = BinaryenBreakGetName(e);
    return target && loops_.count(target) > 0;
  }

  double tripCount(BinaryenExpressionRef loop) {
    LoopShape shape;
    scanSpine(BinaryenLoopGetBody(loop), shape);
    const double passes = std::max(1u, shape.exits);
    for (const auto& [local, bound] : shape.bounds) {
      auto step = shape.steps.find(local);
      auto init = constants_.find(local);
      if (step == shape.steps.end() || init == constants_.end() || step->second == 0) continue;
      // Only a count that steps towards its bound; anything else (wrapping
      // around, a bound already passed) is not a counted loop.
      const double distance = bound - init->second;
      if (distance == 0 || (distance > 0) != (step->second > 0)) continue;
      const double trips = std::ceil(distance / step->second);
      return std::clamp(trips, 1.0, kMaxFrequency);
    }
    return kAssumedTrips / passes;
  }

  CycleFeatures& features_;
  std::vector<Item> stack_;
  std::unordered_map<BinaryenIndex, double> constants_;
  std::unordered_set<std::string_view> loops_;
};

}  // namespace

double CycleFeatures::cycles() const {
  double sum = 0;
  for (std::size_t c = 0; c < kCostClassCount; ++c) sum += kClassWeights[c] * by_class[c];
  return sum;
}

CycleFeatures cycleFeatures(BinaryenFunctionRef function) {
  CycleFeatures features;
  if (BinaryenExpressionRef body = BinaryenFunctionGetBody(function)) Walker(features).run(body);
  return features;
}

double estimateCycles(BinaryenFunctionRef function) {
  return cycleFeatures(function).cycles();
}

std::vector<double> callFrequencies(BinaryenModuleRef module,
                                    std::span<const BinaryenFunctionRef> functions,
                                    std::span<const CycleFeatures> features) {
  const std::size_t n = functions.size();
  std::unordered_map<std::string_view, std::size_t> index;
  for (std::size_t i = 0; i < n; ++i) index.emplace(BinaryenFunctionGetName(functions[i]), i);
  std::vector<double> frequency(n, 0.0);
  auto root = [&](const char* name, double f) {
    if (auto it = index.find(name); it != index.end()) frequency[it->second] += f;
  };
  // Entry points: exports run once each. (The C API cannot name the start
  // function; it runs once per instantiation, not per use, so it is left out.)
  for (BinaryenIndex i = 0; i < BinaryenGetNumExports(module); ++i) {
    BinaryenExportRef e = BinaryenGetExportByIndex(module, i);
    if (BinaryenExportGetKind(e) == BinaryenExternalFunction())
      root(BinaryenExportGetValue(e), 1.0);
  }
  // Functions in tables: once each, plus an equal share of every indirect call.
  std::vector<const char*> table;
  for (BinaryenIndex s = 0; s < BinaryenGetNumElementSegments(module); ++s) {
    BinaryenElementSegmentRef segment = BinaryenGetElementSegmentByIndex(module, s);
    for (BinaryenIndex i = 0; i < BinaryenElementSegmentGetLength(segment); ++i)
      table.push_back(BinaryenElementSegmentGetData(segment, i));
  }
  double indirect = 0;
  for (const CycleFeatures& f : features) indirect += f.indirect_calls;
  for (const char* name : table) root(name, 1.0 + indirect / static_cast<double>(table.size()));
  // A module with no entry point at all (a test snippet): every function once.
  if (std::all_of(frequency.begin(), frequency.end(), [](double f) { return f == 0; }))
    std::fill(frequency.begin(), frequency.end(), 1.0);

  // Callers before callees: a depth-first post-order from every function,
  // reversed. A call back up the order (recursion) adds nothing more.
  std::vector<std::vector<std::pair<std::size_t, double>>> callees(n);
  for (std::size_t i = 0; i < n; ++i)
    for (const auto& [target, f] : features[i].calls)
      if (auto it = index.find(target); it != index.end()) callees[i].emplace_back(it->second, f);
  std::vector<std::size_t> order;
  std::vector<std::uint8_t> state(n, 0);
  std::vector<std::pair<std::size_t, std::size_t>> stack;
  for (std::size_t s = 0; s < n; ++s) {
    if (state[s]) continue;
    stack.emplace_back(s, 0);
    state[s] = 1;
    while (!stack.empty()) {
      auto& [f, next] = stack.back();
      if (next < callees[f].size()) {
        const std::size_t c = callees[f][next++].first;
        if (!state[c]) {
          state[c] = 1;
          stack.emplace_back(c, 0);
        }
      } else {
        order.push_back(f);
        stack.pop_back();
      }
    }
  }
  std::vector<std::size_t> position(n);
  for (std::size_t i = 0; i < n; ++i) position[order[n - 1 - i]] = i;
  for (std::size_t i = n; i-- > 0;) {
    const std::size_t f = order[i];
    for (const auto& [c, site] : callees[f])
      if (position[c] > position[f])
        frequency[c] = std::min(kMaxFrequency, frequency[c] + frequency[f] * site);
  }
  return frequency;
}

Metrics measure(const wasm::Module& module, std::span<const std::uint8_t> binary) {
  Metrics m;
  m.total_bytes = binary.size();
  m.code_bytes = wasm::readBinaryLayout(binary).codeSectionBytes();
  const std::vector<BinaryenFunctionRef> functions = wasm::definedFunctions(module.get());
  std::vector<CycleFeatures> features;
  features.reserve(functions.size());
  for (BinaryenFunctionRef f : functions) features.push_back(cycleFeatures(f));
  const std::vector<double> frequency = callFrequencies(module.get(), functions, features);
  for (std::size_t i = 0; i < functions.size(); ++i) {
    ++m.functions;
    m.instructions += features[i].instructions;
    m.cycles += frequency[i] * features[i].cycles();
  }
  return m;
}

}  // namespace loom::cost
