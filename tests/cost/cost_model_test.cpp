#include "loom/cost/cost_model.hpp"

#include <gtest/gtest.h>

#include <string>

#include "loom/pipeline/apply.hpp"
#include "loom/pipeline/builtins.hpp"
#include "loom/pipeline/unroll.hpp"
#include "loom/wasm/binary_layout.hpp"
#include "loom/wasm/ir.hpp"
#include "loom/wasm/loader.hpp"
#include "support/test_support.hpp"

namespace loom::cost {
namespace {

double cyclesOf(const char* body) {
  wasm::Module m = wasm::Module::parseTextTrusted(
      std::string("(module (func $f (param i32 i32) (result i32) (local i32) ") + body + "))");
  return estimateCycles(BinaryenGetFunction(m.get(), "f"));
}

double moduleCycles(const wasm::Module& m) {
  double sum = 0;
  for (auto f : wasm::definedFunctions(m.get())) sum += estimateCycles(f);
  return sum;
}

double functionCycles(const wasm::Module& m, const char* name) {
  return estimateCycles(BinaryenGetFunction(m.get(), name));
}

TEST(CostModel, DivisionCostsMoreThanAdditionAndShift) {
  const double add = cyclesOf("(i32.add (local.get 0) (local.get 1))");
  const double shl = cyclesOf("(i32.shl (local.get 0) (local.get 1))");
  const double mul = cyclesOf("(i32.mul (local.get 0) (local.get 1))");
  const double div = cyclesOf("(i32.div_u (local.get 0) (local.get 1))");
  EXPECT_EQ(add, shl);
  EXPECT_LT(shl, mul);
  EXPECT_LT(mul, div);
  EXPECT_LT(cyclesOf("(i32.load (local.get 0))"),
            cyclesOf("(call $f (local.get 0) (local.get 1))"));
}

TEST(CostModel, ALoopOfUnknownCountRunsTheAssumedTripsPerNestingLevel) {
  const double flat = cyclesOf("(i32.div_u (local.get 0) (local.get 1))");
  const double in_loop = cyclesOf("(loop $l (result i32) (i32.div_u (local.get 0) (local.get 1)))");
  const double nested = cyclesOf(
      "(loop $a (result i32) (loop $b (result i32) (i32.div_u (local.get 0) (local.get 1))))");
  EXPECT_NEAR(in_loop / flat, 10.0, 1e-9);
  EXPECT_NEAR(nested / in_loop, 10.0, 1e-9);
}

// The loop counts a local from a constant to a constant: the model uses the
// count instead of the assumed 10 trips.
TEST(CostModel, AConstantTripCountIsUsed) {
  auto counted = [](int n) {
    const std::string body =
        "(local.set 2 (i32.const 0)) "
        "(loop $l (local.set 0 (i32.div_u (local.get 0) (local.get 1))) "
        "  (local.set 2 (i32.add (local.get 2) (i32.const 1))) "
        "  (br_if $l (i32.lt_u (local.get 2) (i32.const " +
        std::to_string(n) + ")))) (local.get 0)";
    return cyclesOf(body.c_str());
  };
  const double c4 = counted(4);
  const double c400 = counted(400);
  // About 100 times the work; the code outside the loop is a few cycles.
  EXPECT_NEAR(c400 / c4, 100.0, 5.0);
  // And a loop bounded by a parameter falls back to the assumed count.
  const double unknown = cyclesOf(
      "(local.set 2 (i32.const 0)) "
      "(loop $l (local.set 0 (i32.div_u (local.get 0) (local.get 1))) "
      "  (local.set 2 (i32.add (local.get 2) (i32.const 1))) "
      "  (br_if $l (i32.lt_u (local.get 2) (local.get 1)))) (local.get 0)");
  EXPECT_NEAR(unknown / counted(10), 1.0, 0.05);
}

TEST(CostModel, EachArmOfAnIfCountsHalf) {
  const double div = cyclesOf("(i32.div_u (local.get 0) (local.get 1))");
  const double both = cyclesOf(
      "(if (result i32) (local.get 0) (i32.div_u (local.get 0) (local.get 1)) "
      "  (i32.div_u (local.get 1) (local.get 0)))");
  const double one = cyclesOf(
      "(if (result i32) (local.get 0) (i32.div_u (local.get 0) (local.get 1)) (local.get 1))");
  EXPECT_LT(both, 2 * div);  // not both arms in full
  EXPECT_GT(both, div);      // the condition and the branch cost something
  EXPECT_LT(one, both);
}

// The same loop written with its test in an `if` that continues, or in a
// `br_if` that leaves, costs the same: the arm that goes back to the loop
// runs on every pass (it did not, and a search found the `if` shape "half
// as costly" while V8 ran it 30% slower).
TEST(CostModel, ALoopCostsTheSameWhicheverShapeItsTestTakes) {
  const double continue_in_if = cyclesOf(
      "(loop $l (if (local.get 1) (block "
      "  (local.set 0 (i32.div_u (local.get 0) (local.get 1))) "
      "  (local.set 1 (i32.sub (local.get 1) (i32.const 1))) (br $l)))) (local.get 0)");
  const double exit_by_br_if = cyclesOf(
      "(block $out (loop $l (br_if $out (i32.eqz (local.get 1))) "
      "  (local.set 0 (i32.div_u (local.get 0) (local.get 1))) "
      "  (local.set 1 (i32.sub (local.get 1) (i32.const 1))) (br $l))) (local.get 0)");
  EXPECT_NEAR(continue_in_if / exit_by_br_if, 1.0, 0.1);
}

// Unrolling a loop k times does not make it k times as expensive: each copy
// keeps its exit test, so the unrolled body runs k times less often.
TEST(CostModel, UnrollingDoesNotMultiplyTheEstimate) {
  wasm::LoadedModule loaded = wasm::loadModuleFile(test::fixturePath("loops"));
  const double before = functionCycles(loaded.module, "sum_to");
  for (std::uint32_t factor : {2u, 4u, 8u}) {
    wasm::Module m = loaded.module.copy();
    pipeline::UnrollSettings settings;
    settings.strategy = pipeline::UnrollStrategy::Innermost;
    settings.factor = factor;
    const auto stats = pipeline::unrollLoops(m.get(), settings);
    ASSERT_GT(stats.loops_unrolled, 0u);
    const double after = functionCycles(m, "sum_to");
    EXPECT_GT(after, 0.8 * before) << "factor " << factor;
    EXPECT_LT(after, 1.5 * before) << "factor " << factor;
  }
}

// The same after -O3 has cleaned the copies up, over a whole module: the
// estimate stays near -O3's instead of growing with the factor (it grew
// about k-fold before the loop model counted exits).
TEST(CostModel, UnrolledThenOptimizedStaysNearTheOptimized) {
  wasm::LoadedModule loaded = wasm::loadModuleFile(test::fixturePath("loops"));
  const auto o3 = pipeline::builtinConfig("O3");
  ASSERT_TRUE(o3);
  const double optimized = moduleCycles(pipeline::applyPipeline(loaded.module, *o3));
  pipeline::PipelineConfig unrolled = *o3;
  unrolled.phases.insert(unrolled.phases.begin(), "unroll");
  unrolled.unroll = {pipeline::UnrollStrategy::Innermost, 4, 64};
  const double after = moduleCycles(pipeline::applyPipeline(loaded.module, unrolled));
  EXPECT_LT(after, 1.5 * optimized);
  EXPECT_GT(after, 0.5 * optimized);
}

double measuredCycles(const wasm::Module& m) {
  return measure(m, m.writeBinary()).cycles;
}

// A module's estimate weighs functions by how often its exports reach them.
TEST(CostModel, FunctionsCountByHowOftenTheEntryPointsCallThem) {
  const char* helper =
      "(func $helper (param i32) (result i32) (i32.div_u (local.get 0) (i32.const 7)))";
  auto moduleWith = [&](const std::string& funcs) {
    return wasm::Module::parseTextTrusted(std::string("(module ") + helper + funcs + ")");
  };
  // Called once from an export.
  const double once = measuredCycles(moduleWith(
      "(func $main (export \"main\") (param i32) (result i32) (call $helper (local.get 0)))"));
  // Called from a loop of unknown count: about the assumed 10 times as often.
  const double looped = measuredCycles(
      moduleWith("(func $main (export \"main\") (param i32) (result i32) "
                 "  (loop $l (local.set 0 (call $helper (local.get 0))) (br_if $l (local.get 0))) "
                 "  (local.get 0))"));
  EXPECT_GT(looped, 8 * once);
  // Reached from nowhere: the helper costs nothing, whatever its body.
  const double unreached = measuredCycles(
      moduleWith("(func $main (export \"main\") (param i32) (result i32) (local.get 0))"));
  EXPECT_LT(unreached, 0.2 * once);
}

// Inlining a helper into its callers moves its cost there at the same
// frequency and saves the calls: it must not look more expensive (it did
// when every function counted once, so copies counted twice).
TEST(CostModel, InliningDoesNotLookMoreExpensive) {
  const wasm::Module m = wasm::Module::parseTextTrusted(
      "(module "
      "(func $helper (param i32) (result i32) "
      "  (i32.add (i32.mul (local.get 0) (i32.const 31)) (i32.div_u (local.get 0) (i32.const 7))))"
      "(func $a (export \"a\") (param i32) (result i32) "
      "  (loop $l (local.set 0 (call $helper (local.get 0))) (br_if $l (local.get 0))) "
      "  (local.get 0))"
      "(func $b (export \"b\") (param i32) (result i32) (call $helper (local.get 0))))");
  pipeline::PipelineConfig inline_all;
  inline_all.phases = {"inlining", "remove-unused-module-elements"};
  inline_all.inlining.always_inline_max_size = 100;
  inline_all.inlining.flexible_inline_max_size = 100;
  const wasm::Module inlined = pipeline::applyPipeline(m, inline_all);
  ASSERT_EQ(wasm::definedFunctions(inlined.get()).size(), 2u);  // the helper is gone
  EXPECT_LT(measuredCycles(inlined), measuredCycles(m));
}

TEST(CostModel, FeaturesSumToTheEstimate) {
  wasm::LoadedModule loaded = wasm::loadModuleFile(test::fixturePath("crc32"));
  for (auto f : wasm::definedFunctions(loaded.module.get())) {
    const CycleFeatures features = cycleFeatures(f);
    EXPECT_DOUBLE_EQ(features.cycles(), estimateCycles(f));
    double any = 0;
    for (double v : features.by_class) {
      EXPECT_GE(v, 0);
      any += v;
    }
    EXPECT_GT(any, 0);
  }
}

TEST(CostModel, MeasuresSizesFromTheBinaryAndCountsFromTheIr) {
  wasm::LoadedModule loaded = wasm::loadModuleFile(test::fixturePath("crc32"));
  const wasm::Bytes bytes = loaded.module.writeBinary();
  const Metrics m = measure(loaded.module, bytes);
  EXPECT_EQ(m.total_bytes, bytes.size());
  EXPECT_EQ(m.code_bytes, wasm::readBinaryLayout(bytes).codeSectionBytes());
  EXPECT_EQ(m.functions, wasm::definedFunctions(loaded.module.get()).size());
  std::uint64_t instructions = 0;
  for (auto f : wasm::definedFunctions(loaded.module.get())) {
    wasm::walk(BinaryenFunctionGetBody(f), [&](BinaryenExpressionRef, unsigned) {
      ++instructions;
      return true;
    });
  }
  EXPECT_EQ(m.instructions, instructions);
  EXPECT_GT(m.cycles, 0);
}

}  // namespace
}  // namespace loom::cost
