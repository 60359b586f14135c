// Bit-vector building blocks for the integer instructions whose Z3 form is
// not a single operator: counting bits, rotations, boolean results.
#pragma once

#include <cstdint>

#include "src/verify/smt/z3cpp.hpp"

namespace loom::verify::smt {

z3::expr bvConst(z3::context& c, std::uint64_t value, unsigned width);
z3::expr boolToBv(const z3::expr& b, unsigned width);  // true -> 1, false -> 0
z3::expr bvNonZero(const z3::expr& v);                 // v != 0 as a Bool

z3::expr countLeadingZeros(const z3::expr& v);
z3::expr countTrailingZeros(const z3::expr& v);
z3::expr popCount(const z3::expr& v);

// Shift and rotate counts are taken modulo the width, as WebAssembly does.
z3::expr shiftLeft(const z3::expr& v, const z3::expr& count);
z3::expr shiftRightUnsigned(const z3::expr& v, const z3::expr& count);
z3::expr shiftRightSigned(const z3::expr& v, const z3::expr& count);
z3::expr rotateLeft(const z3::expr& v, const z3::expr& count);
z3::expr rotateRight(const z3::expr& v, const z3::expr& count);

// The canonical form of linear integer arithmetic (additions, subtractions,
// multiplications and shifts by constants) modulo 2^width: atoms in a fixed
// order, coefficients and constants folded. Optimizers reassociate address
// arithmetic ((j-1)*4+256 becomes j*4+252); in one form both are one term,
// and loads through them are seen to read the same bytes without a solver.
z3::expr normalizeLinear(const z3::expr& e);

// Sign-extends the low `bits` of v to v's own width.
z3::expr signExtendLow(const z3::expr& v, unsigned bits);
z3::expr resize(const z3::expr& v, unsigned width, bool is_signed);

}  // namespace loom::verify::smt
