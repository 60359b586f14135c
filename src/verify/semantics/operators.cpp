#include "src/verify/semantics/operators.hpp"

#include <unordered_map>

#include "src/verify/semantics/simd.hpp"
#include "src/verify/smt/bitvector.hpp"
#include "src/verify/smt/floating.hpp"

namespace loom::verify::sem {

namespace {

// clang-format off
#define LOOM_UNARY_OPS(X)                                                                    \
  X(ClzInt32) X(CtzInt32) X(PopcntInt32) X(NegFloat32) X(AbsFloat32) X(CeilFloat32)          \
  X(FloorFloat32) X(TruncFloat32) X(NearestFloat32) X(SqrtFloat32) X(EqZInt32) X(ClzInt64)   \
  X(CtzInt64) X(PopcntInt64) X(NegFloat64) X(AbsFloat64) X(CeilFloat64) X(FloorFloat64)      \
  X(TruncFloat64) X(NearestFloat64) X(SqrtFloat64) X(EqZInt64) X(ExtendSInt32)               \
  X(ExtendUInt32) X(WrapInt64) X(TruncSFloat32ToInt32) X(TruncSFloat32ToInt64)               \
  X(TruncUFloat32ToInt32) X(TruncUFloat32ToInt64) X(TruncSFloat64ToInt32)                    \
  X(TruncSFloat64ToInt64) X(TruncUFloat64ToInt32) X(TruncUFloat64ToInt64)                    \
  X(ReinterpretFloat32) X(ReinterpretFloat64) X(ConvertSInt32ToFloat32)                      \
  X(ConvertSInt32ToFloat64) X(ConvertUInt32ToFloat32) X(ConvertUInt32ToFloat64)              \
  X(ConvertSInt64ToFloat32) X(ConvertSInt64ToFloat64) X(ConvertUInt64ToFloat32)              \
  X(ConvertUInt64ToFloat64) X(PromoteFloat32) X(DemoteFloat64) X(ReinterpretInt32)           \
  X(ReinterpretInt64) X(ExtendS8Int32) X(ExtendS16Int32) X(ExtendS8Int64) X(ExtendS16Int64)  \
  X(ExtendS32Int64) X(TruncSatSFloat32ToInt32) X(TruncSatSFloat32ToInt64)                    \
  X(TruncSatUFloat32ToInt32) X(TruncSatUFloat32ToInt64) X(TruncSatSFloat64ToInt32)           \
  X(TruncSatSFloat64ToInt64) X(TruncSatUFloat64ToInt32) X(TruncSatUFloat64ToInt64)
// clang-format on

// clang-format off
#define LOOM_BINARY_OPS(X)                                                                 \
  X(AddInt32) X(SubInt32) X(MulInt32) X(DivSInt32) X(DivUInt32) X(RemSInt32) X(RemUInt32)  \
  X(AndInt32) X(OrInt32) X(XorInt32) X(ShlInt32) X(ShrUInt32) X(ShrSInt32) X(RotLInt32)    \
  X(RotRInt32) X(EqInt32) X(NeInt32) X(LtSInt32) X(LtUInt32) X(LeSInt32) X(LeUInt32)       \
  X(GtSInt32) X(GtUInt32) X(GeSInt32) X(GeUInt32) X(AddInt64) X(SubInt64) X(MulInt64)      \
  X(DivSInt64) X(DivUInt64) X(RemSInt64) X(RemUInt64) X(AndInt64) X(OrInt64) X(XorInt64)   \
  X(ShlInt64) X(ShrUInt64) X(ShrSInt64) X(RotLInt64) X(RotRInt64) X(EqInt64) X(NeInt64)    \
  X(LtSInt64) X(LtUInt64) X(LeSInt64) X(LeUInt64) X(GtSInt64) X(GtUInt64) X(GeSInt64)      \
  X(GeUInt64) X(AddFloat32) X(SubFloat32) X(MulFloat32) X(DivFloat32) X(CopySignFloat32)   \
  X(MinFloat32) X(MaxFloat32) X(EqFloat32) X(NeFloat32) X(LtFloat32) X(LeFloat32)          \
  X(GtFloat32) X(GeFloat32) X(AddFloat64) X(SubFloat64) X(MulFloat64) X(DivFloat64)        \
  X(CopySignFloat64) X(MinFloat64) X(MaxFloat64) X(EqFloat64) X(NeFloat64) X(LtFloat64)    \
  X(LeFloat64) X(GtFloat64) X(GeFloat64)
// clang-format on

enum class Un {
#define LOOM_ENUM(name) name,
  LOOM_UNARY_OPS(LOOM_ENUM)
#undef LOOM_ENUM
};
enum class Bin {
#define LOOM_ENUM(name) name,
  LOOM_BINARY_OPS(LOOM_ENUM)
#undef LOOM_ENUM
};

struct Tables {
  std::unordered_map<BinaryenOp, std::pair<Un, const char*>> unary;
  std::unordered_map<BinaryenOp, std::pair<Bin, const char*>> binary;
  Tables() {
#define LOOM_MAP(name) unary.emplace(Binaryen##name(), std::make_pair(Un::name, #name));
    LOOM_UNARY_OPS(LOOM_MAP)
#undef LOOM_MAP
#define LOOM_MAP(name) binary.emplace(Binaryen##name(), std::make_pair(Bin::name, #name));
    LOOM_BINARY_OPS(LOOM_MAP)
#undef LOOM_MAP
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

smt::Expr i32(const smt::Expr& b) {
  return smt::boolToBv(b, 32);
}

smt::Expr bvOf(smt::Context& c, std::uint64_t v, unsigned w) {
  return c.bvVal(static_cast<uint64_t>(v), w);
}

// A float result: IEEE bits, or the NaN the environment picks.
smt::Expr floatResult(const smt::Expr& fp, const char* op, unsigned width,
                      std::vector<smt::Expr> operands, bool commutative, NanSource& nans) {
  return smt::ite(smt::fpIsNaN(fp), nans.nan(op, width, std::move(operands), commutative),
                  smt::fpToBits(fp));
}

OpResult rounding(const smt::Expr& a, smt::Rounding mode, const char* op, NanSource& nans) {
  const unsigned w = a.sort().bvSize();
  smt::Expr x = smt::bitsToFp(a);
  return {floatResult(smt::fpRoundToIntegral(x, mode), op, w, {a}, false, nans), std::nullopt};
}

// Trapping float -> integer truncation: NaN and values whose truncation is
// out of the target range trap.
OpResult truncTrapping(const smt::Expr& a, unsigned bits, bool is_signed) {
  smt::Context& c = a.ctx();
  const unsigned w = a.sort().bvSize();
  smt::Expr x = smt::bitsToFp(a);
  smt::Expr t = smt::fpRoundToIntegral(x, smt::Rounding::TowardZero);
  smt::Expr in_range =
      is_signed ? (smt::fpLe(smt::fpPowerOfTwo(c, w, static_cast<int>(bits) - 1, true), t) &&
                   smt::fpLt(t, smt::fpPowerOfTwo(c, w, static_cast<int>(bits) - 1, false)))
                : (smt::fpLe(smt::bitsToFp(bvOf(c, 0, w)), t) &&
                   smt::fpLt(t, smt::fpPowerOfTwo(c, w, static_cast<int>(bits), false)));
  smt::Expr value = is_signed ? smt::fpToSigned(x, bits) : smt::fpToUnsigned(x, bits);
  return {value, smt::fpIsNaN(x) || !in_range};
}

OpResult truncSaturating(const smt::Expr& a, unsigned bits, bool is_signed) {
  smt::Context& c = a.ctx();
  const unsigned w = a.sort().bvSize();
  smt::Expr x = smt::bitsToFp(a);
  smt::Expr t = smt::fpRoundToIntegral(x, smt::Rounding::TowardZero);
  const std::uint64_t all = bits == 64 ? ~0ULL : ((1ULL << bits) - 1);
  smt::Expr value;
  if (is_signed) {
    const std::uint64_t min = 1ULL << (bits - 1);
    value = smt::ite(
        smt::fpLt(t, smt::fpPowerOfTwo(c, w, static_cast<int>(bits) - 1, true)), bvOf(c, min, bits),
        smt::ite(smt::fpLe(smt::fpPowerOfTwo(c, w, static_cast<int>(bits) - 1, false), t),
                 bvOf(c, min - 1, bits), smt::fpToSigned(x, bits)));
  } else {
    value = smt::ite(smt::fpLt(t, smt::bitsToFp(bvOf(c, 0, w))), bvOf(c, 0, bits),
                     smt::ite(smt::fpLe(smt::fpPowerOfTwo(c, w, static_cast<int>(bits), false), t),
                              bvOf(c, all, bits), smt::fpToUnsigned(x, bits)));
  }
  return {smt::ite(smt::fpIsNaN(x), bvOf(c, 0, bits), value), std::nullopt};
}

bool isTwo(const smt::Expr& bits) {
  if (!bits.isNumeral()) return false;
  std::uint64_t v = 0;
  bits.getUint64(v);
  return bits.sort().bvSize() == 32 ? v == 0x40000000ULL : v == 0x4000000000000000ULL;
}

// For a constant power of two whose reciprocal is also a normal number,
// the reciprocal's bits.
std::optional<smt::Expr> exactReciprocal(const smt::Expr& bits) {
  if (!bits.isNumeral()) return std::nullopt;
  std::uint64_t v = 0;
  bits.getUint64(v);
  const unsigned w = bits.sort().bvSize();
  const unsigned mantissa_bits = w == 32 ? 23 : 52;
  const std::uint64_t exp_mask = w == 32 ? 0xffULL : 0x7ffULL;
  const std::int64_t bias = w == 32 ? 127 : 1023;
  const std::uint64_t sign = v >> (w - 1);
  const std::uint64_t exponent = (v >> mantissa_bits) & exp_mask;
  const std::uint64_t mantissa = v & ((1ULL << mantissa_bits) - 1);
  if (mantissa != 0 || exponent == 0 || exponent == exp_mask) return std::nullopt;
  const std::int64_t reciprocal_exponent = 2 * bias - static_cast<std::int64_t>(exponent);
  if (reciprocal_exponent <= 0 || reciprocal_exponent >= static_cast<std::int64_t>(exp_mask)) {
    return std::nullopt;
  }
  const std::uint64_t r =
      (sign << (w - 1)) | (static_cast<std::uint64_t>(reciprocal_exponent) << mantissa_bits);
  return bits.ctx().bvVal(static_cast<uint64_t>(r), w);
}

OpResult minMax(const smt::Expr& a, const smt::Expr& b, bool is_min, NanSource& nans) {
  const unsigned w = a.sort().bvSize();
  smt::Expr x = smt::bitsToFp(a), y = smt::bitsToFp(b);
  // Equal values differ in bits only for +0/-0: OR picks -0 (min), AND +0 (max).
  smt::Expr ordered = is_min ? smt::ite(smt::fpLt(x, y), a, smt::ite(smt::fpLt(y, x), b, a | b))
                             : smt::ite(smt::fpLt(x, y), b, smt::ite(smt::fpLt(y, x), a, a & b));
  smt::Expr nan = nans.nan(is_min ? "min" : "max", w, {a, b}, true);
  return {smt::ite(smt::fpIsNaN(x) || smt::fpIsNaN(y), nan, ordered), std::nullopt};
}

}  // namespace

std::string unaryName(BinaryenOp op) {
  auto it = tables().unary.find(op);
  return it == tables().unary.end() ? simdOpName(SimdOpClass::Unary, op) : it->second.second;
}

std::string binaryName(BinaryenOp op) {
  auto it = tables().binary.find(op);
  return it == tables().binary.end() ? simdOpName(SimdOpClass::Binary, op) : it->second.second;
}

std::optional<OpResult> applyUnary(BinaryenOp op, const smt::Expr& a, NanSource& nans) {
  auto it = tables().unary.find(op);
  if (it == tables().unary.end()) return applySimdUnary(op, a, nans);
  smt::Context& c = a.ctx();
  const unsigned w = a.sort().bvSize();
  auto pure = [](smt::Expr v) { return OpResult{std::move(v), std::nullopt}; };
  switch (it->second.first) {
    case Un::ClzInt32:
    case Un::ClzInt64:
      return pure(smt::countLeadingZeros(a));
    case Un::CtzInt32:
    case Un::CtzInt64:
      return pure(smt::countTrailingZeros(a));
    case Un::PopcntInt32:
    case Un::PopcntInt64:
      return pure(smt::popCount(a));
    case Un::EqZInt32:
    case Un::EqZInt64:
      return pure(i32(a == bvOf(c, 0, w)));
    case Un::NegFloat32:
    case Un::NegFloat64:
      return pure(a ^ bvOf(c, smt::signMask(w), w));
    case Un::AbsFloat32:
    case Un::AbsFloat64:
      return pure(a & bvOf(c, ~smt::signMask(w) & (w == 32 ? 0xffffffffULL : ~0ULL), w));
    case Un::CeilFloat32:
    case Un::CeilFloat64:
      return rounding(a, smt::Rounding::TowardPositive, "ceil", nans);
    case Un::FloorFloat32:
    case Un::FloorFloat64:
      return rounding(a, smt::Rounding::TowardNegative, "floor", nans);
    case Un::TruncFloat32:
    case Un::TruncFloat64:
      return rounding(a, smt::Rounding::TowardZero, "trunc", nans);
    case Un::NearestFloat32:
    case Un::NearestFloat64:
      return rounding(a, smt::Rounding::NearestEven, "nearest", nans);
    case Un::SqrtFloat32:
    case Un::SqrtFloat64:
      return pure(floatResult(smt::fpSqrt(smt::bitsToFp(a)), "sqrt", w, {a}, false, nans));
    case Un::ExtendSInt32:
      return pure(smt::sext(a, 32));
    case Un::ExtendUInt32:
      return pure(smt::zext(a, 32));
    case Un::WrapInt64:
      return pure(a.extract(31, 0));
    case Un::TruncSFloat32ToInt32:
    case Un::TruncSFloat64ToInt32:
      return truncTrapping(a, 32, true);
    case Un::TruncSFloat32ToInt64:
    case Un::TruncSFloat64ToInt64:
      return truncTrapping(a, 64, true);
    case Un::TruncUFloat32ToInt32:
    case Un::TruncUFloat64ToInt32:
      return truncTrapping(a, 32, false);
    case Un::TruncUFloat32ToInt64:
    case Un::TruncUFloat64ToInt64:
      return truncTrapping(a, 64, false);
    case Un::TruncSatSFloat32ToInt32:
    case Un::TruncSatSFloat64ToInt32:
      return truncSaturating(a, 32, true);
    case Un::TruncSatSFloat32ToInt64:
    case Un::TruncSatSFloat64ToInt64:
      return truncSaturating(a, 64, true);
    case Un::TruncSatUFloat32ToInt32:
    case Un::TruncSatUFloat64ToInt32:
      return truncSaturating(a, 32, false);
    case Un::TruncSatUFloat32ToInt64:
    case Un::TruncSatUFloat64ToInt64:
      return truncSaturating(a, 64, false);
    case Un::ReinterpretFloat32:
    case Un::ReinterpretFloat64:
    case Un::ReinterpretInt32:
    case Un::ReinterpretInt64:
      return pure(a);
    case Un::ConvertSInt32ToFloat32:
    case Un::ConvertSInt64ToFloat32:
      return pure(smt::fpToBits(smt::fpFromSigned(a, 32)));
    case Un::ConvertSInt32ToFloat64:
    case Un::ConvertSInt64ToFloat64:
      return pure(smt::fpToBits(smt::fpFromSigned(a, 64)));
    case Un::ConvertUInt32ToFloat32:
    case Un::ConvertUInt64ToFloat32:
      return pure(smt::fpToBits(smt::fpFromUnsigned(a, 32)));
    case Un::ConvertUInt32ToFloat64:
    case Un::ConvertUInt64ToFloat64:
      return pure(smt::fpToBits(smt::fpFromUnsigned(a, 64)));
    case Un::PromoteFloat32: {
      smt::Expr x = smt::bitsToFp(a);
      return pure(smt::ite(smt::fpIsNaN(x), nans.nan("promote", 64, {a}, false),
                           smt::fpToBits(smt::fpConvert(x, 64))));
    }
    case Un::DemoteFloat64: {
      smt::Expr x = smt::bitsToFp(a);
      return pure(smt::ite(smt::fpIsNaN(x), nans.nan("demote", 32, {a}, false),
                           smt::fpToBits(smt::fpConvert(x, 32))));
    }
    case Un::ExtendS8Int32:
    case Un::ExtendS8Int64:
      return pure(smt::signExtendLow(a, 8));
    case Un::ExtendS16Int32:
    case Un::ExtendS16Int64:
      return pure(smt::signExtendLow(a, 16));
    case Un::ExtendS32Int64:
      return pure(smt::signExtendLow(a, 32));
  }
  return std::nullopt;
}

std::optional<OpResult> applyBinary(BinaryenOp op, const smt::Expr& a, const smt::Expr& b,
                                    NanSource& nans) {
  auto it = tables().binary.find(op);
  if (it == tables().binary.end()) return applySimdBinary(op, a, b, nans);
  smt::Context& c = a.ctx();
  const unsigned w = a.sort().bvSize();
  auto pure = [](smt::Expr v) { return OpResult{std::move(v), std::nullopt}; };
  const smt::Expr zero = bvOf(c, 0, w);
  const smt::Expr int_min = bvOf(c, w == 32 ? 0x80000000ULL : 0x8000000000000000ULL, w);
  const smt::Expr minus_one = bvOf(c, w == 32 ? 0xffffffffULL : ~0ULL, w);
  auto fp = [&](auto f, const char* name, bool commutative) {
    // Commutative operators get their operands in a canonical order, so that
    // a swap by the optimizer yields the very same term.
    smt::Expr x = a, y = b;
    if (commutative && y.id() < x.id()) std::swap(x, y);
    return pure(
        floatResult(f(smt::bitsToFp(x), smt::bitsToFp(y)), name, w, {x, y}, commutative, nans));
  };
  // Commutative operators get their operands in one canonical order, so that
  // an optimizer's operand swap yields the very same term: otherwise Z3 may
  // bit-blast two multipliers to find they are equal.
  const bool swap = b.id() < a.id();
  const smt::Expr& lo = swap ? b : a;
  const smt::Expr& hi = swap ? a : b;
  switch (it->second.first) {
    case Bin::AddInt32:
    case Bin::AddInt64:
      return pure(smt::normalizeLinear(lo + hi));
    case Bin::SubInt32:
    case Bin::SubInt64:
      return pure(smt::normalizeLinear(a - b));
    case Bin::MulInt32:
    case Bin::MulInt64:
      return pure(smt::normalizeLinear(lo * hi));
    case Bin::DivSInt32:
    case Bin::DivSInt64:
      return OpResult{a / b, b == zero || (a == int_min && b == minus_one)};
    case Bin::DivUInt32:
    case Bin::DivUInt64:
      return OpResult{smt::udiv(a, b), b == zero};
    case Bin::RemSInt32:
    case Bin::RemSInt64:
      return OpResult{smt::srem(a, b), b == zero};
    case Bin::RemUInt32:
    case Bin::RemUInt64:
      return OpResult{smt::urem(a, b), b == zero};
    case Bin::AndInt32:
    case Bin::AndInt64:
      return pure(lo & hi);
    case Bin::OrInt32:
    case Bin::OrInt64:
      return pure(lo | hi);
    case Bin::XorInt32:
    case Bin::XorInt64:
      return pure(lo ^ hi);
    case Bin::ShlInt32:
    case Bin::ShlInt64:
      return pure(smt::normalizeLinear(smt::shiftLeft(a, b)));
    case Bin::ShrUInt32:
    case Bin::ShrUInt64:
      return pure(smt::shiftRightUnsigned(a, b));
    case Bin::ShrSInt32:
    case Bin::ShrSInt64:
      return pure(smt::shiftRightSigned(a, b));
    case Bin::RotLInt32:
    case Bin::RotLInt64:
      return pure(smt::rotateLeft(a, b));
    case Bin::RotRInt32:
    case Bin::RotRInt64:
      return pure(smt::rotateRight(a, b));
    case Bin::EqInt32:
    case Bin::EqInt64:
      return pure(i32(lo == hi));
    case Bin::NeInt32:
    case Bin::NeInt64:
      return pure(i32(lo != hi));
    case Bin::LtSInt32:
    case Bin::LtSInt64:
      return pure(i32(a < b));
    case Bin::LtUInt32:
    case Bin::LtUInt64:
      return pure(i32(smt::ult(a, b)));
    case Bin::LeSInt32:
    case Bin::LeSInt64:
      return pure(i32(a <= b));
    case Bin::LeUInt32:
    case Bin::LeUInt64:
      return pure(i32(smt::ule(a, b)));
    case Bin::GtSInt32:
    case Bin::GtSInt64:
      return pure(i32(a > b));
    case Bin::GtUInt32:
    case Bin::GtUInt64:
      return pure(i32(smt::ugt(a, b)));
    case Bin::GeSInt32:
    case Bin::GeSInt64:
      return pure(i32(a >= b));
    case Bin::GeUInt32:
    case Bin::GeUInt64:
      return pure(i32(smt::uge(a, b)));
    case Bin::AddFloat32:
    case Bin::AddFloat64:
      return fp(smt::fpAdd, "add", true);
    case Bin::SubFloat32:
    case Bin::SubFloat64:
      return fp(smt::fpSub, "sub", false);
    case Bin::MulFloat32:
    case Bin::MulFloat64:
      // x * 2 is exactly x + x (one rounding of the same real number, the
      // same NaN operand), the form optimize-instructions produces.
      if (isTwo(b) || isTwo(a)) {
        const smt::Expr& x = isTwo(b) ? a : b;
        return pure(floatResult(smt::fpAdd(smt::bitsToFp(x), smt::bitsToFp(x)), "add", w, {x, x},
                                true, nans));
      }
      return fp(smt::fpMul, "mul", true);
    case Bin::DivFloat32:
    case Bin::DivFloat64:
      // x / 2^k and x * 2^-k round the same real number and treat NaN alike
      // (the NaN choice does not depend on the operator), so they are one
      // term: optimizers make exactly this replacement, and bit-blasting a
      // divider to rediscover it is what times out.
      if (auto reciprocal = exactReciprocal(b)) {
        smt::Expr r = *reciprocal;
        smt::Expr x = a, y = r;
        if (y.id() < x.id()) std::swap(x, y);
        return pure(floatResult(smt::fpMul(smt::bitsToFp(x), smt::bitsToFp(y)), "mul", w, {x, y},
                                true, nans));
      }
      return fp(smt::fpDiv, "div", false);
    case Bin::CopySignFloat32:
    case Bin::CopySignFloat64: {
      const std::uint64_t sign = smt::signMask(w);
      const std::uint64_t rest = ~sign & (w == 32 ? 0xffffffffULL : ~0ULL);
      return pure((a & bvOf(c, rest, w)) | (b & bvOf(c, sign, w)));
    }
    case Bin::MinFloat32:
    case Bin::MinFloat64:
      return minMax(a, b, true, nans);
    case Bin::MaxFloat32:
    case Bin::MaxFloat64:
      return minMax(a, b, false, nans);
    case Bin::EqFloat32:
    case Bin::EqFloat64:
      return pure(i32(smt::fpEq(smt::bitsToFp(a), smt::bitsToFp(b))));
    case Bin::NeFloat32:
    case Bin::NeFloat64:
      return pure(i32(!smt::fpEq(smt::bitsToFp(a), smt::bitsToFp(b))));
    case Bin::LtFloat32:
    case Bin::LtFloat64:
      return pure(i32(smt::fpLt(smt::bitsToFp(a), smt::bitsToFp(b))));
    case Bin::LeFloat32:
    case Bin::LeFloat64:
      return pure(i32(smt::fpLe(smt::bitsToFp(a), smt::bitsToFp(b))));
    case Bin::GtFloat32:
    case Bin::GtFloat64:
      return pure(i32(smt::fpLt(smt::bitsToFp(b), smt::bitsToFp(a))));
    case Bin::GeFloat32:
    case Bin::GeFloat64:
      return pure(i32(smt::fpLe(smt::bitsToFp(b), smt::bitsToFp(a))));
  }
  return std::nullopt;
}

}  // namespace loom::verify::sem
