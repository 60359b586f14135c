#include "loom/wasm/ir.hpp"

#include <array>
#include <unordered_map>

namespace loom::wasm {

namespace {

struct KindTable {
  std::unordered_map<BinaryenExpressionId, ExprKind> by_id;
  KindTable() {
#define LOOM_MAP(name) by_id.emplace(Binaryen##name##Id(), ExprKind::name);
    LOOM_EXPRESSION_KINDS(LOOM_MAP)
#undef LOOM_MAP
  }
};

const KindTable& kindTable() {
  static const KindTable table;
  return table;
}

}  // namespace

ExprKind kindOf(BinaryenExpressionRef expr) {
  const auto& table = kindTable().by_id;
  auto it = table.find(BinaryenExpressionGetId(expr));
  return it == table.end() ? ExprKind::Invalid : it->second;
}

std::string_view kindName(ExprKind kind) {
  static constexpr std::array kNames = {
#define LOOM_NAME(name) std::string_view(#name),
      LOOM_EXPRESSION_KINDS(LOOM_NAME)
#undef LOOM_NAME
          std::string_view("Invalid")};
  return kNames[static_cast<std::size_t>(kind)];
}

bool isTransparent(ExprKind kind) {
  switch (kind) {
    case ExprKind::CallRef:
    case ExprKind::RefTest:
    case ExprKind::RefCast:
    case ExprKind::BrOn:
    case ExprKind::RttCanon:
    case ExprKind::RttSub:
    case ExprKind::StructNew:
    case ExprKind::StructGet:
    case ExprKind::StructSet:
    case ExprKind::ArrayNew:
    case ExprKind::ArrayInit:
    case ExprKind::ArrayGet:
    case ExprKind::ArraySet:
    case ExprKind::ArrayLen:
    case ExprKind::ArrayCopy:
    case ExprKind::Invalid:
      return false;
    default:
      return true;
  }
}

void appendChildren(BinaryenExpressionRef e, std::vector<BinaryenExpressionRef>& out) {
  auto add = [&](BinaryenExpressionRef child) {
    if (child) out.push_back(child);
  };
  switch (kindOf(e)) {
    case ExprKind::Block:
      for (BinaryenIndex i = 0, n = BinaryenBlockGetNumChildren(e); i < n; ++i) {
        add(BinaryenBlockGetChildAt(e, i));
      }
      break;
    case ExprKind::If:
      add(BinaryenIfGetCondition(e));
      add(BinaryenIfGetIfTrue(e));
      add(BinaryenIfGetIfFalse(e));
      break;
    case ExprKind::Loop:
      add(BinaryenLoopGetBody(e));
      break;
    case ExprKind::Break:
      add(BinaryenBreakGetValue(e));
      add(BinaryenBreakGetCondition(e));
      break;
    case ExprKind::Switch:
      add(BinaryenSwitchGetValue(e));
      add(BinaryenSwitchGetCondition(e));
      break;
    case ExprKind::Call:
      for (BinaryenIndex i = 0, n = BinaryenCallGetNumOperands(e); i < n; ++i) {
        add(BinaryenCallGetOperandAt(e, i));
      }
      break;
    case ExprKind::CallIndirect:
      for (BinaryenIndex i = 0, n = BinaryenCallIndirectGetNumOperands(e); i < n; ++i) {
        add(BinaryenCallIndirectGetOperandAt(e, i));
      }
      add(BinaryenCallIndirectGetTarget(e));
      break;
    case ExprKind::LocalSet:
      add(BinaryenLocalSetGetValue(e));
      break;
    case ExprKind::GlobalSet:
      add(BinaryenGlobalSetGetValue(e));
      break;
    case ExprKind::Load:
      add(BinaryenLoadGetPtr(e));
      break;
    case ExprKind::Store:
      add(BinaryenStoreGetPtr(e));
      add(BinaryenStoreGetValue(e));
      break;
    case ExprKind::AtomicRMW:
      add(BinaryenAtomicRMWGetPtr(e));
      add(BinaryenAtomicRMWGetValue(e));
      break;
    case ExprKind::AtomicCmpxchg:
      add(BinaryenAtomicCmpxchgGetPtr(e));
      add(BinaryenAtomicCmpxchgGetExpected(e));
      add(BinaryenAtomicCmpxchgGetReplacement(e));
      break;
    case ExprKind::AtomicWait:
      add(BinaryenAtomicWaitGetPtr(e));
      add(BinaryenAtomicWaitGetExpected(e));
      add(BinaryenAtomicWaitGetTimeout(e));
      break;
    case ExprKind::AtomicNotify:
      add(BinaryenAtomicNotifyGetPtr(e));
      add(BinaryenAtomicNotifyGetNotifyCount(e));
      break;
    case ExprKind::SIMDExtract:
      add(BinaryenSIMDExtractGetVec(e));
      break;
    case ExprKind::SIMDReplace:
      add(BinaryenSIMDReplaceGetVec(e));
      add(BinaryenSIMDReplaceGetValue(e));
      break;
    case ExprKind::SIMDShuffle:
      add(BinaryenSIMDShuffleGetLeft(e));
      add(BinaryenSIMDShuffleGetRight(e));
      break;
    case ExprKind::SIMDTernary:
      add(BinaryenSIMDTernaryGetA(e));
      add(BinaryenSIMDTernaryGetB(e));
      add(BinaryenSIMDTernaryGetC(e));
      break;
    case ExprKind::SIMDShift:
      add(BinaryenSIMDShiftGetVec(e));
      add(BinaryenSIMDShiftGetShift(e));
      break;
    case ExprKind::SIMDLoad:
      add(BinaryenSIMDLoadGetPtr(e));
      break;
    case ExprKind::SIMDLoadStoreLane:
      add(BinaryenSIMDLoadStoreLaneGetPtr(e));
      add(BinaryenSIMDLoadStoreLaneGetVec(e));
      break;
    case ExprKind::MemoryInit:
      add(BinaryenMemoryInitGetDest(e));
      add(BinaryenMemoryInitGetOffset(e));
      add(BinaryenMemoryInitGetSize(e));
      break;
    case ExprKind::MemoryCopy:
      add(BinaryenMemoryCopyGetDest(e));
      add(BinaryenMemoryCopyGetSource(e));
      add(BinaryenMemoryCopyGetSize(e));
      break;
    case ExprKind::MemoryFill:
      add(BinaryenMemoryFillGetDest(e));
      add(BinaryenMemoryFillGetValue(e));
      add(BinaryenMemoryFillGetSize(e));
      break;
    case ExprKind::Unary:
      add(BinaryenUnaryGetValue(e));
      break;
    case ExprKind::Binary:
      add(BinaryenBinaryGetLeft(e));
      add(BinaryenBinaryGetRight(e));
      break;
    case ExprKind::Select:
      add(BinaryenSelectGetIfTrue(e));
      add(BinaryenSelectGetIfFalse(e));
      add(BinaryenSelectGetCondition(e));
      break;
    case ExprKind::Drop:
      add(BinaryenDropGetValue(e));
      break;
    case ExprKind::Return:
      add(BinaryenReturnGetValue(e));
      break;
    case ExprKind::MemoryGrow:
      add(BinaryenMemoryGrowGetDelta(e));
      break;
    case ExprKind::RefIs:
      add(BinaryenRefIsGetValue(e));
      break;
    case ExprKind::RefEq:
      add(BinaryenRefEqGetLeft(e));
      add(BinaryenRefEqGetRight(e));
      break;
    case ExprKind::RefAs:
      add(BinaryenRefAsGetValue(e));
      break;
    case ExprKind::TableGet:
      add(BinaryenTableGetGetIndex(e));
      break;
    case ExprKind::TableSet:
      add(BinaryenTableSetGetIndex(e));
      add(BinaryenTableSetGetValue(e));
      break;
    case ExprKind::TableGrow:
      add(BinaryenTableGrowGetValue(e));
      add(BinaryenTableGrowGetDelta(e));
      break;
    case ExprKind::Try:
      add(BinaryenTryGetBody(e));
      for (BinaryenIndex i = 0, n = BinaryenTryGetNumCatchBodies(e); i < n; ++i) {
        add(BinaryenTryGetCatchBodyAt(e, i));
      }
      break;
    case ExprKind::Throw:
      for (BinaryenIndex i = 0, n = BinaryenThrowGetNumOperands(e); i < n; ++i) {
        add(BinaryenThrowGetOperandAt(e, i));
      }
      break;
    case ExprKind::TupleMake:
      for (BinaryenIndex i = 0, n = BinaryenTupleMakeGetNumOperands(e); i < n; ++i) {
        add(BinaryenTupleMakeGetOperandAt(e, i));
      }
      break;
    case ExprKind::TupleExtract:
      add(BinaryenTupleExtractGetTuple(e));
      break;
    case ExprKind::I31New:
      add(BinaryenI31NewGetValue(e));
      break;
    case ExprKind::I31Get:
      add(BinaryenI31GetGetI31(e));
      break;
    default:
      break;  // leaves, and opaque classes (see isTransparent)
  }
}

std::vector<BinaryenExpressionRef> childrenOf(BinaryenExpressionRef expr) {
  std::vector<BinaryenExpressionRef> out;
  appendChildren(expr, out);
  return out;
}

std::vector<BinaryenFunctionRef> definedFunctions(BinaryenModuleRef module) {
  std::vector<BinaryenFunctionRef> out;
  for (BinaryenIndex i = 0, n = BinaryenGetNumFunctions(module); i < n; ++i) {
    BinaryenFunctionRef f = BinaryenGetFunctionByIndex(module, i);
    if (BinaryenFunctionGetBody(f)) out.push_back(f);
  }
  return out;
}

}  // namespace loom::wasm
