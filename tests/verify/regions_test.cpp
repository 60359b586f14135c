// Checking a changed function by the regions that changed
// (src/verify/check/regions.hpp): right local changes are proved by their
// regions alone, changes that rest on the statements before them by a
// grown region, and wrong ones are never proved that way.
#include "src/verify/check/regions.hpp"

#include <gtest/gtest.h>

#include <string>

#include "verify/verify_pair.hpp"

namespace loom::verify {
namespace {

// Statements no step changes, enough to make a function large: a large
// function is checked region by region first (a small one whole first).
// They store above the addresses the tests' own statements write.
std::string padding() {
  std::string out;
  for (std::size_t i = 0; i * 3 < check::kLargeFunction; ++i)
    out += "(i32.store (i32.const " + std::to_string(1024 + 4 * i) + ") (local.get 3))";
  return out;
}

// $f sums 2*x over a loop, in blocks the regions can grow within; `step`
// is the loop's first statement, `tail` what runs after a branch to $out
// and not after one to $skip.
std::string summing(const std::string& step, const std::string& tail = "", bool large = true) {
  return "(module (memory 1)"
         " (func $f (export \"f\") (param i32 i32) (result i32) (local i32 i32 i32)"
         "  (block $skip"
         "   (block $out"
         "    (loop $l"
         "     " +
         step +
         "     (local.set 3 (i32.add (local.get 3) (i32.const 1)))"
         "     (br_if $out (i32.eqz (local.get 1)))"
         "     (br_if $l (i32.lt_u (local.get 3) (local.get 1)))))"
         "   " +
         tail + ")" + (large ? padding() : "") + "  (local.get 2)))";
}

const FunctionVerdict& only(const ModuleVerdict& v) {
  EXPECT_EQ(v.functions.size(), 1u) << describeVerdict(v);
  return v.functions.front();
}

bool byRegions(const FunctionVerdict& f) {
  return f.reason.find("region by region") != std::string::npos;
}

TEST(Regions, ALocalChangeInALoopIsProvedByItsRegionAlone) {
  const ModuleVerdict v = verifyPair(
      summing("(local.set 2 (i32.add (local.get 2) (i32.mul (local.get 0) (i32.const 2))))"),
      summing("(local.set 2 (i32.add (local.get 2) (i32.shl (local.get 0) (i32.const 1))))"));
  EXPECT_EQ(only(v).verdict, Verdict::Proved) << describeVerdict(v);
  EXPECT_TRUE(byRegions(only(v))) << describeVerdict(v);
}

// The same change in a small function: its whole check, with a region's
// share of the budget, settles it before any region is tried.
TEST(Regions, ASmallFunctionIsCheckedWholeFirst) {
  const ModuleVerdict v = verifyPair(
      summing("(local.set 2 (i32.add (local.get 2) (i32.mul (local.get 0) (i32.const 2))))", "",
              false),
      summing("(local.set 2 (i32.add (local.get 2) (i32.shl (local.get 0) (i32.const 1))))", "",
              false));
  EXPECT_EQ(only(v).verdict, Verdict::Proved) << describeVerdict(v);
  EXPECT_FALSE(byRegions(only(v))) << describeVerdict(v);
}

TEST(Regions, AWrongLocalChangeIsNeverProved) {
  const ModuleVerdict v = verifyPair(
      summing("(local.set 2 (i32.add (local.get 2) (i32.mul (local.get 0) (i32.const 2))))"),
      summing("(local.set 2 (i32.add (local.get 2) (i32.shl (local.get 0) (i32.const 2))))"));
  EXPECT_NE(only(v).verdict, Verdict::Proved) << describeVerdict(v);
}

// The use of local 4 is replaced by what the statement before it stored
// there: right only with that statement, so the region grows to it.
TEST(Regions, AChangeThatRestsOnTheStatementBeforeIsProvedByAGrownRegion) {
  const std::string before =
      "(local.set 4 (i32.sub (local.get 0) (i32.const 16)))"
      "(local.set 2 (i32.add (local.get 2) (local.get 4)))";
  const ModuleVerdict right = verifyPair(
      summing(before),
      summing("(local.set 4 (i32.sub (local.get 0) (i32.const 16)))"
              "(local.set 2 (i32.add (local.get 2) (i32.add (local.get 0) (i32.const -16))))"));
  EXPECT_EQ(only(right).verdict, Verdict::Proved) << describeVerdict(right);
  EXPECT_TRUE(byRegions(only(right))) << describeVerdict(right);
  // Off by one: the grown region must not prove it either.
  const ModuleVerdict wrong = verifyPair(
      summing(before),
      summing("(local.set 4 (i32.sub (local.get 0) (i32.const 16)))"
              "(local.set 2 (i32.add (local.get 2) (i32.add (local.get 0) (i32.const -15))))"));
  EXPECT_NE(only(wrong).verdict, Verdict::Proved) << describeVerdict(wrong);
}

// Two statements merged into one: the region is the run of children that
// differs, although the blocks around it have other numbers of children.
TEST(Regions, MergedStatementsAreARunOfChildren) {
  const std::string two =
      "(local.set 4 (i32.mul (local.get 0) (i32.const 3)))"
      "(local.set 4 (i32.add (local.get 4) (i32.const 1)))"
      "(local.set 2 (i32.add (local.get 2) (local.get 4)))";
  const std::string one =
      "(local.set 4 (i32.add (i32.mul (local.get 0) (i32.const 3)) (i32.const 1)))"
      "(local.set 2 (i32.add (local.get 2) (local.get 4)))";
  const wasm::Module a = parseWat(summing(two));
  const wasm::Module b = parseWat(summing(one));
  const auto regions = check::differingRegions(BinaryenGetFunction(a.get(), "f"),
                                               BinaryenGetFunction(b.get(), "f"), 32);
  ASSERT_EQ(regions.size(), 1u);
  ASSERT_NE(regions[0].original.block, nullptr);
  EXPECT_EQ(regions[0].original.end - regions[0].original.begin, 2u);
  EXPECT_EQ(regions[0].optimized.end - regions[0].optimized.begin, 1u);
  const ModuleVerdict right = verifyPair(summing(two), summing(one));
  EXPECT_EQ(only(right).verdict, Verdict::Proved) << describeVerdict(right);
  EXPECT_TRUE(byRegions(only(right))) << describeVerdict(right);
  const ModuleVerdict wrong = verifyPair(
      summing(two), summing("(local.set 4 (i32.add (i32.mul (local.get 0) (i32.const 3)) "
                            "(i32.const 2)))(local.set 2 (i32.add (local.get 2) (local.get 4)))"));
  EXPECT_NE(only(wrong).verdict, Verdict::Proved) << describeVerdict(wrong);
}

// A branch to another label ends the region elsewhere: not the same region.
TEST(Regions, ABranchToAnotherLabelIsNeverProved) {
  const std::string tail = "(i32.store (i32.const 0) (local.get 3))";
  const ModuleVerdict v = verifyPair(summing("(local.set 2 (i32.add (local.get 2) (local.get 0)))"
                                             "(br_if $out (i32.eq (local.get 0) (i32.const 7)))",
                                             tail),
                                     summing("(local.set 2 (i32.add (local.get 2) (local.get 0)))"
                                             "(br_if $skip (i32.eq (local.get 0) (i32.const 7)))",
                                             tail));
  EXPECT_NE(only(v).verdict, Verdict::Proved) << describeVerdict(v);
}

// Vars start at zero in a function but not in a region's harness (it starts
// from any state): a change right only because of that is left to the
// whole-function check, which proves it.
TEST(Regions, WhatHoldsOnlyAtTheFunctionsEntryIsLeftToTheWholeFunction) {
  const ModuleVerdict v = verifyPair(
      summing("(local.set 2 (i32.add (local.get 2) (i32.or (local.get 0) (local.get 4))))"),
      summing("(local.set 2 (i32.add (local.get 2) (local.get 0)))"));
  EXPECT_EQ(only(v).verdict, Verdict::Proved) << describeVerdict(v);
  EXPECT_FALSE(byRegions(only(v))) << describeVerdict(v);
}

TEST(Regions, TheRegionsAreTheSmallestSubtreesThatDiffer) {
  const wasm::Module a = parseWat(summing(
      "(local.set 2 (i32.add (local.get 2) (i32.mul (local.get 0) (i32.const 2))))", "(nop)"));
  const wasm::Module b = parseWat(summing(
      "(local.set 2 (i32.add (local.get 2) (i32.shl (local.get 0) (i32.const 1))))", "(nop)"));
  const auto regions = check::differingRegions(BinaryenGetFunction(a.get(), "f"),
                                               BinaryenGetFunction(b.get(), "f"), 32);
  ASSERT_EQ(regions.size(), 1u);
  ASSERT_NE(regions[0].original.expr, nullptr);
  EXPECT_EQ(BinaryenBinaryGetOp(regions[0].original.expr), BinaryenMulInt32());
  EXPECT_EQ(BinaryenBinaryGetOp(regions[0].optimized.expr), BinaryenShlInt32());
  // Enclosed by the loop body, $out and $skip, and the body's statements up
  // to $skip (not the last one, which would make it the whole function):
  // each a place to grow to.
  EXPECT_EQ(regions[0].enclosing.size(), 4u);
  // The same body has no regions; nor has a body whose root differs.
  EXPECT_TRUE(check::differingRegions(BinaryenGetFunction(a.get(), "f"),
                                      BinaryenGetFunction(a.get(), "f"), 32)
                  .empty());
}

// A change to most of a function is no smaller as a region: it is checked whole.
TEST(Regions, ARegionOfMoreThanHalfTheFunctionIsLeftWhole) {
  std::string sum = "(local.get 0)", other = "(local.get 0)";
  for (int i = 1; i <= 20; ++i) {
    sum = "(i32.add " + sum + " (i32.const " + std::to_string(i) + "))";
    other = "(i32.sub " + other + " (i32.const " + std::to_string(-i) + "))";
  }
  const wasm::Module a = parseWat(summing("(local.set 2 " + sum + ")", "", false));
  const wasm::Module b = parseWat(summing("(local.set 2 " + other + ")", "", false));
  EXPECT_TRUE(check::differingRegions(BinaryenGetFunction(a.get(), "f"),
                                      BinaryenGetFunction(b.get(), "f"), 32)
                  .empty());
  // In a large function the same change is a region of its own.
  const wasm::Module large_a = parseWat(summing("(local.set 2 " + sum + ")"));
  const wasm::Module large_b = parseWat(summing("(local.set 2 " + other + ")"));
  EXPECT_EQ(check::differingRegions(BinaryenGetFunction(large_a.get(), "f"),
                                    BinaryenGetFunction(large_b.get(), "f"), 32)
                .size(),
            1u);
}

}  // namespace
}  // namespace loom::verify
