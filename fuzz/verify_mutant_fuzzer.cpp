// libFuzzer target for the verifier (include/loom/verify/verifier.hpp).
//
// The input is a list of choices (FuzzedDataProvider): a fixture module
// (tests/fixtures/*.wat), one to three mutations applied one after another
// by the test suite's mutant generator (tests/verify/mutants.hpp), and a
// built-in pipeline. The result is a random valid module near a fixture.
// Properties, each a crash when violated:
//   identity   `current` against its copy is proved, with nothing to check;
//              against its own binary written and read back (a change of
//              Binaryen IR that keeps the meaning) it is never refuted;
//   mutant     the fixture against `current`: a refutation's counterexample
//              replays in Node and shows a difference; a mutated function
//              that is proved (or bounded) shows no difference in Node on the
//              differential inputs (within the bound);
//   pipeline   `current` against the pipeline's output (written and read back
//              as the evaluator does) is never refuted: a refutation whose
//              counterexample Node does not confirm is a verifier bug, one it
//              confirms is a Binaryen miscompilation (reported differently);
//   and no crash, sanitizer report or exception anywhere.
// The solver budget is small (LOOM_FUZZ_TIMEOUT_MS, default 300 ms; a
// deterministic Z3 resource limit), and verdicts are shared through one
// cache across inputs, so repeated functions cost nothing.
#include <binaryen-c.h>
#include <fmt/format.h>
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "loom/pipeline/apply.hpp"
#include "loom/pipeline/builtins.hpp"
#include "loom/verify/verifier.hpp"
#include "loom/wasm/ir.hpp"
#include "loom/wasm/loader.hpp"
#include "support/test_support.hpp"
#include "verify/mutants.hpp"
#include "verify/replay.hpp"

namespace loom::fuzz {
namespace {

using test::MutantId;
using test::MutationOperator;
using verify::Verdict;

struct Fixture {
  std::string name;
  wasm::Module module;
  std::vector<std::string> functions;
  std::vector<test::FixtureTest> tests;
  std::set<std::string> observable_globals;
};

std::vector<Fixture>* g_fixtures = nullptr;
std::shared_ptr<verify::VerdictCache> g_cache;
test::TempDir* g_dir = nullptr;
std::string g_context;  // what the current input did, for failure reports

// What the run exercised, printed at exit (docs/fuzzing.md quotes it).
struct Stats {
  unsigned long inputs = 0, mutated = 0, mutations = 0, replays = 0, replays_differ = 0,
                node_proof_checks = 0;
  unsigned long mutant[4] = {}, pipeline[4] = {};  // by Verdict
} g_stats;

void printStats() {
  const auto v = [](const unsigned long* c) {
    return fmt::format("proved {} bounded {} refuted {} unknown {}", c[0], c[1], c[2], c[3]);
  };
  std::fprintf(stderr,
               "verify_mutant_fuzzer stats: inputs %lu, mutated modules %lu (mutations %lu); "
               "mutant functions: %s; pipeline functions: %s; counterexamples replayed %lu "
               "(difference shown %lu); proofs checked in Node %lu\n",
               g_stats.inputs, g_stats.mutated, g_stats.mutations, v(g_stats.mutant).c_str(),
               v(g_stats.pipeline).c_str(), g_stats.replays, g_stats.replays_differ,
               g_stats.node_proof_checks);
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "verify_mutant_fuzzer: %s\n  input: %s\n", what.c_str(), g_context.c_str());
  std::abort();
}

verify::VerifyOptions options() {
  verify::VerifyOptions o;
  unsigned ms = 300;
  if (const char* v = std::getenv("LOOM_FUZZ_TIMEOUT_MS"); v && *v)
    ms = static_cast<unsigned>(std::atoi(v));
  o.function_timeout = std::chrono::milliseconds(ms);
  return o;
}

// As the evaluator does: write (with names, which the verifier matches by)
// and decode, so that the verifier sees the code that would be shipped.
wasm::Module decodeWritten(const wasm::Module& module) {
  wasm::Module decoded =
      wasm::Module::parseBinaryTrusted(module.writeBinary({.names_section = true}));
  decoded.setFeatures(module.features());
  return decoded;
}

const verify::FunctionVerdict* verdictOf(const verify::ModuleVerdict& v,
                                         const std::string& function) {
  for (const auto& fv : v.functions) {
    if (fv.function == function) return &fv;
  }
  return nullptr;
}

// Refutations must be real: replay every counterexample in Node.
void checkRefutations(const wasm::Module& original, const wasm::Module& other,
                      const verify::ModuleVerdict& verdict, const char* what,
                      bool must_not_refute) {
  for (const auto& fv : verdict.functions) {
    if (fv.verdict != Verdict::Refuted) continue;
    if (!fv.counterexample)
      fail(fmt::format("{}: ${} refuted without a counterexample: {}", what, fv.function,
                       fv.reason));
    const test::ReplayResult r = test::replayCounterexample(original, other, *fv.counterexample);
    ++g_stats.replays;
    if (r.replayed && r.differs) ++g_stats.replays_differ;
    const std::string detail =
        fmt::format("{}: ${} refuted ({}); replay of {}: {}{}", what, fv.function, fv.reason,
                    r.call.describe(), r.description,
                    r.notes.empty() ? "" : fmt::format(" [notes: {}]", fmt::join(r.notes, "; ")));
    if (std::getenv("LOOM_FUZZ_VERBOSE")) {
      std::fprintf(stderr, "verdict: %s\n", fv.toJson().dump().c_str());
      test::writeBytes("fuzz-original.wasm", original.writeBinary({.names_section = true}));
      test::writeBytes("fuzz-other.wasm", other.writeBinary({.names_section = true}));
    }
    // A counterexample Node could not set up exactly (notes) or not run is
    // evidence neither way: only a refutation of a correct change fails then.
    if (!r.replayed || !r.notes.empty()) {
      if (must_not_refute)
        fail("a correct transformation was refuted (no exact replay): " + detail);
      continue;
    }
    if (r.differs) {
      if (must_not_refute) fail("Node CONFIRMS a difference (Binaryen miscompiled?): " + detail);
      continue;  // a real difference, as expected of a mutant
    }
    fail(fmt::format("spurious counterexample{}: {}",
                     must_not_refute ? " of a correct transformation" : "", detail));
  }
}

// A mutated function the verifier proved (or bounded) must agree in Node.
void checkProof(const Fixture& f, const wasm::Module& mutant, const verify::FunctionVerdict& fv) {
  BinaryenFunctionRef a = BinaryenGetFunction(f.module.get(), fv.function.c_str());
  BinaryenFunctionRef b = BinaryenGetFunction(mutant.get(), fv.function.c_str());
  if (!a || !b || BinaryenFunctionGetParams(a) != BinaryenFunctionGetParams(b) ||
      BinaryenFunctionGetResults(a) != BinaryenFunctionGetResults(b)) {
    return;
  }
  const std::vector<test::CallSpec> calls =
      test::differentialCalls(f.module, fv.function, f.tests, 32);
  if (calls.empty()) return;
  const auto pa = *g_dir / "original.wasm";
  const auto pb = *g_dir / "mutant.wasm";
  test::writeBytes(pa, test::makeRunnable(f.module).writeBinary());
  test::writeBytes(pb, test::makeRunnable(mutant).writeBinary());
  const auto outcomes = test::runBatch({{pa, calls}, {pb, calls}});
  ++g_stats.node_proof_checks;
  const test::Differential d =
      test::compareRuns(calls, outcomes.at(0), outcomes.at(1), &f.observable_globals);
  if (d.differing == 0) return;
  if (fv.verdict == Verdict::Proved) {
    fail(fmt::format("mutant: ${} proved, but Node shows a difference: {}", fv.function,
                     d.first_difference));
  }
  if (fv.verdict == Verdict::Bounded && !d.only_nontermination && d.min_loop_iterations_to_differ &&
      *d.min_loop_iterations_to_differ <= fv.bound) {
    fail(fmt::format(
        "mutant: ${} bounded ({}), but Node shows a difference within {} iterations: {}",
        fv.function, fv.bound, *d.min_loop_iterations_to_differ, d.first_difference));
  }
}

void runOne(FuzzedDataProvider& in) {
  const Fixture& f =
      (*g_fixtures)[in.ConsumeIntegralInRange<std::size_t>(0, g_fixtures->size() - 1)];
  g_context = f.name;
  ++g_stats.inputs;

  // Mutations, one after another.
  wasm::Module current = f.module.copy();
  std::set<std::string> mutated;
  const unsigned steps = in.ConsumeIntegralInRange<unsigned>(1, 3);
  for (unsigned step = 0; step < steps && in.remaining_bytes() > 0; ++step) {
    MutantId id;
    id.fixture = f.name;
    id.function = f.functions[in.ConsumeIntegralInRange<std::size_t>(0, f.functions.size() - 1)];
    id.op = test::kAllMutationOperators[in.ConsumeIntegralInRange<std::size_t>(
        0, std::size(test::kAllMutationOperators) - 1)];
    const std::vector<std::string> sites = test::describeSites(current, id.function, id.op);
    if (sites.empty()) continue;
    id.site = in.ConsumeIntegralInRange<unsigned>(0, static_cast<unsigned>(sites.size() - 1));
    id.description = sites[id.site];
    std::optional<wasm::Module> next = test::applyMutation(current, id);
    if (!next) continue;
    current = std::move(*next);
    mutated.insert(id.function);
    ++g_stats.mutations;
    g_context += fmt::format(" + {} ({})", id.name(), id.description);
  }
  const auto builtins = pipeline::builtinConfigs();
  const auto& builtin = builtins[in.ConsumeIntegralInRange<std::size_t>(0, builtins.size() - 1)];
  g_context += fmt::format(" | pipeline {}", builtin.name);

  // identity
  {
    verify::Verifier verifier(current, options(), g_cache);
    const verify::ModuleVerdict same = verifier.verify(current.copy());
    if (same.overall() != Verdict::Proved || !same.functions.empty() ||
        !same.module_problems.empty()) {
      fail("identity not proved: " + same.toJson().dump());
    }
    // Both sides decoded: `current` is a Module::copy(), whose globals lose
    // their names when written (finding 2 in docs/fuzzing.md), so comparing
    // it with its own decoded binary would only find that again.
    // LOOM_FUZZ_COPY_ROUND_TRIP=1 compares `current` itself, as first run.
    const bool copy_side = std::getenv("LOOM_FUZZ_COPY_ROUND_TRIP") != nullptr;
    const wasm::Module decoded = copy_side ? current.copy() : decodeWritten(current);
    const wasm::Module reread = decodeWritten(copy_side ? current : decoded);
    verify::Verifier decoded_verifier(decoded, options(), g_cache);
    const verify::ModuleVerdict round_trip = decoded_verifier.verify(reread);
    if (round_trip.module_problems_refute)
      fail("write/read round trip refuted: " + round_trip.toJson().dump());
    checkRefutations(decoded, reread, round_trip, "write/read round trip", true);
  }

  // mutant
  if (!mutated.empty()) {
    verify::Verifier verifier(f.module, options(), g_cache);
    const verify::ModuleVerdict v = verifier.verify(current);
    ++g_stats.mutated;
    for (const auto& fv : v.functions) ++g_stats.mutant[static_cast<int>(fv.verdict)];
    checkRefutations(f.module, current, v, "mutant", false);
    for (const std::string& function : mutated) {
      const verify::FunctionVerdict* fv = verdictOf(v, function);
      if (fv && (fv->verdict == Verdict::Proved || fv->verdict == Verdict::Bounded))
        checkProof(f, current, *fv);
    }
  }

  // pipeline
  {
    const wasm::Module input = decodeWritten(current);
    const wasm::Module optimized = decodeWritten(pipeline::applyPipeline(input, builtin.config));
    if (!test::validateQuietly(optimized)) fail("the pipeline's output does not validate");
    verify::Verifier verifier(input, options(), g_cache);
    const verify::ModuleVerdict v = verifier.verify(optimized);
    for (const auto& fv : v.functions) ++g_stats.pipeline[static_cast<int>(fv.verdict)];
    if (v.module_problems_refute) fail("pipeline refuted at module level: " + v.toJson().dump());
    checkRefutations(input, optimized, v, "pipeline", true);
  }
}

}  // namespace

void initialize() {
  g_fixtures = new std::vector<Fixture>;
  for (const std::string& name : test::fixtureNames()) {
    Fixture f;
    f.name = name;
    f.module = wasm::loadModuleFile(test::fixturePath(name)).module;
    for (BinaryenFunctionRef fn : wasm::definedFunctions(f.module.get()))
      f.functions.push_back(BinaryenFunctionGetName(fn));
    f.tests = test::parseFixtureTests(test::fixturePath(name));
    f.observable_globals = test::observableGlobals(f.module);
    if (!f.functions.empty()) g_fixtures->push_back(std::move(f));
  }
  g_cache = std::make_shared<verify::VerdictCache>();
  g_dir = new test::TempDir;
  std::atexit(printStats);
}

void testOne(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  try {
    runOne(in);
  } catch (const std::exception& e) {
    fail(std::string("exception: ") + e.what());
  }
}

}  // namespace loom::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ::setenv("BINARYEN_CORES", "1", 1);  // no Binaryen threads in a process that forks
  loom::fuzz::initialize();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  loom::fuzz::testOne(data, size);
  return 0;
}
