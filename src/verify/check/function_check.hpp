// The verdict for one pair of functions: induction for corresponding loops,
// then bounded unrolling, then (when they differ) a confirmed counterexample.
#pragma once

#include "loom/verify/verifier.hpp"
#include "src/verify/check/correspondence.hpp"

namespace loom::verify::check {

FunctionVerdict checkFunction(const Correspondence& correspondence, const FunctionPair& pair,
                              const VerifyOptions& options);

// Charges what an earlier attempt at the same function cost to `to`.
inline void addCost(FunctionVerdict& to, const FunctionVerdict& from) {
  to.solver_units += from.solver_units;
  to.encoding_terms += from.encoding_terms;
  to.solver_seconds += from.solver_seconds;
}

}  // namespace loom::verify::check
