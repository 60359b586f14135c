// Loops whose structure corresponds on both sides are proved equivalent by
// induction, in the style of regression verification: at each pair of loop
// heads a relational invariant is assumed (equalities between original and
// optimized components the loop changes), and shown to hold on entry and to
// be preserved by one iteration in lockstep. The invariant is the largest
// inductive subset of the candidate equalities (Houdini): candidates refuted
// by a model are dropped until the rest is inductive.
#pragma once

#include <string>

#include "src/verify/check/encoding.hpp"

namespace loom::verify::check {

struct InductionOutcome {
  enum class Result { Proved, Failed, Unknown };
  Result result = Result::Failed;
  std::string reason;
  unsigned loops = 0;
  unsigned invariants = 0;  // equalities in the final invariants
  unsigned rounds = 0;
};

// `solver` holds the axioms of the encoding (made in LoopMode::Inductive).
InductionOutcome proveByInduction(smt::Smt& smt, smt::Solver& solver, const Encoding& encoding,
                                  const sem::StateLayout& layout);

}  // namespace loom::verify::check
