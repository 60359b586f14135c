// Globals without names: Binaryen calls them "global$N" by position, so when
// a pass removes one the names shift. The verifier aligns them instead, and
// an alignment must never make a wrong optimization look right.
#include <gtest/gtest.h>

#include <string>

#include "loom/verify/verifier.hpp"
#include "loom/wasm/module.hpp"
#include "verify/verify_pair.hpp"

namespace loom::verify {
namespace {

// Two unnamed globals, the first never used: remove-unused-module-elements
// drops it, and the second becomes "global$0".
const char* kTwoGlobals = R"((module
  (global (mut i32) (i32.const 1))
  (global (mut i32) (i32.const 7))
  (func $get (export "get") (result i32) (global.get 1))
  (func $bump (export "bump") (global.set 1 (i32.add (global.get 1) (i32.const 1))))))";

TEST(GlobalPairing, ARemovedUnnamedGlobalShiftsNothing) {
  const ModuleVerdict v = verifyPair(kTwoGlobals, R"((module
  (global (mut i32) (i32.const 7))
  (func $get (export "get") (result i32) (global.get 0))
  (func $bump (export "bump") (global.set 0 (i32.add (global.get 0) (i32.const 1))))))");
  EXPECT_EQ(v.overall(), Verdict::Proved) << describeVerdict(v);
}

TEST(GlobalPairing, KeepingTheWrongGlobalIsRefuted) {
  const ModuleVerdict v = verifyPair(kTwoGlobals, R"((module
  (global (mut i32) (i32.const 1))
  (func $get (export "get") (result i32) (global.get 0))
  (func $bump (export "bump") (global.set 0 (i32.add (global.get 0) (i32.const 1))))))");
  EXPECT_EQ(v.overall(), Verdict::Refuted) << describeVerdict(v);
}

// simplify-globals: a private mutable global nobody changes becomes immutable.
TEST(GlobalPairing, ANeverWrittenGlobalMayBecomeImmutable) {
  const ModuleVerdict v = verifyPair(R"((module
  (global (mut i32) (i32.const 5))
  (func $get (export "get") (result i32) (global.get 0))))",
                                     R"((module
  (global i32 (i32.const 5))
  (func $get (export "get") (result i32) (global.get 0))))");
  EXPECT_EQ(v.overall(), Verdict::Proved) << describeVerdict(v);
}

TEST(GlobalPairing, AWrittenGlobalMayNotBecomeImmutable) {
  const ModuleVerdict v = verifyPair(R"((module
  (global (mut i32) (i32.const 5))
  (func $get (export "get") (result i32) (global.get 0))
  (func $set (export "set") (param i32) (global.set 0 (local.get 0)))))",
                                     R"((module
  (global i32 (i32.const 5))
  (func $get (export "get") (result i32) (global.get 0))
  (func $set (export "set") (param i32))))");
  EXPECT_NE(v.overall(), Verdict::Proved) << describeVerdict(v);
}

// Three zero-initialized private globals; simplify-globals drops the first,
// which is written and never read. Aligned in order, the other two look like
// the first two: bumpA's counter then seems to start from another global's
// value. Without names that cannot be told apart from a wrong optimization,
// so it is not proved, but it must not be called refuted either: from the
// state where both sides certainly agree (a fresh instance), nothing differs.
TEST(GlobalPairing, AGuessedPairingRefutesNothing) {
  const ModuleVerdict v = verifyPair(R"((module
  (global (mut i32) (i32.const 0))
  (global (mut i32) (i32.const 0))
  (global (mut i32) (i32.const 0))
  (func $touch (export "touch") (param i32) (global.set 0 (local.get 0)))
  (func $bumpA (export "bumpA") (result i32)
    (global.set 1 (i32.add (global.get 1) (i32.const 1))) (global.get 1))
  (func $bumpB (export "bumpB") (result i32)
    (global.set 2 (i32.add (global.get 2) (i32.const 2))) (global.get 2))))",
                                     R"((module
  (global (mut i32) (i32.const 0))
  (global (mut i32) (i32.const 0))
  (func $touch (export "touch") (param i32))
  (func $bumpA (export "bumpA") (result i32)
    (global.set 0 (i32.add (global.get 0) (i32.const 1))) (global.get 0))
  (func $bumpB (export "bumpB") (result i32)
    (global.set 1 (i32.add (global.get 1) (i32.const 2))) (global.get 1))))");
  EXPECT_NE(v.overall(), Verdict::Refuted) << describeVerdict(v);
}

// The same guess, and a real difference from a fresh instance: bumpA now
// adds 3.
TEST(GlobalPairing, AGuessedPairingStillRefutesWhatAFreshInstanceShows) {
  const ModuleVerdict v = verifyPair(R"((module
  (global (mut i32) (i32.const 0))
  (global (mut i32) (i32.const 0))
  (func $touch (export "touch") (param i32) (global.set 0 (local.get 0)))
  (func $bumpA (export "bumpA") (result i32)
    (global.set 1 (i32.add (global.get 1) (i32.const 1))) (global.get 1))))",
                                     R"((module
  (global (mut i32) (i32.const 0))
  (func $touch (export "touch") (param i32))
  (func $bumpA (export "bumpA") (result i32)
    (global.set 0 (i32.add (global.get 0) (i32.const 3))) (global.get 0))))");
  EXPECT_EQ(v.overall(), Verdict::Refuted) << describeVerdict(v);
}

// as-chacha20: many zero-initialized globals, some exported. After an unused
// one goes, only the exports say which global is which.
const char* kExportedGlobals = R"((module
  (global (mut i32) (i32.const 0))
  (global (mut i32) (i32.const 0))
  (global (mut i32) (i32.const 0))
  (export "a" (global 1))
  (export "b" (global 2))
  (func $setA (export "setA") (param i32) (global.set 1 (local.get 0)))))";

TEST(GlobalPairing, ExportedGlobalsArePairedByTheirExports) {
  const ModuleVerdict v = verifyPair(kExportedGlobals, R"((module
  (global (mut i32) (i32.const 0))
  (global (mut i32) (i32.const 0))
  (export "a" (global 0))
  (export "b" (global 1))
  (func $setA (export "setA") (param i32) (global.set 0 (local.get 0)))))");
  EXPECT_EQ(v.overall(), Verdict::Proved) << describeVerdict(v);
}

TEST(GlobalPairing, WritingTheOtherExportedGlobalIsRefuted) {
  const ModuleVerdict v = verifyPair(kExportedGlobals, R"((module
  (global (mut i32) (i32.const 0))
  (global (mut i32) (i32.const 0))
  (export "a" (global 0))
  (export "b" (global 1))
  (func $setA (export "setA") (param i32) (global.set 1 (local.get 0)))))");
  EXPECT_EQ(v.overall(), Verdict::Refuted) << describeVerdict(v);
}

TEST(GlobalPairing, SwappedExportsAreRefuted) {
  const ModuleVerdict v = verifyPair(kExportedGlobals, R"((module
  (global (mut i32) (i32.const 0))
  (global (mut i32) (i32.const 0))
  (export "b" (global 0))
  (export "a" (global 1))
  (func $setA (export "setA") (param i32) (global.set 0 (local.get 0)))))");
  EXPECT_EQ(v.overall(), Verdict::Refuted) << describeVerdict(v);
}

}  // namespace
}  // namespace loom::verify
