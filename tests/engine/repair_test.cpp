// Repair gives unverified functions their original bodies back. In a module
// read from a binary without a names section, globals are named by position,
// so a reverted body must be pointed at the candidate's globals, not at the
// ones that now happen to carry the same names.
#include "loom/engine/repair.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
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

// Dead-argument elimination drops $scale's unused parameter and rewrites its
// one call. Here it also got $scale wrong (x*4 instead of x*3): giving $scale
// its original body back means its original signature, so its caller must
// go back too, or the module would not even validate.
const char* kScaled = R"((module
  (func $scale (param $x i32) (param $unused i32) (result i32)
    (i32.mul (local.get $x) (i32.const 3)))
  (func $main (export "main") (param $v i32) (result i32)
    (i32.add (call $scale (local.get $v) (i32.const 7)) (i32.const 1)))))";

const char* kScaledWrongAfterDae = R"((module
  (func $scale (param $x i32) (result i32)
    (i32.mul (local.get $x) (i32.const 4)))
  (func $main (export "main") (param $v i32) (result i32)
    (i32.add (call $scale (local.get $v)) (i32.const 1)))))";

TEST(Repair, AFunctionWhoseSignatureChangedTakesItsCallersBack) {
  const wasm::Module original = verify::parseWat(kScaled);
  const wasm::Module candidate = verify::parseWat(kScaledWrongAfterDae);
  verify::Verifier verifier(original);
  const verify::ModuleVerdict before = verifier.verify(candidate);
  ASSERT_NE(before.overall(), Verdict::Proved) << describeVerdict(before);

  const Repair repair = revertFunctions(original, candidate, {"scale"}, {});
  ASSERT_TRUE(repair.module) << repair.why_not;
  EXPECT_EQ(std::set<std::string>(repair.reverted.begin(), repair.reverted.end()),
            (std::set<std::string>{"main", "scale"}));
  const verify::ModuleVerdict after = verifier.verify(*repair.module);
  EXPECT_EQ(after.overall(), Verdict::Proved) << describeVerdict(after);
}

// The same from the other side: reverting the caller brings back the callee
// whose signature changed, since the original body calls it with two arguments.
TEST(Repair, ARevertedCallerTakesBackACalleeWhoseSignatureChanged) {
  const wasm::Module original = verify::parseWat(kScaled);
  const wasm::Module candidate = verify::parseWat(kScaledWrongAfterDae);
  const Repair repair = revertFunctions(original, candidate, {"main"}, {});
  ASSERT_TRUE(repair.module) << repair.why_not;
  EXPECT_EQ(std::set<std::string>(repair.reverted.begin(), repair.reverted.end()),
            (std::set<std::string>{"main", "scale"}));
  verify::Verifier verifier(original);
  const verify::ModuleVerdict after = verifier.verify(*repair.module);
  EXPECT_EQ(after.overall(), Verdict::Proved) << describeVerdict(after);
}

// merge-similar-functions made $shared, which calls $scale after dead-argument
// elimination changed $scale's signature. $shared has no original body: its
// callers go back instead, and $shared, then unused, is removed.
const char* kTwoCallers = R"((module
  (func $scale (param $x i32) (param $unused i32) (result i32)
    (i32.mul (local.get $x) (i32.const 3)))
  (func $a (export "a") (param $v i32) (result i32)
    (i32.add (call $scale (local.get $v) (i32.const 7)) (i32.const 1)))
  (func $b (export "b") (param $v i32) (result i32)
    (i32.add (call $scale (local.get $v) (i32.const 7)) (i32.const 2)))))";

std::string mergedCandidate(bool export_shared) {
  return std::string(R"((module
  (func $scale (param $x i32) (result i32)
    (i32.mul (local.get $x) (i32.const 4)))
  (func $shared )") +
         (export_shared ? R"((export "shared") )" : "") +
         R"((param $v i32) (param $k i32) (result i32)
    (i32.add (call $scale (local.get $v)) (local.get $k)))
  (func $a (export "a") (param $v i32) (result i32) (call $shared (local.get $v) (i32.const 1)))
  (func $b (export "b") (param $v i32) (result i32) (call $shared (local.get $v) (i32.const 2)))))";
}

TEST(Repair, AFunctionAPassMadeGivesWayToItsCallers) {
  const wasm::Module original = verify::parseWat(kTwoCallers);
  const wasm::Module candidate = verify::parseWat(mergedCandidate(false));
  const Repair repair = revertFunctions(original, candidate, {"scale"}, {});
  ASSERT_TRUE(repair.module) << repair.why_not;
  EXPECT_EQ(std::set<std::string>(repair.reverted.begin(), repair.reverted.end()),
            (std::set<std::string>{"a", "b", "scale"}));
  EXPECT_EQ(BinaryenGetFunction(repair.module->get(), "shared"), nullptr);
  verify::Verifier verifier(original);
  const verify::ModuleVerdict after = verifier.verify(*repair.module);
  EXPECT_EQ(after.overall(), Verdict::Proved) << describeVerdict(after);

  // Exported, it cannot go: then there is no repair.
  const Repair none =
      revertFunctions(original, verify::parseWat(mergedCandidate(true)), {"scale"}, {});
  EXPECT_FALSE(none.module);
  EXPECT_NE(none.why_not.find("made by a pass"), std::string::npos) << none.why_not;
}

// Reverting a function of an unchanged candidate must give back the very
// bytes of the candidate: the reverted function keeps its place (Binaryen
// appends added functions, which renumbered every later function and widened
// the calls to it), its local names and its body.
TEST(Repair, ARevertedFunctionKeepsItsPlaceAndNames) {
  // Read from binaries with a names section, as the engine reads a module
  // that has one: function and local names come from that section.
  const wasm::WriteOptions with_names{true};
  const wasm::Module original = wasm::Module::parseBinaryTrusted(verify::parseWat(R"((module
  (func $first (param $x i32) (result i32) (local $twice i32)
    (local.set $twice (i32.add (local.get $x) (local.get $x)))
    (call $second (local.get $twice)))
  (func $second (param $y i32) (result i32) (i32.mul (local.get $y) (i32.const 3)))
  (func $third (export "third") (param $z i32) (result i32)
    (i32.add (call $first (local.get $z)) (call $second (local.get $z))))
  (func $fourth (export "fourth") (result i32) (call $third (i32.const 5)))))")
                                                                     .writeBinary(with_names));
  const wasm::Module candidate = wasm::Module::parseBinaryTrusted(original.writeBinary(with_names));
  const wasm::Bytes expected = candidate.writeBinary(with_names);
  for (const std::vector<std::string>& functions : {std::vector<std::string>{"first"},
                                                    {"second"},
                                                    {"second", "third"},
                                                    {"fourth", "first", "third", "second"}}) {
    const Repair repair = revertFunctions(original, candidate, functions, {});
    ASSERT_TRUE(repair.module) << repair.why_not;
    std::string order;
    for (BinaryenIndex i = 0; i < BinaryenGetNumFunctions(repair.module->get()); ++i)
      order += std::string(
                   BinaryenFunctionGetName(BinaryenGetFunctionByIndex(repair.module->get(), i))) +
               " ";
    EXPECT_EQ(repair.module->writeBinary(with_names), expected)
        << "reverting " << functions.front() << "...; functions now: " << order;
  }
}

}  // namespace
}  // namespace loom::engine
