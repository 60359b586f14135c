// Bit-vector building blocks for the integer instructions whose Z3 form is
// not a single operator: counting bits, rotations, boolean results.
#pragma once

#include <cstdint>

#include "src/verify/smt/expr.hpp"

namespace loom::verify::smt {

Expr bvConst(Context& c, std::uint64_t value, unsigned width);
Expr boolToBv(const Expr& b, unsigned width);  // true -> 1, false -> 0
Expr bvNonZero(const Expr& v);                 // v != 0 as a Bool

Expr countLeadingZeros(const Expr& v);
Expr countTrailingZeros(const Expr& v);
Expr popCount(const Expr& v);

// Shift and rotate counts are taken modulo the width, as WebAssembly does.
Expr shiftLeft(const Expr& v, const Expr& count);
Expr shiftRightUnsigned(const Expr& v, const Expr& count);
Expr shiftRightSigned(const Expr& v, const Expr& count);
Expr rotateLeft(const Expr& v, const Expr& count);
Expr rotateRight(const Expr& v, const Expr& count);

// The canonical form of linear integer arithmetic (additions, subtractions,
// multiplications and shifts by constants) modulo 2^width: atoms in a fixed
// order, coefficients and constants folded. Optimizers reassociate address
// arithmetic ((j-1)*4+256 becomes j*4+252); in one form both are one term,
// and loads through them are seen to read the same bytes without a solver.
Expr normalizeLinear(const Expr& e);

// Sign-extends the low `bits` of v to v's own width.
Expr signExtendLow(const Expr& v, unsigned bits);
Expr resize(const Expr& v, unsigned width, bool is_signed);

}  // namespace loom::verify::smt
