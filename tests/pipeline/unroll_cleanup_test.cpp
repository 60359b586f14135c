// Does full unrolling of constant-trip loops emerge when Binaryen's cleanup
// passes run after the unroller? Measured on the constant-trip loops of the
// fixtures; docs/unrolling.md reports the numbers (LOOM_UNROLL_REPORT=1
// prints them).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "loom/pipeline/apply.hpp"
#include "loom/pipeline/builtins.hpp"
#include "loom/pipeline/unroll.hpp"
#include "loom/wasm/ir.hpp"
#include "loom/wasm/loader.hpp"
#include "loom/wasm/module.hpp"
#include "support/node_runner.hpp"
#include "support/test_support.hpp"

namespace loom::pipeline {
namespace {

using nlohmann::json;

struct Shape {
  std::size_t loops = 0;
  std::size_t expressions = 0;
};

Shape shapeOf(const wasm::Module& module, const char* export_name) {
  BinaryenExportRef e = BinaryenGetExport(module.get(), export_name);
  if (!e) throw std::runtime_error(std::string("no export ") + export_name);
  BinaryenFunctionRef f = BinaryenGetFunction(module.get(), BinaryenExportGetValue(e));
  Shape shape;
  wasm::walk(BinaryenFunctionGetBody(f), [&](BinaryenExpressionRef x, unsigned) {
    ++shape.expressions;
    if (wasm::kindOf(x) == wasm::ExprKind::Loop) ++shape.loops;
    return true;
  });
  return shape;
}

// -O3 is the default pipeline that runs precompute-propagate, the pass that
// would have to fold the exit tests (-O only runs precompute).
PipelineConfig o3(bool with_unroll, UnrollStrategy strategy, std::uint32_t factor) {
  PipelineConfig config = *builtinConfig("O3");
  if (with_unroll) {
    config.phases.insert(config.phases.begin(), "unroll");
    config.unroll = {strategy, factor, 2000};
  }
  return config;
}

struct ConstantTripLoop {
  const char* fixture;
  const char* function;
  std::size_t loops;     // in the original function
  std::uint32_t factor;  // >= the trip count of the innermost loop
};

// fixed_trip: 4 trips; fixed_nested: 3 x 4; matmul4: 4 x 4 x 4.
const std::vector<ConstantTripLoop> kLoops = {
    {"loops", "fixed_trip", 1, 4},
    {"loops", "fixed_nested", 2, 4},
    {"matmul", "matmul4", 3, 4},
    {"loops", "fixed_trip", 1, 8},
};

TEST(UnrollCleanup, ConstantTripLoopsKeepTheirBackEdgeAfterO3) {
  const bool report = std::getenv("LOOM_UNROLL_REPORT") != nullptr;
  for (const auto& c : kLoops) {
    SCOPED_TRACE(std::string(c.function) + " x" + std::to_string(c.factor));
    const wasm::LoadedModule loaded = wasm::loadModuleFile(test::fixtureBinary(c.fixture));
    const Shape original = shapeOf(loaded.module, c.function);
    ASSERT_EQ(original.loops, c.loops);
    const Shape plain = shapeOf(applyPipeline(loaded.module, o3(false, {}, 1)), c.function);
    for (UnrollStrategy strategy : {UnrollStrategy::Innermost, UnrollStrategy::All}) {
      const wasm::Module after = applyPipeline(loaded.module, o3(true, strategy, c.factor));
      ASSERT_TRUE(after.validate());
      const Shape shape = shapeOf(after, c.function);
      if (report) {
        std::printf(
            "%-13s %-9s x%u  original %zu loops %3zu exprs | O3 %zu loops %3zu exprs | "
            "unroll+O3 %zu loops %4zu exprs\n",
            c.function, std::string(unrollStrategyName(strategy)).c_str(), c.factor, original.loops,
            original.expressions, plain.loops, plain.expressions, shape.loops, shape.expressions);
      }
      // Every copy's exit test reads the induction variable through the loop
      // header, where the entry value and the back-edge value merge, so
      // precompute-propagate cannot fold any of them and no back edge goes.
      EXPECT_GE(shape.loops, plain.loops);
      EXPECT_GT(shape.expressions, 2 * plain.expressions);
    }
  }
}

// The same copies placed in front of the loop (peeling) instead of inside it
// do fold: the first copy sees only the entry value. This is fixed_trip
// peeled four times, written by hand.
constexpr std::string_view kPeeledFixedTrip = R"wat(
(module
  (func $fixed_trip (export "fixed_trip") (param $x i32) (result i32)
    (local $i i32) (local $acc i32)
    (block $out
      (block $c1
        (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31))
                                 (i32.add (local.get $x) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $c1 (i32.lt_u (local.get $i) (i32.const 4)))
        (br $out))
      (block $c2
        (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31))
                                 (i32.add (local.get $x) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $c2 (i32.lt_u (local.get $i) (i32.const 4)))
        (br $out))
      (block $c3
        (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31))
                                 (i32.add (local.get $x) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $c3 (i32.lt_u (local.get $i) (i32.const 4)))
        (br $out))
      (block $c4
        (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31))
                                 (i32.add (local.get $x) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $c4 (i32.lt_u (local.get $i) (i32.const 4)))
        (br $out))
      (loop $l
        (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31))
                                 (i32.add (local.get $x) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (i32.const 4)))))
    (local.get $acc)))
)wat";

TEST(UnrollCleanup, PeeledCopiesWouldLetO3RemoveTheLoop) {
  wasm::Module peeled = wasm::Module::parseTextTrusted(kPeeledFixedTrip);
  ASSERT_TRUE(peeled.validate());
  const wasm::Module after = applyPipeline(peeled, o3(false, {}, 1));
  const Shape shape = shapeOf(after, "fixed_trip");
  if (std::getenv("LOOM_UNROLL_REPORT")) {
    std::printf("fixed_trip peeled x4 + O3: %zu loops %zu exprs\n", shape.loops, shape.expressions);
  }
  EXPECT_EQ(shape.loops, 0u);
  // Straight-line code that still computes what the fixture says.
  test::TempDir dir;
  test::writeBytes(dir / "peeled.wasm", after.writeBinary());
  const json results = test::runInNode({{"module", (dir / "peeled.wasm").string()},
                                        {"calls", {{{"export", "fixed_trip"}, {"args", {"1"}}}}}});
  EXPECT_EQ(results.at("results").at(0).at("values").at(0), "31810");
}

}  // namespace
}  // namespace loom::pipeline
