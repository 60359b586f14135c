// The Z3 side of one verification job: a context of its own (Z3 contexts
// must never be shared across threads), a wall-clock and term budget, and a
// solver whose every check gets what is left of that budget as its timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "src/verify/smt/expr.hpp"

namespace loom::verify::smt {

// Thrown when an encoding outgrows its budget; becomes an Unknown verdict.
class LimitExceeded : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A job's budget. The solver budget is counted in Z3 resource units
// ("rlimit"), not milliseconds, so that a verdict depends only on the two
// functions and the options, never on how busy the machine was: the search
// caches verdicts and promises the same result for the same seed. The wall
// clock is only a safety net, several times the nominal budget.
class Budget {
 public:
  // Z3 resource units per nominal millisecond, measured on the reference
  // machine (docs/verification.md); LOOM_VERIFY_UNITS_PER_MS overrides it.
  static std::uint64_t unitsPerMs();

  Budget(std::chrono::milliseconds nominal, std::uint64_t max_terms);
  // Solver resource units left, 0 once spent.
  std::uint64_t remainingUnits() const;
  void spendUnits(std::uint64_t units);
  std::uint64_t spentUnits() const { return units_spent_; }
  // What is left as a share of the whole, for work that scales with it.
  double remainingShare() const;
  // Milliseconds left before the safety net.
  unsigned remainingMs() const;
  bool expired() const { return remainingUnits() == 0 || remainingMs() == 0; }
  // Counts encoding work; throws LimitExceeded past the term limit or the safety net.
  void charge(std::uint64_t terms = 1);
  std::uint64_t terms() const { return terms_; }
  void resetTerms() {
    terms_ = 0;
    next_clock_check_ = 1024;
  }
  // Every term charged, across resets: the encoding work of the whole job.
  std::uint64_t totalTerms() const { return total_terms_; }
  double elapsedSeconds() const;

 private:
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point deadline_;
  std::uint64_t max_terms_;
  std::uint64_t terms_ = 0;
  std::uint64_t next_clock_check_ = 1024;  // terms_ at which charge() next reads the clock
  std::uint64_t total_terms_ = 0;
  std::uint64_t units_total_;
  std::uint64_t units_spent_ = 0;
};

// While one lives, every Budget made on this thread stops by `deadline` at
// the latest: a check that starts just before a run's deadline must not
// run its whole safety net past it. Nested caps keep the earliest.
class WallClockCap {
 public:
  explicit WallClockCap(std::optional<std::chrono::steady_clock::time_point> deadline);
  ~WallClockCap();
  WallClockCap(const WallClockCap&) = delete;
  WallClockCap& operator=(const WallClockCap&) = delete;

 private:
  std::optional<std::chrono::steady_clock::time_point> outer_;
};

enum class CheckResult { Sat, Unsat, Unknown };

class Smt {
 public:
  explicit Smt(Budget& budget);
  Smt(const Smt&) = delete;
  Smt& operator=(const Smt&) = delete;

  Context& ctx() { return ctx_; }
  Budget& budget() { return budget_; }

  Sort bvSort(unsigned width) { return ctx_.bvSort(width); }
  Sort memorySort() { return ctx_.arraySort(ctx_.bvSort(32), ctx_.bvSort(8)); }
  Expr bv(std::uint64_t value, unsigned width) { return ctx_.bvVal(value, width); }
  Expr boolVal(bool b) { return ctx_.boolVal(b); }

  // A constant named `prefix!N`, never equal by name to any other.
  Expr fresh(const std::string& prefix, const Sort& sort);
  Expr freshBv(const std::string& prefix, unsigned width) { return fresh(prefix, bvSort(width)); }
  Expr freshBool(const std::string& prefix) { return fresh(prefix, ctx_.boolSort()); }
  FuncDecl freshFunction(const std::string& prefix, const SortVector& domain, const Sort& range);

 private:
  Budget& budget_;
  Context ctx_;
  std::uint64_t counter_ = 0;
};

// A solver that never runs past the job's budget. Every check builds a
// fresh Z3 solver from the asserted formulas: once a Z3 solver has seen
// push/pop or assumptions it switches to its incremental core, which was
// measured 100-1000x slower on these bit-vector queries (nonlinear terms,
// floating point) than the one-shot tactics. The logic is QF_FPBV when a
// formula mentions floating point (the QF_AUFBV tactic silently treats
// floating-point operators as uninterpreted), QF_AUFBV otherwise.
class Solver {
 public:
  explicit Solver(Smt& smt);
  void add(const Expr& e);
  void push() { frames_.push_back(assertions_.size()); }
  void pop();
  CheckResult check(const std::vector<Expr>& assumptions = {});
  // The model of the last satisfiable check.
  Model model() const;
  const std::string& lastReason() const { return reason_; }
  double seconds() const { return seconds_; }
  unsigned checks() const { return checks_; }
  void dump(const std::string& path) const;
  const std::vector<Expr>& assertions() const { return assertions_; }

 private:
  Smt& smt_;
  std::vector<Expr> assertions_;
  std::vector<bool> floating_;
  std::vector<std::size_t> frames_;
  std::optional<Model> model_;
  std::string reason_;
  double seconds_ = 0;
  unsigned checks_ = 0;
};

bool mentionsFloatingPoint(const Expr& e);

// Short-hands that keep formulas readable.
Expr mkAnd(Context& c, const std::vector<Expr>& parts);
Expr mkOr(Context& c, const std::vector<Expr>& parts);
Expr mkNot(const Expr& e);
bool isTrue(const Expr& e);
bool isFalse(const Expr& e);

}  // namespace loom::verify::smt
