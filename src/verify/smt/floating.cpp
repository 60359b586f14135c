#include "src/verify/smt/floating.hpp"

#include <z3.h>

namespace loom::verify::smt {

namespace {

Expr wrap(Context& c, Z3_ast ast) {
  c.check();
  return Expr(c, ast);
}

unsigned widthOf(const Expr& fp) {
  return fp.sort().fpEbits() == 8 ? 32u : 64u;
}

}  // namespace

Sort fpSort(Context& c, unsigned width) {
  return width == 32 ? c.fpSort(8, 24) : c.fpSort(11, 53);
}

Expr roundingMode(Context& c, Rounding mode) {
  switch (mode) {
    case Rounding::NearestEven:
      return wrap(c, Z3_mk_fpa_rne(c.raw()));
    case Rounding::TowardPositive:
      return wrap(c, Z3_mk_fpa_rtp(c.raw()));
    case Rounding::TowardNegative:
      return wrap(c, Z3_mk_fpa_rtn(c.raw()));
    case Rounding::TowardZero:
      break;
  }
  return wrap(c, Z3_mk_fpa_rtz(c.raw()));
}

Expr bitsToFp(const Expr& bits) {
  Context& c = bits.ctx();
  return wrap(c, Z3_mk_fpa_to_fp_bv(c.raw(), bits.raw(), fpSort(c, bits.sort().bvSize()).raw()));
}

Expr fpToBits(const Expr& fp) {
  return wrap(fp.ctx(), Z3_mk_fpa_to_ieee_bv(fp.ctx().raw(), fp.raw()));
}

Expr fpIsNaN(const Expr& fp) {
  return wrap(fp.ctx(), Z3_mk_fpa_is_nan(fp.ctx().raw(), fp.raw()));
}

Expr fpAdd(const Expr& a, const Expr& b) {
  Context& c = a.ctx();
  return wrap(
      c, Z3_mk_fpa_add(c.raw(), roundingMode(c, Rounding::NearestEven).raw(), a.raw(), b.raw()));
}
Expr fpSub(const Expr& a, const Expr& b) {
  Context& c = a.ctx();
  return wrap(
      c, Z3_mk_fpa_sub(c.raw(), roundingMode(c, Rounding::NearestEven).raw(), a.raw(), b.raw()));
}
Expr fpMul(const Expr& a, const Expr& b) {
  Context& c = a.ctx();
  return wrap(
      c, Z3_mk_fpa_mul(c.raw(), roundingMode(c, Rounding::NearestEven).raw(), a.raw(), b.raw()));
}
Expr fpDiv(const Expr& a, const Expr& b) {
  Context& c = a.ctx();
  return wrap(
      c, Z3_mk_fpa_div(c.raw(), roundingMode(c, Rounding::NearestEven).raw(), a.raw(), b.raw()));
}
Expr fpSqrt(const Expr& a) {
  Context& c = a.ctx();
  return wrap(c, Z3_mk_fpa_sqrt(c.raw(), roundingMode(c, Rounding::NearestEven).raw(), a.raw()));
}
Expr fpRoundToIntegral(const Expr& a, Rounding mode) {
  Context& c = a.ctx();
  return wrap(c, Z3_mk_fpa_round_to_integral(c.raw(), roundingMode(c, mode).raw(), a.raw()));
}

Expr fpEq(const Expr& a, const Expr& b) {
  return wrap(a.ctx(), Z3_mk_fpa_eq(a.ctx().raw(), a.raw(), b.raw()));
}
Expr fpLt(const Expr& a, const Expr& b) {
  return wrap(a.ctx(), Z3_mk_fpa_lt(a.ctx().raw(), a.raw(), b.raw()));
}
Expr fpLe(const Expr& a, const Expr& b) {
  return wrap(a.ctx(), Z3_mk_fpa_leq(a.ctx().raw(), a.raw(), b.raw()));
}

Expr fpConvert(const Expr& fp, unsigned width) {
  Context& c = fp.ctx();
  if (widthOf(fp) == width) return fp;
  return wrap(c, Z3_mk_fpa_to_fp_float(c.raw(), roundingMode(c, Rounding::NearestEven).raw(),
                                       fp.raw(), fpSort(c, width).raw()));
}

Expr fpFromSigned(const Expr& bv, unsigned width) {
  Context& c = bv.ctx();
  return wrap(c, Z3_mk_fpa_to_fp_signed(c.raw(), roundingMode(c, Rounding::NearestEven).raw(),
                                        bv.raw(), fpSort(c, width).raw()));
}

Expr fpFromUnsigned(const Expr& bv, unsigned width) {
  Context& c = bv.ctx();
  return wrap(c, Z3_mk_fpa_to_fp_unsigned(c.raw(), roundingMode(c, Rounding::NearestEven).raw(),
                                          bv.raw(), fpSort(c, width).raw()));
}

Expr fpToSigned(const Expr& fp, unsigned bits) {
  Context& c = fp.ctx();
  return wrap(
      c, Z3_mk_fpa_to_sbv(c.raw(), roundingMode(c, Rounding::TowardZero).raw(), fp.raw(), bits));
}

Expr fpToUnsigned(const Expr& fp, unsigned bits) {
  Context& c = fp.ctx();
  return wrap(
      c, Z3_mk_fpa_to_ubv(c.raw(), roundingMode(c, Rounding::TowardZero).raw(), fp.raw(), bits));
}

Expr fpPowerOfTwo(Context& c, unsigned width, int exponent, bool negative) {
  // Built from bits: a normal number with a zero significand is exactly 2^e.
  const unsigned mantissa = width == 32 ? 23 : 52;
  const int bias = width == 32 ? 127 : 1023;
  std::uint64_t bits = static_cast<std::uint64_t>(exponent + bias) << mantissa;
  if (negative) bits |= signMask(width);
  return bitsToFp(c.bvVal(static_cast<uint64_t>(bits), width));
}

std::uint64_t signMask(unsigned width) {
  return width == 32 ? 0x80000000ULL : 0x8000000000000000ULL;
}

std::uint64_t quietNanMask(unsigned width) {
  return width == 32 ? 0x7fc00000ULL : 0x7ff8000000000000ULL;
}

}  // namespace loom::verify::smt
