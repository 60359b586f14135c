#include "src/verify/semantics/simd.hpp"

#include <fmt/format.h>

#include <unordered_map>
#include <vector>

#include "src/verify/smt/bitvector.hpp"

namespace loom::verify::sem {

namespace {

using smt::Expr;

// ---------------------------------------------------------------------------
// Lanes
// ---------------------------------------------------------------------------

std::vector<Expr> lanesOf(const Expr& v, unsigned bits) {
  std::vector<Expr> out;
  const unsigned n = v.sort().bvSize() / bits;
  out.reserve(n);
  for (unsigned i = 0; i < n; ++i) out.push_back(v.extract(i * bits + bits - 1, i * bits));
  return out;
}

// Lane 0 in the low bits.
Expr joinLanes(const std::vector<Expr>& lanes) {
  Expr r = lanes.back();
  for (std::size_t i = lanes.size() - 1; i-- > 0;) r = smt::concat(r, lanes[i]);
  return r;
}

std::uint64_t onesOf(unsigned bits) {
  return bits >= 64 ? ~0ULL : ((1ULL << bits) - 1);
}

Expr num(smt::Context& c, std::uint64_t v, unsigned bits) {
  return c.bvVal(static_cast<std::uint64_t>(v), bits);
}
Expr snum(smt::Context& c, std::int64_t v, unsigned bits) {
  return c.bvVal(static_cast<std::int64_t>(v), bits);
}

// All ones when b holds, zero otherwise.
Expr laneMask(const Expr& b, unsigned bits) {
  smt::Context& c = b.ctx();
  return smt::ite(b, num(c, onesOf(bits), bits), num(c, 0, bits));
}

// `wide` (a signed value) clamped to the signed or unsigned range of `bits`
// bits, then truncated to them.
Expr saturate(const Expr& wide, unsigned bits, bool to_signed) {
  smt::Context& c = wide.ctx();
  const unsigned w = wide.sort().bvSize();
  const std::int64_t lo = to_signed ? -(std::int64_t{1} << (bits - 1)) : 0;
  const std::int64_t hi =
      to_signed ? (std::int64_t{1} << (bits - 1)) - 1 : (std::int64_t{1} << bits) - 1;
  Expr lo_e = snum(c, lo, w), hi_e = snum(c, hi, w);
  return smt::ite(wide < lo_e, lo_e, smt::ite(wide > hi_e, hi_e, wide)).extract(bits - 1, 0);
}

Expr extend(const Expr& v, unsigned extra, bool is_signed) {
  return is_signed ? smt::sext(v, extra) : smt::zext(v, extra);
}

Expr scalarUnary(BinaryenOp op, const Expr& a, NanSource& nans) {
  auto r = applyUnary(op, a, nans);
  if (!r) throw std::logic_error("simd: scalar unary operator not modelled");
  return r->value;
}
Expr scalarBinary(BinaryenOp op, const Expr& a, const Expr& b, NanSource& nans) {
  auto r = applyBinary(op, a, b, nans);
  if (!r) throw std::logic_error("simd: scalar binary operator not modelled");
  return r->value;
}

// ---------------------------------------------------------------------------
// Operator tables
// ---------------------------------------------------------------------------

enum class UK {
  Splat,
  Not,
  AnyTrue,
  AllTrue,
  Bitmask,
  Popcnt,
  Abs,
  Neg,
  Scalar,      // the scalar operator on each lane
  ScalarLow,   // the scalar operator on the low two lanes, results twice as wide
  ScalarZero,  // the scalar operator on both 64-bit lanes, 32-bit results, high half zero
  ExtAddPairwise,
  Extend,
};

struct UnaryInfo {
  const char* name;
  UK kind;
  unsigned bits;  // the (input) lane width
  BinaryenOp scalar = 0;
  bool is_signed = false;
  bool high = false;
};

enum class BK {
  Cmp,
  FCmp,  // the scalar comparison on each lane, as a lane mask
  And,
  Or,
  Xor,
  AndNot,
  Add,
  Sub,
  Mul,
  AddSat,
  SubSat,
  Min,
  Max,
  AvgrU,
  Q15MulrSat,
  ExtMul,  // bits: the result lane width
  Dot,
  FScalar,  // the scalar operator on each lane
  PMin,
  PMax,
  Narrow,  // bits: the input lane width
  Swizzle,
};

enum class Cmp { Eq, Ne, LtS, LtU, GtS, GtU, LeS, LeU, GeS, GeU };

struct BinaryInfo {
  const char* name;
  BK kind;
  unsigned bits;
  BinaryenOp scalar = 0;
  bool is_signed = false;
  bool high = false;
  Cmp cmp = Cmp::Eq;
};

struct LaneInfo {
  const char* name;
  unsigned bits;
  bool is_signed = false;
};

enum class ShiftKind { Shl, ShrS, ShrU };
struct ShiftInfo {
  const char* name;
  unsigned bits;
  ShiftKind kind;
};

enum class LoadKind { Splat, Extend, Zero };
struct LoadInfo {
  const char* name;
  LoadKind kind;
  unsigned bytes;
  unsigned bits = 0;  // Extend: the input lane width
  bool is_signed = false;
};

struct LaneMemInfo {
  const char* name;
  unsigned bytes;
  bool store;
};

// Binaryen 108 numbers relaxed SIMD right after the last operator of each
// class its C API names (simd_semantics_test checks this against the parser).
constexpr const char* kRelaxedUnary[] = {
    "i32x4.relaxed_trunc_f32x4_s", "i32x4.relaxed_trunc_f32x4_u",
    "i32x4.relaxed_trunc_f64x2_s_zero", "i32x4.relaxed_trunc_f64x2_u_zero"};
constexpr const char* kRelaxedBinary[] = {"i8x16.relaxed_swizzle",   "f32x4.relaxed_min",
                                          "f32x4.relaxed_max",       "f64x2.relaxed_min",
                                          "f64x2.relaxed_max",       "i16x8.relaxed_q15mulr_s",
                                          "i16x8.dot_i8x16_i7x16_s", "i16x8.dot_i8x16_i7x16_u"};
constexpr const char* kRelaxedTernary[] = {
    "f32x4.relaxed_fma",          "f32x4.relaxed_fms", "f64x2.relaxed_fma",
    "f64x2.relaxed_fms",          "i8x16.laneselect",  "i16x8.laneselect",
    "i32x4.laneselect",           "i64x2.laneselect",  "i32x4.dot_i8x16_i7x16_add_s",
    "i32x4.dot_i8x16_i7x16_add_u"};

struct Tables {
  std::unordered_map<BinaryenOp, UnaryInfo> unary;
  std::unordered_map<BinaryenOp, BinaryInfo> binary;
  std::unordered_map<BinaryenOp, LaneInfo> extract;
  std::unordered_map<BinaryenOp, LaneInfo> replace;
  std::unordered_map<BinaryenOp, ShiftInfo> shift;
  std::unordered_map<BinaryenOp, LoadInfo> load;
  std::unordered_map<BinaryenOp, LaneMemInfo> lane_mem;
  std::unordered_map<BinaryenOp, const char*> relaxed_unary, relaxed_binary, relaxed_ternary;

  Tables() {
    auto u = [&](BinaryenOp op, UnaryInfo info) { unary.emplace(op, info); };
    auto b = [&](BinaryenOp op, BinaryInfo info) { binary.emplace(op, info); };

    // Splats, bitwise and boolean reductions.
    u(BinaryenSplatVecI8x16(), {"i8x16.splat", UK::Splat, 8});
    u(BinaryenSplatVecI16x8(), {"i16x8.splat", UK::Splat, 16});
    u(BinaryenSplatVecI32x4(), {"i32x4.splat", UK::Splat, 32});
    u(BinaryenSplatVecI64x2(), {"i64x2.splat", UK::Splat, 64});
    u(BinaryenSplatVecF32x4(), {"f32x4.splat", UK::Splat, 32});
    u(BinaryenSplatVecF64x2(), {"f64x2.splat", UK::Splat, 64});
    u(BinaryenNotVec128(), {"v128.not", UK::Not, 128});
    u(BinaryenAnyTrueVec128(), {"v128.any_true", UK::AnyTrue, 128});

    // Integer lanes.
    u(BinaryenPopcntVecI8x16(), {"i8x16.popcnt", UK::Popcnt, 8});
    u(BinaryenAbsVecI8x16(), {"i8x16.abs", UK::Abs, 8});
    u(BinaryenAbsVecI16x8(), {"i16x8.abs", UK::Abs, 16});
    u(BinaryenAbsVecI32x4(), {"i32x4.abs", UK::Abs, 32});
    u(BinaryenAbsVecI64x2(), {"i64x2.abs", UK::Abs, 64});
    u(BinaryenNegVecI8x16(), {"i8x16.neg", UK::Neg, 8});
    u(BinaryenNegVecI16x8(), {"i16x8.neg", UK::Neg, 16});
    u(BinaryenNegVecI32x4(), {"i32x4.neg", UK::Neg, 32});
    u(BinaryenNegVecI64x2(), {"i64x2.neg", UK::Neg, 64});
    u(BinaryenAllTrueVecI8x16(), {"i8x16.all_true", UK::AllTrue, 8});
    u(BinaryenAllTrueVecI16x8(), {"i16x8.all_true", UK::AllTrue, 16});
    u(BinaryenAllTrueVecI32x4(), {"i32x4.all_true", UK::AllTrue, 32});
    u(BinaryenAllTrueVecI64x2(), {"i64x2.all_true", UK::AllTrue, 64});
    u(BinaryenBitmaskVecI8x16(), {"i8x16.bitmask", UK::Bitmask, 8});
    u(BinaryenBitmaskVecI16x8(), {"i16x8.bitmask", UK::Bitmask, 16});
    u(BinaryenBitmaskVecI32x4(), {"i32x4.bitmask", UK::Bitmask, 32});
    u(BinaryenBitmaskVecI64x2(), {"i64x2.bitmask", UK::Bitmask, 64});
    u(BinaryenExtAddPairwiseSVecI8x16ToI16x8(),
      {"i16x8.extadd_pairwise_i8x16_s", UK::ExtAddPairwise, 8, 0, true});
    u(BinaryenExtAddPairwiseUVecI8x16ToI16x8(),
      {"i16x8.extadd_pairwise_i8x16_u", UK::ExtAddPairwise, 8, 0, false});
    u(BinaryenExtAddPairwiseSVecI16x8ToI32x4(),
      {"i32x4.extadd_pairwise_i16x8_s", UK::ExtAddPairwise, 16, 0, true});
    u(BinaryenExtAddPairwiseUVecI16x8ToI32x4(),
      {"i32x4.extadd_pairwise_i16x8_u", UK::ExtAddPairwise, 16, 0, false});
    u(BinaryenExtendLowSVecI8x16ToVecI16x8(),
      {"i16x8.extend_low_i8x16_s", UK::Extend, 8, 0, true, false});
    u(BinaryenExtendHighSVecI8x16ToVecI16x8(),
      {"i16x8.extend_high_i8x16_s", UK::Extend, 8, 0, true, true});
    u(BinaryenExtendLowUVecI8x16ToVecI16x8(),
      {"i16x8.extend_low_i8x16_u", UK::Extend, 8, 0, false, false});
    u(BinaryenExtendHighUVecI8x16ToVecI16x8(),
      {"i16x8.extend_high_i8x16_u", UK::Extend, 8, 0, false, true});
    u(BinaryenExtendLowSVecI16x8ToVecI32x4(),
      {"i32x4.extend_low_i16x8_s", UK::Extend, 16, 0, true, false});
    u(BinaryenExtendHighSVecI16x8ToVecI32x4(),
      {"i32x4.extend_high_i16x8_s", UK::Extend, 16, 0, true, true});
    u(BinaryenExtendLowUVecI16x8ToVecI32x4(),
      {"i32x4.extend_low_i16x8_u", UK::Extend, 16, 0, false, false});
    u(BinaryenExtendHighUVecI16x8ToVecI32x4(),
      {"i32x4.extend_high_i16x8_u", UK::Extend, 16, 0, false, true});
    u(BinaryenExtendLowSVecI32x4ToVecI64x2(),
      {"i64x2.extend_low_i32x4_s", UK::Extend, 32, 0, true, false});
    u(BinaryenExtendHighSVecI32x4ToVecI64x2(),
      {"i64x2.extend_high_i32x4_s", UK::Extend, 32, 0, true, true});
    u(BinaryenExtendLowUVecI32x4ToVecI64x2(),
      {"i64x2.extend_low_i32x4_u", UK::Extend, 32, 0, false, false});
    u(BinaryenExtendHighUVecI32x4ToVecI64x2(),
      {"i64x2.extend_high_i32x4_u", UK::Extend, 32, 0, false, true});

    // Float lanes: the scalar operator on each lane.
    u(BinaryenAbsVecF32x4(), {"f32x4.abs", UK::Scalar, 32, BinaryenAbsFloat32()});
    u(BinaryenNegVecF32x4(), {"f32x4.neg", UK::Scalar, 32, BinaryenNegFloat32()});
    u(BinaryenSqrtVecF32x4(), {"f32x4.sqrt", UK::Scalar, 32, BinaryenSqrtFloat32()});
    u(BinaryenCeilVecF32x4(), {"f32x4.ceil", UK::Scalar, 32, BinaryenCeilFloat32()});
    u(BinaryenFloorVecF32x4(), {"f32x4.floor", UK::Scalar, 32, BinaryenFloorFloat32()});
    u(BinaryenTruncVecF32x4(), {"f32x4.trunc", UK::Scalar, 32, BinaryenTruncFloat32()});
    u(BinaryenNearestVecF32x4(), {"f32x4.nearest", UK::Scalar, 32, BinaryenNearestFloat32()});
    u(BinaryenAbsVecF64x2(), {"f64x2.abs", UK::Scalar, 64, BinaryenAbsFloat64()});
    u(BinaryenNegVecF64x2(), {"f64x2.neg", UK::Scalar, 64, BinaryenNegFloat64()});
    u(BinaryenSqrtVecF64x2(), {"f64x2.sqrt", UK::Scalar, 64, BinaryenSqrtFloat64()});
    u(BinaryenCeilVecF64x2(), {"f64x2.ceil", UK::Scalar, 64, BinaryenCeilFloat64()});
    u(BinaryenFloorVecF64x2(), {"f64x2.floor", UK::Scalar, 64, BinaryenFloorFloat64()});
    u(BinaryenTruncVecF64x2(), {"f64x2.trunc", UK::Scalar, 64, BinaryenTruncFloat64()});
    u(BinaryenNearestVecF64x2(), {"f64x2.nearest", UK::Scalar, 64, BinaryenNearestFloat64()});

    // Conversions.
    u(BinaryenTruncSatSVecF32x4ToVecI32x4(),
      {"i32x4.trunc_sat_f32x4_s", UK::Scalar, 32, BinaryenTruncSatSFloat32ToInt32()});
    u(BinaryenTruncSatUVecF32x4ToVecI32x4(),
      {"i32x4.trunc_sat_f32x4_u", UK::Scalar, 32, BinaryenTruncSatUFloat32ToInt32()});
    u(BinaryenConvertSVecI32x4ToVecF32x4(),
      {"f32x4.convert_i32x4_s", UK::Scalar, 32, BinaryenConvertSInt32ToFloat32()});
    u(BinaryenConvertUVecI32x4ToVecF32x4(),
      {"f32x4.convert_i32x4_u", UK::Scalar, 32, BinaryenConvertUInt32ToFloat32()});
    u(BinaryenConvertLowSVecI32x4ToVecF64x2(),
      {"f64x2.convert_low_i32x4_s", UK::ScalarLow, 32, BinaryenConvertSInt32ToFloat64()});
    u(BinaryenConvertLowUVecI32x4ToVecF64x2(),
      {"f64x2.convert_low_i32x4_u", UK::ScalarLow, 32, BinaryenConvertUInt32ToFloat64()});
    u(BinaryenPromoteLowVecF32x4ToVecF64x2(),
      {"f64x2.promote_low_f32x4", UK::ScalarLow, 32, BinaryenPromoteFloat32()});
    u(BinaryenTruncSatZeroSVecF64x2ToVecI32x4(),
      {"i32x4.trunc_sat_f64x2_s_zero", UK::ScalarZero, 64, BinaryenTruncSatSFloat64ToInt32()});
    u(BinaryenTruncSatZeroUVecF64x2ToVecI32x4(),
      {"i32x4.trunc_sat_f64x2_u_zero", UK::ScalarZero, 64, BinaryenTruncSatUFloat64ToInt32()});
    u(BinaryenDemoteZeroVecF64x2ToVecF32x4(),
      {"f32x4.demote_f64x2_zero", UK::ScalarZero, 64, BinaryenDemoteFloat64()});

    // Integer comparisons.
    auto cmp = [&](BinaryenOp op, const char* name, unsigned bits, Cmp c) {
      BinaryInfo info{name, BK::Cmp, bits};
      info.cmp = c;
      b(op, info);
    };
    cmp(BinaryenEqVecI8x16(), "i8x16.eq", 8, Cmp::Eq);
    cmp(BinaryenNeVecI8x16(), "i8x16.ne", 8, Cmp::Ne);
    cmp(BinaryenLtSVecI8x16(), "i8x16.lt_s", 8, Cmp::LtS);
    cmp(BinaryenLtUVecI8x16(), "i8x16.lt_u", 8, Cmp::LtU);
    cmp(BinaryenGtSVecI8x16(), "i8x16.gt_s", 8, Cmp::GtS);
    cmp(BinaryenGtUVecI8x16(), "i8x16.gt_u", 8, Cmp::GtU);
    cmp(BinaryenLeSVecI8x16(), "i8x16.le_s", 8, Cmp::LeS);
    cmp(BinaryenLeUVecI8x16(), "i8x16.le_u", 8, Cmp::LeU);
    cmp(BinaryenGeSVecI8x16(), "i8x16.ge_s", 8, Cmp::GeS);
    cmp(BinaryenGeUVecI8x16(), "i8x16.ge_u", 8, Cmp::GeU);
    cmp(BinaryenEqVecI16x8(), "i16x8.eq", 16, Cmp::Eq);
    cmp(BinaryenNeVecI16x8(), "i16x8.ne", 16, Cmp::Ne);
    cmp(BinaryenLtSVecI16x8(), "i16x8.lt_s", 16, Cmp::LtS);
    cmp(BinaryenLtUVecI16x8(), "i16x8.lt_u", 16, Cmp::LtU);
    cmp(BinaryenGtSVecI16x8(), "i16x8.gt_s", 16, Cmp::GtS);
    cmp(BinaryenGtUVecI16x8(), "i16x8.gt_u", 16, Cmp::GtU);
    cmp(BinaryenLeSVecI16x8(), "i16x8.le_s", 16, Cmp::LeS);
    cmp(BinaryenLeUVecI16x8(), "i16x8.le_u", 16, Cmp::LeU);
    cmp(BinaryenGeSVecI16x8(), "i16x8.ge_s", 16, Cmp::GeS);
    cmp(BinaryenGeUVecI16x8(), "i16x8.ge_u", 16, Cmp::GeU);
    cmp(BinaryenEqVecI32x4(), "i32x4.eq", 32, Cmp::Eq);
    cmp(BinaryenNeVecI32x4(), "i32x4.ne", 32, Cmp::Ne);
    cmp(BinaryenLtSVecI32x4(), "i32x4.lt_s", 32, Cmp::LtS);
    cmp(BinaryenLtUVecI32x4(), "i32x4.lt_u", 32, Cmp::LtU);
    cmp(BinaryenGtSVecI32x4(), "i32x4.gt_s", 32, Cmp::GtS);
    cmp(BinaryenGtUVecI32x4(), "i32x4.gt_u", 32, Cmp::GtU);
    cmp(BinaryenLeSVecI32x4(), "i32x4.le_s", 32, Cmp::LeS);
    cmp(BinaryenLeUVecI32x4(), "i32x4.le_u", 32, Cmp::LeU);
    cmp(BinaryenGeSVecI32x4(), "i32x4.ge_s", 32, Cmp::GeS);
    cmp(BinaryenGeUVecI32x4(), "i32x4.ge_u", 32, Cmp::GeU);
    cmp(BinaryenEqVecI64x2(), "i64x2.eq", 64, Cmp::Eq);
    cmp(BinaryenNeVecI64x2(), "i64x2.ne", 64, Cmp::Ne);
    cmp(BinaryenLtSVecI64x2(), "i64x2.lt_s", 64, Cmp::LtS);
    cmp(BinaryenGtSVecI64x2(), "i64x2.gt_s", 64, Cmp::GtS);
    cmp(BinaryenLeSVecI64x2(), "i64x2.le_s", 64, Cmp::LeS);
    cmp(BinaryenGeSVecI64x2(), "i64x2.ge_s", 64, Cmp::GeS);

    // Float comparisons.
    b(BinaryenEqVecF32x4(), {"f32x4.eq", BK::FCmp, 32, BinaryenEqFloat32()});
    b(BinaryenNeVecF32x4(), {"f32x4.ne", BK::FCmp, 32, BinaryenNeFloat32()});
    b(BinaryenLtVecF32x4(), {"f32x4.lt", BK::FCmp, 32, BinaryenLtFloat32()});
    b(BinaryenGtVecF32x4(), {"f32x4.gt", BK::FCmp, 32, BinaryenGtFloat32()});
    b(BinaryenLeVecF32x4(), {"f32x4.le", BK::FCmp, 32, BinaryenLeFloat32()});
    b(BinaryenGeVecF32x4(), {"f32x4.ge", BK::FCmp, 32, BinaryenGeFloat32()});
    b(BinaryenEqVecF64x2(), {"f64x2.eq", BK::FCmp, 64, BinaryenEqFloat64()});
    b(BinaryenNeVecF64x2(), {"f64x2.ne", BK::FCmp, 64, BinaryenNeFloat64()});
    b(BinaryenLtVecF64x2(), {"f64x2.lt", BK::FCmp, 64, BinaryenLtFloat64()});
    b(BinaryenGtVecF64x2(), {"f64x2.gt", BK::FCmp, 64, BinaryenGtFloat64()});
    b(BinaryenLeVecF64x2(), {"f64x2.le", BK::FCmp, 64, BinaryenLeFloat64()});
    b(BinaryenGeVecF64x2(), {"f64x2.ge", BK::FCmp, 64, BinaryenGeFloat64()});

    // Bitwise.
    b(BinaryenAndVec128(), {"v128.and", BK::And, 128});
    b(BinaryenOrVec128(), {"v128.or", BK::Or, 128});
    b(BinaryenXorVec128(), {"v128.xor", BK::Xor, 128});
    b(BinaryenAndNotVec128(), {"v128.andnot", BK::AndNot, 128});

    // Integer arithmetic.
    b(BinaryenAddVecI8x16(), {"i8x16.add", BK::Add, 8});
    b(BinaryenAddSatSVecI8x16(), {"i8x16.add_sat_s", BK::AddSat, 8, 0, true});
    b(BinaryenAddSatUVecI8x16(), {"i8x16.add_sat_u", BK::AddSat, 8, 0, false});
    b(BinaryenSubVecI8x16(), {"i8x16.sub", BK::Sub, 8});
    b(BinaryenSubSatSVecI8x16(), {"i8x16.sub_sat_s", BK::SubSat, 8, 0, true});
    b(BinaryenSubSatUVecI8x16(), {"i8x16.sub_sat_u", BK::SubSat, 8, 0, false});
    b(BinaryenMinSVecI8x16(), {"i8x16.min_s", BK::Min, 8, 0, true});
    b(BinaryenMinUVecI8x16(), {"i8x16.min_u", BK::Min, 8, 0, false});
    b(BinaryenMaxSVecI8x16(), {"i8x16.max_s", BK::Max, 8, 0, true});
    b(BinaryenMaxUVecI8x16(), {"i8x16.max_u", BK::Max, 8, 0, false});
    b(BinaryenAvgrUVecI8x16(), {"i8x16.avgr_u", BK::AvgrU, 8});
    b(BinaryenAddVecI16x8(), {"i16x8.add", BK::Add, 16});
    b(BinaryenAddSatSVecI16x8(), {"i16x8.add_sat_s", BK::AddSat, 16, 0, true});
    b(BinaryenAddSatUVecI16x8(), {"i16x8.add_sat_u", BK::AddSat, 16, 0, false});
    b(BinaryenSubVecI16x8(), {"i16x8.sub", BK::Sub, 16});
    b(BinaryenSubSatSVecI16x8(), {"i16x8.sub_sat_s", BK::SubSat, 16, 0, true});
    b(BinaryenSubSatUVecI16x8(), {"i16x8.sub_sat_u", BK::SubSat, 16, 0, false});
    b(BinaryenMulVecI16x8(), {"i16x8.mul", BK::Mul, 16});
    b(BinaryenMinSVecI16x8(), {"i16x8.min_s", BK::Min, 16, 0, true});
    b(BinaryenMinUVecI16x8(), {"i16x8.min_u", BK::Min, 16, 0, false});
    b(BinaryenMaxSVecI16x8(), {"i16x8.max_s", BK::Max, 16, 0, true});
    b(BinaryenMaxUVecI16x8(), {"i16x8.max_u", BK::Max, 16, 0, false});
    b(BinaryenAvgrUVecI16x8(), {"i16x8.avgr_u", BK::AvgrU, 16});
    b(BinaryenQ15MulrSatSVecI16x8(), {"i16x8.q15mulr_sat_s", BK::Q15MulrSat, 16});
    b(BinaryenExtMulLowSVecI16x8(), {"i16x8.extmul_low_i8x16_s", BK::ExtMul, 16, 0, true, false});
    b(BinaryenExtMulHighSVecI16x8(), {"i16x8.extmul_high_i8x16_s", BK::ExtMul, 16, 0, true, true});
    b(BinaryenExtMulLowUVecI16x8(), {"i16x8.extmul_low_i8x16_u", BK::ExtMul, 16, 0, false, false});
    b(BinaryenExtMulHighUVecI16x8(), {"i16x8.extmul_high_i8x16_u", BK::ExtMul, 16, 0, false, true});
    b(BinaryenAddVecI32x4(), {"i32x4.add", BK::Add, 32});
    b(BinaryenSubVecI32x4(), {"i32x4.sub", BK::Sub, 32});
    b(BinaryenMulVecI32x4(), {"i32x4.mul", BK::Mul, 32});
    b(BinaryenMinSVecI32x4(), {"i32x4.min_s", BK::Min, 32, 0, true});
    b(BinaryenMinUVecI32x4(), {"i32x4.min_u", BK::Min, 32, 0, false});
    b(BinaryenMaxSVecI32x4(), {"i32x4.max_s", BK::Max, 32, 0, true});
    b(BinaryenMaxUVecI32x4(), {"i32x4.max_u", BK::Max, 32, 0, false});
    b(BinaryenDotSVecI16x8ToVecI32x4(), {"i32x4.dot_i16x8_s", BK::Dot, 32});
    b(BinaryenExtMulLowSVecI32x4(), {"i32x4.extmul_low_i16x8_s", BK::ExtMul, 32, 0, true, false});
    b(BinaryenExtMulHighSVecI32x4(), {"i32x4.extmul_high_i16x8_s", BK::ExtMul, 32, 0, true, true});
    b(BinaryenExtMulLowUVecI32x4(), {"i32x4.extmul_low_i16x8_u", BK::ExtMul, 32, 0, false, false});
    b(BinaryenExtMulHighUVecI32x4(), {"i32x4.extmul_high_i16x8_u", BK::ExtMul, 32, 0, false, true});
    b(BinaryenAddVecI64x2(), {"i64x2.add", BK::Add, 64});
    b(BinaryenSubVecI64x2(), {"i64x2.sub", BK::Sub, 64});
    b(BinaryenMulVecI64x2(), {"i64x2.mul", BK::Mul, 64});
    b(BinaryenExtMulLowSVecI64x2(), {"i64x2.extmul_low_i32x4_s", BK::ExtMul, 64, 0, true, false});
    b(BinaryenExtMulHighSVecI64x2(), {"i64x2.extmul_high_i32x4_s", BK::ExtMul, 64, 0, true, true});
    b(BinaryenExtMulLowUVecI64x2(), {"i64x2.extmul_low_i32x4_u", BK::ExtMul, 64, 0, false, false});
    b(BinaryenExtMulHighUVecI64x2(), {"i64x2.extmul_high_i32x4_u", BK::ExtMul, 64, 0, false, true});
    b(BinaryenNarrowSVecI16x8ToVecI8x16(), {"i8x16.narrow_i16x8_s", BK::Narrow, 16, 0, true});
    b(BinaryenNarrowUVecI16x8ToVecI8x16(), {"i8x16.narrow_i16x8_u", BK::Narrow, 16, 0, false});
    b(BinaryenNarrowSVecI32x4ToVecI16x8(), {"i16x8.narrow_i32x4_s", BK::Narrow, 32, 0, true});
    b(BinaryenNarrowUVecI32x4ToVecI16x8(), {"i16x8.narrow_i32x4_u", BK::Narrow, 32, 0, false});
    b(BinaryenSwizzleVecI8x16(), {"i8x16.swizzle", BK::Swizzle, 8});

    // Float arithmetic.
    b(BinaryenAddVecF32x4(), {"f32x4.add", BK::FScalar, 32, BinaryenAddFloat32()});
    b(BinaryenSubVecF32x4(), {"f32x4.sub", BK::FScalar, 32, BinaryenSubFloat32()});
    b(BinaryenMulVecF32x4(), {"f32x4.mul", BK::FScalar, 32, BinaryenMulFloat32()});
    b(BinaryenDivVecF32x4(), {"f32x4.div", BK::FScalar, 32, BinaryenDivFloat32()});
    b(BinaryenMinVecF32x4(), {"f32x4.min", BK::FScalar, 32, BinaryenMinFloat32()});
    b(BinaryenMaxVecF32x4(), {"f32x4.max", BK::FScalar, 32, BinaryenMaxFloat32()});
    b(BinaryenPMinVecF32x4(), {"f32x4.pmin", BK::PMin, 32, BinaryenLtFloat32()});
    b(BinaryenPMaxVecF32x4(), {"f32x4.pmax", BK::PMax, 32, BinaryenLtFloat32()});
    b(BinaryenAddVecF64x2(), {"f64x2.add", BK::FScalar, 64, BinaryenAddFloat64()});
    b(BinaryenSubVecF64x2(), {"f64x2.sub", BK::FScalar, 64, BinaryenSubFloat64()});
    b(BinaryenMulVecF64x2(), {"f64x2.mul", BK::FScalar, 64, BinaryenMulFloat64()});
    b(BinaryenDivVecF64x2(), {"f64x2.div", BK::FScalar, 64, BinaryenDivFloat64()});
    b(BinaryenMinVecF64x2(), {"f64x2.min", BK::FScalar, 64, BinaryenMinFloat64()});
    b(BinaryenMaxVecF64x2(), {"f64x2.max", BK::FScalar, 64, BinaryenMaxFloat64()});
    b(BinaryenPMinVecF64x2(), {"f64x2.pmin", BK::PMin, 64, BinaryenLtFloat64()});
    b(BinaryenPMaxVecF64x2(), {"f64x2.pmax", BK::PMax, 64, BinaryenLtFloat64()});

    // Lanes.
    extract.emplace(BinaryenExtractLaneSVecI8x16(), LaneInfo{"i8x16.extract_lane_s", 8, true});
    extract.emplace(BinaryenExtractLaneUVecI8x16(), LaneInfo{"i8x16.extract_lane_u", 8, false});
    extract.emplace(BinaryenExtractLaneSVecI16x8(), LaneInfo{"i16x8.extract_lane_s", 16, true});
    extract.emplace(BinaryenExtractLaneUVecI16x8(), LaneInfo{"i16x8.extract_lane_u", 16, false});
    extract.emplace(BinaryenExtractLaneVecI32x4(), LaneInfo{"i32x4.extract_lane", 32});
    extract.emplace(BinaryenExtractLaneVecI64x2(), LaneInfo{"i64x2.extract_lane", 64});
    extract.emplace(BinaryenExtractLaneVecF32x4(), LaneInfo{"f32x4.extract_lane", 32});
    extract.emplace(BinaryenExtractLaneVecF64x2(), LaneInfo{"f64x2.extract_lane", 64});
    replace.emplace(BinaryenReplaceLaneVecI8x16(), LaneInfo{"i8x16.replace_lane", 8});
    replace.emplace(BinaryenReplaceLaneVecI16x8(), LaneInfo{"i16x8.replace_lane", 16});
    replace.emplace(BinaryenReplaceLaneVecI32x4(), LaneInfo{"i32x4.replace_lane", 32});
    replace.emplace(BinaryenReplaceLaneVecI64x2(), LaneInfo{"i64x2.replace_lane", 64});
    replace.emplace(BinaryenReplaceLaneVecF32x4(), LaneInfo{"f32x4.replace_lane", 32});
    replace.emplace(BinaryenReplaceLaneVecF64x2(), LaneInfo{"f64x2.replace_lane", 64});

    // Shifts.
    shift.emplace(BinaryenShlVecI8x16(), ShiftInfo{"i8x16.shl", 8, ShiftKind::Shl});
    shift.emplace(BinaryenShrSVecI8x16(), ShiftInfo{"i8x16.shr_s", 8, ShiftKind::ShrS});
    shift.emplace(BinaryenShrUVecI8x16(), ShiftInfo{"i8x16.shr_u", 8, ShiftKind::ShrU});
    shift.emplace(BinaryenShlVecI16x8(), ShiftInfo{"i16x8.shl", 16, ShiftKind::Shl});
    shift.emplace(BinaryenShrSVecI16x8(), ShiftInfo{"i16x8.shr_s", 16, ShiftKind::ShrS});
    shift.emplace(BinaryenShrUVecI16x8(), ShiftInfo{"i16x8.shr_u", 16, ShiftKind::ShrU});
    shift.emplace(BinaryenShlVecI32x4(), ShiftInfo{"i32x4.shl", 32, ShiftKind::Shl});
    shift.emplace(BinaryenShrSVecI32x4(), ShiftInfo{"i32x4.shr_s", 32, ShiftKind::ShrS});
    shift.emplace(BinaryenShrUVecI32x4(), ShiftInfo{"i32x4.shr_u", 32, ShiftKind::ShrU});
    shift.emplace(BinaryenShlVecI64x2(), ShiftInfo{"i64x2.shl", 64, ShiftKind::Shl});
    shift.emplace(BinaryenShrSVecI64x2(), ShiftInfo{"i64x2.shr_s", 64, ShiftKind::ShrS});
    shift.emplace(BinaryenShrUVecI64x2(), ShiftInfo{"i64x2.shr_u", 64, ShiftKind::ShrU});

    // Loads.
    load.emplace(BinaryenLoad8SplatVec128(), LoadInfo{"v128.load8_splat", LoadKind::Splat, 1});
    load.emplace(BinaryenLoad16SplatVec128(), LoadInfo{"v128.load16_splat", LoadKind::Splat, 2});
    load.emplace(BinaryenLoad32SplatVec128(), LoadInfo{"v128.load32_splat", LoadKind::Splat, 4});
    load.emplace(BinaryenLoad64SplatVec128(), LoadInfo{"v128.load64_splat", LoadKind::Splat, 8});
    load.emplace(BinaryenLoad8x8SVec128(),
                 LoadInfo{"v128.load8x8_s", LoadKind::Extend, 8, 8, true});
    load.emplace(BinaryenLoad8x8UVec128(),
                 LoadInfo{"v128.load8x8_u", LoadKind::Extend, 8, 8, false});
    load.emplace(BinaryenLoad16x4SVec128(),
                 LoadInfo{"v128.load16x4_s", LoadKind::Extend, 8, 16, true});
    load.emplace(BinaryenLoad16x4UVec128(),
                 LoadInfo{"v128.load16x4_u", LoadKind::Extend, 8, 16, false});
    load.emplace(BinaryenLoad32x2SVec128(),
                 LoadInfo{"v128.load32x2_s", LoadKind::Extend, 8, 32, true});
    load.emplace(BinaryenLoad32x2UVec128(),
                 LoadInfo{"v128.load32x2_u", LoadKind::Extend, 8, 32, false});
    load.emplace(BinaryenLoad32ZeroVec128(), LoadInfo{"v128.load32_zero", LoadKind::Zero, 4});
    load.emplace(BinaryenLoad64ZeroVec128(), LoadInfo{"v128.load64_zero", LoadKind::Zero, 8});

    lane_mem.emplace(BinaryenLoad8LaneVec128(), LaneMemInfo{"v128.load8_lane", 1, false});
    lane_mem.emplace(BinaryenLoad16LaneVec128(), LaneMemInfo{"v128.load16_lane", 2, false});
    lane_mem.emplace(BinaryenLoad32LaneVec128(), LaneMemInfo{"v128.load32_lane", 4, false});
    lane_mem.emplace(BinaryenLoad64LaneVec128(), LaneMemInfo{"v128.load64_lane", 8, false});
    lane_mem.emplace(BinaryenStore8LaneVec128(), LaneMemInfo{"v128.store8_lane", 1, true});
    lane_mem.emplace(BinaryenStore16LaneVec128(), LaneMemInfo{"v128.store16_lane", 2, true});
    lane_mem.emplace(BinaryenStore32LaneVec128(), LaneMemInfo{"v128.store32_lane", 4, true});
    lane_mem.emplace(BinaryenStore64LaneVec128(), LaneMemInfo{"v128.store64_lane", 8, true});

    // Relaxed SIMD (Binaryen 108: right after the last named operator).
    BinaryenOp next = BinaryenPromoteLowVecF32x4ToVecF64x2() + 1;
    for (const char* name : kRelaxedUnary) relaxed_unary.emplace(next++, name);
    next = BinaryenSwizzleVecI8x16() + 1;
    for (const char* name : kRelaxedBinary) relaxed_binary.emplace(next++, name);
    next = BinaryenBitselectVec128() + 1;
    for (const char* name : kRelaxedTernary) relaxed_ternary.emplace(next++, name);
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

Expr compare(Cmp cmp, const Expr& x, const Expr& y) {
  switch (cmp) {
    case Cmp::Eq:
      return x == y;
    case Cmp::Ne:
      return x != y;
    case Cmp::LtS:
      return x < y;
    case Cmp::LtU:
      return smt::ult(x, y);
    case Cmp::GtS:
      return x > y;
    case Cmp::GtU:
      return smt::ugt(x, y);
    case Cmp::LeS:
      return x <= y;
    case Cmp::LeU:
      return smt::ule(x, y);
    case Cmp::GeS:
      return x >= y;
    case Cmp::GeU:
      return smt::uge(x, y);
  }
  return x == y;
}

}  // namespace

std::optional<OpResult> applySimdUnary(BinaryenOp op, const smt::Expr& a, NanSource& nans) {
  const auto& t = tables();
  auto it = t.unary.find(op);
  if (it == t.unary.end()) return std::nullopt;
  const UnaryInfo& info = it->second;
  smt::Context& c = a.ctx();
  const unsigned bits = info.bits;
  auto pure = [](Expr v) { return OpResult{std::move(v), std::nullopt}; };
  auto map = [&](auto f) {
    std::vector<Expr> lanes = lanesOf(a, bits);
    for (auto& lane : lanes) lane = f(lane);
    return pure(joinLanes(lanes));
  };
  switch (info.kind) {
    case UK::Splat: {
      Expr lane = smt::resize(a, bits, false);
      return pure(joinLanes(std::vector<Expr>(128 / bits, lane)));
    }
    case UK::Not:
      return pure(~a);
    case UK::AnyTrue:
      return pure(smt::boolToBv(a != num(c, 0, 128), 32));
    case UK::AllTrue: {
      Expr all = c.boolVal(true);
      for (const Expr& lane : lanesOf(a, bits)) all = all && (lane != num(c, 0, bits));
      return pure(smt::boolToBv(all, 32));
    }
    case UK::Bitmask: {
      std::vector<Expr> lanes = lanesOf(a, bits);
      std::vector<Expr> signs;
      for (const Expr& lane : lanes) signs.push_back(lane.extract(bits - 1, bits - 1));
      return pure(smt::zext(joinLanes(signs), 32 - static_cast<unsigned>(signs.size())));
    }
    case UK::Popcnt:
      return map([](const Expr& x) { return smt::popCount(x); });
    case UK::Abs:
      return map([&](const Expr& x) { return smt::ite(x < num(c, 0, bits), -x, x); });
    case UK::Neg:
      return map([](const Expr& x) { return -x; });
    case UK::Scalar:
      return map([&](const Expr& x) { return scalarUnary(info.scalar, x, nans); });
    case UK::ScalarLow: {
      std::vector<Expr> lanes = lanesOf(a, bits);
      return pure(joinLanes(
          {scalarUnary(info.scalar, lanes[0], nans), scalarUnary(info.scalar, lanes[1], nans)}));
    }
    case UK::ScalarZero: {
      std::vector<Expr> lanes = lanesOf(a, 64);
      Expr zero = num(c, 0, 32);
      return pure(joinLanes({scalarUnary(info.scalar, lanes[0], nans),
                             scalarUnary(info.scalar, lanes[1], nans), zero, zero}));
    }
    case UK::ExtAddPairwise: {
      std::vector<Expr> lanes = lanesOf(a, bits);
      std::vector<Expr> out;
      for (std::size_t i = 0; i + 1 < lanes.size(); i += 2) {
        out.push_back(extend(lanes[i], bits, info.is_signed) +
                      extend(lanes[i + 1], bits, info.is_signed));
      }
      return pure(joinLanes(out));
    }
    case UK::Extend: {
      std::vector<Expr> lanes = lanesOf(a, bits);
      const std::size_t half = lanes.size() / 2, from = info.high ? half : 0;
      std::vector<Expr> out;
      for (std::size_t i = 0; i < half; ++i) {
        out.push_back(extend(lanes[from + i], bits, info.is_signed));
      }
      return pure(joinLanes(out));
    }
  }
  return std::nullopt;
}

std::optional<OpResult> applySimdBinary(BinaryenOp op, const smt::Expr& a_in, const smt::Expr& b_in,
                                        NanSource& nans) {
  const auto& t = tables();
  auto it = t.binary.find(op);
  if (it == t.binary.end()) return std::nullopt;
  const BinaryInfo& info = it->second;
  smt::Context& c = a_in.ctx();
  const unsigned bits = info.bits;
  const bool sg = info.is_signed;
  auto pure = [](Expr v) { return OpResult{std::move(v), std::nullopt}; };
  // Commutative operators get their operands in one canonical order (as the
  // scalar ones do), so that an optimizer's operand swap gives the same term.
  const bool commutative =
      info.kind == BK::And || info.kind == BK::Or || info.kind == BK::Xor || info.kind == BK::Add ||
      info.kind == BK::Mul || info.kind == BK::AddSat || info.kind == BK::Min ||
      info.kind == BK::Max || info.kind == BK::AvgrU || info.kind == BK::Q15MulrSat ||
      info.kind == BK::ExtMul || info.kind == BK::Dot ||
      (info.kind == BK::Cmp && (info.cmp == Cmp::Eq || info.cmp == Cmp::Ne));
  const bool swap = commutative && b_in.id() < a_in.id();
  const Expr& a = swap ? b_in : a_in;
  const Expr& b = swap ? a_in : b_in;
  auto zip = [&](auto f) {
    std::vector<Expr> x = lanesOf(a, bits), y = lanesOf(b, bits);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = f(x[i], y[i]);
    return pure(joinLanes(x));
  };
  switch (info.kind) {
    case BK::Cmp:
      return zip(
          [&](const Expr& x, const Expr& y) { return laneMask(compare(info.cmp, x, y), bits); });
    case BK::FCmp:
      return zip([&](const Expr& x, const Expr& y) {
        return laneMask(scalarBinary(info.scalar, x, y, nans) != num(c, 0, 32), bits);
      });
    case BK::And:
      return pure(a & b);
    case BK::Or:
      return pure(a | b);
    case BK::Xor:
      return pure(a ^ b);
    case BK::AndNot:
      return pure(a & ~b);
    case BK::Add:
      return zip([](const Expr& x, const Expr& y) { return x + y; });
    case BK::Sub:
      return zip([](const Expr& x, const Expr& y) { return x - y; });
    case BK::Mul:
      return zip([](const Expr& x, const Expr& y) { return x * y; });
    case BK::AddSat:
    case BK::SubSat:
      return zip([&](const Expr& x, const Expr& y) {
        // Two extra bits hold the exact sum or difference as a signed number.
        Expr wx = extend(x, 2, sg), wy = extend(y, 2, sg);
        Expr exact = info.kind == BK::AddSat ? wx + wy : wx - wy;
        return saturate(exact, bits, sg);
      });
    case BK::Min:
      return zip([&](const Expr& x, const Expr& y) {
        return smt::ite(sg ? (x < y) : smt::ult(x, y), x, y);
      });
    case BK::Max:
      return zip([&](const Expr& x, const Expr& y) {
        return smt::ite(sg ? (x > y) : smt::ugt(x, y), x, y);
      });
    case BK::AvgrU:
      return zip([&](const Expr& x, const Expr& y) {
        Expr sum = smt::zext(x, 1) + smt::zext(y, 1) + num(c, 1, bits + 1);
        return smt::lshr(sum, 1).extract(bits - 1, 0);
      });
    case BK::Q15MulrSat:
      return zip([&](const Expr& x, const Expr& y) {
        Expr product = smt::sext(x, 16) * smt::sext(y, 16) + num(c, 0x4000, 32);
        return saturate(smt::ashr(product, 15), 16, true);
      });
    case BK::ExtMul: {
      const unsigned in = bits / 2;
      std::vector<Expr> x = lanesOf(a, in), y = lanesOf(b, in);
      const std::size_t half = x.size() / 2, from = info.high ? half : 0;
      std::vector<Expr> out;
      for (std::size_t i = 0; i < half; ++i) {
        out.push_back(extend(x[from + i], in, sg) * extend(y[from + i], in, sg));
      }
      return pure(joinLanes(out));
    }
    case BK::Dot: {
      std::vector<Expr> x = lanesOf(a, 16), y = lanesOf(b, 16);
      std::vector<Expr> out;
      for (std::size_t i = 0; i < x.size(); i += 2) {
        out.push_back(smt::sext(x[i], 16) * smt::sext(y[i], 16) +
                      smt::sext(x[i + 1], 16) * smt::sext(y[i + 1], 16));
      }
      return pure(joinLanes(out));
    }
    case BK::FScalar:
      return zip(
          [&](const Expr& x, const Expr& y) { return scalarBinary(info.scalar, x, y, nans); });
    case BK::PMin:
      // b < a ? b : a, with the scalar comparison (false when either is NaN).
      return zip([&](const Expr& x, const Expr& y) {
        return smt::ite(scalarBinary(info.scalar, y, x, nans) != num(c, 0, 32), y, x);
      });
    case BK::PMax:
      // a < b ? b : a
      return zip([&](const Expr& x, const Expr& y) {
        return smt::ite(scalarBinary(info.scalar, x, y, nans) != num(c, 0, 32), y, x);
      });
    case BK::Narrow: {
      std::vector<Expr> out;
      for (const Expr* v : {&a, &b}) {
        for (const Expr& lane : lanesOf(*v, bits)) out.push_back(saturate(lane, bits / 2, sg));
      }
      return pure(joinLanes(out));
    }
    case BK::Swizzle: {
      std::vector<Expr> out;
      for (const Expr& index : lanesOf(b, 8)) {
        Expr offset = smt::shl(smt::zext(index, 120), 3);
        out.push_back(smt::ite(smt::ult(index, num(c, 16, 8)), smt::lshr(a, offset).extract(7, 0),
                               num(c, 0, 8)));
      }
      return pure(joinLanes(out));
    }
  }
  return std::nullopt;
}

std::optional<smt::Expr> simdExtract(BinaryenOp op, const smt::Expr& vec, unsigned lane) {
  const auto& t = tables();
  auto it = t.extract.find(op);
  if (it == t.extract.end()) return std::nullopt;
  const unsigned bits = it->second.bits;
  if (lane >= 128 / bits) return std::nullopt;
  Expr v = simdLaneGet(vec, bits, lane);
  if (bits < 32) v = extend(v, 32 - bits, it->second.is_signed);
  return v;
}

std::optional<smt::Expr> simdReplace(BinaryenOp op, const smt::Expr& vec, unsigned lane,
                                     const smt::Expr& value) {
  const auto& t = tables();
  auto it = t.replace.find(op);
  if (it == t.replace.end()) return std::nullopt;
  const unsigned bits = it->second.bits;
  if (lane >= 128 / bits) return std::nullopt;
  return simdLaneSet(vec, bits, lane, smt::resize(value, bits, false));
}

smt::Expr simdShuffle(const smt::Expr& left, const smt::Expr& right, const std::uint8_t mask[16]) {
  std::vector<Expr> l = lanesOf(left, 8), r = lanesOf(right, 8);
  std::vector<Expr> out;
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned m = mask[i] % 32;
    out.push_back(m < 16 ? l[m] : r[m - 16]);
  }
  return joinLanes(out);
}

std::optional<OpResult> simdTernary(BinaryenOp op, const smt::Expr& a, const smt::Expr& b,
                                    const smt::Expr& c, NanSource& /*nans*/) {
  if (op == BinaryenBitselectVec128()) return OpResult{(a & c) | (b & ~c), std::nullopt};
  return std::nullopt;
}

std::optional<smt::Expr> simdShift(BinaryenOp op, const smt::Expr& vec, const smt::Expr& shift) {
  const auto& t = tables();
  auto it = t.shift.find(op);
  if (it == t.shift.end()) return std::nullopt;
  const unsigned bits = it->second.bits;
  smt::Context& c = vec.ctx();
  Expr count = smt::resize(shift & num(c, bits - 1, shift.sort().bvSize()), bits, false);
  std::vector<Expr> lanes = lanesOf(vec, bits);
  for (auto& lane : lanes) {
    switch (it->second.kind) {
      case ShiftKind::Shl:
        lane = smt::shl(lane, count);
        break;
      case ShiftKind::ShrS:
        lane = smt::ashr(lane, count);
        break;
      case ShiftKind::ShrU:
        lane = smt::lshr(lane, count);
        break;
    }
  }
  return joinLanes(lanes);
}

std::optional<unsigned> simdLoadBytes(BinaryenOp op) {
  const auto& t = tables();
  auto it = t.load.find(op);
  if (it == t.load.end()) return std::nullopt;
  return it->second.bytes;
}

std::optional<smt::Expr> simdLoadValue(BinaryenOp op, const smt::Expr& raw) {
  const auto& t = tables();
  auto it = t.load.find(op);
  if (it == t.load.end()) return std::nullopt;
  const LoadInfo& info = it->second;
  if (raw.sort().bvSize() != info.bytes * 8) return std::nullopt;
  switch (info.kind) {
    case LoadKind::Splat:
      return joinLanes(std::vector<Expr>(16 / info.bytes, raw));
    case LoadKind::Zero:
      return smt::zext(raw, 128 - info.bytes * 8);
    case LoadKind::Extend: {
      std::vector<Expr> lanes = lanesOf(raw, info.bits);
      for (auto& lane : lanes) lane = extend(lane, info.bits, info.is_signed);
      return joinLanes(lanes);
    }
  }
  return std::nullopt;
}

std::optional<unsigned> simdLaneBytes(BinaryenOp op) {
  const auto& t = tables();
  auto it = t.lane_mem.find(op);
  if (it == t.lane_mem.end()) return std::nullopt;
  return it->second.bytes;
}

bool simdLaneIsStore(BinaryenOp op) {
  const auto& t = tables();
  auto it = t.lane_mem.find(op);
  return it != t.lane_mem.end() && it->second.store;
}

smt::Expr simdLaneGet(const smt::Expr& vec, unsigned lane_bits, unsigned lane) {
  return vec.extract(lane * lane_bits + lane_bits - 1, lane * lane_bits);
}

smt::Expr simdLaneSet(const smt::Expr& vec, unsigned lane_bits, unsigned lane,
                      const smt::Expr& value) {
  std::vector<Expr> lanes = lanesOf(vec, lane_bits);
  lanes.at(lane) = value;
  return joinLanes(lanes);
}

std::string simdOpName(SimdOpClass cls, BinaryenOp op) {
  const auto& t = tables();
  auto find = [&](const auto& map) -> const char* {
    auto it = map.find(op);
    return it == map.end() ? nullptr : it->second.name;
  };
  auto relaxed = [&](const auto& map) -> const char* {
    auto it = map.find(op);
    return it == map.end() ? nullptr : it->second;
  };
  const char* name = nullptr;
  const char* what = "";
  switch (cls) {
    case SimdOpClass::Unary:
      name = find(t.unary);
      if (!name) name = relaxed(t.relaxed_unary);
      what = "unary";
      break;
    case SimdOpClass::Binary:
      name = find(t.binary);
      if (!name) name = relaxed(t.relaxed_binary);
      what = "binary";
      break;
    case SimdOpClass::Extract:
      name = find(t.extract);
      what = "simd extract";
      break;
    case SimdOpClass::Replace:
      name = find(t.replace);
      what = "simd replace";
      break;
    case SimdOpClass::Shift:
      name = find(t.shift);
      what = "simd shift";
      break;
    case SimdOpClass::Ternary:
      name = op == BinaryenBitselectVec128() ? "v128.bitselect" : relaxed(t.relaxed_ternary);
      what = "simd ternary";
      break;
    case SimdOpClass::Load:
      name = find(t.load);
      what = "simd load";
      break;
    case SimdOpClass::LoadStoreLane:
      name = find(t.lane_mem);
      what = "simd load/store lane";
      break;
  }
  return name ? std::string(name) : fmt::format("{} op {}", what, op);
}

bool simdIsRelaxed(SimdOpClass cls, BinaryenOp op) {
  const auto& t = tables();
  switch (cls) {
    case SimdOpClass::Unary:
      return t.relaxed_unary.count(op) != 0;
    case SimdOpClass::Binary:
      return t.relaxed_binary.count(op) != 0;
    case SimdOpClass::Ternary:
      return t.relaxed_ternary.count(op) != 0;
    default:
      return false;
  }
}

}  // namespace loom::verify::sem
