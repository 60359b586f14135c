#include "src/verify/semantics/executor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <unordered_map>

#include "loom/wasm/ir.hpp"
#include "src/verify/semantics/memory.hpp"
#include "src/verify/semantics/operators.hpp"
#include "src/verify/semantics/simd.hpp"
#include "src/verify/smt/bitvector.hpp"

namespace loom::verify::sem {

namespace {

using wasm::ExprKind;

struct LabelScope {
  std::string name;
  bool is_loop = false;
  std::vector<Incoming> incoming;
};

struct Frame {
  const FunctionInfo* function = nullptr;
  unsigned depth = 0;
  std::vector<LabelScope> labels;
  std::vector<Incoming> returns;
};

// Components a loop body may change, for havocking its head in inductive mode.
struct Modified {
  std::set<unsigned> locals;
  std::set<unsigned> globals;
  bool memory = false;
  bool pages = false;
  bool trace = false;
  bool all_globals = false;
  std::set<unsigned> tables;  // layout table indices
  bool all_tables = false;
  bool dropped = false;
};

}  // namespace

constexpr std::size_t kUnrolledSegmentBytes = 64;

struct Executor::Impl {
  Environment& env;
  smt::Smt& smt;
  smt::Context& c;
  const ModuleInfo& module;
  Side side;
  CallResolver& resolver;
  ExecOptions options;
  const StateLayout& layout;

  bool live = true;
  smt::Expr pc;
  State st;
  std::vector<Frame> frames;
  std::vector<Incoming> traps;
  std::vector<smt::Expr> exceeded;
  std::vector<smt::Expr> abstracted;
  SideOutcome out;
  int current_loop = -1;
  std::unordered_map<BinaryenExpressionRef, bool> has_back_edge;
  std::map<std::uint32_t, smt::Expr> segment_arrays;
  // Reference identity -> signature key of this module's referenced
  // functions; built on the first call_indirect through a table that is state.
  std::optional<std::map<std::uint32_t, std::uint32_t>> signature_of_ref;

  Impl(Environment& e, const ModuleInfo& m, Side s, CallResolver& r, ExecOptions o)
      : env(e),
        smt(e.smt()),
        c(e.smt().ctx()),
        module(m),
        side(s),
        resolver(r),
        options(o),
        layout(e.layout()),
        pc(c.boolVal(true)),
        out{c.boolVal(false),
            c.boolVal(false),
            c.boolVal(false),
            c.boolVal(false),
            {},
            {},
            {},
            {},
            {},
            {},
            {},
            false,
            0} {}

  Frame& frame() { return frames.back(); }

  [[noreturn]] void giveUp(const std::string& reason) {
    throw Unsupported(
        fmt::format("{} (in {} function {})", reason, sideName(side), frame().function->name));
  }
  [[noreturn]] void unsupported(const std::string& what) { giveUp("unsupported: " + what); }

  smt::Expr andPc(const smt::Expr& a, const smt::Expr& b) { return smt::mkAnd(c, {a, b}); }
  smt::Expr notE(const smt::Expr& a) {
    if (a.isTrue()) return c.boolVal(false);
    if (a.isFalse()) return c.boolVal(true);
    return !a;
  }
  // Numerals fold immediately, which keeps constant loop counters constant.
  smt::Expr truth(const smt::Expr& v) {
    if (v.isNumeral()) {
      std::uint64_t bits = 0;
      v.getUint64(bits);
      return c.boolVal(bits != 0);
    }
    return smt::bvNonZero(v);
  }
  smt::Expr fold(const smt::Expr& result, std::initializer_list<const smt::Expr*> operands) {
    for (const smt::Expr* o : operands) {
      if (!o->isNumeral()) return result;
    }
    return result.simplify();
  }

  smt::Expr dummy(BinaryenExpressionRef e) {
    auto t = valTypeOf(BinaryenExpressionGetType(e));
    return c.bvVal(0, t ? widthOf(*t) : 32);
  }

  void trapIf(const smt::Expr& cond) {
    if (cond.isFalse() || !live) return;
    // Locals die with the trap; dropping them lets traps from any frame merge.
    State at_trap = st;
    at_trap.v.erase(at_trap.v.begin() + layout.localsBegin(), at_trap.v.end());
    traps.push_back(Incoming{andPc(pc, cond), std::move(at_trap), {}});
    if (cond.isTrue()) {
      live = false;
      return;
    }
    pc = andPc(pc, notE(cond));
  }

  // Continues from the merge of `ins`; dead if there is nothing to merge.
  std::optional<smt::Expr> join(std::vector<Incoming>& ins) {
    if (ins.empty()) {
      live = false;
      return std::nullopt;
    }
    std::uint64_t created = 0;
    Incoming merged = mergeIncoming(c, ins, &created);
    smt.budget().charge(created);
    pc = merged.pc;
    st = std::move(merged.state);
    live = true;
    if (merged.values.empty()) return std::nullopt;
    return merged.values.front();
  }

  static std::vector<smt::Expr> valuesOf(const std::optional<smt::Expr>& v) {
    if (v) return {*v};
    return {};
  }

  LabelScope& findLabel(const char* name) {
    for (auto it = frame().labels.rbegin(); it != frame().labels.rend(); ++it) {
      if (it->name == name) return *it;
    }
    unsupported(fmt::format("branch to unknown label {}", name ? name : "(null)"));
  }

  // ---------------------------------------------------------------- values

  smt::Expr value(BinaryenExpressionRef e) {
    std::optional<smt::Expr> v = eval(e);
    if (!live || !v) return dummy(e);
    return *v;
  }

  std::optional<smt::Expr> eval(BinaryenExpressionRef e) {
    smt.budget().charge();
    const ExprKind kind = wasm::kindOf(e);
    switch (kind) {
      case ExprKind::Nop:
        return std::nullopt;
      case ExprKind::Block:
        return evalBlock(e);
      case ExprKind::If:
        return evalIf(e);
      case ExprKind::Loop:
        return evalLoop(e);
      case ExprKind::Break:
        return evalBreak(e);
      case ExprKind::Switch:
        evalSwitch(e);
        return std::nullopt;
      case ExprKind::Call:
        return evalCall(e);
      case ExprKind::CallIndirect:
        return evalCallIndirect(e);
      case ExprKind::LocalGet: {
        const BinaryenIndex i = BinaryenLocalGetGetIndex(e);
        if (i >= st.numLocals(layout)) unsupported("local index out of range");
        return st.local(layout, i);
      }
      case ExprKind::LocalSet: {
        smt::Expr v = value(BinaryenLocalSetGetValue(e));
        if (!live) return std::nullopt;
        const BinaryenIndex i = BinaryenLocalSetGetIndex(e);
        if (i >= st.numLocals(layout)) unsupported("local index out of range");
        st.local(layout, i) = v;
        if (BinaryenLocalSetIsTee(e)) return v;
        return std::nullopt;
      }
      case ExprKind::GlobalGet: {
        const unsigned slot = globalSlot(BinaryenGlobalGetGetName(e));
        return st.global(slot);
      }
      case ExprKind::GlobalSet: {
        smt::Expr v = value(BinaryenGlobalSetGetValue(e));
        if (!live) return std::nullopt;
        const unsigned slot = globalSlot(BinaryenGlobalSetGetName(e));
        // An effectively constant global is only ever written its own value.
        if (!layout.globals[slot].constant) st.global(slot) = v;
        return std::nullopt;
      }
      case ExprKind::Load:
        return evalLoad(e);
      case ExprKind::Store:
        evalStore(e);
        return std::nullopt;
      case ExprKind::Const:
        return evalConst(e);
      case ExprKind::Unary:
        return evalUnary(e);
      case ExprKind::Binary:
        return evalBinary(e);
      case ExprKind::Select: {
        smt::Expr t = value(BinaryenSelectGetIfTrue(e));
        if (!live) return std::nullopt;
        smt::Expr f = value(BinaryenSelectGetIfFalse(e));
        if (!live) return std::nullopt;
        smt::Expr cond = value(BinaryenSelectGetCondition(e));
        if (!live) return std::nullopt;
        if (!valTypeOf(BinaryenExpressionGetType(e))) unsupported("select of a non-numeric type");
        smt::Expr b = truth(cond);
        if (b.isTrue()) return t;
        if (b.isFalse()) return f;
        return smt::ite(b, t, f);
      }
      case ExprKind::Drop:
        eval(BinaryenDropGetValue(e));
        return std::nullopt;
      case ExprKind::Return: {
        std::optional<smt::Expr> v;
        if (BinaryenExpressionRef r = BinaryenReturnGetValue(e)) {
          v = value(r);
          if (!live) return std::nullopt;
        }
        frame().returns.push_back(Incoming{pc, st, valuesOf(v)});
        live = false;
        return std::nullopt;
      }
      case ExprKind::MemorySize:
        requireMemory();
        return st.pages(layout);
      case ExprKind::MemoryGrow:
        return evalGrow(e);
      case ExprKind::Unreachable:
        trapIf(c.boolVal(true));
        return std::nullopt;
      case ExprKind::MemoryFill:
        evalFill(e);
        return std::nullopt;
      case ExprKind::MemoryCopy:
        evalCopy(e);
        return std::nullopt;
      case ExprKind::MemoryInit:
        evalMemoryInit(e);
        return std::nullopt;
      case ExprKind::DataDrop:
        evalDataDrop(e);
        return std::nullopt;
      case ExprKind::RefNull:
        return c.bvVal(0, 32);
      case ExprKind::RefFunc:
        return c.bvVal(resolver.functionRef(side, BinaryenRefFuncGetFunc(e)), 32);
      case ExprKind::RefIs:
        return evalRefIs(e);
      case ExprKind::RefAs:
        return evalRefAs(e);
      case ExprKind::TableGet:
        return evalTableGet(e);
      case ExprKind::TableSet:
        evalTableSet(e);
        return std::nullopt;
      case ExprKind::TableSize:
        return tableSize(tableSlot(BinaryenTableSizeGetTable(e)), BinaryenTableSizeGetTable(e));
      case ExprKind::TableGrow:
        return evalTableGrow(e);
      case ExprKind::SIMDExtract:
        return evalSimdExtract(e);
      case ExprKind::SIMDReplace:
        return evalSimdReplace(e);
      case ExprKind::SIMDShuffle:
        return evalSimdShuffle(e);
      case ExprKind::SIMDTernary:
        return evalSimdTernary(e);
      case ExprKind::SIMDShift:
        return evalSimdShift(e);
      case ExprKind::SIMDLoad:
        return evalSimdLoad(e);
      case ExprKind::SIMDLoadStoreLane:
        return evalSimdLane(e);
      case ExprKind::TupleMake:
        return evalTupleMake(e);
      case ExprKind::TupleExtract:
        return evalTupleExtract(e);
      default:
        unsupported(std::string(wasm::kindName(kind)));
    }
  }

  // ---------------------------------------------------------------- references and tables

  std::optional<smt::Expr> evalRefIs(BinaryenExpressionRef e) {
    if (BinaryenRefIsGetOp(e) != BinaryenRefIsNull()) unsupported("ref.is_func/data/i31 (GC)");
    smt::Expr v = value(BinaryenRefIsGetValue(e));
    if (!live) return std::nullopt;
    return fold(smt::ite(v == c.bvVal(0, 32), c.bvVal(1, 32), c.bvVal(0, 32)), {&v});
  }

  std::optional<smt::Expr> evalRefAs(BinaryenExpressionRef e) {
    if (BinaryenRefAsGetOp(e) != BinaryenRefAsNonNull()) unsupported("ref.as_func/data/i31 (GC)");
    smt::Expr v = value(BinaryenRefAsGetValue(e));
    if (!live) return std::nullopt;
    trapIf(fold(v == c.bvVal(0, 32), {&v}));
    if (!live) return std::nullopt;
    return v;
  }

  unsigned tableSlot(const char* name) {
    auto slot = layout.table(side, name ? name : "");
    if (!slot) unsupported(fmt::format("table {}", name ? name : "(null)"));
    return *slot;
  }

  // A fixed table's contents and size are its segments' image, forever.
  smt::Expr tableContents(unsigned t, const char* name) {
    if (!layout.tables[t].fixed) return st.at(layout.tableContents(t));
    const TableInfo* info = module.table(name);
    smt::Expr a = smt::constArray(c.bvSort(32), c.bvVal(0, 32));
    for (std::size_t k = 0; info && k < info->slots.size(); ++k) {
      if (info->slots[k])
        a = smt::store(a, c.bvVal(k, 32), c.bvVal(resolver.functionRef(side, *info->slots[k]), 32));
    }
    return a;
  }
  smt::Expr tableSize(unsigned t, const char* name) {
    if (!layout.tables[t].fixed) return st.at(layout.tableSize(t));
    const TableInfo* info = module.table(name);
    return c.bvVal(info ? info->initial : 0, 32);
  }

  std::optional<smt::Expr> evalTableGet(BinaryenExpressionRef e) {
    const char* name = BinaryenTableGetGetTable(e);
    const unsigned t = tableSlot(name);
    smt::Expr index = value(BinaryenTableGetGetIndex(e));
    if (!live) return std::nullopt;
    trapIf(smt::uge(index, tableSize(t, name)));
    if (!live) return std::nullopt;
    if (!layout.tables[t].fixed) out.table_reads.push_back(TableRead{t, index});
    return smt::select(tableContents(t, name), index);
  }

  void evalTableSet(BinaryenExpressionRef e) {
    const unsigned t = tableSlot(BinaryenTableSetGetTable(e));
    smt::Expr index = value(BinaryenTableSetGetIndex(e));
    if (!live) return;
    smt::Expr v = value(BinaryenTableSetGetValue(e));
    if (!live) return;
    trapIf(smt::uge(index, st.at(layout.tableSize(t))));
    if (!live) return;
    st.at(layout.tableContents(t)) = smt::store(st.at(layout.tableContents(t)), index, v);
  }

  std::optional<smt::Expr> evalTableGrow(BinaryenExpressionRef e) {
    const unsigned t = tableSlot(BinaryenTableGrowGetTable(e));
    smt::Expr init = value(BinaryenTableGrowGetValue(e));
    if (!live) return std::nullopt;
    smt::Expr delta = value(BinaryenTableGrowGetDelta(e));
    if (!live) return std::nullopt;
    smt::Expr& size = st.at(layout.tableSize(t));
    smt::Expr& grows = st.at(layout.tableGrows(t));
    // As memory.grow: growth within the limit may still fail, and whether
    // the i-th table.grow may succeed is shared by both sides.
    smt::Expr allowed = env.replayable() || env.tableGrowAllowed(t, grows);
    smt::Expr fits = smt::ule(smt::zext(size, 32) + smt::zext(delta, 32),
                              c.bvVal(static_cast<uint64_t>(layout.tables[t].max), 64));
    smt::Expr ok = allowed && fits;
    smt::Expr result = smt::ite(ok, size, c.bvVal(static_cast<uint64_t>(0xffffffffULL), 32));
    smt::Expr& contents = st.at(layout.tableContents(t));
    contents = smt::ite(ok, fillRange(contents, size, init, delta), contents);
    size = smt::ite(ok, size + delta, size);
    grows = grows + c.bvVal(1, 32);
    return result;
  }

  // ---------------------------------------------------------------- SIMD

  std::optional<smt::Expr> evalSimdExtract(BinaryenExpressionRef e) {
    smt::Expr v = value(BinaryenSIMDExtractGetVec(e));
    if (!live) return std::nullopt;
    const BinaryenOp op = BinaryenSIMDExtractGetOp(e);
    auto r = simdExtract(op, v, BinaryenSIMDExtractGetIndex(e));
    if (!r) unsupported("operator " + simdOpName(SimdOpClass::Extract, op));
    return fold(*r, {&v});
  }

  std::optional<smt::Expr> evalSimdReplace(BinaryenExpressionRef e) {
    smt::Expr v = value(BinaryenSIMDReplaceGetVec(e));
    if (!live) return std::nullopt;
    smt::Expr x = value(BinaryenSIMDReplaceGetValue(e));
    if (!live) return std::nullopt;
    const BinaryenOp op = BinaryenSIMDReplaceGetOp(e);
    auto r = simdReplace(op, v, BinaryenSIMDReplaceGetIndex(e), x);
    if (!r) unsupported("operator " + simdOpName(SimdOpClass::Replace, op));
    return fold(*r, {&v, &x});
  }

  std::optional<smt::Expr> evalSimdShuffle(BinaryenExpressionRef e) {
    smt::Expr a = value(BinaryenSIMDShuffleGetLeft(e));
    if (!live) return std::nullopt;
    smt::Expr b = value(BinaryenSIMDShuffleGetRight(e));
    if (!live) return std::nullopt;
    std::uint8_t mask[16] = {};
    BinaryenSIMDShuffleGetMask(e, mask);
    return fold(simdShuffle(a, b, mask), {&a, &b});
  }

  std::optional<smt::Expr> evalSimdTernary(BinaryenExpressionRef e) {
    smt::Expr a = value(BinaryenSIMDTernaryGetA(e));
    if (!live) return std::nullopt;
    smt::Expr b = value(BinaryenSIMDTernaryGetB(e));
    if (!live) return std::nullopt;
    smt::Expr x = value(BinaryenSIMDTernaryGetC(e));
    if (!live) return std::nullopt;
    const BinaryenOp op = BinaryenSIMDTernaryGetOp(e);
    auto r = simdTernary(op, a, b, x, env);
    if (!r) unsupported("operator " + simdOpName(SimdOpClass::Ternary, op));
    if (r->trap) trapIf(*r->trap);
    if (!live) return std::nullopt;
    return fold(r->value, {&a, &b, &x});
  }

  std::optional<smt::Expr> evalSimdShift(BinaryenExpressionRef e) {
    smt::Expr v = value(BinaryenSIMDShiftGetVec(e));
    if (!live) return std::nullopt;
    smt::Expr n = value(BinaryenSIMDShiftGetShift(e));
    if (!live) return std::nullopt;
    const BinaryenOp op = BinaryenSIMDShiftGetOp(e);
    auto r = simdShift(op, v, n);
    if (!r) unsupported("operator " + simdOpName(SimdOpClass::Shift, op));
    return fold(*r, {&v, &n});
  }

  std::optional<smt::Expr> evalSimdLoad(BinaryenExpressionRef e) {
    requireMemory();
    const BinaryenOp op = BinaryenSIMDLoadGetOp(e);
    auto bytes = simdLoadBytes(op);
    if (!bytes) unsupported("operator " + simdOpName(SimdOpClass::Load, op));
    smt::Expr ptr = value(BinaryenSIMDLoadGetPtr(e));
    if (!live) return std::nullopt;
    const smt::Expr pages = st.pages(layout);
    Access a = memoryAccess(ptr, BinaryenSIMDLoadGetOffset(e), *bytes, pages);
    out.loads.push_back(LoadSite{a.address, *bytes});
    trapIf(fold(!a.in_bounds, {&ptr, &pages}));
    if (!live) return std::nullopt;
    auto r = simdLoadValue(op, loadBytes(st.memory(layout), a.index, *bytes));
    if (!r) unsupported("operator " + simdOpName(SimdOpClass::Load, op));
    return r;
  }

  std::optional<smt::Expr> evalSimdLane(BinaryenExpressionRef e) {
    requireMemory();
    const BinaryenOp op = BinaryenSIMDLoadStoreLaneGetOp(e);
    auto bytes = simdLaneBytes(op);
    if (!bytes) unsupported("operator " + simdOpName(SimdOpClass::LoadStoreLane, op));
    smt::Expr ptr = value(BinaryenSIMDLoadStoreLaneGetPtr(e));
    if (!live) return std::nullopt;
    smt::Expr vec = value(BinaryenSIMDLoadStoreLaneGetVec(e));
    if (!live) return std::nullopt;
    const unsigned lane = BinaryenSIMDLoadStoreLaneGetIndex(e);
    if (lane >= 16 / *bytes) unsupported("lane index out of range");
    const smt::Expr pages = st.pages(layout);
    Access a = memoryAccess(ptr, BinaryenSIMDLoadStoreLaneGetOffset(e), *bytes, pages);
    const bool store = simdLaneIsStore(op);
    if (!store) out.loads.push_back(LoadSite{a.address, *bytes});
    trapIf(fold(!a.in_bounds, {&ptr, &pages}));
    if (!live) return std::nullopt;
    if (store) {
      st.memory(layout) =
          storeBytes(st.memory(layout), a.index, simdLaneGet(vec, 8 * *bytes, lane), *bytes);
      return std::nullopt;
    }
    return simdLaneSet(vec, 8 * *bytes, lane, loadBytes(st.memory(layout), a.index, *bytes));
  }

  // ---------------------------------------------------------------- tuples

  std::optional<smt::Expr> evalTupleMake(BinaryenExpressionRef e) {
    std::optional<smt::Expr> acc;
    for (BinaryenIndex i = 0, n = BinaryenTupleMakeGetNumOperands(e); i < n; ++i) {
      smt::Expr v = value(BinaryenTupleMakeGetOperandAt(e, i));
      if (!live) return std::nullopt;
      acc = acc ? smt::concat(*acc, v) : v;
    }
    return acc;
  }

  std::optional<smt::Expr> evalTupleExtract(BinaryenExpressionRef e) {
    BinaryenExpressionRef tuple = BinaryenTupleExtractGetTuple(e);
    auto types = expandTypes(BinaryenExpressionGetType(tuple));
    smt::Expr v = value(tuple);
    if (!live) return std::nullopt;
    if (!types) unsupported("tuple of unsupported types");
    const BinaryenIndex k = BinaryenTupleExtractGetIndex(e);
    if (k >= types->size()) unsupported("tuple.extract index out of range");
    unsigned high = widthOf(*types);
    for (BinaryenIndex i = 0; i < k; ++i) high -= widthOf((*types)[i]);
    const unsigned width = widthOf((*types)[k]);
    if (width == v.sort().bvSize()) return v;
    return v.extract(high - 1, high - width);
  }

  // ---------------------------------------------------------------- data segments

  void requireSegments(const char* what) {
    if (!layout.data_segments_alike)
      unsupported(fmt::format("{} after the optimizer changed the data segments", what));
  }

  // The bytes of a data segment as an array from offset to byte.
  const smt::Expr& segmentArray(std::uint32_t index) {
    auto it = segment_arrays.find(index);
    if (it != segment_arrays.end()) return it->second;
    // An if-then-else chain under a lambda: stores over a constant array
    // leave Z3's array theory incomplete.
    smt::Expr i = c.bvConst("segment_offset", 32);
    smt::Expr byte = c.bvVal(0, 8);
    const auto& bytes = module.dataSegments()[index].bytes;
    for (std::size_t k = bytes.size(); k-- > 0;) {
      if (bytes[k] != 0) byte = smt::ite(i == c.bvVal(k, 32), c.bvVal(bytes[k], 8), byte);
    }
    return segment_arrays.emplace(index, smt::lambda(i, byte)).first->second;
  }

  void evalMemoryInit(BinaryenExpressionRef e) {
    requireMemory();
    requireSegments("memory.init");
    const std::uint32_t index = BinaryenMemoryInitGetSegment(e);
    if (index >= module.dataSegments().size()) unsupported("memory.init of an unknown segment");
    smt::Expr dest = value(BinaryenMemoryInitGetDest(e));
    if (!live) return;
    smt::Expr from = value(BinaryenMemoryInitGetOffset(e));
    if (!live) return;
    smt::Expr size = value(BinaryenMemoryInitGetSize(e));
    if (!live) return;
    const DataSegmentInfo& segment = module.dataSegments()[index];
    // An active segment is dropped once the module is instantiated.
    smt::Expr length = c.bvVal(segment.passive ? segment.bytes.size() : 0, 64);
    if (segment.passive) {
      // Simplified: a data.drop earlier in the same function folds away.
      const smt::Expr dropped = smt::select(st.at(layout.dropped()), c.bvVal(index, 32)).simplify();
      length = smt::ite(dropped, c.bvVal(0, 64), length);
    }
    trapIf(smt::ugt(smt::zext(from, 32) + smt::zext(size, 32), length) ||
           smt::ugt(smt::zext(dest, 32) + smt::zext(size, 32), memoryBytes(st.pages(layout))));
    if (!live) return;
    if (!segment.passive) return;  // only a zero-length copy gets here
    // A short segment is copied byte by byte (at most its length can be,
    // or the init traps): plain stores, which Z3 decides far more easily
    // than a lambda over a symbolic range.
    if (segment.bytes.size() <= kUnrolledSegmentBytes) {
      smt::Expr m = st.memory(layout);
      const smt::Expr& source = segmentArray(index);
      for (std::size_t k = 0; k < segment.bytes.size(); ++k) {
        const smt::Expr offset = c.bvVal(k, 32);
        const smt::Expr at = dest + offset;
        m = smt::store(m, at,
                       smt::ite(smt::ult(offset, size), smt::select(source, from + offset),
                                smt::select(m, at)));
      }
      st.memory(layout) = m;
      return;
    }
    st.memory(layout) = copyRange(st.memory(layout), dest, segmentArray(index), from, size);
  }

  void evalDataDrop(BinaryenExpressionRef e) {
    requireSegments("data.drop");
    const std::uint32_t index = BinaryenDataDropGetSegment(e);
    if (index >= module.dataSegments().size()) unsupported("data.drop of an unknown segment");
    st.at(layout.dropped()) =
        smt::store(st.at(layout.dropped()), c.bvVal(index, 32), c.boolVal(true));
  }

  unsigned globalSlot(const char* name) {
    auto slot = layout.slot(side, name);
    if (!slot) unsupported(fmt::format("global {} of an unsupported type", name));
    return *slot;
  }

  void requireMemory() {
    if (!module.memory().present) unsupported("memory access without a memory");
    if (module.memory().memory64 || module.memory().shared)
      unsupported("memory64 or shared memory");
  }

  std::optional<smt::Expr> evalConst(BinaryenExpressionRef e) {
    const BinaryenType t = BinaryenExpressionGetType(e);
    if (t == BinaryenTypeInt32()) {
      return c.bvVal(static_cast<uint64_t>(static_cast<std::uint32_t>(BinaryenConstGetValueI32(e))),
                     32);
    }
    if (t == BinaryenTypeInt64()) {
      return c.bvVal(static_cast<uint64_t>(BinaryenConstGetValueI64(e)), 64);
    }
    if (t == BinaryenTypeFloat32()) {
      const float f = BinaryenConstGetValueF32(e);
      std::uint32_t bits = 0;
      std::memcpy(&bits, &f, sizeof bits);
      return c.bvVal(static_cast<uint64_t>(bits), 32);
    }
    if (t == BinaryenTypeFloat64()) {
      const double d = BinaryenConstGetValueF64(e);
      std::uint64_t bits = 0;
      std::memcpy(&bits, &d, sizeof bits);
      return c.bvVal(static_cast<uint64_t>(bits), 64);
    }
    if (t == BinaryenTypeVec128()) {
      std::uint8_t bytes[16] = {};
      BinaryenConstGetValueV128(e, bytes);
      std::uint64_t halves[2] = {0, 0};
      for (int k = 15; k >= 0; --k) halves[k / 8] = (halves[k / 8] << 8) | bytes[k];
      return smt::concat(c.bvVal(halves[1], 64), c.bvVal(halves[0], 64));
    }
    unsupported("constant of a non-numeric type");
  }

  std::optional<smt::Expr> evalUnary(BinaryenExpressionRef e) {
    smt::Expr a = value(BinaryenUnaryGetValue(e));
    if (!live) return std::nullopt;
    const BinaryenOp op = BinaryenUnaryGetOp(e);
    auto r = applyUnary(op, a, env);
    if (!r) unsupported("operator " + unaryName(op));
    if (r->trap) trapIf(fold(*r->trap, {&a}));
    if (!live) return std::nullopt;
    return fold(r->value, {&a});
  }

  std::optional<smt::Expr> evalBinary(BinaryenExpressionRef e) {
    smt::Expr a = value(BinaryenBinaryGetLeft(e));
    if (!live) return std::nullopt;
    smt::Expr b = value(BinaryenBinaryGetRight(e));
    if (!live) return std::nullopt;
    const BinaryenOp op = BinaryenBinaryGetOp(e);
    auto r = applyBinary(op, a, b, env);
    if (!r) unsupported("operator " + binaryName(op));
    if (r->trap) trapIf(fold(*r->trap, {&a, &b}));
    if (!live) return std::nullopt;
    return fold(r->value, {&a, &b});
  }

  // ---------------------------------------------------------------- memory

  std::optional<smt::Expr> evalLoad(BinaryenExpressionRef e) {
    requireMemory();
    if (BinaryenLoadIsAtomic(e)) unsupported("atomic load");
    auto type = valTypeOf(BinaryenExpressionGetType(e));
    if (!type) unsupported("load of a non-numeric type");
    smt::Expr ptr = value(BinaryenLoadGetPtr(e));
    if (!live) return std::nullopt;
    const unsigned bytes = BinaryenLoadGetBytes(e);
    const smt::Expr pages = st.pages(layout);
    Access a = memoryAccess(ptr, BinaryenLoadGetOffset(e), bytes, pages);
    out.loads.push_back(LoadSite{a.address, bytes});
    trapIf(fold(!a.in_bounds, {&ptr, &pages}));
    if (!live) return std::nullopt;
    smt::Expr raw = loadBytes(st.memory(layout), a.index, bytes);
    return smt::resize(raw, widthOf(*type), BinaryenLoadIsSigned(e));
  }

  void evalStore(BinaryenExpressionRef e) {
    requireMemory();
    if (BinaryenStoreIsAtomic(e)) unsupported("atomic store");
    smt::Expr ptr = value(BinaryenStoreGetPtr(e));
    if (!live) return;
    smt::Expr v = value(BinaryenStoreGetValue(e));
    if (!live) return;
    const unsigned bytes = BinaryenStoreGetBytes(e);
    if (bytes * 8 > v.sort().bvSize()) unsupported("store wider than its value");
    const smt::Expr pages = st.pages(layout);
    Access a = memoryAccess(ptr, BinaryenStoreGetOffset(e), bytes, pages);
    trapIf(fold(!a.in_bounds, {&ptr, &pages}));
    if (!live) return;
    st.memory(layout) = storeBytes(st.memory(layout), a.index, v, bytes);
  }

  std::optional<smt::Expr> evalGrow(BinaryenExpressionRef e) {
    requireMemory();
    smt::Expr delta = value(BinaryenMemoryGrowGetDelta(e));
    if (!live) return std::nullopt;
    smt::Expr& pages = st.pages(layout);
    smt::Expr& grows = st.at(layout.grows());
    // Growth within the limit may still fail in WebAssembly; whether the
    // i-th grow may succeed is shared by both sides. Replays grow deterministically.
    smt::Expr allowed = env.replayable() || env.growAllowed(grows);
    smt::Expr fits = smt::ule(smt::zext(pages, 32) + smt::zext(delta, 32),
                              c.bvVal(static_cast<uint64_t>(layout.max_pages), 64));
    smt::Expr ok = allowed && fits;
    smt::Expr result = smt::ite(ok, pages, c.bvVal(static_cast<uint64_t>(0xffffffffULL), 32));
    smt::Expr new_pages = smt::ite(ok, pages + delta, pages);
    out.grows.push_back(GrowSite{pc, ok, new_pages});
    if (!ok.isFalse()) {
      st.memory(layout) =
          smt::ite(ok, zeroBytes(st.memory(layout), memoryBytes(pages), memoryBytes(new_pages)),
                   st.memory(layout));
    }
    pages = new_pages;
    grows = grows + c.bvVal(1, 32);
    return result;
  }

  void evalFill(BinaryenExpressionRef e) {
    requireMemory();
    smt::Expr dest = value(BinaryenMemoryFillGetDest(e));
    if (!live) return;
    smt::Expr v = value(BinaryenMemoryFillGetValue(e));
    if (!live) return;
    smt::Expr size = value(BinaryenMemoryFillGetSize(e));
    if (!live) return;
    smt::Expr end = smt::zext(dest, 32) + smt::zext(size, 32);
    trapIf(smt::ugt(end, memoryBytes(st.pages(layout))));
    if (!live) return;
    st.memory(layout) = fillBytes(st.memory(layout), dest, v, size);
  }

  void evalCopy(BinaryenExpressionRef e) {
    requireMemory();
    smt::Expr dest = value(BinaryenMemoryCopyGetDest(e));
    if (!live) return;
    smt::Expr src = value(BinaryenMemoryCopyGetSource(e));
    if (!live) return;
    smt::Expr size = value(BinaryenMemoryCopyGetSize(e));
    if (!live) return;
    smt::Expr bytes = memoryBytes(st.pages(layout));
    trapIf(smt::ugt(smt::zext(dest, 32) + smt::zext(size, 32), bytes) ||
           smt::ugt(smt::zext(src, 32) + smt::zext(size, 32), bytes));
    if (!live) return;
    out.unbounded_reads = true;
    st.memory(layout) = copyBytes(st.memory(layout), dest, src, size);
  }

  // ---------------------------------------------------------------- control

  std::optional<smt::Expr> evalBlock(BinaryenExpressionRef e) {
    const char* name = BinaryenBlockGetName(e);
    if (name) frame().labels.push_back(LabelScope{name, false, {}});
    std::optional<smt::Expr> last;
    for (BinaryenIndex i = 0, n = BinaryenBlockGetNumChildren(e); i < n; ++i) {
      last = eval(BinaryenBlockGetChildAt(e, i));
      if (!live) break;
    }
    if (!name) return live ? last : std::nullopt;
    std::vector<Incoming> ins = std::move(frame().labels.back().incoming);
    frame().labels.pop_back();
    if (ins.empty()) return live ? last : std::nullopt;
    if (live) ins.push_back(Incoming{pc, st, valuesOf(last)});
    return join(ins);
  }

  std::optional<smt::Expr> evalIf(BinaryenExpressionRef e) {
    smt::Expr cond = value(BinaryenIfGetCondition(e));
    if (!live) return std::nullopt;
    smt::Expr b = truth(cond);
    const smt::Expr pc0 = pc;
    const State st0 = st;
    std::vector<Incoming> outs;
    pc = andPc(pc0, b);
    if (!pc.isFalse()) {
      live = true;
      std::optional<smt::Expr> v = eval(BinaryenIfGetIfTrue(e));
      if (live) outs.push_back(Incoming{pc, st, valuesOf(v)});
    }
    st = st0;
    pc = andPc(pc0, notE(b));
    live = true;
    if (!pc.isFalse()) {
      std::optional<smt::Expr> v;
      if (BinaryenExpressionRef f = BinaryenIfGetIfFalse(e)) v = eval(f);
      if (live) outs.push_back(Incoming{pc, st, valuesOf(v)});
    }
    return join(outs);
  }

  bool loopHasBackEdge(BinaryenExpressionRef loop) {
    auto it = has_back_edge.find(loop);
    if (it != has_back_edge.end()) return it->second;
    const std::string name = BinaryenLoopGetName(loop) ? BinaryenLoopGetName(loop) : "";
    bool found = false;
    if (!name.empty()) {
      wasm::walk(BinaryenLoopGetBody(loop), [&](BinaryenExpressionRef x, unsigned) {
        if (found) return false;
        if (wasm::kindOf(x) == ExprKind::Break) {
          const char* n = BinaryenBreakGetName(x);
          if (n && name == n) found = true;
        } else if (wasm::kindOf(x) == ExprKind::Switch) {
          const char* d = BinaryenSwitchGetDefaultName(x);
          if (d && name == d) found = true;
          for (BinaryenIndex i = 0, k = BinaryenSwitchGetNumNames(x); i < k; ++i) {
            const char* n = BinaryenSwitchGetNameAt(x, i);
            if (n && name == n) found = true;
          }
        }
        return !found;
      });
    }
    has_back_edge.emplace(loop, found);
    return found;
  }

  std::optional<smt::Expr> evalLoop(BinaryenExpressionRef e) {
    BinaryenExpressionRef body = BinaryenLoopGetBody(e);
    if (!loopHasBackEdge(e)) return eval(body);  // a loop nothing branches to is a block
    const std::string name = BinaryenLoopGetName(e);
    if (options.loop_mode == LoopMode::Inductive) return evalLoopInductive(e, name);

    std::vector<Incoming> exits;
    for (unsigned iteration = 0;; ++iteration) {
      frame().labels.push_back(LabelScope{name, true, {}});
      std::optional<smt::Expr> v = eval(body);
      std::vector<Incoming> backs = std::move(frame().labels.back().incoming);
      frame().labels.pop_back();
      if (live) exits.push_back(Incoming{pc, st, valuesOf(v)});
      if (backs.empty()) break;
      join(backs);
      if (iteration + 1 >= options.loop_bound) {
        // Executions needing another iteration are outside the bound.
        exceeded.push_back(pc);
        ++out.loops_cut;
        live = false;
        break;
      }
    }
    return join(exits);
  }

  Modified modifiedBy(BinaryenExpressionRef body) {
    Modified m;
    const unsigned depth = frame().depth;
    auto everything = [&]() {
      m.memory = m.pages = m.trace = m.all_globals = m.all_tables = m.dropped = true;
    };
    wasm::walk(body, [&](BinaryenExpressionRef x, unsigned) {
      switch (wasm::kindOf(x)) {
        case ExprKind::LocalSet:
          m.locals.insert(BinaryenLocalSetGetIndex(x));
          break;
        case ExprKind::GlobalSet:
          if (auto slot = layout.slot(side, BinaryenGlobalSetGetName(x))) m.globals.insert(*slot);
          break;
        case ExprKind::Store:
        case ExprKind::MemoryFill:
        case ExprKind::MemoryCopy:
          m.memory = true;
          break;
        case ExprKind::MemoryGrow:
          m.memory = m.pages = true;
          break;
        case ExprKind::MemoryInit:
          m.memory = true;
          break;
        case ExprKind::SIMDLoadStoreLane:
          if (BinaryenSIMDLoadStoreLaneIsStore(x)) m.memory = true;
          break;
        case ExprKind::DataDrop:
          m.dropped = true;
          break;
        case ExprKind::TableSet:
          if (auto t = layout.table(side, BinaryenTableSetGetTable(x))) m.tables.insert(*t);
          break;
        case ExprKind::TableGrow:
          if (auto t = layout.table(side, BinaryenTableGrowGetTable(x))) m.tables.insert(*t);
          break;
        case ExprKind::Call: {
          const FunctionInfo* f = module.function(BinaryenCallGetTarget(x));
          if (!f || f->imported ||
              resolver.direct(side, f->name, depth).kind != CallPlan::Kind::Inline) {
            everything();
            break;
          }
          const EffectSummary& s = module.effects(f->name);
          if (s.calls || s.writes_all_globals) everything();
          if (s.writes_memory) m.memory = true;
          if (s.grows_memory) m.pages = true;
          if (s.writes_tables) m.all_tables = true;
          if (s.drops_segments) m.dropped = true;
          for (const auto& g : s.globals_written) {
            if (auto slot = layout.slot(side, g)) m.globals.insert(*slot);
          }
          break;
        }
        case ExprKind::CallIndirect:
          everything();
          break;
        default:
          break;
      }
      return true;
    });
    return m;
  }

  std::optional<smt::Expr> evalLoopInductive(BinaryenExpressionRef e, const std::string& name) {
    const Modified m = modifiedBy(BinaryenLoopGetBody(e));
    State head = st;
    std::vector<bool> havocked(st.v.size(), false);
    auto havoc = [&](unsigned index, const std::string& what) {
      havocked[index] = true;
      if (options.head_value) {
        auto shared = options.head_value(static_cast<int>(out.loops.size()), index);
        if (shared && smt::sameTerm(shared->sort(), st.v[index].sort())) {
          head.v[index] = *shared;
          return;
        }
      }
      head.v[index] = smt.fresh(fmt::format("{}_loop{}_{}", sideName(side), out.loops.size(), what),
                                st.v[index].sort());
    };
    for (unsigned slot = 0; slot < layout.globals.size(); ++slot) {
      if (layout.globals[slot].constant) continue;
      if (m.all_globals || m.globals.count(slot)) havoc(slot, "g" + layout.globals[slot].name);
    }
    if (m.memory) havoc(layout.memory(), "mem");
    if (m.pages) {
      havoc(layout.pages(), "pages");
      havoc(layout.grows(), "grows");
    }
    for (unsigned t = 0; t < layout.tables.size(); ++t) {
      if (layout.tables[t].fixed || !(m.all_tables || m.tables.count(t))) continue;
      havoc(layout.tableContents(t), "table" + std::to_string(t));
      havoc(layout.tableSize(t), "table_size" + std::to_string(t));
      havoc(layout.tableGrows(t), "table_grows" + std::to_string(t));
    }
    if (m.dropped) havoc(layout.dropped(), "dropped");
    if (m.trace) {
      for (unsigned i = layout.traceCount(); i < layout.localsBegin(); ++i) havoc(i, "trace");
    }
    for (unsigned i : m.locals) {
      if (i < st.numLocals(layout)) havoc(layout.localsBegin() + i, fmt::format("l{}", i));
    }

    const int ordinal = static_cast<int>(out.loops.size());
    out.loops.push_back(LoopInstance{ordinal, current_loop, frame().depth, pc, st, head, havocked,
                                     frame().function->locals, c.boolVal(false), std::nullopt, e});
    const int saved_loop = current_loop;
    current_loop = ordinal;
    st = head;
    frame().labels.push_back(LabelScope{name, true, {}});
    std::optional<smt::Expr> v = eval(BinaryenLoopGetBody(e));
    std::vector<Incoming> backs = std::move(frame().labels.back().incoming);
    frame().labels.pop_back();
    current_loop = saved_loop;
    if (!backs.empty()) {
      std::uint64_t created = 0;
      Incoming merged = mergeIncoming(c, backs, &created);
      smt.budget().charge(created);
      out.loops[ordinal].back_pc = merged.pc;
      out.loops[ordinal].back = std::move(merged.state);
    }
    if (!live) return std::nullopt;
    return v;
  }

  std::optional<smt::Expr> evalBreak(BinaryenExpressionRef e) {
    std::optional<smt::Expr> v;
    if (BinaryenExpressionRef val = BinaryenBreakGetValue(e)) {
      v = value(val);
      if (!live) return std::nullopt;
    }
    std::optional<smt::Expr> cond;
    if (BinaryenExpressionRef cexpr = BinaryenBreakGetCondition(e)) {
      cond = value(cexpr);
      if (!live) return std::nullopt;
    }
    LabelScope& target = findLabel(BinaryenBreakGetName(e));
    const std::vector<smt::Expr> carried = target.is_loop ? std::vector<smt::Expr>{} : valuesOf(v);
    if (!cond) {
      target.incoming.push_back(Incoming{pc, st, carried});
      live = false;
      return std::nullopt;
    }
    smt::Expr b = truth(*cond);
    if (!b.isFalse()) target.incoming.push_back(Incoming{andPc(pc, b), st, carried});
    if (b.isTrue()) {
      live = false;
      return std::nullopt;
    }
    pc = andPc(pc, notE(b));
    return v;
  }

  void evalSwitch(BinaryenExpressionRef e) {
    std::optional<smt::Expr> v;
    if (BinaryenExpressionRef val = BinaryenSwitchGetValue(e)) {
      v = value(val);
      if (!live) return;
    }
    smt::Expr index = value(BinaryenSwitchGetCondition(e));
    if (!live) return;
    const BinaryenIndex n = BinaryenSwitchGetNumNames(e);
    std::vector<std::string> order;
    std::map<std::string, std::vector<smt::Expr>> conds;
    auto add = [&](const std::string& name, smt::Expr cond) {
      if (!conds.count(name)) order.push_back(name);
      conds[name].push_back(std::move(cond));
    };
    if (index.isNumeral()) {
      std::uint64_t k = 0;
      index.getUint64(k);
      add(k < n ? BinaryenSwitchGetNameAt(e, static_cast<BinaryenIndex>(k))
                : BinaryenSwitchGetDefaultName(e),
          c.boolVal(true));
    } else {
      for (BinaryenIndex i = 0; i < n; ++i) {
        add(BinaryenSwitchGetNameAt(e, i), index == c.bvVal(i, 32));
      }
      add(BinaryenSwitchGetDefaultName(e), smt::uge(index, c.bvVal(n, 32)));
    }
    for (const auto& name : order) {
      LabelScope& target = findLabel(name.c_str());
      const std::vector<smt::Expr> carried =
          target.is_loop ? std::vector<smt::Expr>{} : valuesOf(v);
      target.incoming.push_back(Incoming{andPc(pc, smt::mkOr(c, conds[name])), st, carried});
    }
    live = false;
  }

  // ---------------------------------------------------------------- calls

  std::vector<smt::Expr> operands(BinaryenExpressionRef e, bool indirect) {
    std::vector<smt::Expr> args;
    const BinaryenIndex n =
        indirect ? BinaryenCallIndirectGetNumOperands(e) : BinaryenCallGetNumOperands(e);
    for (BinaryenIndex i = 0; i < n; ++i) {
      args.push_back(value(indirect ? BinaryenCallIndirectGetOperandAt(e, i)
                                    : BinaryenCallGetOperandAt(e, i)));
      if (!live) return {};
    }
    return args;
  }

  std::optional<smt::Expr> afterCall(BinaryenExpressionRef e, bool is_return,
                                     std::optional<smt::Expr> result) {
    (void)e;
    if (!live) return std::nullopt;
    if (is_return) {
      frame().returns.push_back(Incoming{pc, st, valuesOf(result)});
      live = false;
      return std::nullopt;
    }
    return result;
  }

  std::optional<smt::Expr> evalCall(BinaryenExpressionRef e) {
    std::vector<smt::Expr> args = operands(e, false);
    if (!live) return std::nullopt;
    const std::string target = BinaryenCallGetTarget(e);
    std::optional<smt::Expr> r = callFunction(target, args);
    return afterCall(e, BinaryenCallIsReturn(e), r);
  }

  std::optional<smt::Expr> callFunction(const std::string& target,
                                        const std::vector<smt::Expr>& args) {
    const FunctionInfo* f = module.function(target);
    if (!f) unsupported("call to unknown function " + target);
    if (!f->signature_supported)
      unsupported("call to " + target + " with an unsupported signature");
    CallPlan plan = resolver.direct(side, target, frame().depth);
    switch (plan.kind) {
      case CallPlan::Kind::Inline:
        return inlineCall(*plan.callee, args);
      case CallPlan::Kind::Event: {
        const std::string label = f->imported ? f->import_module + "." + f->import_base : f->name;
        return event(plan.key, plan.internal, label, args, f->params, f->results,
                     f->imported ? nullptr : &module.effects(f->name));
      }
      case CallPlan::Kind::Unsupported:
        break;
    }
    // Not an instruction the verifier lacks but a call structure it cannot
    // line up: the plan's reason says which.
    giveUp(plan.reason);
  }

  std::optional<smt::Expr> inlineCall(const FunctionInfo& f, const std::vector<smt::Expr>& args) {
    if (!f.locals_supported) unsupported("locals of unsupported types in " + f.name);
    std::vector<smt::Expr> locals = args;
    for (std::size_t i = args.size(); i < f.locals.size(); ++i)
      locals.push_back(c.bvVal(0, f.local_bits[i]));
    std::vector<smt::Expr> saved = st.takeLocals(layout);
    st.setLocals(layout, std::move(locals));
    frames.push_back(Frame{&f, frame().depth + 1, {}, {}});
    std::optional<smt::Expr> v = eval(f.body());
    std::vector<Incoming> rets = std::move(frame().returns);
    frames.pop_back();
    if (live) rets.push_back(Incoming{pc, st, valuesOf(v)});
    std::optional<smt::Expr> result = join(rets);
    if (live) st.setLocals(layout, std::move(saved));
    if (!live) return std::nullopt;
    return result;
  }

  // A call not executed symbolically: appended to the trace with what the
  // callee can observe; its answers come from the environment by position.
  std::optional<smt::Expr> event(int key, bool internal, const std::string& label,
                                 const std::vector<smt::Expr>& args,
                                 const std::vector<ValType>& params,
                                 const std::vector<ValType>& results,
                                 const EffectSummary* effects) {
    if (args.size() > layout.event_args) unsupported("event with too many arguments");
    if (results.size() > layout.event_results) unsupported("event with too many results");
    smt::Expr index = st.at(layout.traceCount());
    st.at(layout.traceKeys()) = smt::store(st.at(layout.traceKeys()), index, c.bvVal(key, 32));
    for (std::size_t k = 0; k < args.size(); ++k) {
      smt::Expr wide = smt::resize(args[k], layout.event_value_bits, false);
      st.at(layout.traceArg(k)) = smt::store(st.at(layout.traceArg(k)), index, wide);
    }
    const bool sees_memory = internal || layout.memory_host_visible;
    if (sees_memory) {
      st.at(layout.traceMemory()) =
          smt::store(st.at(layout.traceMemory()), index, st.memory(layout));
      st.at(layout.tracePages()) = smt::store(st.at(layout.tracePages()), index, st.pages(layout));
    }
    for (unsigned slot = 0; slot < layout.globals.size(); ++slot) {
      const GlobalSlot& g = layout.globals[slot];
      if (!g.compared() || !(internal || g.host_visible)) continue;
      st.at(layout.traceGlobal(slot)) =
          smt::store(st.at(layout.traceGlobal(slot)), index, st.global(slot));
    }
    for (unsigned t = 0; t < layout.tables.size(); ++t) {
      const TableSlot& table = layout.tables[t];
      if (table.fixed || !(internal || table.host_visible)) continue;
      st.at(layout.traceTable(t)) =
          smt::store(st.at(layout.traceTable(t)), index, st.at(layout.tableContents(t)));
      st.at(layout.traceTableSize(t)) =
          smt::store(st.at(layout.traceTableSize(t)), index, st.at(layout.tableSize(t)));
    }
    st.at(layout.traceCount()) = index + c.bvVal(1, 32);
    out.events.push_back(EventSite{pc, index, key, internal, label, args, params, results});
    if (internal) abstracted.push_back(pc);

    // Effects. A replayed host changes nothing; an internal callee changes
    // what its summary says it may.
    const smt::Expr keep = internal ? c.boolVal(false) : env.replayable();
    const bool writes_memory = internal ? (effects && effects->writes_memory) : sees_memory;
    if (writes_memory) {
      st.memory(layout) = smt::ite(keep, st.memory(layout), env.eventMemory(index));
      const bool grows = internal ? (effects && effects->grows_memory) : true;
      if (grows) {
        smt::Expr p = env.eventPages(index);
        smt::Expr& pages = st.pages(layout);
        smt::Expr grown =
            smt::ugt(p, pages) && smt::ule(p, c.bvVal(static_cast<uint64_t>(layout.max_pages), 32));
        pages = smt::ite(keep || !grown, pages, p);
      }
    }
    for (unsigned slot = 0; slot < layout.globals.size(); ++slot) {
      const GlobalSlot& g = layout.globals[slot];
      if (g.constant || !g.present[sideIndex(side)] || !g.is_mutable) continue;
      bool written = false;
      if (internal) {
        written =
            effects && (effects->writes_all_globals || effects->globals_written.count(g.name));
      } else {
        written = g.host_visible;
      }
      if (written) st.global(slot) = smt::ite(keep, st.global(slot), env.eventGlobal(slot, index));
    }
    for (unsigned t = 0; t < layout.tables.size(); ++t) {
      const TableSlot& table = layout.tables[t];
      if (table.fixed || !table.present[sideIndex(side)]) continue;
      const bool written = internal ? (effects && effects->writes_tables) : table.host_visible;
      if (!written) continue;
      smt::Expr& contents = st.at(layout.tableContents(t));
      contents = smt::ite(keep, contents, env.eventTable(t, index));
      // Tables only grow.
      smt::Expr p = env.eventTableSize(t, index);
      smt::Expr& size = st.at(layout.tableSize(t));
      smt::Expr grown =
          smt::ugt(p, size) && smt::ule(p, c.bvVal(static_cast<uint64_t>(table.max), 32));
      size = smt::ite(keep || !grown, size, p);
    }
    if (internal && effects && effects->drops_segments && layout.data_segments > 0) {
      st.at(layout.dropped()) = env.eventDropped(index);
    }
    std::optional<smt::Expr> result;
    for (unsigned k = 0; k < results.size(); ++k) {
      smt::Expr part = env.eventResult(k, index, results[k]);
      result = result ? smt::concat(*result, part) : part;
    }
    // A host function may throw and a callee may trap: either ends this call.
    trapIf(env.eventTrap(index) && !keep);
    if (!live) return std::nullopt;
    return result;
  }

  std::optional<smt::Expr> evalCallIndirect(BinaryenExpressionRef e) {
    std::vector<smt::Expr> args = operands(e, true);
    if (!live) return std::nullopt;
    smt::Expr index = value(BinaryenCallIndirectGetTarget(e));
    if (!live) return std::nullopt;
    const bool is_return = BinaryenCallIndirectIsReturn(e);
    auto params = expandTypes(BinaryenCallIndirectGetParams(e));
    auto results = expandTypes(BinaryenCallIndirectGetResults(e));
    if (!params || !results) unsupported("call_indirect signature");
    const char* table_name = BinaryenCallIndirectGetTable(e);
    const TableInfo* table = module.table(table_name ? table_name : "");
    if (!table) unsupported("call_indirect without a table");
    const unsigned t = tableSlot(table_name);
    if (layout.tables[t].fixed)
      return callThroughFixedTable(e, *table, index, args, *params, *results, is_return);

    // The table is state: the callee is whatever reference the slot holds,
    // checked as the specification says (in range, not null, same type).
    trapIf(smt::uge(index, st.at(layout.tableSize(t))));
    if (!live) return std::nullopt;
    out.table_reads.push_back(TableRead{t, index});
    smt::Expr ref = smt::select(st.at(layout.tableContents(t)), index);
    trapIf(ref == c.bvVal(0, 32));
    if (!live) return std::nullopt;
    const std::uint32_t signature = resolver.signatureOf(*params, *results);
    trapIf(signatureOfRef(ref) != c.bvVal(signature, 32));
    if (!live) return std::nullopt;
    // A reference to one of this module's functions of the right type runs
    // that function; any other is an event keyed by the signature, with the
    // reference as its first argument (equal references are equivalent
    // functions on both sides).
    std::vector<std::pair<smt::Expr, const FunctionInfo*>> candidates;
    for (const auto& name : module.referencedFunctions()) {
      const FunctionInfo* f = module.function(name);
      if (!f || f->params != *params || f->results != *results || !f->signature_supported) continue;
      candidates.push_back({ref == c.bvVal(resolver.functionRef(side, name), 32), f});
    }
    if (!candidates.empty() && candidates.size() <= 16) {
      const smt::Expr pc0 = pc;
      const State st0 = st;
      std::vector<Incoming> outs;
      std::vector<smt::Expr> matched;
      for (const auto& [is, f] : candidates) {
        matched.push_back(is);
        st = st0;
        pc = andPc(pc0, is);
        if (pc.isFalse()) continue;
        live = true;
        std::optional<smt::Expr> r = callFunction(f->name, args);
        if (live) outs.push_back(Incoming{pc, st, valuesOf(r)});
      }
      st = st0;
      pc = andPc(pc0, notE(smt::mkOr(c, matched)));
      live = !pc.isFalse();
      if (live) {
        std::optional<smt::Expr> r = indirectEvent(ref, args, *params, *results, signature);
        if (live) outs.push_back(Incoming{pc, st, valuesOf(r)});
      }
      return afterCall(e, is_return, join(outs));
    }
    return afterCall(e, is_return, indirectEvent(ref, args, *params, *results, signature));
  }

  // The signature a reference's function has: known for this module's
  // functions (a reference names a function by its class, and equivalent
  // functions share a signature), the host's choice for any other.
  smt::Expr signatureOfRef(const smt::Expr& ref) {
    constexpr std::size_t kMostSpelledOut = 64;
    if (!signature_of_ref) {
      signature_of_ref.emplace();
      for (const auto& name : module.referencedFunctions()) {
        const FunctionInfo* f = module.function(name);
        if (f && f->signature_supported)
          (*signature_of_ref)[resolver.functionRef(side, name)] =
              resolver.signatureOf(f->params, f->results);
      }
    }
    std::uint64_t known = 0;
    if (ref.isNumeral() && ref.getUint64(known)) {
      const auto it = signature_of_ref->find(static_cast<std::uint32_t>(known));
      return it != signature_of_ref->end() ? c.bvVal(it->second, 32) : env.refSignature(ref);
    }
    smt::Expr sig = env.refSignature(ref);
    if (signature_of_ref->size() > kMostSpelledOut) return sig;
    for (const auto& [id, signature] : *signature_of_ref)
      sig = smt::ite(ref == c.bvVal(id, 32), c.bvVal(signature, 32), sig);
    return sig;
  }

  std::optional<smt::Expr> indirectEvent(const smt::Expr& ref, const std::vector<smt::Expr>& args,
                                         const std::vector<ValType>& params,
                                         const std::vector<ValType>& results,
                                         std::uint32_t signature) {
    std::vector<smt::Expr> event_args{ref};
    event_args.insert(event_args.end(), args.begin(), args.end());
    std::vector<ValType> event_params{ValType::FuncRef};
    event_params.insert(event_params.end(), params.begin(), params.end());
    return event(static_cast<int>(signature), true, "call_indirect", event_args, event_params,
                 results, &module.unknownEffects());
  }

  // A table nothing writes, whose contents are its segments' image: the
  // callee is one of the functions of the right type in it, or a trap.
  std::optional<smt::Expr> callThroughFixedTable(BinaryenExpressionRef e, const TableInfo& table,
                                                 const smt::Expr& index,
                                                 const std::vector<smt::Expr>& args,
                                                 const std::vector<ValType>& params,
                                                 const std::vector<ValType>& results,
                                                 bool is_return) {
    std::vector<std::pair<std::uint32_t, const FunctionInfo*>> candidates;
    for (std::uint32_t slot = 0; slot < table.slots.size(); ++slot) {
      if (!table.slots[slot]) continue;
      const FunctionInfo* f = module.function(*table.slots[slot]);
      if (f && f->params == params && f->results == results && f->signature_supported) {
        candidates.push_back({slot, f});
      }
    }
    if (index.isNumeral()) {
      std::uint64_t k = 0;
      index.getUint64(k);
      auto it = std::find_if(candidates.begin(), candidates.end(),
                             [&](const auto& cand) { return cand.first == k; });
      if (it == candidates.end()) {
        trapIf(c.boolVal(true));
        return std::nullopt;
      }
      return afterCall(e, is_return, callFunction(it->second->name, args));
    }
    std::vector<smt::Expr> valid;
    for (const auto& cand : candidates) valid.push_back(index == c.bvVal(cand.first, 32));
    trapIf(notE(smt::mkOr(c, valid)));
    if (!live) return std::nullopt;
    if (candidates.size() <= 16) {
      const smt::Expr pc0 = pc;
      const State st0 = st;
      std::vector<Incoming> outs;
      for (std::size_t i = 0; i < candidates.size(); ++i) {
        st = st0;
        pc = andPc(pc0, valid[i]);
        live = true;
        std::optional<smt::Expr> r = callFunction(candidates[i].second->name, args);
        if (live) outs.push_back(Incoming{pc, st, valuesOf(r)});
      }
      return afterCall(e, is_return, join(outs));
    }
    auto key = resolver.indirectKey(side, params, results);
    if (!key) {
      // The sides' tables differ (a pass merged or dropped functions): the
      // callee is named by the reference its slot holds, as for a table
      // that is state, and equal references are equivalent functions.
      smt::Expr ref = c.bvVal(0, 32);
      for (const auto& [slot, f] : candidates) {
        ref = smt::ite(index == c.bvVal(slot, 32), c.bvVal(resolver.functionRef(side, f->name), 32),
                       ref);
      }
      return afterCall(
          e, is_return,
          indirectEvent(ref, args, params, results, resolver.signatureOf(params, results)));
    }
    std::vector<smt::Expr> event_args{index};
    event_args.insert(event_args.end(), args.begin(), args.end());
    std::vector<ValType> event_params{ValType::I32};
    event_params.insert(event_params.end(), params.begin(), params.end());
    return afterCall(e, is_return,
                     event(*key, true, "call_indirect", event_args, event_params, results,
                           &module.unknownEffects()));
  }

  // ---------------------------------------------------------------- entry

  SideOutcome run(const FunctionInfo& f, const std::vector<smt::Expr>& args) {
    if (!f.locals_supported || !f.signature_supported) {
      throw Unsupported(
          fmt::format("unsupported: types of {} function {}", sideName(side), f.name));
    }
    std::vector<smt::Expr> locals = args;
    for (std::size_t i = args.size(); i < f.locals.size(); ++i)
      locals.push_back(c.bvVal(0, f.local_bits[i]));
    st = env.initialState(std::move(locals));
    frames.push_back(Frame{&f, 0, {}, {}});
    std::optional<smt::Expr> v = eval(f.body());
    std::vector<Incoming> rets = std::move(frame().returns);
    if (live) rets.push_back(Incoming{pc, st, valuesOf(v)});
    std::uint64_t created = 0;
    if (!rets.empty()) {
      Incoming r = mergeIncoming(c, rets, &created);
      out.returned = r.pc;
      out.results = r.values;
    }
    for (const auto& t : traps) out.trapped = smt::mkOr(c, {out.trapped, t.pc});
    std::vector<Incoming> ends = rets;
    ends.insert(ends.end(), traps.begin(), traps.end());
    for (auto& in : ends) {
      in.values.clear();
      in.state.v.erase(in.state.v.begin() + layout.localsBegin(), in.state.v.end());
    }
    if (!ends.empty()) {
      out.final_state = mergeIncoming(c, ends, &created).state;
    } else {
      out.final_state = st;
      out.final_state.v.erase(out.final_state.v.begin() + layout.localsBegin(),
                              out.final_state.v.end());
    }
    smt.budget().charge(created);
    out.exceeded = smt::mkOr(c, exceeded);
    out.abstracted = smt::mkOr(c, abstracted);
    return std::move(out);
  }
};

Executor::Executor(Environment& env, const ModuleInfo& module, Side side, CallResolver& resolver,
                   ExecOptions options)
    : impl_(std::make_unique<Impl>(env, module, side, resolver, options)) {}

Executor::~Executor() = default;

SideOutcome Executor::run(const FunctionInfo& function, const std::vector<smt::Expr>& args) {
  return impl_->run(function, args);
}

}  // namespace loom::verify::sem
