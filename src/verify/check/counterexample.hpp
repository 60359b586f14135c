// Turning a satisfying assignment into a counterexample Node.js can replay
// (scripts/wasm-run.mjs), and making sure it is real.
//
// A model of "the two sides differ" may rely on freedom a replay does not
// have: a host that rewrites memory during an import call, a memory.grow
// that fails within its limit, a particular NaN payload, a call abstracted
// as an event. So the search is repeated under replay constraints (the host
// answers with the given values and does nothing else, grows succeed when
// they fit, NaN inputs are the canonical NaN, memory is the module's
// initial image except at the bytes the executions read), and the result is
// confirmed by one more query: with every replayed input fixed, no choice of
// NaN bits can make the two sides agree. Only then is it Refuted.
#pragma once

#include <optional>
#include <string>

#include "loom/verify/verifier.hpp"
#include "src/verify/check/encoding.hpp"

namespace loom::verify::check {

struct Refutation {
  std::optional<Counterexample> counterexample;
  std::string reason;  // what differs; or why no replayable counterexample was confirmed
};

// `solver` holds the axioms and `encoding.differs`, and was found satisfiable.
Refutation refute(smt::Smt& smt, smt::Solver& solver, const Encoding& encoding,
                  const Correspondence& correspondence, const FunctionPair& pair);

}  // namespace loom::verify::check
