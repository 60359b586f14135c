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

}  // namespace
}  // namespace loom::verify
