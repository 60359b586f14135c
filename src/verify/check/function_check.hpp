// The verdict for one pair of functions: induction for corresponding loops,
// then bounded unrolling, then (when they differ) a confirmed counterexample.
#pragma once

#include "loom/verify/verifier.hpp"
#include "src/verify/check/correspondence.hpp"

namespace loom::verify::check {

FunctionVerdict checkFunction(const Correspondence& correspondence, const FunctionPair& pair,
                              const VerifyOptions& options);

}  // namespace loom::verify::check
