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

#include "src/verify/smt/z3cpp.hpp"

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
  void resetTerms() { terms_ = 0; }
  // Every term charged, across resets: the encoding work of the whole job.
  std::uint64_t totalTerms() const { return total_terms_; }
  double elapsedSeconds() const;

 private:
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point deadline_;
  std::uint64_t max_terms_;
  std::uint64_t terms_ = 0;
  std::uint64_t total_terms_ = 0;
  std::uint64_t units_total_;
  std::uint64_t units_spent_ = 0;
};

enum class CheckResult { Sat, Unsat, Unknown };

class Smt {
 public:
  explicit Smt(Budget& budget);
  Smt(const Smt&) = delete;
  Smt& operator=(const Smt&) = delete;

  z3::context& ctx() { return ctx_; }
  Budget& budget() { return budget_; }

  z3::sort bvSort(unsigned width) { return ctx_.bv_sort(width); }
  z3::sort memorySort() { return ctx_.array_sort(ctx_.bv_sort(32), ctx_.bv_sort(8)); }
  z3::expr bv(std::uint64_t value, unsigned width) { return ctx_.bv_val(value, width); }
  z3::expr boolVal(bool b) { return ctx_.bool_val(b); }

  // A constant named `prefix!N`, never equal by name to any other.
  z3::expr fresh(const std::string& prefix, const z3::sort& sort);
  z3::expr freshBv(const std::string& prefix, unsigned width) {
    return fresh(prefix, bvSort(width));
  }
  z3::expr freshBool(const std::string& prefix) { return fresh(prefix, ctx_.bool_sort()); }
  z3::func_decl freshFunction(const std::string& prefix, const z3::sort_vector& domain,
                              const z3::sort& range);

 private:
  Budget& budget_;
  z3::context ctx_;
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
  void add(const z3::expr& e);
  void push() { frames_.push_back(assertions_.size()); }
  void pop();
  CheckResult check(const std::vector<z3::expr>& assumptions = {});
  // The model of the last satisfiable check.
  z3::model model() const;
  const std::string& lastReason() const { return reason_; }
  double seconds() const { return seconds_; }
  unsigned checks() const { return checks_; }
  void dump(const std::string& path) const;
  const std::vector<z3::expr>& assertions() const { return assertions_; }

 private:
  Smt& smt_;
  std::vector<z3::expr> assertions_;
  std::vector<bool> floating_;
  std::vector<std::size_t> frames_;
  std::optional<z3::model> model_;
  std::string reason_;
  double seconds_ = 0;
  unsigned checks_ = 0;
};

bool mentionsFloatingPoint(const z3::expr& e);

// Short-hands that keep formulas readable.
z3::expr mkAnd(z3::context& c, const std::vector<z3::expr>& parts);
z3::expr mkOr(z3::context& c, const std::vector<z3::expr>& parts);
z3::expr mkNot(const z3::expr& e);
bool isTrue(const z3::expr& e);
bool isFalse(const z3::expr& e);
bool sameTerm(const z3::expr& a, const z3::expr& b);

}  // namespace loom::verify::smt
