#include "src/verify/smt/context.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
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
  InterruptAfter(z3::context& context, std::chrono::milliseconds after)
      : thread_([this, &context, after] {
          std::unique_lock lock(mutex_);
          if (!finished_.wait_for(lock, after, [this] { return done_; })) Z3_interrupt(context);
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

Budget::Budget(std::chrono::milliseconds nominal, std::uint64_t max_terms)
    : start_(std::chrono::steady_clock::now()),
      deadline_(start_ + kSafetyFactor * nominal + std::chrono::seconds(1)),
      max_terms_(max_terms),
      units_total_(static_cast<std::uint64_t>(std::max<long long>(1, nominal.count())) *
                   unitsPerMs()) {}

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
  // Checking the clock on every term would dominate small encodings.
  if ((terms_ & 0x3ff) == 0 && remainingMs() == 0) {
    throw LimitExceeded("wall-clock safety limit reached while encoding");
  }
}

double Budget::elapsedSeconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

Smt::Smt(Budget& budget) : budget_(budget) {}

z3::expr Smt::fresh(const std::string& prefix, const z3::sort& sort) {
  return ctx_.constant(fmt::format("{}!{}", prefix, counter_++).c_str(), sort);
}

z3::func_decl Smt::freshFunction(const std::string& prefix, const z3::sort_vector& domain,
                                 const z3::sort& range) {
  return ctx_.function(fmt::format("{}!{}", prefix, counter_++).c_str(), domain, range);
}

Solver::Solver(Smt& smt) : smt_(smt) {}

void Solver::add(const z3::expr& e) {
  assertions_.push_back(e);
  floating_.push_back(mentionsFloatingPoint(e));
}

void Solver::pop() {
  const std::size_t n = frames_.back();
  frames_.pop_back();
  assertions_.erase(assertions_.begin() + static_cast<std::ptrdiff_t>(n), assertions_.end());
  floating_.resize(n);
}

CheckResult Solver::check(const std::vector<z3::expr>& assumptions) {
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
  z3::check_result r = z3::unknown;
  std::uint64_t spent = units;  // unless Z3 reports less
  try {
    // Solving happens in a scratch context: a context in which a solver has
    // worked takes Z3 minutes to delete (measured: 40 s after a 4 s check),
    // while a scratch context holding only the translated query does not.
    // Its resource counter also starts at zero, so this check's use is exact.
    z3::context scratch;
    const InterruptAfter safety_net(scratch, std::chrono::milliseconds(ms));
    z3::solver solver(scratch, floating ? "QF_FPBV" : "QF_AUFBV");
    z3::params p(scratch);
    p.set("timeout", ms);
    p.set("rlimit", static_cast<unsigned>(std::min<std::uint64_t>(units, 0xffffffffu)));
    solver.set(p);
    auto translate = [&](const z3::expr& e) {
      return z3::expr(scratch, Z3_translate(smt_.ctx(), e, scratch));
    };
    for (const auto& a : assertions_) solver.add(translate(a));
    for (const auto& a : assumptions) solver.add(translate(a));
    r = solver.check();
    if (r != z3::unknown) {
      const z3::stats stats = solver.statistics();
      for (unsigned i = 0; i < stats.size(); ++i) {
        if (stats.key(i) == "rlimit count" && stats.is_uint(i)) spent = stats.uint_value(i);
      }
    }
    if (r == z3::sat) {
      z3::model m = solver.get_model();
      model_ = z3::model(smt_.ctx(), Z3_model_translate(scratch, m, smt_.ctx()));
    } else if (r == z3::unknown) {
      reason_ = solver.reason_unknown();
    }
  } catch (const z3::exception& e) {
    r = z3::unknown;
    reason_ = e.msg();
  }
  budget.spendUnits(r == z3::unknown ? units : std::min(spent, units));
  seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ++checks_;
  switch (r) {
    case z3::sat:
      return CheckResult::Sat;
    case z3::unsat:
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

z3::model Solver::model() const {
  return *model_;
}

void Solver::dump(const std::string& path) const {
  z3::solver s(smt_.ctx());
  for (const auto& a : assertions_) s.add(a);
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return;
  std::fputs(s.to_smt2().c_str(), f);
  std::fclose(f);
}

bool mentionsFloatingPoint(const z3::expr& root) {
  std::vector<Z3_ast> stack{root};
  std::unordered_set<unsigned> seen;
  Z3_context c = root.ctx();
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

z3::expr mkAnd(z3::context& c, const std::vector<z3::expr>& parts) {
  std::vector<z3::expr> kept;
  for (const auto& p : parts) {
    if (isFalse(p)) return c.bool_val(false);
    if (!isTrue(p)) kept.push_back(p);
  }
  if (kept.empty()) return c.bool_val(true);
  if (kept.size() == 1) return kept.front();
  z3::expr_vector v(c);
  for (const auto& p : kept) v.push_back(p);
  return z3::mk_and(v);
}

z3::expr mkOr(z3::context& c, const std::vector<z3::expr>& parts) {
  std::vector<z3::expr> kept;
  for (const auto& p : parts) {
    if (isTrue(p)) return c.bool_val(true);
    if (!isFalse(p)) kept.push_back(p);
  }
  if (kept.empty()) return c.bool_val(false);
  if (kept.size() == 1) return kept.front();
  z3::expr_vector v(c);
  for (const auto& p : kept) v.push_back(p);
  return z3::mk_or(v);
}

z3::expr mkNot(const z3::expr& e) {
  if (e.is_true()) return e.ctx().bool_val(false);
  if (e.is_false()) return e.ctx().bool_val(true);
  return !e;
}

bool isTrue(const z3::expr& e) {
  return e.is_true();
}
bool isFalse(const z3::expr& e) {
  return e.is_false();
}
bool sameTerm(const z3::expr& a, const z3::expr& b) {
  return z3::eq(a, b);
}

}  // namespace loom::verify::smt
