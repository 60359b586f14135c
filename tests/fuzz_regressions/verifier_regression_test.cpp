// Verifier findings of fuzz/verify_mutant_fuzzer.cpp (docs/fuzzing.md), each
// as the smallest path through the library that shows it. The raw fuzzer
// inputs are in tests/fuzz_regressions/verifier/; they replay with
//   build-fuzz/bin/verify_mutant_fuzzer tests/fuzz_regressions/verifier/NAME
// (with the environment the finding's entry in docs/fuzzing.md gives).
#include <gtest/gtest.h>

#include <string>

#include "loom/pipeline/apply.hpp"
#include "loom/pipeline/builtins.hpp"
#include "loom/verify/verifier.hpp"
#include "loom/wasm/loader.hpp"
#include "support/test_support.hpp"

namespace loom::test {
namespace {

using verify::Verdict;

verify::VerifyOptions fuzzOptions() {
  verify::VerifyOptions o;
  o.function_timeout = std::chrono::milliseconds(300);  // as the fuzzer
  return o;
}

// As Evaluator::decodeWritten: written with names, decoded again.
wasm::Module decodeWritten(const wasm::Module& module) {
  wasm::Module decoded =
      wasm::Module::parseBinaryTrusted(module.writeBinary({.names_section = true}));
  decoded.setFeatures(module.features());
  return decoded;
}

std::string refutations(const verify::ModuleVerdict& v) {
  std::string out;
  for (const auto& fv : v.functions) {
    if (fv.verdict == Verdict::Refuted) out += "$" + fv.function + ": " + fv.reason + "; ";
  }
  if (v.module_problems_refute) out += "module problems refute";
  return out;
}

// What the fuzzer's identity property checks today: a module decoded from
// its binary against its binary decoded again is never refuted.
TEST(FuzzRegressionVerifier, WriteReadRoundTripIsNeverRefuted) {
  for (const std::string& name : fixtureNames()) {
    SCOPED_TRACE(name);
    const wasm::Module loaded = wasm::loadModuleFile(fixturePath(name)).module;
    const wasm::Module decoded = decodeWritten(loaded.copy());
    verify::Verifier verifier(decoded, fuzzOptions());
    const verify::ModuleVerdict v = verifier.verify(decodeWritten(decoded));
    EXPECT_EQ(refutations(v), "");
  }
}

// Finding 2 (licm-roundtrip-global-name, LOOM_FUZZ_COPY_ROUND_TRIP=1): a copy
// of licm against its own binary decoded again: $invariant_global reads
// global "base" on one side and "global$0" on the other (Module::copy()
// loses the global's name when written), and the verifier, which matched
// globals by name only, refuted with a counterexample Node could not
// reproduce. Fixed: globals whose names do not correspond pair by position.
TEST(FuzzRegressionVerifier, CopyAgainstItsOwnBinaryIsNotRefuted) {
  const wasm::Module loaded = wasm::loadModuleFile(fixturePath("licm")).module;
  const wasm::Module copy = loaded.copy();
  verify::Verifier verifier(copy, fuzzOptions());
  EXPECT_EQ(refutations(verifier.verify(decodeWritten(copy))), "");
}

// The same finding in the evaluator's own shape (Evaluator: the original is
// decodeWritten(instantiated input), a candidate is decodeWritten(copy +
// passes)): wasm-opt -O on licm, a correct optimization, is refuted.
TEST(FuzzRegressionVerifier, EvaluatorShapedCheckOfOIsNotRefuted) {
  const wasm::Module loaded = wasm::loadModuleFile(fixturePath("licm")).module;
  const wasm::Module original = decodeWritten(loaded);
  const wasm::Module optimized =
      decodeWritten(pipeline::applyPipeline(loaded, *pipeline::builtinConfig("O")));
  verify::Verifier verifier(original, fuzzOptions());
  EXPECT_EQ(refutations(verifier.verify(optimized)), "");
}

}  // namespace
}  // namespace loom::test
