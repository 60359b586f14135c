// Relocatable modules (Emscripten side modules, tree-sitter grammars) place
// their data and element segments at imported globals (`env.__memory_base`,
// `env.__table_base`) that only the host knows. Their contents are still
// compared, relative to that base, and any change of them is caught.
#include <gtest/gtest.h>

#include <string>

#include "loom/verify/verifier.hpp"
#include "loom/wasm/module.hpp"
#include "verify/verify_pair.hpp"

namespace loom::verify {
namespace {

// A side module in miniature: `pick` calls through the table at
// __table_base + i, `first` reads the data at __memory_base.
std::string sideModule(const std::string& data, const std::string& elem_offset,
                       const std::string& elem_funcs, const std::string& twice_body) {
  return R"((module
  (import "env" "memory" (memory 1))
  (import "env" "__indirect_function_table" (table 2 funcref))
  (import "env" "__memory_base" (global $mb i32))
  (import "env" "__table_base" (global $tb i32))
  (type $t (func (param i32) (result i32)))
  (data (global.get $mb) ")" +
         data + R"(")
  (elem ()" +
         elem_offset + ") " + elem_funcs + R"()
  (func $twice (type $t) (param $x i32) (result i32) )" +
         twice_body + R"()
  (func $thrice (type $t) (param $x i32) (result i32) (i32.mul (local.get $x) (i32.const 3)))
  (func $pick (export "pick") (param $i i32) (param $x i32) (result i32)
    (call_indirect (type $t) (local.get $x) (i32.add (global.get $tb) (local.get $i))))
  (func $first (export "first") (result i32) (i32.load8_u (global.get $mb))))
)";
}

const std::string kTwiceMul = "(i32.mul (local.get $x) (i32.const 2))";
const std::string kTwiceShl = "(i32.shl (local.get $x) (i32.const 1))";
const std::string kTwiceAdd3 = "(i32.add (local.get $x) (i32.const 3))";

const std::string kOriginal = sideModule("\\01\\02", "global.get $tb", "$twice $thrice", kTwiceMul);

TEST(RelocatableSegments, ASideModuleVerifiesAgainstItself) {
  const ModuleVerdict v = verifyPair(kOriginal, kOriginal);
  EXPECT_EQ(v.overall(), Verdict::Proved) << describeVerdict(v);
  EXPECT_TRUE(v.module_problems.empty()) << describeVerdict(v);
}

TEST(RelocatableSegments, ARightChangeInATableFunctionIsProved) {
  const ModuleVerdict v =
      verifyPair(kOriginal, sideModule("\\01\\02", "global.get $tb", "$twice $thrice", kTwiceShl));
  EXPECT_EQ(v.overall(), Verdict::Proved) << describeVerdict(v);
}

TEST(RelocatableSegments, AWrongChangeInATableFunctionIsRefuted) {
  const ModuleVerdict v =
      verifyPair(kOriginal, sideModule("\\01\\02", "global.get $tb", "$twice $thrice", kTwiceAdd3));
  EXPECT_EQ(v.overall(), Verdict::Refuted) << describeVerdict(v);
}

TEST(RelocatableSegments, ChangedDataIsRefuted) {
  const ModuleVerdict v =
      verifyPair(kOriginal, sideModule("\\01\\03", "global.get $tb", "$twice $thrice", kTwiceMul));
  EXPECT_EQ(v.overall(), Verdict::Refuted) << describeVerdict(v);
}

TEST(RelocatableSegments, SwappedTableSlotsAreNotProved) {
  const ModuleVerdict v =
      verifyPair(kOriginal, sideModule("\\01\\02", "global.get $tb", "$thrice $twice", kTwiceMul));
  EXPECT_NE(v.overall(), Verdict::Proved) << describeVerdict(v);
}

TEST(RelocatableSegments, ASegmentMovedOffItsBaseIsNotProved) {
  const ModuleVerdict v =
      verifyPair(kOriginal, sideModule("\\01\\02", "i32.const 0", "$twice $thrice", kTwiceMul));
  EXPECT_NE(v.overall(), Verdict::Proved) << describeVerdict(v);
}

// A side module that lost its dynamic-linking section no longer loads.
TEST(RelocatableSegments, ADroppedDylinkSectionIsRefuted) {
  wasm::Bytes plain = wasm::Module::parseTextTrusted(kOriginal).writeBinary();
  wasm::Bytes side = plain;
  const wasm::Bytes dylink = {0x00, 15,  8, 'd', 'y', 'l', 'i', 'n', 'k',
                              '.',  '0', 1, 4,   16,  2,   1,   0};
  side.insert(side.begin() + 8, dylink.begin(), dylink.end());
  const wasm::Module original = wasm::Module::parseBinaryTrusted(side);
  Verifier verifier(original);
  const ModuleVerdict kept = verifier.verify(wasm::Module::parseBinaryTrusted(side));
  EXPECT_EQ(kept.overall(), Verdict::Proved) << describeVerdict(kept);
  const ModuleVerdict dropped = verifier.verify(wasm::Module::parseBinaryTrusted(plain));
  EXPECT_EQ(dropped.overall(), Verdict::Refuted) << describeVerdict(dropped);
  EXPECT_NE(describeVerdict(dropped).find("dylink.0"), std::string::npos)
      << describeVerdict(dropped);
}

}  // namespace
}  // namespace loom::verify
