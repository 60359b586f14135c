#include "src/verify/smt/context.hpp"

#include <fmt/format.h>
#include <z3.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_set>

namespace loom::verify::smt {

namespace {
constexpr std::uint64_t kDefaultUnitsPerMs = 2000;
constexpr int kSafetyFactor = 3;

// Z3 honours `timeout` and `rlimit` only inside check(). Asserting into a
// solver already simplifies, and on a large query that alone can run for
// minutes (a 104 MB induction query from as-sha256 asserted for over five).
// Z3_interrupt stops any of it, from another thread.
class InterruptAfter {
 public:
  InterruptAfter(Context& context, std::chrono::milliseconds after)
      : thread_([this, &context, after] {
          std::unique_lock lock(mutex_);
          if (!finished_.wait_for(lock, after, [this] { return done_; })) context.interrupt();
        }) {}
  InterruptAfter(const InterruptAfter&) = delete;
  InterruptAfter& operator=(const InterruptAfter&) = delete;
  ~InterruptAfter() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    finished_.notify_one();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable finished_;
  bool done_ = false;
  std::thread thread_;  // last: starts once the members it uses exist
};
// A Z3 solver for one check: made for a logic, with a timeout and a
// resource limit, released on every path.
class OneShotSolver {
 public:
  OneShotSolver(Context& c, const char* logic, unsigned timeout_ms, unsigned rlimit) : c_(c) {
    solver_ = Z3_mk_solver_for_logic(c.raw(), Z3_mk_string_symbol(c.raw(), logic));
    c.check();
    Z3_solver_inc_ref(c.raw(), solver_);
    Z3_params p = Z3_mk_params(c.raw());
    Z3_params_inc_ref(c.raw(), p);
    Z3_params_set_uint(c.raw(), p, Z3_mk_string_symbol(c.raw(), "timeout"), timeout_ms);
    Z3_params_set_uint(c.raw(), p, Z3_mk_string_symbol(c.raw(), "rlimit"), rlimit);
    Z3_solver_set_params(c.raw(), solver_, p);
    Z3_params_dec_ref(c.raw(), p);
    c.check();
  }
  OneShotSolver(const OneShotSolver&) = delete;
  OneShotSolver& operator=(const OneShotSolver&) = delete;
  ~OneShotSolver() { Z3_solver_dec_ref(c_.raw(), solver_); }

  void add(const Expr& e) {
    Z3_solver_assert(c_.raw(), solver_, e.raw());
    c_.check();
  }
  Z3_lbool check() {
    const Z3_lbool r = Z3_solver_check(c_.raw(), solver_);
    c_.check();
    return r;
  }
  // The resource units the last check used, as Z3's statistics report them.
  std::optional<std::uint64_t> rlimitCount() {
    Z3_stats stats = Z3_solver_get_statistics(c_.raw(), solver_);
    c_.check();
    Z3_stats_inc_ref(c_.raw(), stats);
    std::optional<std::uint64_t> count;
    for (unsigned i = 0, n = Z3_stats_size(c_.raw(), stats); i < n; ++i) {
      if (std::string_view(Z3_stats_get_key(c_.raw(), stats, i)) == "rlimit count" &&
          Z3_stats_is_uint(c_.raw(), stats, i)) {
        count = Z3_stats_get_uint_value(c_.raw(), stats, i);
      }
    }
    Z3_stats_dec_ref(c_.raw(), stats);
    return count;
  }
  // The model of the last (satisfiable) check, translated into `target`.
  Model model(Context& target) {
    Z3_model m = Z3_solver_get_model(c_.raw(), solver_);
    c_.check();
    Z3_model_inc_ref(c_.raw(), m);
    Model translated(target, Z3_model_translate(c_.raw(), m, target.raw()));
    Z3_model_dec_ref(c_.raw(), m);
    return translated;
  }
  std::string reasonUnknown() {
    const std::string r = Z3_solver_get_reason_unknown(c_.raw(), solver_);
    c_.check();
    return r;
  }

 private:
  Context& c_;
  Z3_solver solver_;
};

}  // namespace

std::uint64_t Budget::unitsPerMs() {
  static const std::uint64_t units = [] {
    if (const char* env = std::getenv("LOOM_VERIFY_UNITS_PER_MS")) {
      const unsigned long long v = std::strtoull(env, nullptr, 10);
      if (v > 0) return static_cast<std::uint64_t>(v);
    }
    return std::uint64_t{kDefaultUnitsPerMs};
  }();
  return units;
}

namespace {
thread_local std::optional<std::chrono::steady_clock::time_point> wall_clock_cap;
}  // namespace

WallClockCap::WallClockCap(std::optional<std::chrono::steady_clock::time_point> deadline)
    : outer_(wall_clock_cap) {
  if (deadline && (!wall_clock_cap || *deadline < *wall_clock_cap)) wall_clock_cap = deadline;
}

WallClockCap::~WallClockCap() {
  wall_clock_cap = outer_;
}

Budget::Budget(std::chrono::milliseconds nominal, std::uint64_t max_terms)
    : start_(std::chrono::steady_clock::now()),
      deadline_(start_ + kSafetyFactor * nominal + std::chrono::seconds(1)),
      max_terms_(max_terms),
      units_total_(static_cast<std::uint64_t>(std::max<long long>(1, nominal.count())) *
                   unitsPerMs()) {
  if (wall_clock_cap && *wall_clock_cap < deadline_) deadline_ = *wall_clock_cap;
}

std::uint64_t Budget::remainingUnits() const {
  return units_spent_ >= units_total_ ? 0 : units_total_ - units_spent_;
}

void Budget::spendUnits(std::uint64_t units) {
  units_spent_ = std::min(units_total_, units_spent_ + units);
}

double Budget::remainingShare() const {
  return static_cast<double>(remainingUnits()) / static_cast<double>(units_total_);
}

unsigned Budget::remainingMs() const {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline_ - std::chrono::steady_clock::now());
  return left.count() <= 0 ? 0u
                           : static_cast<unsigned>(std::min<long long>(left.count(), 1u << 30));
}

void Budget::charge(std::uint64_t terms) {
  terms_ += terms;
  total_terms_ += terms;
  if (terms_ > max_terms_) {
    throw LimitExceeded(fmt::format("encoding exceeds the term limit ({} terms)", max_terms_));
  }
  // Checking the clock on every term would dominate small encodings: once
  // per 1024 terms (charges come in batches, so a multiple of 1024 is not
  // always met exactly).
  if (terms_ >= next_clock_check_) {
    next_clock_check_ = terms_ + 1024;
    if (remainingMs() == 0) throw LimitExceeded("wall-clock safety limit reached while encoding");
  }
}

double Budget::elapsedSeconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

Smt::Smt(Budget& budget) : budget_(budget) {}

Expr Smt::fresh(const std::string& prefix, const Sort& sort) {
  return ctx_.constant(fmt::format("{}!{}", prefix, counter_++).c_str(), sort);
}

FuncDecl Smt::freshFunction(const std::string& prefix, const SortVector& domain,
                            const Sort& range) {
  return ctx_.function(fmt::format("{}!{}", prefix, counter_++).c_str(), domain, range);
}

Solver::Solver(Smt& smt) : smt_(smt) {}

void Solver::add(const Expr& e) {
  assertions_.push_back(e);
  floating_.push_back(mentionsFloatingPoint(e));
}

void Solver::pop() {
  const std::size_t n = frames_.back();
  frames_.pop_back();
  assertions_.erase(assertions_.begin() + static_cast<std::ptrdiff_t>(n), assertions_.end());
  floating_.resize(n);
}

CheckResult Solver::check(const std::vector<Expr>& assumptions) {
  Budget& budget = smt_.budget();
  const std::uint64_t units = budget.remainingUnits();
  const unsigned ms = budget.remainingMs();
  if (units == 0 || ms == 0) {
    reason_ = units == 0 ? "budget exhausted" : "wall-clock safety limit";
    return CheckResult::Unknown;
  }
  bool floating = std::find(floating_.begin(), floating_.end(), true) != floating_.end();
  for (const auto& a : assumptions) floating = floating || mentionsFloatingPoint(a);
  const auto start = std::chrono::steady_clock::now();
  Z3_lbool r = Z3_L_UNDEF;
  std::uint64_t spent = units;  // unless Z3 reports less
  try {
    // Solving happens in a scratch context: a context in which a solver has
    // worked takes Z3 minutes to delete (measured: 40 s after a 4 s check),
    // while a scratch context holding only the translated query does not.
    // Its resource counter also starts at zero, so this check's use is exact.
    Context scratch;
    const InterruptAfter safety_net(scratch, std::chrono::milliseconds(ms));
    OneShotSolver solver(scratch, floating ? "QF_FPBV" : "QF_AUFBV", ms,
                         static_cast<unsigned>(std::min<std::uint64_t>(units, 0xffffffffu)));
    auto translate = [&](const Expr& e) {
      return Expr(scratch, Z3_translate(smt_.ctx().raw(), e.raw(), scratch.raw()));
    };
    for (const auto& a : assertions_) solver.add(translate(a));
    for (const auto& a : assumptions) solver.add(translate(a));
    r = solver.check();
    if (r != Z3_L_UNDEF) {
      if (const std::optional<std::uint64_t> count = solver.rlimitCount()) spent = *count;
    }
    if (r == Z3_L_TRUE) {
      model_ = solver.model(smt_.ctx());
    } else if (r == Z3_L_UNDEF) {
      reason_ = solver.reasonUnknown();
    }
  } catch (const Exception& e) {
    r = Z3_L_UNDEF;
    reason_ = e.what();
  }
  budget.spendUnits(r == Z3_L_UNDEF ? units : std::min(spent, units));
  seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ++checks_;
  switch (r) {
    case Z3_L_TRUE:
      return CheckResult::Sat;
    case Z3_L_FALSE:
      return CheckResult::Unsat;
    default:
      // The wall clock first: an unknown check is charged the units it had
      // left, so "no units left" alone does not say which limit ended it.
      if (reason_.find("memory") != std::string::npos) {
        reason_ = "Z3 is out of memory (" + reason_ + ")";  // the engine looks for "out of memory"
      } else if (reason_ == "canceled" || reason_ == "timeout" || budget.remainingMs() == 0) {
        reason_ = "wall-clock safety limit";
      } else if (reason_.find("resource") != std::string::npos || budget.remainingUnits() == 0) {
        reason_ = "budget exhausted";
      }
      return CheckResult::Unknown;
  }
}

Model Solver::model() const {
  return *model_;
}

void Solver::dump(const std::string& path) const {
  // The SMT-LIB text of the assertions, as Z3 prints a solver's (the last
  // assertion is the benchmark's formula).
  Context& c = smt_.ctx();
  std::vector<Z3_ast> all;
  for (const auto& a : assertions_) all.push_back(a.raw());
  const Expr yes = c.boolVal(true);
  Z3_ast formula = yes.raw();
  if (!all.empty()) {
    formula = all.back();
    all.pop_back();
  }
  const std::string text = Z3_benchmark_to_smtlib_string(
      c.raw(), "", "", "unknown", "", static_cast<unsigned>(all.size()), all.data(), formula);
  c.check();
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return;
  std::fputs(text.c_str(), f);
  std::fclose(f);
}

bool mentionsFloatingPoint(const Expr& root) {
  std::vector<Z3_ast> stack{root.raw()};
  std::unordered_set<unsigned> seen;
  Z3_context c = root.ctx().raw();
  while (!stack.empty()) {
    Z3_ast a = stack.back();
    stack.pop_back();
    if (!seen.insert(Z3_get_ast_id(c, a)).second) continue;
    const Z3_ast_kind kind = Z3_get_ast_kind(c, a);
    if (kind == Z3_QUANTIFIER_AST) {
      stack.push_back(Z3_get_quantifier_body(c, a));
      continue;
    }
    if (kind != Z3_APP_AST && kind != Z3_NUMERAL_AST) continue;
    const Z3_sort_kind sk = Z3_get_sort_kind(c, Z3_get_sort(c, a));
    if (sk == Z3_FLOATING_POINT_SORT || sk == Z3_ROUNDING_MODE_SORT) return true;
    if (kind != Z3_APP_AST) continue;
    Z3_app app = Z3_to_app(c, a);
    for (unsigned i = 0, n = Z3_get_app_num_args(c, app); i < n; ++i) {
      stack.push_back(Z3_get_app_arg(c, app, i));
    }
  }
  return false;
}

Expr mkAnd(Context& c, const std::vector<Expr>& parts) {
  std::vector<Expr> kept;
  for (const auto& p : parts) {
    if (isFalse(p)) return c.boolVal(false);
    if (!isTrue(p)) kept.push_back(p);
  }
  if (kept.empty()) return c.boolVal(true);
  if (kept.size() == 1) return kept.front();
  ExprVector v(c);
  for (const auto& p : kept) v.push_back(p);
  std::vector<Z3_ast> args;
  for (unsigned i = 0, n = v.size(); i < n; ++i) args.push_back(v[i].raw());
  Expr r(c, Z3_mk_and(c.raw(), static_cast<unsigned>(args.size()), args.data()));
  c.check();
  return r;
}

Expr mkOr(Context& c, const std::vector<Expr>& parts) {
  std::vector<Expr> kept;
  for (const auto& p : parts) {
    if (isTrue(p)) return c.boolVal(true);
    if (!isFalse(p)) kept.push_back(p);
  }
  if (kept.empty()) return c.boolVal(false);
  if (kept.size() == 1) return kept.front();
  ExprVector v(c);
  for (const auto& p : kept) v.push_back(p);
  std::vector<Z3_ast> args;
  for (unsigned i = 0, n = v.size(); i < n; ++i) args.push_back(v[i].raw());
  Expr r(c, Z3_mk_or(c.raw(), static_cast<unsigned>(args.size()), args.data()));
  c.check();
  return r;
}

Expr mkNot(const Expr& e) {
  if (e.isTrue()) return e.ctx().boolVal(false);
  if (e.isFalse()) return e.ctx().boolVal(true);
  return !e;
}

bool isTrue(const Expr& e) {
  return e.isTrue();
}
bool isFalse(const Expr& e) {
  return e.isFalse();
}

}  // namespace loom::verify::smt
