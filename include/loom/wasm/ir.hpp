// Walking Binaryen IR through the C API, which has no generic child iterator:
// one table of expression classes and one function that knows their children.
#pragma once

#include <binaryen-c.h>

#include <cstdint>
#include <string_view>
#include <vector>

namespace loom::wasm {

// clang-format off
#define LOOM_EXPRESSION_KINDS(X)                                                             \
  X(Nop) X(Block) X(If) X(Loop) X(Break) X(Switch) X(Call) X(CallIndirect) X(LocalGet)       \
  X(LocalSet) X(GlobalGet) X(GlobalSet) X(Load) X(Store) X(AtomicRMW) X(AtomicCmpxchg)       \
  X(AtomicWait) X(AtomicNotify) X(AtomicFence) X(SIMDExtract) X(SIMDReplace) X(SIMDShuffle)  \
  X(SIMDTernary) X(SIMDShift) X(SIMDLoad) X(SIMDLoadStoreLane) X(MemoryInit) X(DataDrop)     \
  X(MemoryCopy) X(MemoryFill) X(Const) X(Unary) X(Binary) X(Select) X(Drop) X(Return)        \
  X(MemorySize) X(MemoryGrow) X(Unreachable) X(Pop) X(RefNull) X(RefIs) X(RefFunc) X(RefEq)  \
  X(TableGet) X(TableSet) X(TableSize) X(TableGrow) X(Try) X(Throw) X(Rethrow) X(TupleMake)  \
  X(TupleExtract) X(I31New) X(I31Get) X(CallRef) X(RefTest) X(RefCast) X(BrOn) X(RttCanon)   \
  X(RttSub) X(StructNew) X(StructGet) X(StructSet) X(ArrayNew) X(ArrayInit) X(ArrayGet)      \
  X(ArraySet) X(ArrayLen) X(ArrayCopy) X(RefAs)
// clang-format on

enum class ExprKind : std::uint8_t {
#define LOOM_ENUM(name) name,
  LOOM_EXPRESSION_KINDS(LOOM_ENUM)
#undef LOOM_ENUM
      Invalid
};

ExprKind kindOf(BinaryenExpressionRef expr);
std::string_view kindName(ExprKind kind);

// Whether childrenOf() sees every child of this class through the C API.
// Classes it cannot see into (GC and a few others in Binaryen 108) are
// opaque: hashing and verification must not assume two of them are equal.
bool isTransparent(ExprKind kind);

// Children in evaluation order; optional children that are absent are skipped.
void appendChildren(BinaryenExpressionRef expr, std::vector<BinaryenExpressionRef>& out);
std::vector<BinaryenExpressionRef> childrenOf(BinaryenExpressionRef expr);

// Pre-order walk. The visitor gets (expression, loop nesting depth) and
// returns false to skip the expression's children.
template <class Visitor>
void walk(BinaryenExpressionRef root, Visitor&& visit) {
  if (!root) return;
  struct Item {
    BinaryenExpressionRef expr;
    unsigned loop_depth;
  };
  std::vector<Item> stack{{root, 0}};
  std::vector<BinaryenExpressionRef> kids;
  while (!stack.empty()) {
    const Item item = stack.back();
    stack.pop_back();
    if (!visit(item.expr, item.loop_depth)) continue;
    kids.clear();
    appendChildren(item.expr, kids);
    const unsigned depth = item.loop_depth + (kindOf(item.expr) == ExprKind::Loop ? 1 : 0);
    for (auto it = kids.rbegin(); it != kids.rend(); ++it) stack.push_back({*it, depth});
  }
}

// Defined (non-imported) functions of a module, in module order.
std::vector<BinaryenFunctionRef> definedFunctions(BinaryenModuleRef module);

}  // namespace loom::wasm
