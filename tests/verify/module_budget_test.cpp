// The module budget: one solver budget for all of a module's changed
// functions, spent on the smallest first, so that a large module's
// verification ends in bounded time with the rest left undecided.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "verify_pair.hpp"

namespace loom::verify {
namespace {

using namespace std::chrono_literals;

// Four functions of growing size, each rewritten into an equivalent form
// that takes the solver real work: an addition built from bitwise
// operations needs bit-level reasoning (tens of thousands of Z3 resource
// units, while a nominal millisecond is a few thousand).
const char* kOriginal = R"((module
  (func $a (export "a") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
  (func $b (export "b") (param i64 i64) (result i64)
    (i64.add (i64.add (local.get 0) (local.get 1)) (i64.const 0)))
  (func $c (export "c") (param i32 i32 i32) (result i32)
    (i32.sub (i32.add (local.get 0) (local.get 1)) (i32.add (local.get 2) (i32.const 0))))
  (func $d (export "d") (param i64 i64 i64) (result i64)
    (i64.add (i64.add (i64.add (local.get 0) (local.get 1)) (i64.const 0))
             (i64.add (local.get 2) (i64.const 0)))))
)";

const char* kOptimized = R"((module
  (func $a (export "a") (param i32 i32) (result i32)
    (i32.add (i32.xor (local.get 0) (local.get 1))
             (i32.shl (i32.and (local.get 0) (local.get 1)) (i32.const 1))))
  (func $b (export "b") (param i64 i64) (result i64)
    (i64.add (i64.or (local.get 0) (local.get 1)) (i64.and (local.get 0) (local.get 1))))
  (func $c (export "c") (param i32 i32 i32) (result i32)
    (i32.sub (i32.add (i32.xor (local.get 0) (local.get 1))
                      (i32.shl (i32.and (local.get 0) (local.get 1)) (i32.const 1)))
             (local.get 2)))
  (func $d (export "d") (param i64 i64 i64) (result i64)
    (i64.add (i64.add (i64.or (local.get 0) (local.get 1)) (i64.and (local.get 0) (local.get 1)))
             (local.get 2))))
)";

// A wrong rewrite of the largest function: x^y + x&y is not x+y.
const char* kOptimizedWrongD = R"((module
  (func $a (export "a") (param i32 i32) (result i32)
    (i32.add (i32.xor (local.get 0) (local.get 1))
             (i32.shl (i32.and (local.get 0) (local.get 1)) (i32.const 1))))
  (func $b (export "b") (param i64 i64) (result i64)
    (i64.add (i64.add (local.get 0) (local.get 1)) (i64.const 0)))
  (func $c (export "c") (param i32 i32 i32) (result i32)
    (i32.sub (i32.add (local.get 0) (local.get 1)) (i32.add (local.get 2) (i32.const 0))))
  (func $d (export "d") (param i64 i64 i64) (result i64)
    (i64.add (i64.add (i64.xor (local.get 0) (local.get 1)) (i64.and (local.get 0) (local.get 1)))
             (local.get 2))))
)";

std::map<std::string, FunctionVerdict> byName(const ModuleVerdict& v) {
  std::map<std::string, FunctionVerdict> out;
  for (const auto& f : v.functions) out[f.function] = f;
  return out;
}

bool notChecked(const FunctionVerdict& f) {
  return f.verdict == Verdict::Unknown && f.reason.find("verification budget") != std::string::npos;
}

TEST(ModuleBudget, WithoutOneEveryFunctionIsDecided) {
  const ModuleVerdict v = verifyPair(kOriginal, kOptimized);
  ASSERT_EQ(v.functions.size(), 4u) << describeVerdict(v);
  EXPECT_EQ(v.overall(), Verdict::Proved) << describeVerdict(v);
  for (const auto& f : v.functions) EXPECT_GT(f.solver_units, 0u) << f.function;
}

// The budget is what the smallest function's proof costs, in nominal
// milliseconds rounded down: the smallest function is decided, and the
// larger ones are left undecided once it is spent.
TEST(ModuleBudget, SpentOnTheSmallestFunctionsFirst) {
  const auto unlimited = byName(verifyPair(kOriginal, kOptimized));
  ASSERT_EQ(unlimited.size(), 4u);
  VerifyOptions options;
  options.module_budget = 1ms;
  const ModuleVerdict v = verifyPair(kOriginal, kOptimized, options);
  const auto limited = byName(v);
  ASSERT_EQ(limited.size(), 4u) << describeVerdict(v);
  // Checked in order of size: $a first, whatever the budget.
  EXPECT_EQ(limited.at("a").verdict, Verdict::Proved) << describeVerdict(v);
  // The rest is decided only while the budget lasts, never out of order,
  // each proof costing what it cost without a module budget.
  bool stopped = false;
  for (const char* name : {"b", "c", "d"}) {
    const FunctionVerdict& f = limited.at(name);
    stopped = stopped || notChecked(f);
    if (stopped) {
      EXPECT_TRUE(notChecked(f)) << name << ": " << f.reason;
    } else {
      EXPECT_EQ(f.verdict, Verdict::Proved) << name << ": " << f.reason;
      EXPECT_EQ(f.solver_units, unlimited.at(name).solver_units) << name;
    }
  }
  EXPECT_TRUE(stopped) << "1 ms of budget covered every proof: " << describeVerdict(v);
  EXPECT_EQ(v.overall(), Verdict::Unknown);
  EXPECT_EQ(v.count(Verdict::Unknown), 4u - v.count(Verdict::Proved));
}

TEST(ModuleBudget, ALargeEnoughBudgetDecidesEverything) {
  VerifyOptions options;
  options.module_budget = 600s;
  const ModuleVerdict v = verifyPair(kOriginal, kOptimized, options);
  EXPECT_EQ(v.overall(), Verdict::Proved) << describeVerdict(v);
  EXPECT_EQ(v.functions.size(), 4u);
}

// Functions left unchecked are never called equivalent, and a wrong one
// that the budget reaches is still refuted.
TEST(ModuleBudget, AWrongFunctionIsRefutedOrLeftUndecidedNeverProved) {
  VerifyOptions options;
  options.module_budget = 1ms;
  const ModuleVerdict limited = verifyPair(kOriginal, kOptimizedWrongD, options);
  const auto d = byName(limited).at("d");
  EXPECT_NE(d.verdict, Verdict::Proved) << describeVerdict(limited);
  EXPECT_NE(limited.overall(), Verdict::Proved);

  const ModuleVerdict full = verifyPair(kOriginal, kOptimizedWrongD);
  EXPECT_EQ(byName(full).at("d").verdict, Verdict::Refuted) << describeVerdict(full);
}

// A cached verdict costs the module budget what it cost the first time, so
// what gets decided does not depend on what a worker happened to cache.
TEST(ModuleBudget, CachedVerdictsSpendTheBudgetAsBefore) {
  const wasm::Module original = parseWat(kOriginal);
  const wasm::Module optimized = parseWat(kOptimized);
  VerifyOptions options;
  options.module_budget = 1ms;
  Verifier verifier(original, options);
  const ModuleVerdict first = verifier.verify(optimized);
  const ModuleVerdict second = verifier.verify(optimized);
  ASSERT_EQ(first.functions.size(), second.functions.size());
  std::size_t cached = 0;
  for (std::size_t i = 0; i < first.functions.size(); ++i) {
    EXPECT_EQ(first.functions[i].function, second.functions[i].function);
    EXPECT_EQ(first.functions[i].verdict, second.functions[i].verdict)
        << first.functions[i].function << ": " << second.functions[i].reason;
    cached += second.functions[i].cached;
  }
  EXPECT_EQ(cached, second.count(Verdict::Proved));  // the decided ones came from the cache
  EXPECT_GT(cached, 0u);
}

}  // namespace
}  // namespace loom::verify
