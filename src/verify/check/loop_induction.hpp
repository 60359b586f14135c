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
#include <map>
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
// merges several into one, ssa-nomerge splits one into many). Only a
// guess, which Houdini checks.
using LocalPairs = std::set<std::pair<unsigned, unsigned>>;

// What a loop's head needs of each original local. A local split into many
// (ssa-nomerge) holds, at the head, the value of the one it is met with
// where the loop body reads it before writing it; one that is not live at
// the head needs no equality at all.
struct LoopGuide {
  LocalPairs met;             // anywhere in the loop (inner loops included)
  LocalPairs at_head;         // where the original reads it before writing it
  std::set<unsigned> unsure;  // read before written where the bodies do not line up
  std::set<unsigned> live;    // at the original's head
};

struct LocalGuide {
  LocalPairs everywhere;
  std::map<BinaryenExpressionRef, LoopGuide> in_loop;  // by the original's loop
};
LocalGuide correspondingLocals(BinaryenFunctionRef original, BinaryenFunctionRef optimized);

// `first` is the inductive encoding without shared heads. Houdini starts
// from the equalities `guide` suggests (at a loop of the checked function,
// each local live at its head with the locals the guide pairs it with
// there; every other component with itself), and from all pairs only if
// those do not prove the loops.
InductionOutcome proveByInduction(smt::Smt& smt, const Encoder& encode, const Encoding& first,
                                  const sem::StateLayout& layout, double* solver_seconds,
                                  const LocalGuide& guide = {});

}  // namespace loom::verify::check
