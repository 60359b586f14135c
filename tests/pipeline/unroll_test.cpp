// Focused tests of the loop unroller on small hand-written loops: structure,
// statistics, labels, and behaviour in Node against the untouched module.
#include "loom/pipeline/unroll.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "loom/wasm/ir.hpp"
#include "loom/wasm/loader.hpp"
#include "loom/wasm/module.hpp"
#include "support/node_runner.hpp"
#include "support/test_support.hpp"

namespace loom::pipeline {
namespace {

using nlohmann::json;
using wasm::ExprKind;
using wasm::kindOf;

wasm::Module parseWat(std::string_view wat, BinaryenFeatures extra = 0) {
  wasm::Module module = wasm::Module::parseTextTrusted(wat);
  module.setFeatures(BinaryenFeatureMutableGlobals() | BinaryenFeatureSignExt() | extra);
  return module;
}

UnrollSettings unroll(UnrollStrategy strategy, std::uint32_t factor,
                      std::uint32_t max_body_size = 1000) {
  UnrollSettings s;
  s.strategy = strategy;
  s.factor = factor;
  s.max_body_size = max_body_size;
  return s;
}

template <class Predicate>
std::size_t countExpressions(const wasm::Module& module, Predicate&& predicate) {
  std::size_t n = 0;
  for (BinaryenFunctionRef f : wasm::definedFunctions(module.get())) {
    wasm::walk(BinaryenFunctionGetBody(f), [&](BinaryenExpressionRef e, unsigned) {
      if (predicate(e)) ++n;
      return true;
    });
  }
  return n;
}

std::size_t countLoops(const wasm::Module& module) {
  return countExpressions(module,
                          [](BinaryenExpressionRef e) { return kindOf(e) == ExprKind::Loop; });
}

// Marker constants in the test loops make the number of body copies visible.
std::size_t countI32Const(const wasm::Module& module, std::int32_t value) {
  return countExpressions(module, [&](BinaryenExpressionRef e) {
    return kindOf(e) == ExprKind::Const && BinaryenExpressionGetType(e) == BinaryenTypeInt32() &&
           BinaryenConstGetValueI32(e) == value;
  });
}

std::size_t subtreeSize(BinaryenExpressionRef root) {
  std::size_t n = 0;
  wasm::walk(root, [&](BinaryenExpressionRef, unsigned) { return ++n, true; });
  return n;
}

BinaryenExpressionRef findLoop(const wasm::Module& module, std::string_view name) {
  BinaryenExpressionRef found = nullptr;
  for (BinaryenFunctionRef f : wasm::definedFunctions(module.get())) {
    wasm::walk(BinaryenFunctionGetBody(f), [&](BinaryenExpressionRef e, unsigned) {
      if (kindOf(e) == ExprKind::Loop && BinaryenLoopGetName(e) && BinaryenLoopGetName(e) == name) {
        found = e;
      }
      return true;
    });
  }
  return found;
}

// Every label a function defines, with how often it is defined.
std::vector<std::map<std::string, int>> labelCounts(const wasm::Module& module) {
  std::vector<std::map<std::string, int>> out;
  for (BinaryenFunctionRef f : wasm::definedFunctions(module.get())) {
    auto& counts = out.emplace_back();
    wasm::walk(BinaryenFunctionGetBody(f), [&](BinaryenExpressionRef e, unsigned) {
      const char* name = nullptr;
      if (kindOf(e) == ExprKind::Block) name = BinaryenBlockGetName(e);
      if (kindOf(e) == ExprKind::Loop) name = BinaryenLoopGetName(e);
      if (kindOf(e) == ExprKind::Try) name = BinaryenTryGetName(e);
      if (name) ++counts[name];
      return true;
    });
  }
  return out;
}

void expectUniqueLabels(const wasm::Module& module) {
  for (const auto& counts : labelCounts(module)) {
    for (const auto& [name, count] : counts) EXPECT_EQ(count, 1) << "label " << name << " repeats";
  }
}

json runCalls(const wasm::Module& module, const json& calls) {
  test::TempDir dir;
  const auto path = dir / "module.wasm";
  test::writeBytes(path, module.writeBinary());
  return test::runInNode({{"module", path.string()}, {"calls", calls}}).at("results");
}

json callsOf(const std::string& name, const std::vector<std::vector<std::string>>& arg_lists) {
  json calls = json::array();
  for (const auto& args : arg_lists) calls.push_back({{"export", name}, {"args", args}});
  return calls;
}

std::vector<std::vector<std::string>> singleArgs() {
  std::vector<std::vector<std::string>> out;
  for (const char* v : {"0", "1", "2", "3", "4", "5", "7", "8", "9", "16", "31", "100", "255",
                        "1000", "-1", "-2147483648", "2147483647"}) {
    out.push_back({v});
  }
  return out;
}

std::vector<std::vector<std::string>> pairArgs() {
  const std::vector<std::string> values = {"0",  "1",  "2",  "3",   "5",  "7",          "8",
                                           "16", "31", "49", "100", "-1", "-2147483648"};
  std::vector<std::vector<std::string>> out;
  for (const auto& a : values) {
    for (const auto& b : values) out.push_back({a, b});
  }
  return out;
}

// Runs the same calls on both modules; the untouched module is the oracle.
void expectSameBehaviour(const wasm::Module& before, const wasm::Module& after, const json& calls) {
  // Binaryen's writer aborts on some invalid IR; the caller already reported it.
  if (!after.validate()) {
    ADD_FAILURE() << "invalid module, not run";
    return;
  }
  const json expected = runCalls(before, calls);
  const json actual = runCalls(after, calls);
  ASSERT_EQ(expected.size(), actual.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(expected[i], actual[i]) << "call " << calls[i].dump();
  }
}

// Unrolls a copy of `source` and checks what every unrolled module must be.
wasm::Module unrolled(const wasm::Module& source, const UnrollSettings& settings,
                      UnrollStats* stats_out = nullptr) {
  wasm::Module module = source.copy();
  const UnrollStats stats = unrollLoops(module.get(), settings);
  if (stats_out) *stats_out = stats;
  EXPECT_TRUE(module.validate());
  expectUniqueLabels(module);
  return module;
}

constexpr std::int32_t kMarker = 12345;

// A do-while loop: the body is void and falls through when the loop ends.
constexpr std::string_view kVoidLoop = R"wat(
(module
  (func $sum (export "sum") (param $n i32) (result i32)
    (local $i i32) (local $s i32)
    (local.set $n (i32.and (local.get $n) (i32.const 1023)))
    (loop $l
      (local.set $s (i32.add (local.get $s) (i32.mul (local.get $i) (i32.const 12345))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (i32.add (local.get $s) (local.get $i))))
)wat";

TEST(UnrollFocused, VoidLoopCopiesTheBodyFactorTimes) {
  const wasm::Module source = parseWat(kVoidLoop);
  ASSERT_TRUE(source.validate());
  ASSERT_EQ(countI32Const(source, kMarker), 1u);
  for (std::uint32_t factor : {2u, 4u, 8u}) {
    SCOPED_TRACE(factor);
    UnrollStats stats;
    const wasm::Module module = unrolled(source, unroll(UnrollStrategy::Innermost, factor), &stats);
    EXPECT_EQ(stats.loops_seen, 1u);
    EXPECT_EQ(stats.loops_unrolled, 1u);
    EXPECT_EQ(stats.loops_too_large, 0u);
    EXPECT_EQ(countI32Const(module, kMarker), factor);
    EXPECT_EQ(countLoops(module), 1u);
    expectSameBehaviour(source, module, callsOf("sum", singleArgs()));
  }
}

constexpr std::string_view kResultLoops = R"wat(
(module
  (func $tri (export "tri") (param $n i32) (result i32)
    (local $i i32) (local $s i32)
    (local.set $n (i32.and (local.get $n) (i32.const 255)))
    (loop $l (result i32)
      (local.set $s (i32.add (local.get $s) (i32.mul (local.get $i) (i32.const 12345))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))
      (i32.add (local.get $s) (i32.mul (local.get $i) (i32.const 1000)))))
  (func $pow (export "pow") (param $n i32) (result i64)
    (local $acc i64)
    (local.set $acc (i64.const 1))
    (local.set $n (i32.and (local.get $n) (i32.const 63)))
    (i64.add (i64.const 7)
      (loop $p (result i64)
        (local.set $acc (i64.mul (local.get $acc) (i64.const 3)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (if (i32.gt_s (local.get $n) (i32.const 0)) (then (br $p)))
        (i64.xor (local.get $acc) (i64.extend_i32_s (local.get $n)))))))
)wat";

TEST(UnrollFocused, LoopWithResultExitsWithTheValueOfTheCopyThatFallsThrough) {
  const wasm::Module source = parseWat(kResultLoops);
  ASSERT_TRUE(source.validate());
  for (std::uint32_t factor : {2u, 4u, 8u}) {
    SCOPED_TRACE(factor);
    UnrollStats stats;
    const wasm::Module module = unrolled(source, unroll(UnrollStrategy::All, factor), &stats);
    EXPECT_EQ(stats.loops_unrolled, 2u);
    EXPECT_EQ(countI32Const(module, kMarker), factor);
    // The loop keeps its type: it is still the value of the function body.
    BinaryenExpressionRef loop = findLoop(module, "l");
    ASSERT_NE(loop, nullptr);
    EXPECT_EQ(BinaryenExpressionGetType(loop), BinaryenTypeInt32());
    json calls = callsOf("tri", singleArgs());
    for (const auto& c : callsOf("pow", singleArgs())) calls.push_back(c);
    expectSameBehaviour(source, module, calls);
  }
}

// Loops whose body ends in a branch: unreachable-typed bodies, one of them in
// a loop that declares a result it only ever delivers through `return`.
constexpr std::string_view kUnreachableBodies = R"wat(
(module
  (func $while (export "while") (param $n i32) (result i32)
    (local $i i32) (local $s i32)
    (local.set $n (i32.and (local.get $n) (i32.const 1023)))
    (block $exit
      (loop $top
        (br_if $exit (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $s (i32.add (local.get $s) (i32.xor (local.get $i) (i32.const 12345))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $top)))
    (local.get $s))
  (func $isqrt (export "isqrt") (param $n i32) (result i32)
    (local $i i32)
    (local.set $n (i32.and (local.get $n) (i32.const 65535)))
    (loop $l (result i32)
      (if (i32.ge_u (i32.mul (local.get $i) (local.get $i)) (local.get $n))
        (then (return (i32.add (local.get $i) (i32.const 12345)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l))))
)wat";

// The text parser types a result loop's body by the declared result even when
// it ends in a branch; after Binaryen refinalizes, loop and body are both
// unreachable. This builds that form directly: $isqrt2 is $isqrt refinalized.
void addRefinalizedIsqrt(BinaryenModuleRef m) {
  auto get = [&](BinaryenIndex i) { return BinaryenLocalGet(m, i, BinaryenTypeInt32()); };
  auto c = [&](std::int32_t v) { return BinaryenConst(m, BinaryenLiteralInt32(v)); };
  BinaryenExpressionRef found = BinaryenIf(
      m,
      BinaryenBinary(m, BinaryenGeUInt32(), BinaryenBinary(m, BinaryenMulInt32(), get(1), get(1)),
                     get(0)),
      BinaryenReturn(m, BinaryenBinary(m, BinaryenAddInt32(), get(1), c(kMarker))), nullptr);
  BinaryenExpressionRef step =
      BinaryenLocalSet(m, 1, BinaryenBinary(m, BinaryenAddInt32(), get(1), c(1)));
  BinaryenExpressionRef body_parts[] = {found, step, BinaryenBreak(m, "again", nullptr, nullptr)};
  BinaryenExpressionRef loop =
      BinaryenLoop(m, "again", BinaryenBlock(m, nullptr, body_parts, 3, BinaryenTypeAuto()));
  BinaryenExpressionRef clamp =
      BinaryenLocalSet(m, 0, BinaryenBinary(m, BinaryenAndInt32(), get(0), c(65535)));
  BinaryenExpressionRef parts[] = {clamp, loop};
  BinaryenType locals[] = {BinaryenTypeInt32()};
  BinaryenAddFunction(m, "isqrt2", BinaryenTypeInt32(), BinaryenTypeInt32(), locals, 1,
                      BinaryenBlock(m, nullptr, parts, 2, BinaryenTypeAuto()));
  BinaryenAddFunctionExport(m, "isqrt2", "isqrt2");
}

TEST(UnrollFocused, UnreachableTypedBodies) {
  wasm::Module source = parseWat(kUnreachableBodies);
  addRefinalizedIsqrt(source.get());
  ASSERT_TRUE(source.validate());
  ASSERT_EQ(BinaryenExpressionGetType(BinaryenLoopGetBody(findLoop(source, "top"))),
            BinaryenTypeUnreachable());
  ASSERT_EQ(BinaryenExpressionGetType(findLoop(source, "l")), BinaryenTypeInt32());
  ASSERT_EQ(BinaryenExpressionGetType(findLoop(source, "again")), BinaryenTypeUnreachable());
  ASSERT_EQ(BinaryenExpressionGetType(BinaryenLoopGetBody(findLoop(source, "again"))),
            BinaryenTypeUnreachable());
  for (std::uint32_t factor : {2u, 4u, 8u}) {
    SCOPED_TRACE(factor);
    UnrollStats stats;
    const wasm::Module module = unrolled(source, unroll(UnrollStrategy::All, factor), &stats);
    EXPECT_EQ(stats.loops_unrolled, 3u);
    EXPECT_EQ(countI32Const(module, kMarker), 3 * factor);
    // Loop types are unchanged, so the expressions around them stay valid.
    EXPECT_EQ(BinaryenExpressionGetType(findLoop(module, "l")), BinaryenTypeInt32());
    EXPECT_EQ(BinaryenExpressionGetType(findLoop(module, "again")), BinaryenTypeUnreachable());
    json calls = callsOf("while", singleArgs());
    for (const char* name : {"isqrt", "isqrt2"}) {
      for (const auto& call : callsOf(name, singleArgs())) calls.push_back(call);
    }
    expectSameBehaviour(source, module, calls);
  }
}

constexpr std::string_view kNoBackEdge = R"wat(
(module
  (func $once (export "once") (param $x i32) (result i32)
    (block $out
      (loop $l
        (local.set $x (i32.add (local.get $x) (i32.const 12345)))
        (br_if $out (i32.and (local.get $x) (i32.const 1)))
        (local.set $x (i32.mul (local.get $x) (i32.const 3)))))
    (loop (local.set $x (i32.sub (local.get $x) (i32.const 1))))
    (local.get $x)))
)wat";

TEST(UnrollFocused, LoopsWithoutBackEdgeAreLeftAlone) {
  const wasm::Module source = parseWat(kNoBackEdge);
  ASSERT_TRUE(source.validate());
  const wasm::Bytes before = source.writeBinary();
  wasm::Module module = source.copy();
  const UnrollStats stats = unrollLoops(module.get(), unroll(UnrollStrategy::All, 8));
  EXPECT_EQ(stats.loops_seen, 2u);
  EXPECT_EQ(stats.loops_unrolled, 0u);
  EXPECT_EQ(stats.loops_too_large, 0u);
  EXPECT_EQ(module.writeBinary(), before);
}

// br_table entries 0, 2 and the default continue the loop; 1 and 3 do not.
constexpr std::string_view kBrTable = R"wat(
(module
  (func $bt (export "bt") (param $x i32) (result i32)
    (local $i i32) (local $acc i32)
    (block $exit
      (loop $l
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $exit (i32.gt_u (local.get $i) (i32.const 40)))
        (block $odd
          (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 3)) (local.get $i)))
          (br_table $l $odd $l $exit $l
            (i32.rem_u (i32.add (local.get $x) (i32.mul (local.get $i) (local.get $i)))
                       (i32.const 6))))
        (local.set $acc (i32.xor (local.get $acc) (i32.const 12345)))
        (br $l)))
    (local.get $acc)))
)wat";

TEST(UnrollFocused, BrTableRetargetsOnlyTheEntriesThatNameTheLoop) {
  const wasm::Module source = parseWat(kBrTable);
  ASSERT_TRUE(source.validate());
  constexpr std::uint32_t kFactor = 4;
  const wasm::Module module = unrolled(source, unroll(UnrollStrategy::Innermost, kFactor));
  std::vector<BinaryenExpressionRef> tables;
  countExpressions(module, [&](BinaryenExpressionRef e) {
    if (kindOf(e) == ExprKind::Switch) tables.push_back(e);
    return false;
  });
  ASSERT_EQ(tables.size(), kFactor);
  std::set<std::string> continue_targets, odd_targets;
  for (BinaryenExpressionRef table : tables) {
    ASSERT_EQ(BinaryenSwitchGetNumNames(table), 4u);
    const std::string cont = BinaryenSwitchGetNameAt(table, 0);
    EXPECT_EQ(BinaryenSwitchGetNameAt(table, 2), cont);
    EXPECT_EQ(BinaryenSwitchGetDefaultName(table), cont);
    EXPECT_STREQ(BinaryenSwitchGetNameAt(table, 3), "exit");  // outside the loop: unchanged
    continue_targets.insert(cont);
    odd_targets.insert(BinaryenSwitchGetNameAt(table, 1));
  }
  // Each copy continues into its own block; only the last still names $l.
  EXPECT_EQ(continue_targets.size(), kFactor);
  EXPECT_EQ(continue_targets.count("l"), 1u);
  EXPECT_EQ(odd_targets.size(), kFactor);
  EXPECT_EQ(odd_targets.count("odd"), 1u);
  json calls = json::array();
  for (int x = -3; x < 40; ++x) calls.push_back({{"export", "bt"}, {"args", {std::to_string(x)}}});
  expectSameBehaviour(source, module, calls);
}

// Leaving the loop from inside: br_if with a value, br two blocks out,
// return, and a trap.
constexpr std::string_view kBranchesOut = R"wat(
(module
  (func $search (export "search") (param $n i32) (param $k i32) (result i32)
    (local $i i32)
    (block $outer (result i32)
      (i32.add (i32.const 1000)
        (block $found (result i32)
          (loop $l
            (drop (br_if $found (local.get $i)
              (i32.eq (i32.mul (local.get $i) (local.get $i)) (local.get $k))))
            (if (i32.gt_u (local.get $i) (i32.and (local.get $n) (i32.const 127)))
              (then (br $outer (i32.const -1))))
            (if (i32.eq (local.get $i) (i32.const 77)) (then (return (i32.const 12345))))
            (if (i32.eq (local.get $k) (i32.const 5))
              (then (local.set $k (i32.add (local.get $k)
                (i32.div_u (i32.const 0) (i32.sub (local.get $i) (i32.const 3)))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $l)))))))
)wat";

TEST(UnrollFocused, BranchesOutOfTheLoopKeepTheirTargets) {
  const wasm::Module source = parseWat(kBranchesOut);
  ASSERT_TRUE(source.validate());
  for (std::uint32_t factor : {2u, 4u, 8u}) {
    SCOPED_TRACE(factor);
    const wasm::Module module = unrolled(source, unroll(UnrollStrategy::All, factor));
    EXPECT_EQ(countI32Const(module, kMarker), factor);
    expectSameBehaviour(source, module, callsOf("search", pairArgs()));
  }
}

// The inner loop continues the outer loop directly (br_if $outer), so the
// retargeting has to reach into a nested loop.
constexpr std::string_view kNested = R"wat(
(module
  (func $nest (export "nest") (param $n i32) (result i32)
    (local $i i32) (local $j i32) (local $s i32)
    (local.set $n (i32.and (local.get $n) (i32.const 15)))
    (block $done
      (loop $outer
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $j (i32.const 0))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (loop $inner
          (local.set $s (i32.add (local.get $s)
            (i32.mul (i32.add (local.get $i) (local.get $j)) (i32.const 12345))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br_if $outer (i32.eq (local.get $j) (i32.const 5)))
          (br_if $inner (i32.lt_u (local.get $j) (local.get $i))))
        (local.set $s (i32.add (local.get $s) (i32.const 7777)))
        (br $outer)))
    (local.get $s)))
)wat";

TEST(UnrollFocused, NestedLoopsInnermostUnrollsOnlyTheInnerLoop) {
  const wasm::Module source = parseWat(kNested);
  ASSERT_TRUE(source.validate());
  for (std::uint32_t factor : {2u, 4u, 8u}) {
    SCOPED_TRACE(factor);
    UnrollStats stats;
    const wasm::Module module = unrolled(source, unroll(UnrollStrategy::Innermost, factor), &stats);
    EXPECT_EQ(stats.loops_seen, 2u);
    EXPECT_EQ(stats.loops_unrolled, 1u);
    EXPECT_EQ(countI32Const(module, kMarker), factor);
    EXPECT_EQ(countI32Const(module, 7777), 1u);
    EXPECT_EQ(countLoops(module), 2u);
    expectSameBehaviour(source, module, callsOf("nest", singleArgs()));
  }
}

TEST(UnrollFocused, NestedLoopsAllUnrollsBothAndCopiesTheUnrolledInnerLoop) {
  const wasm::Module source = parseWat(kNested);
  for (std::uint32_t factor : {2u, 4u, 8u}) {
    SCOPED_TRACE(factor);
    UnrollStats stats;
    const wasm::Module module =
        unrolled(source, unroll(UnrollStrategy::All, factor, 100000), &stats);
    EXPECT_EQ(stats.loops_seen, 2u);
    EXPECT_EQ(stats.loops_unrolled, 2u);
    EXPECT_EQ(countI32Const(module, kMarker), factor * factor);
    EXPECT_EQ(countI32Const(module, 7777), factor);
    EXPECT_EQ(countLoops(module), 1u + factor);
    expectSameBehaviour(source, module, callsOf("nest", singleArgs()));
  }
}

TEST(UnrollFocused, AllMeasuresAnOuterLoopAfterItsInnerLoopGrew) {
  const wasm::Module source = parseWat(kNested);
  const std::size_t inner = subtreeSize(BinaryenLoopGetBody(findLoop(source, "inner")));
  const std::size_t outer = subtreeSize(BinaryenLoopGetBody(findLoop(source, "outer")));
  ASSERT_LT(inner, outer);
  // The outer body fits before the inner loop is unrolled, but not after.
  UnrollStats stats;
  const wasm::Module module =
      unrolled(source, unroll(UnrollStrategy::All, 2, static_cast<std::uint32_t>(outer)), &stats);
  EXPECT_EQ(stats.loops_unrolled, 1u);
  EXPECT_EQ(stats.loops_too_large, 1u);
  EXPECT_EQ(countI32Const(module, kMarker), 2u);
  EXPECT_EQ(countI32Const(module, 7777), 1u);
}

TEST(UnrollFocused, BodyLargerThanTheLimitIsLeftAloneAndCounted) {
  const wasm::Module source = parseWat(kVoidLoop);
  const std::size_t size = subtreeSize(BinaryenLoopGetBody(findLoop(source, "l")));
  const wasm::Bytes before = source.writeBinary();

  wasm::Module too_large = source.copy();
  UnrollStats stats = unrollLoops(
      too_large.get(), unroll(UnrollStrategy::All, 4, static_cast<std::uint32_t>(size - 1)));
  EXPECT_EQ(stats.loops_seen, 1u);
  EXPECT_EQ(stats.loops_unrolled, 0u);
  EXPECT_EQ(stats.loops_too_large, 1u);
  EXPECT_EQ(too_large.writeBinary(), before);

  // The limit is inclusive.
  const wasm::Module fits =
      unrolled(source, unroll(UnrollStrategy::All, 4, static_cast<std::uint32_t>(size)), &stats);
  EXPECT_EQ(stats.loops_unrolled, 1u);
  EXPECT_EQ(stats.loops_too_large, 0u);
  EXPECT_EQ(countI32Const(fits, kMarker), 4u);
}

// Labels of every kind inside the loop: blocks, a nested loop, br_table to
// several of them. Unrolling twice copies copies, whose names must not clash
// and must not grow with every round.
constexpr std::string_view kManyLabels = R"wat(
(module
  (func $labels (export "labels") (param $x i32) (result i32)
    (local $i i32) (local $s i32)
    (block $exit
      (loop $l
        (local.set $x (i32.shr_u (local.get $x) (i32.const 1)))
        (br_if $exit (i32.eqz (local.get $x)))
        (block $a
          (block $b
            (br_table $a $b $l $exit (i32.and (local.get $x) (i32.const 3))))
          (local.set $s (i32.add (local.get $s) (i32.const 12345))))
        (loop $inner
          (local.set $s (i32.add (local.get $s) (local.get $i)))
          (br_if $inner (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                                  (i32.const 3))))
        (block $c (br_if $c (i32.and (local.get $x) (i32.const 8))) (nop))
        (br $l)))
    (i32.add (local.get $s) (local.get $i))))
)wat";

TEST(UnrollFocused, CopiedLabelsAreFreshAndUniqueEvenWhenUnrollingTwice) {
  const wasm::Module source = parseWat(kManyLabels);
  ASSERT_TRUE(source.validate());
  const auto original_labels = labelCounts(source).at(0);
  UnrollStats first;
  const wasm::Module once = unrolled(source, unroll(UnrollStrategy::All, 8, 100000), &first);
  EXPECT_EQ(first.loops_unrolled, 2u);
  // The originals keep their names: the last copy is the original body.
  for (const auto& [name, count] : original_labels) {
    EXPECT_EQ(labelCounts(once).at(0).count(name), 1u) << name;
  }
  UnrollStats second;
  const wasm::Module twice = unrolled(once, unroll(UnrollStrategy::All, 2, 100000), &second);
  EXPECT_EQ(second.loops_seen, 9u);  // $l and 8 copies of $inner
  EXPECT_EQ(second.loops_unrolled, 9u);
  std::size_t longest = 0;
  const auto twice_labels = labelCounts(twice);
  for (const auto& [name, count] : twice_labels.at(0)) longest = std::max(longest, name.size());
  EXPECT_LE(longest, 16u);
  json calls = json::array();
  for (const char* x : {"0", "1", "5", "255", "1000", "65535", "-1", "-2147483648", "12345678"}) {
    calls.push_back({{"export", "labels"}, {"args", {x}}});
  }
  expectSameBehaviour(source, once, calls);
  expectSameBehaviour(source, twice, calls);
}

// try/catch/rethrow/delegate inside a loop: try labels are renamed too.
constexpr std::string_view kTry = R"wat(
(module
  (tag $e (param i32))
  (func $f (export "f") (param $x i32) (result i32)
    (local $i i32)
    (local.set $x (i32.and (local.get $x) (i32.const 255)))
    (loop $l
      (try $t
        (do
          (try
            (do (if (i32.eq (local.get $i) (i32.const 3)) (then (throw $e (local.get $i)))))
            (delegate $t)))
        (catch $e (drop (pop i32)))
        (catch_all (rethrow $t)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $x))))
    (local.get $i)))
)wat";

TEST(UnrollFocused, TryLabelsInsideTheLoopAreRenamed) {
  const wasm::Module source = parseWat(kTry, BinaryenFeatureExceptionHandling());
  ASSERT_TRUE(source.validate());
  UnrollStats stats;
  const wasm::Module module = unrolled(source, unroll(UnrollStrategy::All, 4), &stats);
  EXPECT_EQ(stats.loops_unrolled, 1u);
  // The parser names the inner try as well: two tries per copy, and each
  // copy's delegate and rethrow name a try of their own copy.
  std::set<std::string> try_names, delegate_targets, rethrow_targets;
  countExpressions(module, [&](BinaryenExpressionRef e) {
    if (kindOf(e) == ExprKind::Try) {
      try_names.insert(BinaryenTryGetName(e));
      if (BinaryenTryIsDelegate(e)) delegate_targets.insert(BinaryenTryGetDelegateTarget(e));
    }
    if (kindOf(e) == ExprKind::Rethrow) rethrow_targets.insert(BinaryenRethrowGetTarget(e));
    return false;
  });
  EXPECT_EQ(try_names.size(), 8u);
  EXPECT_EQ(delegate_targets.size(), 4u);
  EXPECT_EQ(rethrow_targets, delegate_targets);
  for (const auto& target : delegate_targets) EXPECT_EQ(try_names.count(target), 1u) << target;
  expectSameBehaviour(source, module, callsOf("f", singleArgs()));
}

TEST(UnrollFocused, FactorOneAndStrategyNoneLeaveEveryFixtureByteIdentical) {
  for (const std::string& name : test::fixtureNames()) {
    SCOPED_TRACE(name);
    wasm::LoadedModule loaded = wasm::loadModuleFile(test::fixtureBinary(name));
    const wasm::Bytes before = loaded.module.writeBinary();
    for (const UnrollSettings& s :
         {unroll(UnrollStrategy::All, 1), unroll(UnrollStrategy::Innermost, 1),
          unroll(UnrollStrategy::None, 8), unroll(UnrollStrategy::None, 2)}) {
      wasm::Module module = loaded.module.copy();
      const UnrollStats stats = unrollLoops(module.get(), s);
      EXPECT_EQ(stats.loops_unrolled, 0u);
      EXPECT_EQ(module.writeBinary(), before);
    }
  }
}

}  // namespace
}  // namespace loom::pipeline
