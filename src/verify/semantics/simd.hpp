// The meaning of WebAssembly's 128-bit SIMD instructions over bit-vectors. A
// v128 is a bv128 with lane 0 in the low bits (the little-endian layout of
// memory). Lane-wise float operations apply the scalar semantics of
// operators.hpp to each lane, so their NaN rules are exactly the scalars'.
//
// Binaryen numbers the operators of each expression class separately (the
// Unary, Binary, SIMDExtract, SIMDReplace, SIMDShift, SIMDTernary, SIMDLoad
// and SIMDLoadStoreLane enums all start at 0), so an operator is only
// meaningful together with the class of the expression it came from.
//
// The relaxed-SIMD operators (whose results are implementation-defined) are
// not modelled: every function answers nullopt for them, and the verifier
// reports them as unsupported.
#pragma once

#include <binaryen-c.h>

#include <cstdint>
#include <optional>
#include <string>

#include "src/verify/semantics/environment.hpp"
#include "src/verify/semantics/operators.hpp"
#include "src/verify/smt/expr.hpp"

namespace loom::verify::sem {

// Unary and Binary expressions whose operand or result is a v128: splats
// (operand i32/i64/f32/f64 bits), v128.any_true, all_true and bitmask
// (result i32), lane-wise unary operators, conversions, and every lane-wise
// binary operator (two v128 operands, v128 result). Never trap.
std::optional<OpResult> applySimdUnary(BinaryenOp op, const smt::Expr& a, NanSource& nans);
std::optional<OpResult> applySimdBinary(BinaryenOp op, const smt::Expr& a, const smt::Expr& b,
                                        NanSource& nans);

// SIMDExtract: the lane as an i32 (i8x16/i16x8 extended, i32x4), an i64
// (i64x2), or the raw IEEE bits of an f32 (32 bits) or f64 (64 bits).
// nullopt for an unknown operator or a lane out of range.
std::optional<smt::Expr> simdExtract(BinaryenOp op, const smt::Expr& vec, unsigned lane);
// SIMDReplace: `value` is the i32 (i8x16/i16x8 take its low bits, i32x4),
// i64, or f32/f64 bits that replace the lane.
std::optional<smt::Expr> simdReplace(BinaryenOp op, const smt::Expr& vec, unsigned lane,
                                     const smt::Expr& value);
// SIMDShuffle (i8x16.shuffle): mask entries 0..15 pick bytes of `left`,
// 16..31 bytes of `right` (entries are taken modulo 32).
smt::Expr simdShuffle(const smt::Expr& left, const smt::Expr& right, const std::uint8_t mask[16]);
// SIMDTernary: v128.bitselect(a, b, c) = (a & c) | (b & ~c). The relaxed
// operators (madd/nmadd, laneselect, dot-add) give nullopt.
std::optional<OpResult> simdTernary(BinaryenOp op, const smt::Expr& a, const smt::Expr& b,
                                    const smt::Expr& c, NanSource& nans);
// SIMDShift: the i32 shift count is taken modulo the lane width.
std::optional<smt::Expr> simdShift(BinaryenOp op, const smt::Expr& vec, const smt::Expr& shift);

// SIMDLoad (load splats, load-and-extend, load-zero; not v128.load, which
// Binaryen represents as an ordinary Load of 16 bytes): the bytes read from
// memory, and the v128 made from those little-endian bytes (`raw` has
// 8 * simdLoadBytes(op) bits, the first byte in the low bits).
std::optional<unsigned> simdLoadBytes(BinaryenOp op);
std::optional<smt::Expr> simdLoadValue(BinaryenOp op, const smt::Expr& raw);

// SIMDLoadStoreLane (v128.load8_lane ... v128.store64_lane): the bytes of
// one lane, and whether the operator stores (the lane's bytes to memory, no
// result) or loads (the bytes replace the lane; result the new v128).
std::optional<unsigned> simdLaneBytes(BinaryenOp op);
bool simdLaneIsStore(BinaryenOp op);
// The bits of lane `lane` (lane_bits wide) of `vec`, and `vec` with that
// lane replaced by `value` (lane_bits wide): what a load/store lane reads
// and writes.
smt::Expr simdLaneGet(const smt::Expr& vec, unsigned lane_bits, unsigned lane);
smt::Expr simdLaneSet(const smt::Expr& vec, unsigned lane_bits, unsigned lane,
                      const smt::Expr& value);

// The expression class an operator number belongs to (see above).
enum class SimdOpClass { Unary, Binary, Extract, Replace, Shift, Ternary, Load, LoadStoreLane };
// The wat-style name, e.g. "i8x16.add_sat_s"; "<class> op <n>" if unknown.
std::string simdOpName(SimdOpClass cls, BinaryenOp op);
// Whether an operator is one of relaxed SIMD's (Binaryen 108's numbering).
bool simdIsRelaxed(SimdOpClass cls, BinaryenOp op);

}  // namespace loom::verify::sem
