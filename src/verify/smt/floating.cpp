#include "src/verify/smt/floating.hpp"

namespace loom::verify::smt {

namespace {

z3::expr wrap(z3::context& c, Z3_ast ast) {
  z3::expr e(c, ast);
  c.check_error();
  return e;
}

unsigned widthOf(const z3::expr& fp) {
  return fp.get_sort().fpa_ebits() == 8 ? 32u : 64u;
}

}  // namespace

z3::sort fpSort(z3::context& c, unsigned width) {
  return width == 32 ? c.fpa_sort(8, 24) : c.fpa_sort(11, 53);
}

z3::expr roundingMode(z3::context& c, Rounding mode) {
  switch (mode) {
    case Rounding::NearestEven:
      return wrap(c, Z3_mk_fpa_rne(c));
    case Rounding::TowardPositive:
      return wrap(c, Z3_mk_fpa_rtp(c));
    case Rounding::TowardNegative:
      return wrap(c, Z3_mk_fpa_rtn(c));
    case Rounding::TowardZero:
      break;
  }
  return wrap(c, Z3_mk_fpa_rtz(c));
}

z3::expr bitsToFp(const z3::expr& bits) {
  z3::context& c = bits.ctx();
  return wrap(c, Z3_mk_fpa_to_fp_bv(c, bits, fpSort(c, bits.get_sort().bv_size())));
}

z3::expr fpToBits(const z3::expr& fp) {
  return wrap(fp.ctx(), Z3_mk_fpa_to_ieee_bv(fp.ctx(), fp));
}

z3::expr fpIsNaN(const z3::expr& fp) {
  return wrap(fp.ctx(), Z3_mk_fpa_is_nan(fp.ctx(), fp));
}

z3::expr fpAdd(const z3::expr& a, const z3::expr& b) {
  z3::context& c = a.ctx();
  return wrap(c, Z3_mk_fpa_add(c, roundingMode(c, Rounding::NearestEven), a, b));
}
z3::expr fpSub(const z3::expr& a, const z3::expr& b) {
  z3::context& c = a.ctx();
  return wrap(c, Z3_mk_fpa_sub(c, roundingMode(c, Rounding::NearestEven), a, b));
}
z3::expr fpMul(const z3::expr& a, const z3::expr& b) {
  z3::context& c = a.ctx();
  return wrap(c, Z3_mk_fpa_mul(c, roundingMode(c, Rounding::NearestEven), a, b));
}
z3::expr fpDiv(const z3::expr& a, const z3::expr& b) {
  z3::context& c = a.ctx();
  return wrap(c, Z3_mk_fpa_div(c, roundingMode(c, Rounding::NearestEven), a, b));
}
z3::expr fpSqrt(const z3::expr& a) {
  z3::context& c = a.ctx();
  return wrap(c, Z3_mk_fpa_sqrt(c, roundingMode(c, Rounding::NearestEven), a));
}
z3::expr fpRoundToIntegral(const z3::expr& a, Rounding mode) {
  z3::context& c = a.ctx();
  return wrap(c, Z3_mk_fpa_round_to_integral(c, roundingMode(c, mode), a));
}

z3::expr fpEq(const z3::expr& a, const z3::expr& b) {
  return wrap(a.ctx(), Z3_mk_fpa_eq(a.ctx(), a, b));
}
z3::expr fpLt(const z3::expr& a, const z3::expr& b) {
  return wrap(a.ctx(), Z3_mk_fpa_lt(a.ctx(), a, b));
}
z3::expr fpLe(const z3::expr& a, const z3::expr& b) {
  return wrap(a.ctx(), Z3_mk_fpa_leq(a.ctx(), a, b));
}

z3::expr fpConvert(const z3::expr& fp, unsigned width) {
  z3::context& c = fp.ctx();
  if (widthOf(fp) == width) return fp;
  return wrap(
      c, Z3_mk_fpa_to_fp_float(c, roundingMode(c, Rounding::NearestEven), fp, fpSort(c, width)));
}

z3::expr fpFromSigned(const z3::expr& bv, unsigned width) {
  z3::context& c = bv.ctx();
  return wrap(
      c, Z3_mk_fpa_to_fp_signed(c, roundingMode(c, Rounding::NearestEven), bv, fpSort(c, width)));
}

z3::expr fpFromUnsigned(const z3::expr& bv, unsigned width) {
  z3::context& c = bv.ctx();
  return wrap(
      c, Z3_mk_fpa_to_fp_unsigned(c, roundingMode(c, Rounding::NearestEven), bv, fpSort(c, width)));
}

z3::expr fpToSigned(const z3::expr& fp, unsigned bits) {
  z3::context& c = fp.ctx();
  return wrap(c, Z3_mk_fpa_to_sbv(c, roundingMode(c, Rounding::TowardZero), fp, bits));
}

z3::expr fpToUnsigned(const z3::expr& fp, unsigned bits) {
  z3::context& c = fp.ctx();
  return wrap(c, Z3_mk_fpa_to_ubv(c, roundingMode(c, Rounding::TowardZero), fp, bits));
}

z3::expr fpPowerOfTwo(z3::context& c, unsigned width, int exponent, bool negative) {
  // Built from bits: a normal number with a zero significand is exactly 2^e.
  const unsigned mantissa = width == 32 ? 23 : 52;
  const int bias = width == 32 ? 127 : 1023;
  std::uint64_t bits = static_cast<std::uint64_t>(exponent + bias) << mantissa;
  if (negative) bits |= signMask(width);
  return bitsToFp(c.bv_val(static_cast<uint64_t>(bits), width));
}

std::uint64_t signMask(unsigned width) {
  return width == 32 ? 0x80000000ULL : 0x8000000000000000ULL;
}

std::uint64_t quietNanMask(unsigned width) {
  return width == 32 ? 0x7fc00000ULL : 0x7ff8000000000000ULL;
}

}  // namespace loom::verify::smt
