// The wall-clock safety net must hold for the whole of a solver call, not only
// for Z3's check: Z3 simplifies formulas as they are asserted, with no time
// limit, and on a large query that took minutes (as-sha256's set-up stalled in
// it for the whole of its 600 s limit).
#include <gtest/gtest.h>

#include <chrono>

#include "src/verify/smt/context.hpp"

namespace loom::verify::smt {
namespace {

// A memory written `stores` times, four bytes at a time, each word computed
// from what the memory held before: Z3's read-over-write simplification on
// assertion is quadratic in the chain. Asserting the query below with 3000
// stores takes about a minute on the reference machine (800 stores: 5 s).
smt::Expr slowToAssert(Smt& smt, int stores) {
  smt::Expr memory = smt.fresh("memory", smt.memorySort());
  const smt::Expr base = smt.freshBv("base", 32);
  for (int i = 0; i < stores; ++i) {
    const smt::Expr at = base + smt.bv(4u * static_cast<unsigned>(i), 32);
    const smt::Expr word =
        smt::concat(
            smt::select(memory, at + 3),
            smt::concat(smt::select(memory, at + 2),
                        smt::concat(smt::select(memory, at + 1), smt::select(memory, at)))) +
        smt.bv(1, 32);
    for (unsigned b = 0; b < 4; ++b)
      memory = smt::store(memory, at + smt.bv(b, 32), word.extract(8 * b + 7, 8 * b));
  }
  const smt::Expr probe = smt.freshBv("probe", 32);
  return smt::select(memory, probe) != smt::select(memory, probe + 1);
}

TEST(SolverDeadline, HoldsWhileZ3SimplifiesAnAssertion) {
  using Clock = std::chrono::steady_clock;
  // A 100 ms budget: its safety net ends the call 1.3 s after the budget began.
  Budget budget(std::chrono::milliseconds(100), 1u << 30);
  Smt smt(budget);
  Solver solver(smt);
  solver.add(slowToAssert(smt, 3000));
  const auto start = Clock::now();
  const CheckResult result = solver.check();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_EQ(result, CheckResult::Unknown);
  EXPECT_EQ(solver.lastReason(), "wall-clock safety limit");
  // Generous against a loaded machine, far below the unlimited assertion.
  EXPECT_LT(seconds, 20.0) << "the safety net did not stop Z3 while it asserted";
}

}  // namespace
}  // namespace loom::verify::smt
