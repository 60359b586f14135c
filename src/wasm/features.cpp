#include "loom/wasm/features.hpp"

#include <fmt/format.h>

#include <array>
#include <utility>

#include "loom/wasm/ir.hpp"

namespace loom::wasm {

namespace {

struct FeatureName {
  BinaryenFeatures (*flag)();
  const char* name;  // as wasm-opt's --enable-NAME spells it
};

constexpr std::array<FeatureName, 15> kFeatureNames = {{
    {BinaryenFeatureAtomics, "threads"},
    {BinaryenFeatureMutableGlobals, "mutable-globals"},
    {BinaryenFeatureNontrappingFPToInt, "nontrapping-float-to-int"},
    {BinaryenFeatureSIMD128, "simd"},
    {BinaryenFeatureBulkMemory, "bulk-memory"},
    {BinaryenFeatureSignExt, "sign-ext"},
    {BinaryenFeatureExceptionHandling, "exception-handling"},
    {BinaryenFeatureTailCall, "tail-call"},
    {BinaryenFeatureReferenceTypes, "reference-types"},
    {BinaryenFeatureMultivalue, "multivalue"},
    {BinaryenFeatureGC, "gc"},
    {BinaryenFeatureMemory64, "memory64"},
    {BinaryenFeatureTypedFunctionReferences, "typed-function-references"},
    {BinaryenFeatureRelaxedSIMD, "relaxed-simd"},
    {BinaryenFeatureExtendedConst, "extended-const"},
}};

bool isVector(BinaryenType type) {
  return type == BinaryenTypeVec128();
}

bool isReference(BinaryenType type) {
  return type == BinaryenTypeFuncref() || type == BinaryenTypeExternref() ||
         type == BinaryenTypeAnyref() || type == BinaryenTypeEqref() ||
         type == BinaryenTypeI31ref() || type == BinaryenTypeDataref();
}

class Detector {
 public:
  BinaryenFeatures features = 0;

  // A value type, or a tuple of them: a tuple of parameters needs no
  // feature, a tuple anywhere else (results, block types) needs multivalue.
  void type(BinaryenType t, bool is_parameter_list = false) {
    const std::uint32_t arity = BinaryenTypeArity(t);
    if (arity > 1) {
      if (!is_parameter_list) features |= BinaryenFeatureMultivalue();
      std::vector<BinaryenType> parts(arity);
      BinaryenTypeExpand(t, parts.data());
      for (BinaryenType part : parts) type(part);
      return;
    }
    if (isVector(t)) features |= BinaryenFeatureSIMD128();
    if (isReference(t)) features |= BinaryenFeatureReferenceTypes();
  }

  void expression(BinaryenExpressionRef e) {
    type(BinaryenExpressionGetType(e));
    switch (kindOf(e)) {
      case ExprKind::Unary:
        unary(BinaryenUnaryGetOp(e));
        break;
      case ExprKind::Call:
        if (BinaryenCallIsReturn(e)) features |= BinaryenFeatureTailCall();
        break;
      case ExprKind::CallIndirect:
        if (BinaryenCallIndirectIsReturn(e)) features |= BinaryenFeatureTailCall();
        break;
      case ExprKind::Load:
        if (BinaryenLoadIsAtomic(e)) features |= BinaryenFeatureAtomics();
        break;
      case ExprKind::Store:
        if (BinaryenStoreIsAtomic(e)) features |= BinaryenFeatureAtomics();
        type(BinaryenStoreGetValueType(e));
        break;
      case ExprKind::AtomicRMW:
      case ExprKind::AtomicCmpxchg:
      case ExprKind::AtomicWait:
      case ExprKind::AtomicNotify:
      case ExprKind::AtomicFence:
        features |= BinaryenFeatureAtomics();
        break;
      case ExprKind::MemoryInit:
      case ExprKind::DataDrop:
      case ExprKind::MemoryCopy:
      case ExprKind::MemoryFill:
        features |= BinaryenFeatureBulkMemory();
        break;
      case ExprKind::SIMDExtract:
      case ExprKind::SIMDReplace:
      case ExprKind::SIMDShuffle:
      case ExprKind::SIMDTernary:
      case ExprKind::SIMDShift:
      case ExprKind::SIMDLoad:
      case ExprKind::SIMDLoadStoreLane:
        features |= BinaryenFeatureSIMD128();
        break;
      case ExprKind::RefNull:
      case ExprKind::RefIs:
      case ExprKind::RefFunc:
      case ExprKind::TableGet:
      case ExprKind::TableSet:
      case ExprKind::TableSize:
      case ExprKind::TableGrow:
        features |= BinaryenFeatureReferenceTypes();
        break;
      case ExprKind::Try:
      case ExprKind::Throw:
      case ExprKind::Rethrow:
        features |= BinaryenFeatureExceptionHandling();
        break;
      case ExprKind::TupleMake:
      case ExprKind::TupleExtract:
        features |= BinaryenFeatureMultivalue();
        break;
      default:
        if (!isTransparent(kindOf(e))) {
          features |= BinaryenFeatureGC() | BinaryenFeatureReferenceTypes() |
                      BinaryenFeatureTypedFunctionReferences();
        }
        break;
    }
  }

 private:
  void unary(BinaryenOp op) {
    static const std::array kSignExt = {BinaryenExtendS8Int32(), BinaryenExtendS16Int32(),
                                        BinaryenExtendS8Int64(), BinaryenExtendS16Int64(),
                                        BinaryenExtendS32Int64()};
    static const std::array kTruncSat = {
        BinaryenTruncSatSFloat32ToInt32(), BinaryenTruncSatSFloat32ToInt64(),
        BinaryenTruncSatUFloat32ToInt32(), BinaryenTruncSatUFloat32ToInt64(),
        BinaryenTruncSatSFloat64ToInt32(), BinaryenTruncSatSFloat64ToInt64(),
        BinaryenTruncSatUFloat64ToInt32(), BinaryenTruncSatUFloat64ToInt64()};
    for (BinaryenOp s : kSignExt) {
      if (op == s) features |= BinaryenFeatureSignExt();
    }
    for (BinaryenOp s : kTruncSat) {
      if (op == s) features |= BinaryenFeatureNontrappingFPToInt();
    }
  }
};

bool isImportedGlobal(BinaryenGlobalRef g) {
  const char* module = BinaryenGlobalImportGetModule(g);
  return module && *module;
}

}  // namespace

BinaryenFeatures detectUsedFeatures(BinaryenModuleRef module) {
  Detector detector;
  for (BinaryenIndex i = 0, n = BinaryenGetNumFunctions(module); i < n; ++i) {
    BinaryenFunctionRef f = BinaryenGetFunctionByIndex(module, i);
    detector.type(BinaryenFunctionGetParams(f), /*is_parameter_list=*/true);
    detector.type(BinaryenFunctionGetResults(f));
    for (BinaryenIndex v = 0, vars = BinaryenFunctionGetNumVars(f); v < vars; ++v) {
      detector.type(BinaryenFunctionGetVar(f, v));
    }
    walk(BinaryenFunctionGetBody(f), [&](BinaryenExpressionRef e, unsigned) {
      detector.expression(e);
      return true;
    });
  }
  for (BinaryenIndex i = 0, n = BinaryenGetNumGlobals(module); i < n; ++i) {
    BinaryenGlobalRef g = BinaryenGetGlobalByIndex(module, i);
    detector.type(BinaryenGlobalGetType(g));
    if (BinaryenGlobalIsMutable(g) && isImportedGlobal(g)) {
      detector.features |= BinaryenFeatureMutableGlobals();
    }
  }
  for (BinaryenIndex i = 0, n = BinaryenGetNumExports(module); i < n; ++i) {
    BinaryenExportRef e = BinaryenGetExportByIndex(module, i);
    if (BinaryenExportGetKind(e) != BinaryenExternalGlobal()) continue;
    BinaryenGlobalRef g = BinaryenGetGlobal(module, BinaryenExportGetValue(e));
    if (g && BinaryenGlobalIsMutable(g)) detector.features |= BinaryenFeatureMutableGlobals();
  }
  for (std::uint32_t i = 0, n = BinaryenGetNumMemorySegments(module); i < n; ++i) {
    if (BinaryenGetMemorySegmentPassive(module, i))
      detector.features |= BinaryenFeatureBulkMemory();
  }
  if (BinaryenGetNumTables(module) > 1) detector.features |= BinaryenFeatureReferenceTypes();
  return detector.features;
}

std::vector<std::string> wasmOptFeatureFlags(BinaryenFeatures features) {
  std::vector<std::string> flags;
  for (const FeatureName& f : kFeatureNames) {
    if (features & f.flag()) flags.push_back(fmt::format("--enable-{}", f.name));
  }
  return flags;
}

std::string describeFeatures(BinaryenFeatures features) {
  std::string out;
  for (const FeatureName& f : kFeatureNames) {
    if (!(features & f.flag())) continue;
    if (!out.empty()) out += ',';
    out += f.name;
  }
  return out.empty() ? "mvp" : out;
}

}  // namespace loom::wasm
