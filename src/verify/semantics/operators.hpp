// The meaning of WebAssembly's numeric instructions (Binaryen's Unary and
// Binary expressions): a result and, for the partial ones, the condition
// under which they trap.
#pragma once

#include <binaryen-c.h>

#include <optional>
#include <string>

#include "src/verify/semantics/environment.hpp"
#include "src/verify/smt/z3cpp.hpp"

namespace loom::verify::sem {

struct OpResult {
  z3::expr value;
  std::optional<z3::expr> trap;
};

// nullopt for operators the verifier does not model (SIMD, references...).
std::optional<OpResult> applyUnary(BinaryenOp op, const z3::expr& a, NanSource& nans);
std::optional<OpResult> applyBinary(BinaryenOp op, const z3::expr& a, const z3::expr& b,
                                    NanSource& nans);
std::string unaryName(BinaryenOp op);
std::string binaryName(BinaryenOp op);

}  // namespace loom::verify::sem
