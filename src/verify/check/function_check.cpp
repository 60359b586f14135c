#include "src/verify/check/function_check.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "src/verify/check/counterexample.hpp"
#include "src/verify/check/encoding.hpp"
#include "src/verify/check/loop_induction.hpp"

namespace loom::verify::check {

namespace {

struct Attempt {
  FunctionVerdict verdict;
  bool decided = false;
};

void assertBase(smt::Solver& solver, const Encoding& enc) {
  for (const auto& a : enc.env->axioms()) solver.add(a);
}

// No loop was havocked: the encoding is exact except for the loop bound.
Attempt decide(smt::Smt& smt, const Encoding& enc, const Correspondence& c,
               const FunctionPair& pair, unsigned bound, double& solver_seconds) {
  Attempt out;
  out.verdict.function = pair.label;
  smt::Solver solver(smt);
  assertBase(solver, enc);
  solver.push();
  solver.add(enc.differs);
  const smt::CheckResult r = solver.check();
  if (r == smt::CheckResult::Unknown) {
    solver_seconds += solver.seconds();
    out.verdict.verdict = Verdict::Unknown;
    out.verdict.reason = "solver " + solver.lastReason();
    out.decided = true;
    return out;
  }
  if (r == smt::CheckResult::Sat) {
    // Without `differs`: confirming asks whether the sides can agree once
    // the replayed inputs are fixed, which `differs` would rule out.
    solver.pop();
    Refutation ref = refute(smt, solver, enc, c, pair);
    solver_seconds += solver.seconds();
    out.decided = true;
    if (ref.counterexample) {
      out.verdict.verdict = Verdict::Refuted;
      out.verdict.reason = ref.reason;
      out.verdict.counterexample = std::move(ref.counterexample);
    } else {
      out.verdict.verdict = Verdict::Unknown;
      out.verdict.reason = "a difference is possible but not confirmed: " + ref.reason;
    }
    return out;
  }
  solver.pop();
  // Equivalent within the bound; is the bound ever reached?
  const sem::SideOutcome& o = *enc.original;
  const sem::SideOutcome& p = *enc.optimized;
  out.decided = true;
  if (o.loops_cut + p.loops_cut == 0) {
    out.verdict.verdict = Verdict::Proved;
  } else {
    solver.push();
    solver.add(o.exceeded || p.exceeded);
    const smt::CheckResult cut = solver.check();
    solver.pop();
    if (cut == smt::CheckResult::Unsat) {
      out.verdict.verdict = Verdict::Proved;
      out.verdict.reason = fmt::format("every loop finishes within {} iterations", bound);
    } else {
      out.verdict.verdict = Verdict::Bounded;
      out.verdict.bound = bound;
      out.verdict.reason = fmt::format(
          "equivalent on every execution in which no loop runs more than {} iterations per entry",
          bound);
    }
  }
  solver_seconds += solver.seconds();
  return out;
}

FunctionVerdict unknown(const FunctionPair& pair, std::string reason) {
  FunctionVerdict v;
  v.function = pair.label;
  v.verdict = Verdict::Unknown;
  v.reason = std::move(reason);
  return v;
}

}  // namespace

namespace {

// `proof_only`: the caller takes nothing but a proof from this attempt, so
// the bounded unrolling after a failed induction (which proves only when
// every loop ends within the bound) is not tried.
FunctionVerdict checkWith(const Correspondence& c, const FunctionPair& pair,
                          const VerifyOptions& options, smt::Budget& budget,
                          bool abstract_recursion, bool proof_only = false) {
  double solver_seconds = 0;
  std::string induction_note;
  auto finish = [&](FunctionVerdict v) {
    v.solver_seconds = solver_seconds;
    v.solver_units = budget.spentUnits();
    v.encoding_terms = budget.totalTerms();
    if (!induction_note.empty() && v.verdict != Verdict::Proved && v.verdict != Verdict::Refuted) {
      v.reason += v.reason.empty() ? induction_note : " (" + induction_note + ")";
    }
    return v;
  };
  try {
    // First the inductive encoding. Without loops it is exact and final.
    try {
      smt::Smt smt(budget);
      sem::ExecOptions exec;
      exec.loop_mode = sem::LoopMode::Inductive;
      exec.loop_bound = options.loop_bound;
      exec.inline_depth = options.inline_depth;
      exec.abstract_recursion = abstract_recursion;
      auto enc = encodePair(smt, c, pair, exec);
      if (enc->original->loops.empty() && enc->optimized->loops.empty()) {
        Attempt a = decide(smt, *enc, c, pair, options.loop_bound, solver_seconds);
        return finish(std::move(a.verdict));
      }
      const Encoder encoder = [&](const SharedHeads& shared) {
        return encodePair(smt, c, pair, exec, shared);
      };
      InductionOutcome ind =
          proveByInduction(smt, encoder, *enc, c.layout(), &solver_seconds,
                           correspondingLocals(c.original().function(pair.original)->ref,
                                               c.optimized().function(pair.optimized)->ref));
      if (ind.result == InductionOutcome::Result::Proved) {
        FunctionVerdict v;
        v.function = pair.label;
        v.verdict = Verdict::Proved;
        v.reason = fmt::format("{} loop{} proved by induction ({} invariant equalities)", ind.loops,
                               ind.loops == 1 ? "" : "s", ind.invariants);
        return finish(std::move(v));
      }
      induction_note = "induction failed: " + ind.reason;
    } catch (const smt::LimitExceeded& e) {
      if (budget.expired()) throw;
      induction_note = std::string("induction failed: ") + e.what();
    }
    if (proof_only) return finish(unknown(pair, ""));
    // Then bounded unrolling, with smaller bounds if the encoding is too big.
    std::string last_error;
    for (unsigned bound = std::max(1u, options.loop_bound);; bound = bound / 2) {
      try {
        budget.resetTerms();
        smt::Smt smt(budget);
        sem::ExecOptions exec;
        exec.loop_mode = sem::LoopMode::Bounded;
        exec.loop_bound = bound;
        exec.inline_depth = options.inline_depth;
        exec.abstract_recursion = abstract_recursion;
        auto enc = encodePair(smt, c, pair, exec);
        Attempt a = decide(smt, *enc, c, pair, bound, solver_seconds);
        return finish(std::move(a.verdict));
      } catch (const smt::LimitExceeded& e) {
        last_error = e.what();
        if (budget.expired() || bound <= 1) break;
      }
    }
    return finish(unknown(pair, last_error));
  } catch (const sem::Unsupported& e) {
    return finish(unknown(pair, e.what()));
  } catch (const smt::LimitExceeded& e) {
    return finish(unknown(pair, e.what()));
  } catch (const smt::Exception& e) {
    return finish(unknown(pair, std::string("Z3 error: ") + e.what()));
  }
}

// call_indirect counts: its callees in the table are module functions too.
bool hasModuleCalls(const sem::ModuleInfo& m, const sem::FunctionInfo& f) {
  return f.calls_indirect ||
         std::any_of(f.direct_callees.begin(), f.direct_callees.end(), [&](const std::string& n) {
           const sem::FunctionInfo* callee = m.function(n);
           return callee && !callee->imported;
         });
}

// Whether what a function calls is larger than the function itself, so that
// executing the callees would make most of its encoding. An indirect call
// counts as large: it runs every function of its type the table holds.
bool calleesOutweigh(const sem::ModuleInfo& m, const sem::FunctionInfo& f) {
  if (f.calls_indirect) return true;
  std::uint64_t callees = 0;
  for (const std::string& n : f.direct_callees) {
    const sem::FunctionInfo* callee = m.function(n);
    if (callee && !callee->imported) callees += callee->hash.expressions;
  }
  return callees > f.hash.expressions;
}

bool callsItself(const sem::FunctionInfo& f) {
  return std::find(f.direct_callees.begin(), f.direct_callees.end(), f.name) !=
         f.direct_callees.end();
}

}  // namespace

FunctionVerdict checkFunction(const Correspondence& c, const FunctionPair& pair,
                              const VerifyOptions& options) {
  const sem::FunctionInfo& o = *c.original().function(pair.original);
  const sem::FunctionInfo& p = *c.optimized().function(pair.optimized);
  // What earlier attempts cost is charged to the verdict that is returned.
  FunctionVerdict spent;
  auto charged = [&](FunctionVerdict v) {
    addCost(v, spent);
    return v;
  };
  // Calls to module functions first as events keyed by their callees, as
  // calls beyond the inline depth always are (sound for the same reason:
  // every callee is verified on its own): a change next to a call of a
  // large callee then needs no symbolic execution of it. Only a proof is
  // taken from this attempt; a difference it sees may be one the callees'
  // bodies hide (a call the step inlined), so anything else goes on below.
  // It gets an eighth of the budget, half when the callees outweigh the
  // caller: the check that executes them is then the one unlikely to end,
  // while an attempt that sees a difference ends early whatever its share.
  if (options.inline_depth > 0 &&
      (hasModuleCalls(c.original(), o) || hasModuleCalls(c.optimized(), p))) {
    VerifyOptions calls_abstracted = options;
    calls_abstracted.inline_depth = 0;
    const long share =
        calleesOutweigh(c.original(), o) || calleesOutweigh(c.optimized(), p) ? 2 : 8;
    smt::Budget first(
        std::chrono::milliseconds(std::max<long>(1, options.function_timeout.count() / share)),
        options.max_terms);
    FunctionVerdict v = checkWith(c, pair, calls_abstracted, first, false, true);
    if (v.verdict == Verdict::Proved) {
      v.reason = v.reason.empty() ? "calls taken as their callees' events"
                                  : v.reason + " (calls taken as their callees' events)";
      return v;
    }
    addCost(spent, v);
  }
  smt::Budget budget(options.function_timeout, options.max_terms);
  // A recursive function is first checked with its recursive calls assumed
  // equivalent (sound: every terminating execution has a finite call tree,
  // and the function is verified here under that very assumption), which
  // keeps the encoding small when the recursion kept its shape.
  if (callsItself(o) || callsItself(p)) {
    smt::Budget first(
        std::chrono::milliseconds(std::max<long>(1, options.function_timeout.count() / 4)),
        options.max_terms);
    FunctionVerdict v = checkWith(c, pair, options, first, true);
    if (v.verdict == Verdict::Proved || v.verdict == Verdict::Refuted) return charged(v);
    addCost(spent, v);
  }
  return charged(checkWith(c, pair, options, budget, false));
}

}  // namespace loom::verify::check
