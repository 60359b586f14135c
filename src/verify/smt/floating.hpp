// IEEE-754 through Z3's floating-point theory. WebAssembly values stay
// bit-vectors of their IEEE bits everywhere else; these helpers convert at
// the boundary of each arithmetic operation, so that reinterpretations,
// loads, stores, abs, neg and copysign remain bit-exact.
#pragma once

#include <cstdint>

#include "src/verify/smt/expr.hpp"

namespace loom::verify::smt {

enum class Rounding { NearestEven, TowardPositive, TowardNegative, TowardZero };

Sort fpSort(Context& c, unsigned width);  // 32 -> binary32, 64 -> binary64
Expr roundingMode(Context& c, Rounding mode);

Expr bitsToFp(const Expr& bits);
// Exact for every non-NaN value; callers substitute NaN bits themselves,
// because Z3 leaves the bits of a NaN unspecified.
Expr fpToBits(const Expr& fp);

Expr fpIsNaN(const Expr& fp);
Expr fpAdd(const Expr& a, const Expr& b);
Expr fpSub(const Expr& a, const Expr& b);
Expr fpMul(const Expr& a, const Expr& b);
Expr fpDiv(const Expr& a, const Expr& b);
Expr fpSqrt(const Expr& a);
Expr fpRoundToIntegral(const Expr& a, Rounding mode);

Expr fpEq(const Expr& a, const Expr& b);
Expr fpLt(const Expr& a, const Expr& b);
Expr fpLe(const Expr& a, const Expr& b);

// Conversions between formats and from integers round to nearest-even.
Expr fpConvert(const Expr& fp, unsigned width);
Expr fpFromSigned(const Expr& bv, unsigned width);
Expr fpFromUnsigned(const Expr& bv, unsigned width);
// Exact when the truncated value is in range; callers check that first.
Expr fpToSigned(const Expr& fp, unsigned bits);
Expr fpToUnsigned(const Expr& fp, unsigned bits);
// The floating-point value 2^exponent (or -2^exponent), exactly.
Expr fpPowerOfTwo(Context& c, unsigned width, int exponent, bool negative);

std::uint64_t signMask(unsigned width);
std::uint64_t quietNanMask(unsigned width);  // exponent all ones plus the quiet bit

}  // namespace loom::verify::smt
