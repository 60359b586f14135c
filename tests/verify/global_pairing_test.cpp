// Globals without names: Binaryen calls them "global$N" by position, so when
// a pass removes one the names shift. The verifier aligns them instead, and
// an alignment must never make a wrong optimization look right.
#include <gtest/gtest.h>

#include <string>

#include "loom/verify/verifier.hpp"
#include "loom/wasm/features.hpp"
#include "loom/wasm/module.hpp"

namespace loom::verify {
namespace {

ModuleVerdict verifyPair(const std::string& original_wat, const std::string& optimized_wat) {
  wasm::Module original = wasm::Module::parseTextTrusted(original_wat);
  wasm::Module optimized = wasm::Module::parseTextTrusted(optimized_wat);
  EXPECT_TRUE(original.validate());
  EXPECT_TRUE(optimized.validate());
  Verifier verifier(original);
  return verifier.verify(optimized);
}

std::string problems(const ModuleVerdict& v) {
  std::string s;
  for (const auto& p : v.module_problems) s += p + "; ";
  for (const auto& f : v.functions)
    s += f.function + ": " + std::string(verdictName(f.verdict)) + " " + f.reason + "; ";
  return s;
}

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
  EXPECT_EQ(v.overall(), Verdict::Proved) << problems(v);
}

TEST(GlobalPairing, KeepingTheWrongGlobalIsRefuted) {
  const ModuleVerdict v = verifyPair(kTwoGlobals, R"((module
  (global (mut i32) (i32.const 1))
  (func $get (export "get") (result i32) (global.get 0))
  (func $bump (export "bump") (global.set 0 (i32.add (global.get 0) (i32.const 1))))))");
  EXPECT_EQ(v.overall(), Verdict::Refuted) << problems(v);
}

// simplify-globals: a private mutable global nobody changes becomes immutable.
TEST(GlobalPairing, ANeverWrittenGlobalMayBecomeImmutable) {
  const ModuleVerdict v = verifyPair(R"((module
  (global (mut i32) (i32.const 5))
  (func $get (export "get") (result i32) (global.get 0))))",
                                     R"((module
  (global i32 (i32.const 5))
  (func $get (export "get") (result i32) (global.get 0))))");
  EXPECT_EQ(v.overall(), Verdict::Proved) << problems(v);
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
  EXPECT_NE(v.overall(), Verdict::Proved) << problems(v);
}

}  // namespace
}  // namespace loom::verify
