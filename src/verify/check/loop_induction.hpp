// Loops whose structure corresponds on both sides are proved equivalent by
// induction, in the style of regression verification: at each pair of loop
// heads a relational invariant is assumed (equalities between original and
// optimized components the loop changes), and shown to hold on entry and to
// be preserved by one iteration in lockstep. The invariant is the largest
// inductive subset of the candidate equalities (Houdini): candidates refuted
// by a model are dropped until the rest is inductive.
#pragma once

#include <binaryen-c.h>

#include <functional>
#include <memory>
#include <set>
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

// Re-encodes the pair in LoopMode::Inductive with the given heads shared.
using Encoder = std::function<std::unique_ptr<Encoding>(const SharedHeads&)>;

// (original, optimized) local indices met at the same places when both
// bodies are walked in step while their nodes are of the same kind: the
// locals a pass left where they were, or renumbered (coalesce-locals
// merges several into one). Only a guess, which Houdini checks.
using LocalPairs = std::set<std::pair<unsigned, unsigned>>;
LocalPairs correspondingLocals(BinaryenFunctionRef original, BinaryenFunctionRef optimized);

// `first` is the inductive encoding without shared heads. Houdini starts
// from the equalities `guide` suggests (each local with the locals it was
// met with, one never met with itself; every other component with itself),
// and from all pairs only if those do not prove the loops.
InductionOutcome proveByInduction(smt::Smt& smt, const Encoder& encode, const Encoding& first,
                                  const sem::StateLayout& layout, double* solver_seconds,
                                  const LocalPairs& guide = {});

}  // namespace loom::verify::check
