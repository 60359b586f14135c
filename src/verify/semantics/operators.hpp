// The meaning of WebAssembly's numeric instructions (Binaryen's Unary and
// Binary expressions): a result and, for the partial ones, the condition
// under which they trap.
#pragma once

#include <binaryen-c.h>

#include <optional>
#include <string>

#include "src/verify/semantics/environment.hpp"
#include "src/verify/smt/expr.hpp"

namespace loom::verify::sem {

struct OpResult {
  smt::Expr value;
  std::optional<smt::Expr> trap;
};

// nullopt for operators the verifier does not model (relaxed SIMD...). The
// SIMD operators of these classes are simd.hpp's.
std::optional<OpResult> applyUnary(BinaryenOp op, const smt::Expr& a, NanSource& nans);
std::optional<OpResult> applyBinary(BinaryenOp op, const smt::Expr& a, const smt::Expr& b,
                                    NanSource& nans);
std::string unaryName(BinaryenOp op);
std::string binaryName(BinaryenOp op);

}  // namespace loom::verify::sem
