// Repair gives unverified functions their original bodies back. In a module
// read from a binary without a names section, globals are named by position,
// so a reverted body must be pointed at the candidate's globals, not at the
// ones that now happen to carry the same names.
#include "loom/engine/repair.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "loom/verify/verifier.hpp"
#include "verify/verify_pair.hpp"

namespace loom::engine {
namespace {

using verify::describeVerdict;
using verify::Verdict;

// As a binary without names: Binaryen then names globals "global$N".
wasm::Module positional(const std::string& wat) {
  const wasm::Module text = verify::parseWat(wat);
  wasm::Module module = wasm::Module::parseBinaryTrusted(text.writeBinary());
  module.setFeatures(text.features());
  return module;
}

std::vector<std::string> unverifiedFunctions(const verify::ModuleVerdict& v) {
  std::vector<std::string> names;
  for (const auto& f : v.functions) {
    if (f.verdict != Verdict::Proved) names.push_back(f.function);
  }
  return names;
}

// Three zero-initialized globals; the candidate drops the unused first one,
// so its "global$0" is the original's "global$1". Its setB writes the global
// exported as "a": wrong.
const char* kOriginal = R"((module
  (global (mut i32) (i32.const 0))
  (global (mut i32) (i32.const 0))
  (global (mut i32) (i32.const 0))
  (export "a" (global 1))
  (export "b" (global 2))
  (func (export "setB") (param i32) (global.set 2 (local.get 0)))
  (func (export "getA") (result i32) (global.get 1))))";

const char* kWrongCandidate = R"((module
  (global (mut i32) (i32.const 0))
  (global (mut i32) (i32.const 0))
  (export "a" (global 0))
  (export "b" (global 1))
  (func (export "setB") (param i32) (global.set 0 (local.get 0)))
  (func (export "getA") (result i32) (global.get 0))))";

TEST(Repair, RevertedBodiesUseTheCandidatesGlobals) {
  const wasm::Module original = positional(kOriginal);
  const wasm::Module candidate = positional(kWrongCandidate);
  verify::Verifier verifier(original);
  const verify::ModuleVerdict before = verifier.verify(candidate);
  ASSERT_EQ(before.overall(), Verdict::Refuted) << describeVerdict(before);
  const std::vector<std::string> wrong = unverifiedFunctions(before);
  ASSERT_EQ(wrong.size(), 1u) << describeVerdict(before);

  const Repair repair =
      revertFunctions(original, candidate, wrong, verifier.pairGlobals(candidate));
  ASSERT_TRUE(repair.module) << repair.why_not;
  EXPECT_EQ(repair.reverted, wrong);
  const verify::ModuleVerdict after = verifier.verify(*repair.module);
  EXPECT_EQ(after.overall(), Verdict::Proved) << describeVerdict(after);
  // Both bodies are the original ones up to the names of their globals:
  // nothing is left for the solver.
  EXPECT_TRUE(after.functions.empty()) << describeVerdict(after);
  EXPECT_EQ(after.unchanged_functions, 2u);
}

TEST(Repair, WithoutAPairingARemovedMutableGlobalStopsIt) {
  const wasm::Module original = positional(kOriginal);
  const wasm::Module candidate = positional(kWrongCandidate);
  verify::Verifier verifier(original);
  const Repair repair =
      revertFunctions(original, candidate, unverifiedFunctions(verifier.verify(candidate)), {});
  EXPECT_FALSE(repair.module);
  EXPECT_NE(repair.why_not.find("mutable global"), std::string::npos) << repair.why_not;
}

TEST(Repair, AWrongPairingIsCaughtByTheVerifier) {
  const wasm::Module original = positional(kOriginal);
  const wasm::Module candidate = positional(kWrongCandidate);
  verify::Verifier verifier(original);
  const std::vector<std::string> wrong = unverifiedFunctions(verifier.verify(candidate));
  // Exports "a" and "b" crossed over: the reverted setB writes "a" again.
  const std::map<std::string, std::string> crossed = {{"global$1", "global$1"},
                                                      {"global$2", "global$0"}};
  const Repair repair = revertFunctions(original, candidate, wrong, crossed);
  ASSERT_TRUE(repair.module) << repair.why_not;
  EXPECT_EQ(verifier.verify(*repair.module).overall(), Verdict::Refuted);
}

// The candidate dropped an immutable global that only f read, so its
// "global$0" is now a different, mutable global: the reverted f gets its own
// copy of the constant under a name of its own.
TEST(Repair, ADroppedConstantGlobalComesBackUnderAFreshName) {
  const wasm::Module original = positional(R"((module
  (global i32 (i32.const 5))
  (global (mut i32) (i32.const 0))
  (export "m" (global 1))
  (func (export "f") (result i32) (global.get 0))
  (func (export "g") (param i32) (global.set 1 (local.get 0)))))");
  const wasm::Module candidate = positional(R"((module
  (global (mut i32) (i32.const 0))
  (export "m" (global 0))
  (func (export "f") (result i32) (i32.const 6))
  (func (export "g") (param i32) (global.set 0 (local.get 0)))))");
  verify::Verifier verifier(original);
  const verify::ModuleVerdict before = verifier.verify(candidate);
  ASSERT_EQ(before.overall(), Verdict::Refuted) << describeVerdict(before);

  const Repair repair = revertFunctions(original, candidate, unverifiedFunctions(before),
                                        verifier.pairGlobals(candidate));
  ASSERT_TRUE(repair.module) << repair.why_not;
  EXPECT_TRUE(repair.module->validate());
  const verify::ModuleVerdict after = verifier.verify(*repair.module);
  EXPECT_EQ(after.overall(), Verdict::Proved) << describeVerdict(after);
}

// The first global is only ever written (like AssemblyScript's heap start),
// and the candidate dropped it. Its value is seen by nobody, so a reverted
// writer may write a fresh copy of it.
TEST(Repair, AWriteOnlyGlobalComesBackForARevertedWriter) {
  const wasm::Module original = positional(R"((module
  (global (mut i32) (i32.const 0))
  (global (mut i32) (i32.const 0))
  (func (export "touch") (param i32) (global.set 0 (local.get 0)) (global.set 1 (i32.const 9)))
  (func (export "get") (result i32) (global.get 1))))");
  // touch forgot to store 9.
  const wasm::Module candidate = positional(R"((module
  (global (mut i32) (i32.const 0))
  (func (export "touch") (param i32))
  (func (export "get") (result i32) (global.get 0))))");
  const verify::GlobalOrigins origins = {{"global$0", "global$1"}};
  verify::Verifier verifier(original);
  const verify::ModuleVerdict before = verifier.verify(candidate, origins);
  ASSERT_EQ(before.overall(), Verdict::Refuted) << describeVerdict(before);

  const Repair repair = revertFunctions(original, candidate, unverifiedFunctions(before),
                                        verifier.pairGlobals(candidate, origins));
  ASSERT_TRUE(repair.module) << repair.why_not;
  ASSERT_EQ(repair.added_globals.size(), 1u);
  EXPECT_EQ(repair.added_globals.begin()->second, "global$0");
  verify::GlobalOrigins after_origins = origins;
  after_origins.insert(repair.added_globals.begin(), repair.added_globals.end());
  const verify::ModuleVerdict after = verifier.verify(*repair.module, after_origins);
  EXPECT_EQ(after.overall(), Verdict::Proved) << describeVerdict(after);
}

}  // namespace
}  // namespace loom::engine
