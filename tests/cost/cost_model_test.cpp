#include "loom/cost/cost_model.hpp"

#include <gtest/gtest.h>

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

TEST(CostModel, LoopNestingMultipliesCost) {
  const double flat = cyclesOf("(i32.div_u (local.get 0) (local.get 1))");
  const double in_loop = cyclesOf("(loop $l (result i32) (i32.div_u (local.get 0) (local.get 1)))");
  const double nested = cyclesOf(
      "(loop $a (result i32) (loop $b (result i32) (i32.div_u (local.get 0) (local.get 1))))");
  EXPECT_NEAR(in_loop / flat, 10.0, 1e-9);
  EXPECT_NEAR(nested / in_loop, 10.0, 1e-9);
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
