// IEEE-754 through Z3's floating-point theory. WebAssembly values stay
// bit-vectors of their IEEE bits everywhere else; these helpers convert at
// the boundary of each arithmetic operation, so that reinterpretations,
// loads, stores, abs, neg and copysign remain bit-exact.
#pragma once

#include <cstdint>

#include "src/verify/smt/z3cpp.hpp"

namespace loom::verify::smt {

enum class Rounding { NearestEven, TowardPositive, TowardNegative, TowardZero };

z3::sort fpSort(z3::context& c, unsigned width);  // 32 -> binary32, 64 -> binary64
z3::expr roundingMode(z3::context& c, Rounding mode);

z3::expr bitsToFp(const z3::expr& bits);
// Exact for every non-NaN value; callers substitute NaN bits themselves,
// because Z3 leaves the bits of a NaN unspecified.
z3::expr fpToBits(const z3::expr& fp);

z3::expr fpIsNaN(const z3::expr& fp);
z3::expr fpAdd(const z3::expr& a, const z3::expr& b);
z3::expr fpSub(const z3::expr& a, const z3::expr& b);
z3::expr fpMul(const z3::expr& a, const z3::expr& b);
z3::expr fpDiv(const z3::expr& a, const z3::expr& b);
z3::expr fpSqrt(const z3::expr& a);
z3::expr fpRoundToIntegral(const z3::expr& a, Rounding mode);

z3::expr fpEq(const z3::expr& a, const z3::expr& b);
z3::expr fpLt(const z3::expr& a, const z3::expr& b);
z3::expr fpLe(const z3::expr& a, const z3::expr& b);

// Conversions between formats and from integers round to nearest-even.
z3::expr fpConvert(const z3::expr& fp, unsigned width);
z3::expr fpFromSigned(const z3::expr& bv, unsigned width);
z3::expr fpFromUnsigned(const z3::expr& bv, unsigned width);
// Exact when the truncated value is in range; callers check that first.
z3::expr fpToSigned(const z3::expr& fp, unsigned bits);
z3::expr fpToUnsigned(const z3::expr& fp, unsigned bits);
// The floating-point value 2^exponent (or -2^exponent), exactly.
z3::expr fpPowerOfTwo(z3::context& c, unsigned width, int exponent, bool negative);

std::uint64_t signMask(unsigned width);
std::uint64_t quietNanMask(unsigned width);  // exponent all ones plus the quiet bit

}  // namespace loom::verify::smt
