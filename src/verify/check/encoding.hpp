// Both sides of one function pair, executed symbolically from the same
// inputs and environment, and the formula "they differ observably".
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/verify/check/correspondence.hpp"
#include "src/verify/semantics/environment.hpp"
#include "src/verify/semantics/executor.hpp"
#include "src/verify/smt/context.hpp"
#include "src/verify/smt/expr.hpp"

namespace loom::verify::check {

struct DiffPart {
  std::string what;   // "outcome", "result", "memory", "global g", "calls", "state at calls"
  smt::Expr differs;  // final memories are compared at one free address, `memory_witness`
  // A replay shows this difference (scripts/wasm-run.mjs records results,
  // traps, final memory and globals, and import calls with their
  // arguments, but not what the host could see of memory during a call).
  bool replayable = true;
};

struct Encoding {
  std::unique_ptr<sem::Environment> env;
  std::optional<sem::SideOutcome> original;
  std::optional<sem::SideOutcome> optimized;
  std::vector<DiffPart> parts;
  smt::Expr memory_witness;  // the address at which final memories are compared
  smt::Expr within_bound;    // neither side cut a bounded loop
  smt::Expr differs;         // within_bound and some part differs

  const sem::SideOutcome& side(sem::Side s) const {
    return s == sem::Side::Original ? *original : *optimized;
  }
};

// In inductive mode, `shared` maps an optimized loop-head component
// (loop ordinal, component index) to the original component whose head
// variable it reuses: equalities the invariant assumes outright, built into
// the terms so that equal computations on both sides become one term.
using SharedHeads = std::map<std::pair<int, unsigned>, unsigned>;

std::unique_ptr<Encoding> encodePair(smt::Smt& smt, const Correspondence& correspondence,
                                     const FunctionPair& pair, const sem::ExecOptions& options,
                                     const SharedHeads& shared = {});

}  // namespace loom::verify::check
