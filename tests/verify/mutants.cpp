#include "verify/mutants.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <stdexcept>
#include <tuple>
#include <utility>

#include "loom/wasm/hash.hpp"
#include "loom/wasm/ir.hpp"

namespace loom::test {

namespace {

using wasm::ExprKind;
using wasm::kindOf;

// ---------------------------------------------------------------------------
// Operator tables. Binaryen's op ids are only reachable through functions, so
// the tables are built on first use.

struct OpTables {
  std::map<BinaryenOp, std::string> binary_names;
  std::map<BinaryenOp, std::string> unary_names;
  std::map<BinaryenOp, std::vector<BinaryenOp>> binary_swaps;
  std::map<BinaryenOp, std::vector<BinaryenOp>> unary_swaps;
  std::set<BinaryenOp> non_commutative;
  std::set<BinaryenOp> comparisons;
  std::map<BinaryenOp, BinaryenOp> strictness_flip;  // < <-> <=, > <-> >=
  std::set<BinaryenOp> int_divisions;                // may trap on a zero divisor
  std::map<BinaryenOp, BinaryenOp> trunc_to_sat;
  // SIMD: each op with what it may wrongly become, and the names of both.
  std::map<BinaryenOp, std::vector<BinaryenOp>> simd_binary_swaps;
  std::map<BinaryenOp, std::vector<BinaryenOp>> simd_unary_swaps;
  std::map<BinaryenOp, std::string> simd_names;
  std::map<BinaryenOp, unsigned> lanes;  // lane count of extract/replace/lane load-store ops

  OpTables() {
    struct IntOps {
      const char* t;
      BinaryenOp add, sub, mul, div_s, div_u, rem_s, rem_u, and_, or_, xor_, shl, shr_s, shr_u,
          rotl, rotr, eq, ne, lt_s, lt_u, le_s, le_u, gt_s, gt_u, ge_s, ge_u;
    };
    const IntOps ints[] = {
        {"i32",
         BinaryenAddInt32(),
         BinaryenSubInt32(),
         BinaryenMulInt32(),
         BinaryenDivSInt32(),
         BinaryenDivUInt32(),
         BinaryenRemSInt32(),
         BinaryenRemUInt32(),
         BinaryenAndInt32(),
         BinaryenOrInt32(),
         BinaryenXorInt32(),
         BinaryenShlInt32(),
         BinaryenShrSInt32(),
         BinaryenShrUInt32(),
         BinaryenRotLInt32(),
         BinaryenRotRInt32(),
         BinaryenEqInt32(),
         BinaryenNeInt32(),
         BinaryenLtSInt32(),
         BinaryenLtUInt32(),
         BinaryenLeSInt32(),
         BinaryenLeUInt32(),
         BinaryenGtSInt32(),
         BinaryenGtUInt32(),
         BinaryenGeSInt32(),
         BinaryenGeUInt32()},
        {"i64",
         BinaryenAddInt64(),
         BinaryenSubInt64(),
         BinaryenMulInt64(),
         BinaryenDivSInt64(),
         BinaryenDivUInt64(),
         BinaryenRemSInt64(),
         BinaryenRemUInt64(),
         BinaryenAndInt64(),
         BinaryenOrInt64(),
         BinaryenXorInt64(),
         BinaryenShlInt64(),
         BinaryenShrSInt64(),
         BinaryenShrUInt64(),
         BinaryenRotLInt64(),
         BinaryenRotRInt64(),
         BinaryenEqInt64(),
         BinaryenNeInt64(),
         BinaryenLtSInt64(),
         BinaryenLtUInt64(),
         BinaryenLeSInt64(),
         BinaryenLeUInt64(),
         BinaryenGtSInt64(),
         BinaryenGtUInt64(),
         BinaryenGeSInt64(),
         BinaryenGeUInt64()},
    };
    for (const IntOps& o : ints) {
      const std::string t = o.t;
      const std::pair<BinaryenOp, const char*> names[] = {
          {o.add, "add"},     {o.sub, "sub"},     {o.mul, "mul"},     {o.div_s, "div_s"},
          {o.div_u, "div_u"}, {o.rem_s, "rem_s"}, {o.rem_u, "rem_u"}, {o.and_, "and"},
          {o.or_, "or"},      {o.xor_, "xor"},    {o.shl, "shl"},     {o.shr_s, "shr_s"},
          {o.shr_u, "shr_u"}, {o.rotl, "rotl"},   {o.rotr, "rotr"},   {o.eq, "eq"},
          {o.ne, "ne"},       {o.lt_s, "lt_s"},   {o.lt_u, "lt_u"},   {o.le_s, "le_s"},
          {o.le_u, "le_u"},   {o.gt_s, "gt_s"},   {o.gt_u, "gt_u"},   {o.ge_s, "ge_s"},
          {o.ge_u, "ge_u"}};
      for (const auto& [op, name] : names) binary_names[op] = t + "." + name;
      binary_swaps[o.add] = {o.sub, o.mul};
      binary_swaps[o.sub] = {o.add};
      binary_swaps[o.mul] = {o.add};
      binary_swaps[o.and_] = {o.or_};
      binary_swaps[o.or_] = {o.and_, o.xor_};
      binary_swaps[o.xor_] = {o.or_};
      binary_swaps[o.shl] = {o.shr_u};
      binary_swaps[o.shr_u] = {o.shl, o.shr_s};
      binary_swaps[o.shr_s] = {o.shr_u};
      binary_swaps[o.div_s] = {o.div_u};
      binary_swaps[o.div_u] = {o.div_s};
      binary_swaps[o.rem_s] = {o.rem_u};
      binary_swaps[o.rem_u] = {o.rem_s};
      binary_swaps[o.rotl] = {o.rotr};
      binary_swaps[o.rotr] = {o.rotl};
      binary_swaps[o.eq] = {o.ne};
      binary_swaps[o.ne] = {o.eq};
      binary_swaps[o.lt_s] = {o.lt_u, o.le_s};
      binary_swaps[o.lt_u] = {o.lt_s, o.le_u};
      binary_swaps[o.le_s] = {o.le_u, o.lt_s};
      binary_swaps[o.le_u] = {o.le_s, o.lt_u};
      binary_swaps[o.gt_s] = {o.gt_u, o.ge_s};
      binary_swaps[o.gt_u] = {o.gt_s, o.ge_u};
      binary_swaps[o.ge_s] = {o.ge_u, o.gt_s};
      binary_swaps[o.ge_u] = {o.ge_s, o.gt_u};
      for (BinaryenOp op :
           {o.sub, o.div_s, o.div_u, o.rem_s, o.rem_u, o.shl, o.shr_s, o.shr_u, o.rotl, o.rotr,
            o.lt_s, o.lt_u, o.le_s, o.le_u, o.gt_s, o.gt_u, o.ge_s, o.ge_u}) {
        non_commutative.insert(op);
      }
      for (BinaryenOp op :
           {o.eq, o.ne, o.lt_s, o.lt_u, o.le_s, o.le_u, o.gt_s, o.gt_u, o.ge_s, o.ge_u}) {
        comparisons.insert(op);
      }
      strictness_flip[o.lt_s] = o.le_s;
      strictness_flip[o.le_s] = o.lt_s;
      strictness_flip[o.lt_u] = o.le_u;
      strictness_flip[o.le_u] = o.lt_u;
      strictness_flip[o.gt_s] = o.ge_s;
      strictness_flip[o.ge_s] = o.gt_s;
      strictness_flip[o.gt_u] = o.ge_u;
      strictness_flip[o.ge_u] = o.gt_u;
      int_divisions.insert({o.div_s, o.div_u, o.rem_s, o.rem_u});
    }

    struct FloatOps {
      const char* t;
      BinaryenOp add, sub, mul, div, copysign, min, max, eq, ne, lt, le, gt, ge;
    };
    const FloatOps floats[] = {
        {"f32", BinaryenAddFloat32(), BinaryenSubFloat32(), BinaryenMulFloat32(),
         BinaryenDivFloat32(), BinaryenCopySignFloat32(), BinaryenMinFloat32(),
         BinaryenMaxFloat32(), BinaryenEqFloat32(), BinaryenNeFloat32(), BinaryenLtFloat32(),
         BinaryenLeFloat32(), BinaryenGtFloat32(), BinaryenGeFloat32()},
        {"f64", BinaryenAddFloat64(), BinaryenSubFloat64(), BinaryenMulFloat64(),
         BinaryenDivFloat64(), BinaryenCopySignFloat64(), BinaryenMinFloat64(),
         BinaryenMaxFloat64(), BinaryenEqFloat64(), BinaryenNeFloat64(), BinaryenLtFloat64(),
         BinaryenLeFloat64(), BinaryenGtFloat64(), BinaryenGeFloat64()},
    };
    for (const FloatOps& o : floats) {
      const std::string t = o.t;
      const std::pair<BinaryenOp, const char*> names[] = {
          {o.add, "add"}, {o.sub, "sub"}, {o.mul, "mul"}, {o.div, "div"}, {o.copysign, "copysign"},
          {o.min, "min"}, {o.max, "max"}, {o.eq, "eq"},   {o.ne, "ne"},   {o.lt, "lt"},
          {o.le, "le"},   {o.gt, "gt"},   {o.ge, "ge"}};
      for (const auto& [op, name] : names) binary_names[op] = t + "." + name;
      binary_swaps[o.add] = {o.sub};
      binary_swaps[o.sub] = {o.add};
      binary_swaps[o.mul] = {o.div};
      binary_swaps[o.div] = {o.mul};
      binary_swaps[o.min] = {o.max};
      binary_swaps[o.max] = {o.min};
      binary_swaps[o.eq] = {o.ne};
      binary_swaps[o.ne] = {o.eq};
      binary_swaps[o.lt] = {o.le, o.gt};
      binary_swaps[o.le] = {o.lt};
      binary_swaps[o.gt] = {o.ge, o.lt};
      binary_swaps[o.ge] = {o.gt};
      for (BinaryenOp op : {o.sub, o.div, o.copysign, o.lt, o.le, o.gt, o.ge}) {
        non_commutative.insert(op);
      }
      for (BinaryenOp op : {o.eq, o.ne, o.lt, o.le, o.gt, o.ge}) comparisons.insert(op);
      strictness_flip[o.lt] = o.le;
      strictness_flip[o.le] = o.lt;
      strictness_flip[o.gt] = o.ge;
      strictness_flip[o.ge] = o.gt;
    }

    const std::pair<BinaryenOp, const char*> unary[] = {
        {BinaryenClzInt32(), "i32.clz"},
        {BinaryenCtzInt32(), "i32.ctz"},
        {BinaryenPopcntInt32(), "i32.popcnt"},
        {BinaryenEqZInt32(), "i32.eqz"},
        {BinaryenClzInt64(), "i64.clz"},
        {BinaryenCtzInt64(), "i64.ctz"},
        {BinaryenPopcntInt64(), "i64.popcnt"},
        {BinaryenEqZInt64(), "i64.eqz"},
        {BinaryenExtendS8Int32(), "i32.extend8_s"},
        {BinaryenExtendS16Int32(), "i32.extend16_s"},
        {BinaryenExtendS8Int64(), "i64.extend8_s"},
        {BinaryenExtendS16Int64(), "i64.extend16_s"},
        {BinaryenExtendS32Int64(), "i64.extend32_s"},
        {BinaryenExtendSInt32(), "i64.extend_i32_s"},
        {BinaryenExtendUInt32(), "i64.extend_i32_u"},
        {BinaryenWrapInt64(), "i32.wrap_i64"},
        {BinaryenNegFloat32(), "f32.neg"},
        {BinaryenAbsFloat32(), "f32.abs"},
        {BinaryenCeilFloat32(), "f32.ceil"},
        {BinaryenFloorFloat32(), "f32.floor"},
        {BinaryenTruncFloat32(), "f32.trunc"},
        {BinaryenNearestFloat32(), "f32.nearest"},
        {BinaryenSqrtFloat32(), "f32.sqrt"},
        {BinaryenNegFloat64(), "f64.neg"},
        {BinaryenAbsFloat64(), "f64.abs"},
        {BinaryenCeilFloat64(), "f64.ceil"},
        {BinaryenFloorFloat64(), "f64.floor"},
        {BinaryenTruncFloat64(), "f64.trunc"},
        {BinaryenNearestFloat64(), "f64.nearest"},
        {BinaryenSqrtFloat64(), "f64.sqrt"},
        {BinaryenTruncSFloat32ToInt32(), "i32.trunc_f32_s"},
        {BinaryenTruncUFloat32ToInt32(), "i32.trunc_f32_u"},
        {BinaryenTruncSFloat64ToInt32(), "i32.trunc_f64_s"},
        {BinaryenTruncUFloat64ToInt32(), "i32.trunc_f64_u"},
        {BinaryenTruncSFloat32ToInt64(), "i64.trunc_f32_s"},
        {BinaryenTruncUFloat32ToInt64(), "i64.trunc_f32_u"},
        {BinaryenTruncSFloat64ToInt64(), "i64.trunc_f64_s"},
        {BinaryenTruncUFloat64ToInt64(), "i64.trunc_f64_u"},
        {BinaryenTruncSatSFloat32ToInt32(), "i32.trunc_sat_f32_s"},
        {BinaryenTruncSatUFloat32ToInt32(), "i32.trunc_sat_f32_u"},
        {BinaryenTruncSatSFloat64ToInt32(), "i32.trunc_sat_f64_s"},
        {BinaryenTruncSatUFloat64ToInt32(), "i32.trunc_sat_f64_u"},
        {BinaryenTruncSatSFloat32ToInt64(), "i64.trunc_sat_f32_s"},
        {BinaryenTruncSatUFloat32ToInt64(), "i64.trunc_sat_f32_u"},
        {BinaryenTruncSatSFloat64ToInt64(), "i64.trunc_sat_f64_s"},
        {BinaryenTruncSatUFloat64ToInt64(), "i64.trunc_sat_f64_u"},
        {BinaryenConvertSInt32ToFloat32(), "f32.convert_i32_s"},
        {BinaryenConvertUInt32ToFloat32(), "f32.convert_i32_u"},
        {BinaryenConvertSInt64ToFloat32(), "f32.convert_i64_s"},
        {BinaryenConvertUInt64ToFloat32(), "f32.convert_i64_u"},
        {BinaryenConvertSInt32ToFloat64(), "f64.convert_i32_s"},
        {BinaryenConvertUInt32ToFloat64(), "f64.convert_i32_u"},
        {BinaryenConvertSInt64ToFloat64(), "f64.convert_i64_s"},
        {BinaryenConvertUInt64ToFloat64(), "f64.convert_i64_u"},
        {BinaryenPromoteFloat32(), "f64.promote_f32"},
        {BinaryenDemoteFloat64(), "f32.demote_f64"},
        {BinaryenReinterpretFloat32(), "i32.reinterpret_f32"},
        {BinaryenReinterpretFloat64(), "i64.reinterpret_f64"},
        {BinaryenReinterpretInt32(), "f32.reinterpret_i32"},
        {BinaryenReinterpretInt64(), "f64.reinterpret_i64"},
    };
    for (const auto& [op, name] : unary) unary_names[op] = name;
    auto both = [&](BinaryenOp a, BinaryenOp b) {
      unary_swaps[a].push_back(b);
      unary_swaps[b].push_back(a);
    };
    both(BinaryenClzInt32(), BinaryenCtzInt32());
    both(BinaryenClzInt64(), BinaryenCtzInt64());
    unary_swaps[BinaryenPopcntInt32()] = {BinaryenClzInt32()};
    unary_swaps[BinaryenPopcntInt64()] = {BinaryenClzInt64()};
    both(BinaryenExtendS8Int32(), BinaryenExtendS16Int32());
    both(BinaryenExtendS8Int64(), BinaryenExtendS16Int64());
    unary_swaps[BinaryenExtendS32Int64()] = {BinaryenExtendS16Int64()};
    both(BinaryenExtendSInt32(), BinaryenExtendUInt32());
    both(BinaryenCeilFloat32(), BinaryenFloorFloat32());
    both(BinaryenTruncFloat32(), BinaryenNearestFloat32());
    both(BinaryenNegFloat32(), BinaryenAbsFloat32());
    unary_swaps[BinaryenSqrtFloat32()] = {BinaryenAbsFloat32()};
    both(BinaryenCeilFloat64(), BinaryenFloorFloat64());
    both(BinaryenTruncFloat64(), BinaryenNearestFloat64());
    both(BinaryenNegFloat64(), BinaryenAbsFloat64());
    unary_swaps[BinaryenSqrtFloat64()] = {BinaryenAbsFloat64()};
    both(BinaryenTruncSFloat32ToInt32(), BinaryenTruncUFloat32ToInt32());
    both(BinaryenTruncSFloat64ToInt32(), BinaryenTruncUFloat64ToInt32());
    both(BinaryenTruncSFloat32ToInt64(), BinaryenTruncUFloat32ToInt64());
    both(BinaryenTruncSFloat64ToInt64(), BinaryenTruncUFloat64ToInt64());
    both(BinaryenConvertSInt32ToFloat32(), BinaryenConvertUInt32ToFloat32());
    both(BinaryenConvertSInt64ToFloat32(), BinaryenConvertUInt64ToFloat32());
    both(BinaryenConvertSInt32ToFloat64(), BinaryenConvertUInt32ToFloat64());
    both(BinaryenConvertSInt64ToFloat64(), BinaryenConvertUInt64ToFloat64());

    simdTables();

    trunc_to_sat[BinaryenTruncSFloat32ToInt32()] = BinaryenTruncSatSFloat32ToInt32();
    trunc_to_sat[BinaryenTruncUFloat32ToInt32()] = BinaryenTruncSatUFloat32ToInt32();
    trunc_to_sat[BinaryenTruncSFloat64ToInt32()] = BinaryenTruncSatSFloat64ToInt32();
    trunc_to_sat[BinaryenTruncUFloat64ToInt32()] = BinaryenTruncSatUFloat64ToInt32();
    trunc_to_sat[BinaryenTruncSFloat32ToInt64()] = BinaryenTruncSatSFloat32ToInt64();
    trunc_to_sat[BinaryenTruncUFloat32ToInt64()] = BinaryenTruncSatUFloat32ToInt64();
    trunc_to_sat[BinaryenTruncSFloat64ToInt64()] = BinaryenTruncSatSFloat64ToInt64();
    trunc_to_sat[BinaryenTruncUFloat64ToInt64()] = BinaryenTruncSatUFloat64ToInt64();
  }

  void simdTables() {
    // Saturating arithmetic replaced by its wrapping form, and back.
    const std::tuple<BinaryenOp, BinaryenOp, const char*, const char*> wrapping[] = {
        {BinaryenAddSatSVecI8x16(), BinaryenAddVecI8x16(), "i8x16.add_sat_s", "i8x16.add"},
        {BinaryenAddSatUVecI8x16(), BinaryenAddVecI8x16(), "i8x16.add_sat_u", "i8x16.add"},
        {BinaryenSubSatSVecI8x16(), BinaryenSubVecI8x16(), "i8x16.sub_sat_s", "i8x16.sub"},
        {BinaryenSubSatUVecI8x16(), BinaryenSubVecI8x16(), "i8x16.sub_sat_u", "i8x16.sub"},
        {BinaryenAddSatSVecI16x8(), BinaryenAddVecI16x8(), "i16x8.add_sat_s", "i16x8.add"},
        {BinaryenAddSatUVecI16x8(), BinaryenAddVecI16x8(), "i16x8.add_sat_u", "i16x8.add"},
        {BinaryenSubSatSVecI16x8(), BinaryenSubVecI16x8(), "i16x8.sub_sat_s", "i16x8.sub"},
        {BinaryenSubSatUVecI16x8(), BinaryenSubVecI16x8(), "i16x8.sub_sat_u", "i16x8.sub"},
    };
    for (const auto& [sat, wrap, sat_name, wrap_name] : wrapping) {
      simd_binary_swaps[sat].push_back(wrap);
      simd_names[sat] = sat_name;
      simd_names[wrap] = wrap_name;
    }
    // Signedness and arithmetic confusions, both ways.
    const std::tuple<BinaryenOp, BinaryenOp, const char*, const char*> pairs[] = {
        {BinaryenMinSVecI8x16(), BinaryenMinUVecI8x16(), "i8x16.min_s", "i8x16.min_u"},
        {BinaryenMaxSVecI8x16(), BinaryenMaxUVecI8x16(), "i8x16.max_s", "i8x16.max_u"},
        {BinaryenMinSVecI16x8(), BinaryenMinUVecI16x8(), "i16x8.min_s", "i16x8.min_u"},
        {BinaryenMaxSVecI16x8(), BinaryenMaxUVecI16x8(), "i16x8.max_s", "i16x8.max_u"},
        {BinaryenMinSVecI32x4(), BinaryenMinUVecI32x4(), "i32x4.min_s", "i32x4.min_u"},
        {BinaryenMaxSVecI32x4(), BinaryenMaxUVecI32x4(), "i32x4.max_s", "i32x4.max_u"},
        {BinaryenAddVecI32x4(), BinaryenSubVecI32x4(), "i32x4.add", "i32x4.sub"},
        {BinaryenAddVecI16x8(), BinaryenSubVecI16x8(), "i16x8.add", "i16x8.sub"},
        {BinaryenAddVecI64x2(), BinaryenSubVecI64x2(), "i64x2.add", "i64x2.sub"},
        {BinaryenMulVecF32x4(), BinaryenAddVecF32x4(), "f32x4.mul", "f32x4.add"},
        {BinaryenAndVec128(), BinaryenOrVec128(), "v128.and", "v128.or"},
    };
    for (const auto& [a, b, a_name, b_name] : pairs) {
      simd_binary_swaps[a].push_back(b);
      simd_binary_swaps[b].push_back(a);
      simd_names[a] = a_name;
      simd_names[b] = b_name;
    }
    const std::tuple<BinaryenOp, BinaryenOp, const char*, const char*> unary_pairs[] = {
        {BinaryenExtendLowUVecI8x16ToVecI16x8(), BinaryenExtendHighUVecI8x16ToVecI16x8(),
         "i16x8.extend_low_i8x16_u", "i16x8.extend_high_i8x16_u"},
        {BinaryenExtendLowSVecI8x16ToVecI16x8(), BinaryenExtendHighSVecI8x16ToVecI16x8(),
         "i16x8.extend_low_i8x16_s", "i16x8.extend_high_i8x16_s"},
        {BinaryenExtendLowUVecI16x8ToVecI32x4(), BinaryenExtendHighUVecI16x8ToVecI32x4(),
         "i32x4.extend_low_i16x8_u", "i32x4.extend_high_i16x8_u"},
        {BinaryenExtendLowSVecI16x8ToVecI32x4(), BinaryenExtendHighSVecI16x8ToVecI32x4(),
         "i32x4.extend_low_i16x8_s", "i32x4.extend_high_i16x8_s"},
        {BinaryenExtendLowUVecI8x16ToVecI16x8(), BinaryenExtendLowSVecI8x16ToVecI16x8(),
         "i16x8.extend_low_i8x16_u", "i16x8.extend_low_i8x16_s"},
        {BinaryenSplatVecI32x4(), BinaryenSplatVecI16x8(), "i32x4.splat", "i16x8.splat"},
    };
    for (const auto& [a, b, a_name, b_name] : unary_pairs) {
      simd_unary_swaps[a].push_back(b);
      simd_unary_swaps[b].push_back(a);
      simd_names[a] = a_name;
      simd_names[b] = b_name;
    }
    for (BinaryenOp op :
         {BinaryenExtractLaneSVecI8x16(), BinaryenExtractLaneUVecI8x16(),
          BinaryenReplaceLaneVecI8x16(), BinaryenLoad8LaneVec128(), BinaryenStore8LaneVec128()})
      lanes[op] = 16;
    for (BinaryenOp op :
         {BinaryenExtractLaneSVecI16x8(), BinaryenExtractLaneUVecI16x8(),
          BinaryenReplaceLaneVecI16x8(), BinaryenLoad16LaneVec128(), BinaryenStore16LaneVec128()})
      lanes[op] = 8;
    for (BinaryenOp op : {BinaryenExtractLaneVecI32x4(), BinaryenReplaceLaneVecI32x4(),
                          BinaryenExtractLaneVecF32x4(), BinaryenReplaceLaneVecF32x4(),
                          BinaryenLoad32LaneVec128(), BinaryenStore32LaneVec128()})
      lanes[op] = 4;
    for (BinaryenOp op : {BinaryenExtractLaneVecI64x2(), BinaryenReplaceLaneVecI64x2(),
                          BinaryenExtractLaneVecF64x2(), BinaryenReplaceLaneVecF64x2(),
                          BinaryenLoad64LaneVec128(), BinaryenStore64LaneVec128()})
      lanes[op] = 2;
  }

  std::string simdName(BinaryenOp op) const {
    auto it = simd_names.find(op);
    return it == simd_names.end() ? fmt::format("simd#{}", op) : it->second;
  }

  std::string binaryName(BinaryenOp op) const {
    auto it = binary_names.find(op);
    return it == binary_names.end() ? fmt::format("binary#{}", op) : it->second;
  }
  std::string unaryName(BinaryenOp op) const {
    auto it = unary_names.find(op);
    return it == unary_names.end() ? fmt::format("unary#{}", op) : it->second;
  }
};

const OpTables& ops() {
  static const OpTables tables;
  return tables;
}

// ---------------------------------------------------------------------------
// The function body flattened in pre-order, each node with its parent and its
// slot in the parent, which is what a mutation needs to replace it.

struct Node {
  BinaryenExpressionRef expr;
  int parent;        // index into the node list, -1 for the body
  std::size_t slot;  // child index in wasm::childrenOf(parent) order
  unsigned loop_depth;
};

std::vector<Node> flatten(BinaryenExpressionRef body) {
  std::vector<Node> nodes;
  if (!body) return nodes;
  struct Item {
    BinaryenExpressionRef expr;
    int parent;
    std::size_t slot;
    unsigned depth;
  };
  std::vector<Item> stack{{body, -1, 0, 0}};
  while (!stack.empty()) {
    const Item item = stack.back();
    stack.pop_back();
    const int index = static_cast<int>(nodes.size());
    nodes.push_back({item.expr, item.parent, item.slot, item.depth});
    const auto kids = wasm::childrenOf(item.expr);
    const unsigned depth = item.depth + (kindOf(item.expr) == ExprKind::Loop ? 1 : 0);
    for (std::size_t k = kids.size(); k-- > 0;) stack.push_back({kids[k], index, k, depth});
  }
  return nodes;
}

bool containsCall(BinaryenExpressionRef root) {
  bool found = false;
  wasm::walk(root, [&](BinaryenExpressionRef e, unsigned) {
    const ExprKind k = kindOf(e);
    if (k == ExprKind::Call || k == ExprKind::CallIndirect) found = true;
    return !found;
  });
  return found;
}

bool isPure(BinaryenExpressionRef e) {
  const ExprKind k = kindOf(e);
  return k == ExprKind::LocalGet || k == ExprKind::Const || k == ExprKind::GlobalGet;
}

BinaryenExpressionRef intConst(BinaryenModuleRef m, BinaryenType type, std::int64_t value) {
  return BinaryenConst(m, type == BinaryenTypeInt64()
                              ? BinaryenLiteralInt64(value)
                              : BinaryenLiteralInt32(static_cast<std::int32_t>(value)));
}

BinaryenExpressionRef plusOne(BinaryenModuleRef m, BinaryenExpressionRef e) {
  const BinaryenType t = BinaryenExpressionGetType(e);
  if (t == BinaryenTypeInt32()) return BinaryenBinary(m, BinaryenAddInt32(), e, intConst(m, t, 1));
  if (t == BinaryenTypeInt64()) return BinaryenBinary(m, BinaryenAddInt64(), e, intConst(m, t, 1));
  if (t == BinaryenTypeFloat32()) {
    return BinaryenBinary(m, BinaryenAddFloat32(), e, BinaryenConst(m, BinaryenLiteralFloat32(1)));
  }
  if (t == BinaryenTypeFloat64()) {
    return BinaryenBinary(m, BinaryenAddFloat64(), e, BinaryenConst(m, BinaryenLiteralFloat64(1)));
  }
  return nullptr;
}

std::string typeName(BinaryenType t) {
  if (t == BinaryenTypeInt32()) return "i32";
  if (t == BinaryenTypeInt64()) return "i64";
  if (t == BinaryenTypeFloat32()) return "f32";
  if (t == BinaryenTypeFloat64()) return "f64";
  if (t == BinaryenTypeNone()) return "none";
  if (t == BinaryenTypeUnreachable()) return "unreachable";
  return "other";
}

std::string constText(BinaryenExpressionRef c) {
  const BinaryenType t = BinaryenExpressionGetType(c);
  if (t == BinaryenTypeInt32()) return fmt::format("i32.const {}", BinaryenConstGetValueI32(c));
  if (t == BinaryenTypeInt64()) return fmt::format("i64.const {}", BinaryenConstGetValueI64(c));
  if (t == BinaryenTypeFloat32()) return fmt::format("f32.const {}", BinaryenConstGetValueF32(c));
  if (t == BinaryenTypeFloat64()) return fmt::format("f64.const {}", BinaryenConstGetValueF64(c));
  return "const";
}

std::vector<BinaryenType> localTypes(BinaryenFunctionRef f) {
  std::vector<BinaryenType> types;
  const BinaryenType params = BinaryenFunctionGetParams(f);
  std::vector<BinaryenType> expanded(BinaryenTypeArity(params));
  if (!expanded.empty()) BinaryenTypeExpand(params, expanded.data());
  types = expanded;
  for (BinaryenIndex v = 0, n = BinaryenFunctionGetNumVars(f); v < n; ++v) {
    types.push_back(BinaryenFunctionGetVar(f, v));
  }
  return types;
}

// The next local after `index` (cyclically) with the same type, if any.
std::optional<BinaryenIndex> otherLocal(const std::vector<BinaryenType>& types,
                                        BinaryenIndex index) {
  for (std::size_t step = 1; step < types.size(); ++step) {
    const std::size_t candidate = (index + step) % types.size();
    if (types[candidate] == types[index]) return static_cast<BinaryenIndex>(candidate);
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// Sites: what an operator can change in one function of one module. Applying
// a site edits that module in place, so a site is only ever applied to the
// copy it was collected from.

struct Site {
  std::string description;
  std::function<void()> apply;
  bool changes_types = false;  // ancestors need re-finalizing afterwards
  int node = -1;               // the node whose ancestors are re-finalized
  BinaryenFeatures extra_features = 0;
};

class SiteCollector {
 public:
  SiteCollector(BinaryenModuleRef module, BinaryenFunctionRef function)
      : m_(module), f_(function), nodes_(flatten(BinaryenFunctionGetBody(function))) {}

  const std::vector<Node>& nodes() const { return nodes_; }

  std::vector<Site> collect(MutationOperator op) {
    std::vector<Site> sites;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      switch (op) {
        case MutationOperator::BinaryOpSwap:
          binaryOpSwap(i, sites);
          break;
        case MutationOperator::UnaryOpSwap:
          unaryOpSwap(i, sites);
          break;
        case MutationOperator::ConstOffByOne:
          constOffByOne(i, sites);
          break;
        case MutationOperator::SwapOperands:
          swapOperands(i, sites);
          break;
        case MutationOperator::InvertCondition:
          invertCondition(i, sites);
          break;
        case MutationOperator::SwapArms:
          swapArms(i, sites);
          break;
        case MutationOperator::DropStore:
          dropStore(i, sites);
          break;
        case MutationOperator::MoveStore:
          moveStore(i, sites);
          break;
        case MutationOperator::ChangeOffset:
          changeOffset(i, sites);
          break;
        case MutationOperator::ChangeWidth:
          changeWidth(i, sites);
          break;
        case MutationOperator::RemoveTrap:
          removeTrap(i, sites);
          break;
        case MutationOperator::ChangeCallArg:
          changeCallArg(i, sites);
          break;
        case MutationOperator::SwapCalls:
          swapCalls(i, sites);
          break;
        case MutationOperator::LoopBound:
          loopBound(i, sites);
          break;
        case MutationOperator::ChangeLocal:
          changeLocal(i, sites);
          break;
        case MutationOperator::ChangeGlobal:
          changeGlobal(i, sites);
          break;
        case MutationOperator::ChangeCallTarget:
          changeCallTarget(i, sites);
          break;
        case MutationOperator::ChangeTable:
          changeTable(i, sites);
          break;
        case MutationOperator::ChangeLane:
          changeLane(i, sites);
          break;
        case MutationOperator::ChangeSegment:
          changeSegment(i, sites);
          break;
        case MutationOperator::RemoveDataDrop:
          removeDataDrop(i, sites);
          break;
        case MutationOperator::NegateRefIsNull:
          negateRefIsNull(i, sites);
          break;
        case MutationOperator::SwapTupleElements:
          swapTupleElements(i, sites);
          break;
        case MutationOperator::SimdOpSwap:
          simdOpSwap(i, sites);
          break;
      }
    }
    return sites;
  }

  // Replaces node `i` by `replacement` in its parent.
  void replace(std::size_t i, BinaryenExpressionRef replacement) {
    const Node& n = nodes_[i];
    const BinaryenExpressionRef parent = n.parent < 0 ? nullptr : nodes_[n.parent].expr;
    if (!setChild(f_, parent, n.slot, replacement)) {
      throw std::logic_error("setChild cannot replace a child of this expression class");
    }
  }

  bool replaceable(std::size_t i) const {
    const Node& n = nodes_[i];
    if (n.parent < 0) return true;
    switch (kindOf(nodes_[n.parent].expr)) {
      case ExprKind::Block:
      case ExprKind::If:
      case ExprKind::Loop:
      case ExprKind::Break:
      case ExprKind::Switch:
      case ExprKind::Call:
      case ExprKind::CallIndirect:
      case ExprKind::LocalSet:
      case ExprKind::GlobalSet:
      case ExprKind::Load:
      case ExprKind::Store:
      case ExprKind::Unary:
      case ExprKind::Binary:
      case ExprKind::Select:
      case ExprKind::Drop:
      case ExprKind::Return:
      case ExprKind::MemoryGrow:
        return true;
      default:
        return false;
    }
  }

  // Re-finalizes the ancestors of node `i`, innermost first, so that types
  // derived from a removed `unreachable` are recomputed.
  void refinalizeAncestors(std::size_t i) {
    for (int p = nodes_[i].parent; p >= 0; p = nodes_[p].parent) {
      BinaryenExpressionFinalize(nodes_[p].expr);
    }
  }

 private:
  BinaryenExpressionRef expr(std::size_t i) const { return nodes_[i].expr; }
  ExprKind kind(std::size_t i) const { return kindOf(nodes_[i].expr); }

  void binaryOpSwap(std::size_t i, std::vector<Site>& sites) {
    if (kind(i) != ExprKind::Binary) return;
    const BinaryenExpressionRef e = expr(i);
    const BinaryenOp op = BinaryenBinaryGetOp(e);
    auto it = ops().binary_swaps.find(op);
    if (it == ops().binary_swaps.end()) return;
    for (BinaryenOp to : it->second) {
      sites.push_back({ops().binaryName(op) + " -> " + ops().binaryName(to),
                       [e, to] { BinaryenBinarySetOp(e, to); }});
    }
  }

  void unaryOpSwap(std::size_t i, std::vector<Site>& sites) {
    if (kind(i) != ExprKind::Unary) return;
    const BinaryenExpressionRef e = expr(i);
    const BinaryenOp op = BinaryenUnaryGetOp(e);
    auto it = ops().unary_swaps.find(op);
    if (it == ops().unary_swaps.end()) return;
    for (BinaryenOp to : it->second) {
      sites.push_back({ops().unaryName(op) + " -> " + ops().unaryName(to),
                       [e, to] { BinaryenUnarySetOp(e, to); }});
    }
  }

  void constOffByOne(std::size_t i, std::vector<Site>& sites) {
    if (kind(i) != ExprKind::Const) return;
    const BinaryenExpressionRef e = expr(i);
    const BinaryenType t = BinaryenExpressionGetType(e);
    const std::string what = constText(e);
    if (t == BinaryenTypeInt32()) {
      const auto v = static_cast<std::uint32_t>(BinaryenConstGetValueI32(e));
      sites.push_back({what + " +1",
                       [e, v] { BinaryenConstSetValueI32(e, static_cast<std::int32_t>(v + 1)); }});
      sites.push_back({what + " -1",
                       [e, v] { BinaryenConstSetValueI32(e, static_cast<std::int32_t>(v - 1)); }});
    } else if (t == BinaryenTypeInt64()) {
      const auto v = static_cast<std::uint64_t>(BinaryenConstGetValueI64(e));
      sites.push_back({what + " +1",
                       [e, v] { BinaryenConstSetValueI64(e, static_cast<std::int64_t>(v + 1)); }});
      sites.push_back({what + " -1",
                       [e, v] { BinaryenConstSetValueI64(e, static_cast<std::int64_t>(v - 1)); }});
    } else if (t == BinaryenTypeFloat32()) {
      const float v = BinaryenConstGetValueF32(e);
      if (std::isfinite(v) && v + 1.0f != v) {
        sites.push_back({what + " +1.0", [e, v] { BinaryenConstSetValueF32(e, v + 1.0f); }});
      }
    } else if (t == BinaryenTypeFloat64()) {
      const double v = BinaryenConstGetValueF64(e);
      if (std::isfinite(v) && v + 1.0 != v) {
        sites.push_back({what + " +1.0", [e, v] { BinaryenConstSetValueF64(e, v + 1.0); }});
      }
    }
  }

  void swapOperands(std::size_t i, std::vector<Site>& sites) {
    if (kind(i) != ExprKind::Binary) return;
    const BinaryenExpressionRef e = expr(i);
    const BinaryenOp op = BinaryenBinaryGetOp(e);
    if (!ops().non_commutative.count(op)) return;
    sites.push_back({"operands of " + ops().binaryName(op) + " swapped", [e] {
                       const BinaryenExpressionRef l = BinaryenBinaryGetLeft(e);
                       BinaryenBinarySetLeft(e, BinaryenBinaryGetRight(e));
                       BinaryenBinarySetRight(e, l);
                     }});
  }

  void invertCondition(std::size_t i, std::vector<Site>& sites) {
    const BinaryenExpressionRef e = expr(i);
    BinaryenModuleRef m = m_;
    switch (kind(i)) {
      case ExprKind::If:
        sites.push_back({"if condition inverted", [m, e] {
                           BinaryenIfSetCondition(
                               e, BinaryenUnary(m, BinaryenEqZInt32(), BinaryenIfGetCondition(e)));
                         }});
        break;
      case ExprKind::Break:
        if (!BinaryenBreakGetCondition(e)) return;
        sites.push_back(
            {fmt::format("br_if {} condition inverted", BinaryenBreakGetName(e)), [m, e] {
               BinaryenBreakSetCondition(
                   e, BinaryenUnary(m, BinaryenEqZInt32(), BinaryenBreakGetCondition(e)));
             }});
        break;
      case ExprKind::Select:
        sites.push_back({"select condition inverted", [m, e] {
                           BinaryenSelectSetCondition(
                               e,
                               BinaryenUnary(m, BinaryenEqZInt32(), BinaryenSelectGetCondition(e)));
                         }});
        break;
      default:
        break;
    }
  }

  void swapArms(std::size_t i, std::vector<Site>& sites) {
    const BinaryenExpressionRef e = expr(i);
    if (kind(i) == ExprKind::If && BinaryenIfGetIfFalse(e)) {
      sites.push_back({"if arms swapped", [e] {
                         const BinaryenExpressionRef t = BinaryenIfGetIfTrue(e);
                         BinaryenIfSetIfTrue(e, BinaryenIfGetIfFalse(e));
                         BinaryenIfSetIfFalse(e, t);
                       }});
    } else if (kind(i) == ExprKind::Select) {
      sites.push_back({"select values swapped", [e] {
                         const BinaryenExpressionRef t = BinaryenSelectGetIfTrue(e);
                         BinaryenSelectSetIfTrue(e, BinaryenSelectGetIfFalse(e));
                         BinaryenSelectSetIfFalse(e, t);
                       }});
    }
  }

  static std::string storeText(BinaryenExpressionRef s) {
    return fmt::format("{}.store{} offset={}", typeName(BinaryenStoreGetValueType(s)),
                       BinaryenStoreGetBytes(s) * 8, BinaryenStoreGetOffset(s));
  }
  static std::string loadText(BinaryenExpressionRef l) {
    return fmt::format("{}.load{}{} offset={}", typeName(BinaryenExpressionGetType(l)),
                       BinaryenLoadGetBytes(l) * 8, BinaryenLoadIsSigned(l) ? "_s" : "_u",
                       BinaryenLoadGetOffset(l));
  }

  void dropStore(std::size_t i, std::vector<Site>& sites) {
    if (kind(i) != ExprKind::Store || !replaceable(i)) return;
    const BinaryenExpressionRef e = expr(i);
    BinaryenModuleRef m = m_;
    sites.push_back({storeText(e) + " replaced by drops of its operands", [this, i, m, e] {
                       BinaryenExpressionRef drops[] = {BinaryenDrop(m, BinaryenStoreGetPtr(e)),
                                                        BinaryenDrop(m, BinaryenStoreGetValue(e))};
                       replace(i, BinaryenBlock(m, nullptr, drops, 2, BinaryenTypeNone()));
                     }});
  }

  void moveStore(std::size_t i, std::vector<Site>& sites) {
    if (kind(i) != ExprKind::Store || nodes_[i].parent < 0) return;
    const BinaryenExpressionRef block = nodes_[nodes_[i].parent].expr;
    if (kindOf(block) != ExprKind::Block) return;
    const std::size_t slot = nodes_[i].slot;
    const std::size_t count = BinaryenBlockGetNumChildren(block);
    auto swapWith = [block, slot](std::size_t other) {
      return [block, slot, other] {
        const BinaryenExpressionRef a = BinaryenBlockGetChildAt(block, slot);
        BinaryenBlockSetChildAt(block, slot, BinaryenBlockGetChildAt(block, other));
        BinaryenBlockSetChildAt(block, other, a);
      };
    };
    if (slot + 1 < count) {
      sites.push_back({storeText(expr(i)) + " moved after the next statement", swapWith(slot + 1)});
    }
    if (slot > 0) {
      sites.push_back(
          {storeText(expr(i)) + " moved before the previous statement", swapWith(slot - 1)});
    }
  }

  void changeOffset(std::size_t i, std::vector<Site>& sites) {
    const BinaryenExpressionRef e = expr(i);
    if (kind(i) == ExprKind::Load) {
      const std::uint32_t off = BinaryenLoadGetOffset(e);
      sites.push_back(
          {loadText(e) + " offset +4", [e, off] { BinaryenLoadSetOffset(e, off + 4); }});
      if (off >= 4) {
        sites.push_back(
            {loadText(e) + " offset -4", [e, off] { BinaryenLoadSetOffset(e, off - 4); }});
      }
    } else if (kind(i) == ExprKind::Store) {
      const std::uint32_t off = BinaryenStoreGetOffset(e);
      sites.push_back(
          {storeText(e) + " offset +4", [e, off] { BinaryenStoreSetOffset(e, off + 4); }});
      if (off >= 4) {
        sites.push_back(
            {storeText(e) + " offset -4", [e, off] { BinaryenStoreSetOffset(e, off - 4); }});
      }
    }
  }

  void changeWidth(std::size_t i, std::vector<Site>& sites) {
    const BinaryenExpressionRef e = expr(i);
    if (kind(i) == ExprKind::Load) {
      const BinaryenType t = BinaryenExpressionGetType(e);
      if (t != BinaryenTypeInt32() && t != BinaryenTypeInt64()) return;
      const std::uint32_t natural = t == BinaryenTypeInt32() ? 4 : 8;
      const std::uint32_t bytes = BinaryenLoadGetBytes(e);
      const bool is_signed = BinaryenLoadIsSigned(e);
      auto width = [e](std::uint32_t to, bool sign) {
        return [e, to, sign] {
          BinaryenLoadSetBytes(e, to);
          BinaryenLoadSetAlign(e, std::min<std::uint32_t>(BinaryenLoadGetAlign(e), to));
          BinaryenLoadSetSigned(e, sign);
        };
      };
      const std::string what = loadText(e);
      if (bytes == natural) {
        sites.push_back({what + " -> 16-bit unsigned", width(2, false)});
        sites.push_back({what + " -> 8-bit signed", width(1, true)});
      } else {
        sites.push_back({what + " signedness flipped", width(bytes, !is_signed)});
        sites.push_back({fmt::format("{} -> {}-bit", what, bytes == 1 ? 16 : 8),
                         width(bytes == 1 ? 2 : 1, is_signed)});
      }
    } else if (kind(i) == ExprKind::Store) {
      const BinaryenType t = BinaryenStoreGetValueType(e);
      if (t != BinaryenTypeInt32() && t != BinaryenTypeInt64()) return;
      const std::uint32_t natural = t == BinaryenTypeInt32() ? 4 : 8;
      const std::uint32_t bytes = BinaryenStoreGetBytes(e);
      auto width = [e](std::uint32_t to) {
        return [e, to] {
          BinaryenStoreSetBytes(e, to);
          BinaryenStoreSetAlign(e, std::min<std::uint32_t>(BinaryenStoreGetAlign(e), to));
        };
      };
      const std::string what = storeText(e);
      if (bytes == natural) {
        sites.push_back({what + " -> 8-bit", width(1)});
        sites.push_back({what + " -> 16-bit", width(2)});
      } else {
        const std::uint32_t to = bytes == 1 ? 2 : (bytes == 2 ? 1 : natural);
        sites.push_back({fmt::format("{} -> {}-bit", what, to * 8), width(to)});
      }
    }
  }

  void removeTrap(std::size_t i, std::vector<Site>& sites) {
    const BinaryenExpressionRef e = expr(i);
    BinaryenModuleRef m = m_;
    switch (kind(i)) {
      case ExprKind::Unreachable: {
        if (!replaceable(i)) return;
        // Which value the position needs is not known here: offer each, and
        // validation keeps the one that fits.
        const std::pair<const char*, std::function<BinaryenExpressionRef()>> fills[] = {
            {"nop", [m] { return BinaryenNop(m); }},
            {"i32.const 0", [m] { return BinaryenConst(m, BinaryenLiteralInt32(0)); }},
            {"i64.const 0", [m] { return BinaryenConst(m, BinaryenLiteralInt64(0)); }},
            {"f32.const 0", [m] { return BinaryenConst(m, BinaryenLiteralFloat32(0)); }},
            {"f64.const 0", [m] { return BinaryenConst(m, BinaryenLiteralFloat64(0)); }},
        };
        for (const auto& [name, make] : fills) {
          Site site{std::string("unreachable replaced by ") + name,
                    [this, i, make = make] { replace(i, make()); }};
          site.changes_types = true;
          site.node = static_cast<int>(i);
          sites.push_back(std::move(site));
        }
        break;
      }
      case ExprKind::Binary: {
        const BinaryenOp op = BinaryenBinaryGetOp(e);
        if (!ops().int_divisions.count(op) || !replaceable(i)) return;
        const BinaryenExpressionRef right = BinaryenBinaryGetRight(e);
        const BinaryenType t = BinaryenExpressionGetType(e);
        if (isPure(right)) {
          // (op a b) -> (select 0 (op a (select 1 b (eqz b))) (eqz b)): the
          // same value except that a zero divisor gives 0 instead of a trap.
          const BinaryenOp eqz = t == BinaryenTypeInt64() ? BinaryenEqZInt64() : BinaryenEqZInt32();
          sites.push_back({ops().binaryName(op) + " gives 0 instead of trapping on a zero divisor",
                           [this, i, m, e, right, t, eqz] {
                             auto isZero = [&] {
                               return BinaryenUnary(m, eqz, BinaryenExpressionCopy(right, m));
                             };
                             BinaryenBinarySetRight(
                                 e, BinaryenSelect(m, isZero(), intConst(m, t, 1),
                                                   BinaryenExpressionCopy(right, m), t));
                             // Select's operand order in the C API: condition first.
                             replace(i, BinaryenSelect(m, isZero(), intConst(m, t, 0), e, t));
                           }});
        } else {
          const BinaryenOp to = t == BinaryenTypeInt64() ? BinaryenAndInt64() : BinaryenAndInt32();
          sites.push_back({ops().binaryName(op) + " -> " + ops().binaryName(to) + " (cannot trap)",
                           [e, to] { BinaryenBinarySetOp(e, to); }});
        }
        break;
      }
      case ExprKind::Unary: {
        const BinaryenOp op = BinaryenUnaryGetOp(e);
        auto it = ops().trunc_to_sat.find(op);
        if (it == ops().trunc_to_sat.end()) return;
        Site site{ops().unaryName(op) + " -> " + ops().unaryName(it->second),
                  [e, to = it->second] { BinaryenUnarySetOp(e, to); }};
        site.extra_features = BinaryenFeatureNontrappingFPToInt();
        sites.push_back(std::move(site));
        break;
      }
      case ExprKind::Drop: {
        const BinaryenExpressionRef v = BinaryenDropGetValue(e);
        if (kindOf(v) != ExprKind::Load || !replaceable(i)) return;
        sites.push_back(
            {"unused " + loadText(v) + " removed", [this, i, m] { replace(i, BinaryenNop(m)); }});
        break;
      }
      default:
        break;
    }
  }

  void changeCallArg(std::size_t i, std::vector<Site>& sites) {
    const BinaryenExpressionRef e = expr(i);
    BinaryenModuleRef m = m_;
    if (kind(i) == ExprKind::Call) {
      for (BinaryenIndex k = 0, n = BinaryenCallGetNumOperands(e); k < n; ++k) {
        if (!plusOneable(BinaryenCallGetOperandAt(e, k))) continue;
        sites.push_back(
            {fmt::format("argument {} of call {} +1", k, BinaryenCallGetTarget(e)), [m, e, k] {
               BinaryenCallSetOperandAt(e, k, plusOne(m, BinaryenCallGetOperandAt(e, k)));
             }});
      }
    } else if (kind(i) == ExprKind::CallIndirect) {
      for (BinaryenIndex k = 0, n = BinaryenCallIndirectGetNumOperands(e); k < n; ++k) {
        if (!plusOneable(BinaryenCallIndirectGetOperandAt(e, k))) continue;
        sites.push_back({fmt::format("argument {} of call_indirect +1", k), [m, e, k] {
                           BinaryenCallIndirectSetOperandAt(
                               e, k, plusOne(m, BinaryenCallIndirectGetOperandAt(e, k)));
                         }});
      }
    }
  }

  static bool plusOneable(BinaryenExpressionRef e) {
    const BinaryenType t = BinaryenExpressionGetType(e);
    return t == BinaryenTypeInt32() || t == BinaryenTypeInt64() || t == BinaryenTypeFloat32() ||
           t == BinaryenTypeFloat64();
  }

  void swapCalls(std::size_t i, std::vector<Site>& sites) {
    const BinaryenExpressionRef e = expr(i);
    switch (kind(i)) {
      case ExprKind::Block:
        for (BinaryenIndex k = 0, n = BinaryenBlockGetNumChildren(e); k + 1 < n; ++k) {
          const BinaryenExpressionRef a = BinaryenBlockGetChildAt(e, k);
          const BinaryenExpressionRef b = BinaryenBlockGetChildAt(e, k + 1);
          if (!containsCall(a) || !containsCall(b)) continue;
          if (BinaryenExpressionGetType(a) != BinaryenTypeNone() ||
              BinaryenExpressionGetType(b) != BinaryenTypeNone()) {
            continue;
          }
          sites.push_back(
              {fmt::format("statements {} and {} (both call) swapped", k, k + 1), [e, k] {
                 const BinaryenExpressionRef first = BinaryenBlockGetChildAt(e, k);
                 BinaryenBlockSetChildAt(e, k, BinaryenBlockGetChildAt(e, k + 1));
                 BinaryenBlockSetChildAt(e, k + 1, first);
               }});
        }
        break;
      case ExprKind::Call:
        for (BinaryenIndex k = 0, n = BinaryenCallGetNumOperands(e); k + 1 < n; ++k) {
          const BinaryenExpressionRef a = BinaryenCallGetOperandAt(e, k);
          const BinaryenExpressionRef b = BinaryenCallGetOperandAt(e, k + 1);
          if (!containsCall(a) || !containsCall(b) ||
              BinaryenExpressionGetType(a) != BinaryenExpressionGetType(b)) {
            continue;
          }
          sites.push_back(
              {fmt::format("call operands {} and {} (both call) swapped", k, k + 1), [e, k] {
                 const BinaryenExpressionRef first = BinaryenCallGetOperandAt(e, k);
                 BinaryenCallSetOperandAt(e, k, BinaryenCallGetOperandAt(e, k + 1));
                 BinaryenCallSetOperandAt(e, k + 1, first);
               }});
        }
        break;
      case ExprKind::Binary:
        if (!containsCall(BinaryenBinaryGetLeft(e)) || !containsCall(BinaryenBinaryGetRight(e)))
          return;
        // Non-commutative ops are already covered by SwapOperands.
        if (ops().non_commutative.count(BinaryenBinaryGetOp(e))) return;
        sites.push_back(
            {"operands of " + ops().binaryName(BinaryenBinaryGetOp(e)) + " (both call) swapped",
             [e] {
               const BinaryenExpressionRef l = BinaryenBinaryGetLeft(e);
               BinaryenBinarySetLeft(e, BinaryenBinaryGetRight(e));
               BinaryenBinarySetRight(e, l);
             }});
        break;
      default:
        break;
    }
  }

  void loopBound(std::size_t i, std::vector<Site>& sites) {
    if (kind(i) != ExprKind::Break || nodes_[i].loop_depth == 0) return;
    const BinaryenExpressionRef br = expr(i);
    const BinaryenExpressionRef cond = BinaryenBreakGetCondition(br);
    if (!cond) return;
    const std::string where = fmt::format("br_if {}", BinaryenBreakGetName(br));
    BinaryenModuleRef m = m_;
    if (kindOf(cond) == ExprKind::Binary) {
      const BinaryenOp op = BinaryenBinaryGetOp(cond);
      if (!ops().comparisons.count(op)) return;
      if (auto it = ops().strictness_flip.find(op); it != ops().strictness_flip.end()) {
        sites.push_back(
            {fmt::format("{}: {} -> {}", where, ops().binaryName(op), ops().binaryName(it->second)),
             [cond, to = it->second] { BinaryenBinarySetOp(cond, to); }});
      }
      for (const BinaryenExpressionRef side :
           {BinaryenBinaryGetLeft(cond), BinaryenBinaryGetRight(cond)}) {
        if (kindOf(side) != ExprKind::Const) continue;
        const BinaryenType t = BinaryenExpressionGetType(side);
        if (t == BinaryenTypeInt32()) {
          const auto v = static_cast<std::uint32_t>(BinaryenConstGetValueI32(side));
          for (const int delta : {1, -1}) {
            sites.push_back({fmt::format("{}: bound {} -> {}", where, static_cast<std::int32_t>(v),
                                         static_cast<std::int32_t>(v + delta)),
                             [side, v, delta] {
                               BinaryenConstSetValueI32(side, static_cast<std::int32_t>(v + delta));
                             }});
          }
        } else if (t == BinaryenTypeInt64()) {
          const auto v = static_cast<std::uint64_t>(BinaryenConstGetValueI64(side));
          for (const int delta : {1, -1}) {
            sites.push_back({fmt::format("{}: bound {} -> {}", where, static_cast<std::int64_t>(v),
                                         static_cast<std::int64_t>(v + delta)),
                             [side, v, delta] {
                               BinaryenConstSetValueI64(side, static_cast<std::int64_t>(v + delta));
                             }});
          }
        }
      }
    } else if (kindOf(cond) == ExprKind::Unary) {
      const BinaryenOp op = BinaryenUnaryGetOp(cond);
      const bool is64 = op == BinaryenEqZInt64();
      if (op != BinaryenEqZInt32() && !is64) return;
      // (eqz x) -> (x == 1): the loop stops one step early.
      sites.push_back({where + ": eqz x -> x == 1", [m, br, cond, is64] {
                         const BinaryenType t = is64 ? BinaryenTypeInt64() : BinaryenTypeInt32();
                         BinaryenBreakSetCondition(
                             br, BinaryenBinary(m, is64 ? BinaryenEqInt64() : BinaryenEqInt32(),
                                                BinaryenUnaryGetValue(cond), intConst(m, t, 1)));
                       }});
    }
  }

  void changeLocal(std::size_t i, std::vector<Site>& sites) {
    const BinaryenExpressionRef e = expr(i);
    const auto types = localTypes(f_);
    if (kind(i) == ExprKind::LocalGet) {
      const BinaryenIndex index = BinaryenLocalGetGetIndex(e);
      if (auto other = otherLocal(types, index)) {
        sites.push_back({fmt::format("local.get {} -> local.get {}", index, *other),
                         [e, to = *other] { BinaryenLocalGetSetIndex(e, to); }});
      }
    } else if (kind(i) == ExprKind::LocalSet) {
      const BinaryenIndex index = BinaryenLocalSetGetIndex(e);
      if (auto other = otherLocal(types, index)) {
        const char* what = BinaryenLocalSetIsTee(e) ? "local.tee" : "local.set";
        sites.push_back({fmt::format("{} {} -> {} {}", what, index, what, *other),
                         [e, to = *other] { BinaryenLocalSetSetIndex(e, to); }});
      }
    }
  }

  std::optional<std::string> otherGlobal(const char* name, bool need_mutable) const {
    BinaryenGlobalRef self = BinaryenGetGlobal(m_, name);
    if (!self) return std::nullopt;
    const BinaryenType t = BinaryenGlobalGetType(self);
    const BinaryenIndex n = BinaryenGetNumGlobals(m_);
    BinaryenIndex at = 0;
    for (BinaryenIndex g = 0; g < n; ++g) {
      if (std::string_view(BinaryenGlobalGetName(BinaryenGetGlobalByIndex(m_, g))) == name) at = g;
    }
    for (BinaryenIndex step = 1; step < n; ++step) {
      BinaryenGlobalRef g = BinaryenGetGlobalByIndex(m_, (at + step) % n);
      if (BinaryenGlobalGetType(g) != t) continue;
      if (need_mutable && !BinaryenGlobalIsMutable(g)) continue;
      return std::string(BinaryenGlobalGetName(g));
    }
    return std::nullopt;
  }

  void changeGlobal(std::size_t i, std::vector<Site>& sites) {
    const BinaryenExpressionRef e = expr(i);
    if (kind(i) == ExprKind::GlobalGet) {
      if (auto other = otherGlobal(BinaryenGlobalGetGetName(e), false)) {
        sites.push_back({fmt::format("global.get {} -> {}", BinaryenGlobalGetGetName(e), *other),
                         [this, e, to = *other] { BinaryenGlobalGetSetName(e, intern(to)); }});
      }
    } else if (kind(i) == ExprKind::GlobalSet) {
      if (auto other = otherGlobal(BinaryenGlobalSetGetName(e), true)) {
        sites.push_back({fmt::format("global.set {} -> {}", BinaryenGlobalSetGetName(e), *other),
                         [this, e, to = *other] { BinaryenGlobalSetSetName(e, intern(to)); }});
      }
    }
  }

  void changeCallTarget(std::size_t i, std::vector<Site>& sites) {
    if (kind(i) != ExprKind::Call) return;
    const BinaryenExpressionRef e = expr(i);
    const std::string target = BinaryenCallGetTarget(e);
    BinaryenFunctionRef callee = BinaryenGetFunction(m_, target.c_str());
    if (!callee) return;
    const BinaryenIndex n = BinaryenGetNumFunctions(m_);
    BinaryenIndex at = 0;
    for (BinaryenIndex k = 0; k < n; ++k) {
      if (BinaryenFunctionGetName(BinaryenGetFunctionByIndex(m_, k)) == target) at = k;
    }
    for (BinaryenIndex step = 1; step < n; ++step) {
      BinaryenFunctionRef f = BinaryenGetFunctionByIndex(m_, (at + step) % n);
      if (BinaryenFunctionGetParams(f) != BinaryenFunctionGetParams(callee) ||
          BinaryenFunctionGetResults(f) != BinaryenFunctionGetResults(callee)) {
        continue;
      }
      const std::string to = BinaryenFunctionGetName(f);
      sites.push_back({fmt::format("call {} -> call {}", target, to),
                       [this, e, to] { BinaryenCallSetTarget(e, intern(to)); }});
      return;
    }
  }

  // Every other table, in module order after `name`. Binaryen 108's C API
  // does not tell a table's element type, so validation of the mutant keeps
  // only the tables whose type fits.
  std::vector<std::string> otherTables(const char* name) const {
    std::vector<std::string> out;
    const BinaryenIndex n = BinaryenGetNumTables(m_);
    BinaryenIndex at = 0;
    for (BinaryenIndex k = 0; k < n; ++k) {
      if (std::string_view(BinaryenTableGetName(BinaryenGetTableByIndex(m_, k))) == name) at = k;
    }
    for (BinaryenIndex step = 1; step < n; ++step)
      out.emplace_back(BinaryenTableGetName(BinaryenGetTableByIndex(m_, (at + step) % n)));
    return out;
  }

  void changeTable(std::size_t i, std::vector<Site>& sites) {
    const BinaryenExpressionRef e = expr(i);
    const char* from = nullptr;
    std::function<void(BinaryenExpressionRef, const char*)> set;
    const char* what = "";
    switch (kind(i)) {
      case ExprKind::CallIndirect:
        from = BinaryenCallIndirectGetTable(e);
        set = BinaryenCallIndirectSetTable;
        what = "call_indirect";
        break;
      case ExprKind::TableGet:
        from = BinaryenTableGetGetTable(e);
        set = BinaryenTableGetSetTable;
        what = "table.get";
        break;
      case ExprKind::TableSet:
        from = BinaryenTableSetGetTable(e);
        set = BinaryenTableSetSetTable;
        what = "table.set";
        break;
      case ExprKind::TableSize:
        from = BinaryenTableSizeGetTable(e);
        set = BinaryenTableSizeSetTable;
        what = "table.size";
        break;
      case ExprKind::TableGrow:
        from = BinaryenTableGrowGetTable(e);
        set = BinaryenTableGrowSetTable;
        what = "table.grow";
        break;
      default:
        return;
    }
    if (!from) return;
    for (const std::string& other : otherTables(from)) {
      sites.push_back({fmt::format("{} {} -> {} {}", what, from, what, other),
                       [this, e, set, to = other] { set(e, intern(to)); }});
    }
  }

  void changeLane(std::size_t i, std::vector<Site>& sites) {
    const BinaryenExpressionRef e = expr(i);
    // The next lane of `op`'s vector shape, set through `set`.
    auto moveLane = [&](const char* what, BinaryenOp op, unsigned lane,
                        void (*set)(BinaryenExpressionRef, std::uint8_t)) {
      const auto it = ops().lanes.find(op);
      if (it == ops().lanes.end() || it->second < 2) return;
      const auto to = static_cast<std::uint8_t>((lane + 1) % it->second);
      sites.push_back({fmt::format("{} {} -> {}", what, lane, to), [e, set, to] { set(e, to); }});
    };
    switch (kind(i)) {
      case ExprKind::SIMDExtract:
        moveLane("extract_lane", BinaryenSIMDExtractGetOp(e), BinaryenSIMDExtractGetIndex(e),
                 BinaryenSIMDExtractSetIndex);
        break;
      case ExprKind::SIMDReplace:
        moveLane("replace_lane", BinaryenSIMDReplaceGetOp(e), BinaryenSIMDReplaceGetIndex(e),
                 BinaryenSIMDReplaceSetIndex);
        break;
      case ExprKind::SIMDLoadStoreLane:
        moveLane("lane load/store lane", BinaryenSIMDLoadStoreLaneGetOp(e),
                 BinaryenSIMDLoadStoreLaneGetIndex(e), BinaryenSIMDLoadStoreLaneSetIndex);
        break;
      case ExprKind::SIMDShuffle: {
        std::uint8_t mask[16];
        BinaryenSIMDShuffleGetMask(e, mask);
        for (unsigned k = 0; k + 1 < 16; ++k) {
          if (mask[k] == mask[k + 1]) continue;
          sites.push_back({fmt::format("shuffle lanes {} and {} exchanged", k, k + 1), [e, k] {
                             std::uint8_t m[16];
                             BinaryenSIMDShuffleGetMask(e, m);
                             std::swap(m[k], m[k + 1]);
                             BinaryenSIMDShuffleSetMask(e, m);
                           }});
          break;
        }
        break;
      }
      default:
        break;
    }
  }

  void changeSegment(std::size_t i, std::vector<Site>& sites) {
    const BinaryenExpressionRef e = expr(i);
    const std::uint32_t count = BinaryenGetNumMemorySegments(m_);
    BinaryenModuleRef m = m_;
    if (kind(i) == ExprKind::MemoryInit) {
      const std::uint32_t segment = BinaryenMemoryInitGetSegment(e);
      if (count > 1) {
        const std::uint32_t to = (segment + 1) % count;
        sites.push_back({fmt::format("memory.init segment {} -> {}", segment, to),
                         [e, to] { BinaryenMemoryInitSetSegment(e, to); }});
      }
      sites.push_back({fmt::format("memory.init {} source offset +1", segment), [m, e] {
                         BinaryenMemoryInitSetOffset(e, plusOne(m, BinaryenMemoryInitGetOffset(e)));
                       }});
    } else if (kind(i) == ExprKind::DataDrop && count > 1) {
      const std::uint32_t segment = BinaryenDataDropGetSegment(e);
      const std::uint32_t to = (segment + 1) % count;
      sites.push_back({fmt::format("data.drop {} -> data.drop {}", segment, to),
                       [e, to] { BinaryenDataDropSetSegment(e, to); }});
    }
  }

  void removeDataDrop(std::size_t i, std::vector<Site>& sites) {
    if (kind(i) != ExprKind::DataDrop || !replaceable(i)) return;
    BinaryenModuleRef m = m_;
    sites.push_back({fmt::format("data.drop {} removed", BinaryenDataDropGetSegment(expr(i))),
                     [this, i, m] { replace(i, BinaryenNop(m)); }});
  }

  void negateRefIsNull(std::size_t i, std::vector<Site>& sites) {
    if (kind(i) != ExprKind::RefIs || BinaryenRefIsGetOp(expr(i)) != BinaryenRefIsNull() ||
        !replaceable(i)) {
      return;
    }
    const BinaryenExpressionRef e = expr(i);
    BinaryenModuleRef m = m_;
    sites.push_back({"ref.is_null negated",
                     [this, i, m, e] { replace(i, BinaryenUnary(m, BinaryenEqZInt32(), e)); }});
  }

  void swapTupleElements(std::size_t i, std::vector<Site>& sites) {
    const BinaryenExpressionRef e = expr(i);
    if (kind(i) == ExprKind::TupleExtract) {
      const BinaryenExpressionRef tuple = BinaryenTupleExtractGetTuple(e);
      const BinaryenType t = BinaryenExpressionGetType(tuple);
      const BinaryenIndex arity = BinaryenTypeArity(t);
      if (arity < 2) return;
      std::vector<BinaryenType> types(arity);
      BinaryenTypeExpand(t, types.data());
      const BinaryenIndex index = BinaryenTupleExtractGetIndex(e);
      for (BinaryenIndex step = 1; step < arity; ++step) {
        const BinaryenIndex to = (index + step) % arity;
        if (types[to] != types[index]) continue;
        sites.push_back({fmt::format("tuple.extract {} -> tuple.extract {}", index, to),
                         [e, to] { BinaryenTupleExtractSetIndex(e, to); }});
        break;
      }
    } else if (kind(i) == ExprKind::TupleMake) {
      for (BinaryenIndex k = 0, n = BinaryenTupleMakeGetNumOperands(e); k + 1 < n; ++k) {
        const BinaryenExpressionRef a = BinaryenTupleMakeGetOperandAt(e, k);
        const BinaryenExpressionRef b = BinaryenTupleMakeGetOperandAt(e, k + 1);
        if (BinaryenExpressionGetType(a) != BinaryenExpressionGetType(b)) continue;
        sites.push_back({fmt::format("tuple.make operands {} and {} exchanged", k, k + 1), [e, k] {
                           const BinaryenExpressionRef first = BinaryenTupleMakeGetOperandAt(e, k);
                           BinaryenTupleMakeSetOperandAt(e, k,
                                                         BinaryenTupleMakeGetOperandAt(e, k + 1));
                           BinaryenTupleMakeSetOperandAt(e, k + 1, first);
                         }});
        break;
      }
    }
  }

  void simdOpSwap(std::size_t i, std::vector<Site>& sites) {
    const BinaryenExpressionRef e = expr(i);
    if (kind(i) == ExprKind::Binary) {
      const BinaryenOp op = BinaryenBinaryGetOp(e);
      auto it = ops().simd_binary_swaps.find(op);
      if (it == ops().simd_binary_swaps.end()) return;
      for (BinaryenOp to : it->second) {
        sites.push_back({ops().simdName(op) + " -> " + ops().simdName(to),
                         [e, to] { BinaryenBinarySetOp(e, to); }});
      }
    } else if (kind(i) == ExprKind::Unary) {
      const BinaryenOp op = BinaryenUnaryGetOp(e);
      auto it = ops().simd_unary_swaps.find(op);
      if (it == ops().simd_unary_swaps.end()) return;
      for (BinaryenOp to : it->second) {
        sites.push_back({ops().simdName(op) + " -> " + ops().simdName(to),
                         [e, to] { BinaryenUnarySetOp(e, to); }});
      }
    }
  }

  // Binaryen interns the names it is given, but keep the strings alive for
  // the duration of the edit regardless.
  const char* intern(const std::string& s) { return names_.insert(s).first->c_str(); }

  BinaryenModuleRef m_;
  BinaryenFunctionRef f_;
  std::vector<Node> nodes_;
  std::set<std::string> names_;
};

BinaryenFunctionRef findDefined(BinaryenModuleRef m, std::string_view name) {
  for (BinaryenFunctionRef f : wasm::definedFunctions(m)) {
    if (BinaryenFunctionGetName(f) == name) return f;
  }
  return nullptr;
}

}  // namespace

std::string_view operatorName(MutationOperator op) {
  switch (op) {
    case MutationOperator::BinaryOpSwap:
      return "binary-op-swap";
    case MutationOperator::UnaryOpSwap:
      return "unary-op-swap";
    case MutationOperator::ConstOffByOne:
      return "const-off-by-one";
    case MutationOperator::SwapOperands:
      return "swap-operands";
    case MutationOperator::InvertCondition:
      return "invert-condition";
    case MutationOperator::SwapArms:
      return "swap-arms";
    case MutationOperator::DropStore:
      return "drop-store";
    case MutationOperator::MoveStore:
      return "move-store";
    case MutationOperator::ChangeOffset:
      return "change-offset";
    case MutationOperator::ChangeWidth:
      return "change-width";
    case MutationOperator::RemoveTrap:
      return "remove-trap";
    case MutationOperator::ChangeCallArg:
      return "change-call-arg";
    case MutationOperator::SwapCalls:
      return "swap-calls";
    case MutationOperator::LoopBound:
      return "loop-bound";
    case MutationOperator::ChangeLocal:
      return "change-local";
    case MutationOperator::ChangeGlobal:
      return "change-global";
    case MutationOperator::ChangeCallTarget:
      return "change-call-target";
    case MutationOperator::ChangeTable:
      return "change-table";
    case MutationOperator::ChangeLane:
      return "change-lane";
    case MutationOperator::ChangeSegment:
      return "change-segment";
    case MutationOperator::RemoveDataDrop:
      return "remove-data-drop";
    case MutationOperator::NegateRefIsNull:
      return "negate-ref-is-null";
    case MutationOperator::SwapTupleElements:
      return "swap-tuple-elements";
    case MutationOperator::SimdOpSwap:
      return "simd-op-swap";
  }
  return "?";
}

std::string MutantId::name() const {
  return fmt::format("{}/${}/{}#{}", fixture, function, operatorName(op), site);
}

bool setChild(BinaryenFunctionRef function, BinaryenExpressionRef parent, std::size_t index,
              BinaryenExpressionRef child) {
  if (!parent) {
    BinaryenFunctionSetBody(function, child);
    return true;
  }
  const auto i = static_cast<BinaryenIndex>(index);
  switch (kindOf(parent)) {
    case ExprKind::Block:
      BinaryenBlockSetChildAt(parent, i, child);
      return true;
    case ExprKind::If:
      if (i == 0)
        BinaryenIfSetCondition(parent, child);
      else if (i == 1)
        BinaryenIfSetIfTrue(parent, child);
      else
        BinaryenIfSetIfFalse(parent, child);
      return true;
    case ExprKind::Loop:
      BinaryenLoopSetBody(parent, child);
      return true;
    case ExprKind::Break:
      if (BinaryenBreakGetValue(parent) && i == 0)
        BinaryenBreakSetValue(parent, child);
      else
        BinaryenBreakSetCondition(parent, child);
      return true;
    case ExprKind::Switch:
      if (BinaryenSwitchGetValue(parent) && i == 0)
        BinaryenSwitchSetValue(parent, child);
      else
        BinaryenSwitchSetCondition(parent, child);
      return true;
    case ExprKind::Call:
      BinaryenCallSetOperandAt(parent, i, child);
      return true;
    case ExprKind::CallIndirect:
      if (i < BinaryenCallIndirectGetNumOperands(parent))
        BinaryenCallIndirectSetOperandAt(parent, i, child);
      else
        BinaryenCallIndirectSetTarget(parent, child);
      return true;
    case ExprKind::LocalSet:
      BinaryenLocalSetSetValue(parent, child);
      return true;
    case ExprKind::GlobalSet:
      BinaryenGlobalSetSetValue(parent, child);
      return true;
    case ExprKind::Load:
      BinaryenLoadSetPtr(parent, child);
      return true;
    case ExprKind::Store:
      if (i == 0)
        BinaryenStoreSetPtr(parent, child);
      else
        BinaryenStoreSetValue(parent, child);
      return true;
    case ExprKind::Unary:
      BinaryenUnarySetValue(parent, child);
      return true;
    case ExprKind::Binary:
      if (i == 0)
        BinaryenBinarySetLeft(parent, child);
      else
        BinaryenBinarySetRight(parent, child);
      return true;
    case ExprKind::Select:
      if (i == 0)
        BinaryenSelectSetIfTrue(parent, child);
      else if (i == 1)
        BinaryenSelectSetIfFalse(parent, child);
      else
        BinaryenSelectSetCondition(parent, child);
      return true;
    case ExprKind::Drop:
      BinaryenDropSetValue(parent, child);
      return true;
    case ExprKind::Return:
      BinaryenReturnSetValue(parent, child);
      return true;
    case ExprKind::MemoryGrow:
      BinaryenMemoryGrowSetDelta(parent, child);
      return true;
    default:
      return false;
  }
}

bool validateQuietly(const wasm::Module& module) {
  std::cerr.flush();
  std::fflush(stderr);
  const int saved = ::dup(2);
  const int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (saved < 0 || null_fd < 0) {
    if (saved >= 0) ::close(saved);
    if (null_fd >= 0) ::close(null_fd);
    return module.validate();
  }
  ::dup2(null_fd, 2);
  ::close(null_fd);
  const bool ok = module.validate();
  std::cerr.flush();
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  return ok;
}

std::vector<std::string> describeSites(const wasm::Module& module, std::string_view function,
                                       MutationOperator op) {
  std::vector<std::string> out;
  BinaryenFunctionRef f = findDefined(module.get(), function);
  if (!f) return out;
  SiteCollector collector(module.get(), f);
  for (const Site& s : collector.collect(op)) out.push_back(s.description);
  return out;
}

std::optional<wasm::Module> applyMutation(const wasm::Module& original, const MutantId& id) {
  wasm::Module copy = original.copy();
  BinaryenFunctionRef f = findDefined(copy.get(), id.function);
  if (!f) return std::nullopt;
  SiteCollector collector(copy.get(), f);
  std::vector<Site> sites = collector.collect(id.op);
  if (id.site >= sites.size()) return std::nullopt;
  Site& site = sites[id.site];
  site.apply();
  if (site.changes_types && site.node >= 0)
    collector.refinalizeAncestors(static_cast<std::size_t>(site.node));
  if (site.extra_features) copy.setFeatures(copy.features() | site.extra_features);
  if (!validateQuietly(copy)) return std::nullopt;
  return copy;
}

std::vector<Mutant> generateMutants(const wasm::Module& module, const std::string& fixture,
                                    const MutantOptions& options) {
  // Issue-named operators first: when two operators produce the same module
  // (a loop-bound constant is also a constant), the specific name is kept.
  static constexpr MutationOperator kOrder[] = {
      MutationOperator::ChangeTable,     MutationOperator::ChangeLane,
      MutationOperator::ChangeSegment,   MutationOperator::RemoveDataDrop,
      MutationOperator::NegateRefIsNull, MutationOperator::SwapTupleElements,
      MutationOperator::SimdOpSwap,      MutationOperator::LoopBound,
      MutationOperator::RemoveTrap,      MutationOperator::DropStore,
      MutationOperator::MoveStore,       MutationOperator::ChangeOffset,
      MutationOperator::ChangeWidth,     MutationOperator::ChangeCallArg,
      MutationOperator::SwapCalls,       MutationOperator::InvertCondition,
      MutationOperator::SwapArms,        MutationOperator::SwapOperands,
      MutationOperator::BinaryOpSwap,    MutationOperator::UnaryOpSwap,
      MutationOperator::ConstOffByOne,   MutationOperator::ChangeLocal,
      MutationOperator::ChangeGlobal,    MutationOperator::ChangeCallTarget,
  };
  static_assert(std::size(kOrder) == std::size(kAllMutationOperators));

  std::vector<Mutant> mutants;
  std::set<wasm::Hash128> seen{wasm::hashBytes(module.writeBinary())};
  for (BinaryenFunctionRef f : wasm::definedFunctions(module.get())) {
    const std::string function = BinaryenFunctionGetName(f);
    for (MutationOperator op : kOrder) {
      const std::vector<std::string> sites = describeSites(module, function, op);
      // Valid sites first, then the even spread: a site that does not
      // validate (an `unreachable` filled with the wrong type) takes no slot.
      std::vector<Mutant> valid;
      for (unsigned s = 0; s < sites.size(); ++s) {
        MutantId id{fixture, function, op, s, sites[s]};
        std::optional<wasm::Module> mutated = applyMutation(module, id);
        if (!mutated) continue;
        valid.push_back({std::move(id), std::move(*mutated)});
      }
      std::vector<std::size_t> keep;
      const std::size_t limit = options.max_sites_per_operator;
      if (limit == 0 || valid.size() <= limit) {
        for (std::size_t k = 0; k < valid.size(); ++k) keep.push_back(k);
      } else {
        for (std::size_t k = 0; k < limit; ++k) keep.push_back(k * valid.size() / limit);
      }
      for (std::size_t k : keep) {
        if (!seen.insert(wasm::hashBytes(valid[k].module.writeBinary())).second) continue;
        mutants.push_back(std::move(valid[k]));
      }
    }
  }
  return mutants;
}

}  // namespace loom::test
