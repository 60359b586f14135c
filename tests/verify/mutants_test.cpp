// Tests of the test machinery itself: the mutant generator and the Node side
// (runnable copies, differential execution, counterexample replay). None of
// this needs the verifier; the soundness test builds on it.

// tests/CMakeLists.txt compiles only *_test.cpp files into verify_tests, so
// the support sources are compiled here, once for the whole program.
// clang-format off
#include "verify/mutants.cpp"  // NOLINT(bugprone-suspicious-include)
#include "verify/replay.cpp"   // NOLINT(bugprone-suspicious-include)
// clang-format on

#include "verify/mutants.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "loom/pipeline/apply.hpp"
#include "loom/pipeline/builtins.hpp"
#include "loom/wasm/loader.hpp"
#include "support/test_support.hpp"
#include "verify/replay.hpp"

namespace loom::test {
namespace {

wasm::Module fixture(const std::string& name) {
  return wasm::loadModuleFile(fixturePath(name)).module;
}

CallSpec call(std::string function, std::vector<std::string> args,
              std::map<std::string, std::string> globals = {}) {
  CallSpec c;
  c.function = std::move(function);
  c.args = std::move(args);
  c.globals = std::move(globals);
  return c;
}

TEST(Mutants, EnumerationIsDeterministicAndValid) {
  for (const std::string name : {"arith", "sort", "imports", "wasm2/multivalue"}) {
    const wasm::Module original = fixture(name);
    const std::vector<Mutant> a = generateMutants(original, name);
    const std::vector<Mutant> b = generateMutants(original, name);
    ASSERT_EQ(a.size(), b.size()) << name;
    ASSERT_FALSE(a.empty()) << name;
    for (std::size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].id.name(), b[i].id.name());
      EXPECT_EQ(a[i].id.description, b[i].id.description);
      EXPECT_EQ(a[i].module.writeBinary(), b[i].module.writeBinary()) << a[i].id.name();
      EXPECT_TRUE(validateQuietly(a[i].module)) << a[i].id.name();
      // Applying the id alone gives the same module again.
      const std::optional<wasm::Module> again = applyMutation(original, a[i].id);
      ASSERT_TRUE(again) << a[i].id.name();
      EXPECT_EQ(again->writeBinary(), a[i].module.writeBinary()) << a[i].id.name();
    }
  }
}

TEST(Mutants, OriginalIsUntouched) {
  const wasm::Module original = fixture("traps");
  const wasm::Bytes before = original.writeBinary();
  const std::vector<Mutant> mutants = generateMutants(original, "traps");
  EXPECT_GT(mutants.size(), 20u);
  EXPECT_EQ(original.writeBinary(), before);
}

TEST(Mutants, EveryOperatorAppliesSomewhere) {
  std::map<MutationOperator, std::size_t> counts;
  std::vector<std::string> names = fixtureNames();
  for (const std::string& name : wasm2FixtureNames()) names.push_back(name);
  for (const std::string& name : names) {
    for (const Mutant& m : generateMutants(fixture(name), name, {.max_sites_per_operator = 3})) {
      ++counts[m.id.op];
    }
  }
  for (MutationOperator op : kAllMutationOperators) {
    EXPECT_GT(counts[op], 0u) << operatorName(op);
    std::printf("  %-20s %zu\n", std::string(operatorName(op)).c_str(), counts[op]);
  }
}

// A loop that never ends comes back as "fuel", and loop counts are per entry.
TEST(Runnable, FuelAndLoopCounts) {
  const wasm::Module m = wasm::Module::parseTextTrusted(R"(
    (module
      (func $spin (param $n i32) (result i32)
        (loop $l (br_if $l (i32.const 1)))
        (i32.const 0))
      (func $count (param $n i32) (result i32)
        (local $i i32) (local $outer i32)
        (loop $o
          (local.set $i (i32.const 0))
          (loop $l
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
          (local.set $outer (i32.add (local.get $outer) (i32.const 1)))
          (br_if $o (i32.lt_u (local.get $outer) (i32.const 3))))
        (local.get $i)))
  )");
  TempDir dir;
  writeBytes(dir / "m.wasm", makeRunnable(m, {.fuel = 100000}).writeBinary());
  const auto out = runBatch(
      {{dir / "m.wasm", {call("spin", {"0"}), call("count", {"5"}), call("count", {"1"})}}});
  ASSERT_EQ(out.at(0).size(), 3u);
  EXPECT_EQ(out[0][0].outcome, "fuel");
  EXPECT_EQ(out[0][1].outcome, "return");
  EXPECT_EQ(out[0][1].values, std::vector<std::string>{"5"});
  // The inner loop runs 5 times per entry (the outer 3): per entry, not in total.
  EXPECT_EQ(out[0][1].loop_iterations, 5u);
  EXPECT_EQ(out[0][2].loop_iterations, 3u);
}

TEST(Runnable, InternalFunctionsGlobalsAndMemoryAreReachable) {
  const wasm::Module m = fixture("globals");
  TempDir dir;
  writeBytes(dir / "g.wasm", makeRunnable(m).writeBinary());
  const auto out = runBatch({{dir / "g.wasm",
                              {call("frame_helper", {}, {{"sp", "1024"}}),
                               call("bump_private", {}, {{"private", "10"}})}}});
  EXPECT_EQ(out[0][0].outcome, "return");
  EXPECT_EQ(out[0][0].values, std::vector<std::string>{"0"});
  EXPECT_EQ(out[0][1].values, std::vector<std::string>{"13"});
  EXPECT_EQ(out[0][1].globals.at("write_only"), "13");
  EXPECT_FALSE(out[0][1].memory_sha256.empty());
}

// Optimized modules carry Stack IR, which Module::copy() cannot copy.
TEST(Runnable, WorksOnOptimizedModules) {
  const wasm::Module original = fixture("arith");
  const wasm::Module optimized = pipeline::applyPipeline(original, *pipeline::builtinConfig("Oz"));
  TempDir dir;
  writeBytes(dir / "a.wasm", makeRunnable(original).writeBinary());
  writeBytes(dir / "b.wasm", makeRunnable(optimized).writeBinary());
  const auto out = runBatch(
      {{dir / "a.wasm", {call("sext8", {"200"})}}, {dir / "b.wasm", {call("sext8", {"200"})}}});
  EXPECT_EQ(out[0][0].values, std::vector<std::string>{"-56"});
  EXPECT_EQ(difference(out[0][0], out[1][0]), "");
}

TEST(Replay, ConfirmsARealDifferenceAndRejectsAFalseOne) {
  const wasm::Module original = fixture("traps");
  MutantId id{"traps", "div_s", MutationOperator::BinaryOpSwap, 0, ""};
  const std::optional<wasm::Module> mutant = applyMutation(original, id);
  ASSERT_TRUE(mutant);
  verify::Counterexample cex;
  cex.function = "div_s";
  cex.arguments = {{"i32", "-7"}, {"i32", "2"}};
  ReplayResult r = replayCounterexample(original, *mutant, cex);
  EXPECT_TRUE(r.replayed) << r.description;
  EXPECT_TRUE(r.differs) << r.description;
  cex.arguments = {{"i32", "7"}, {"i32", "2"}};
  r = replayCounterexample(original, *mutant, cex);
  EXPECT_TRUE(r.replayed) << r.description;
  EXPECT_FALSE(r.differs) << r.description;
}

TEST(Replay, SetsMemoryGlobalsAndImportResults) {
  // Memory: load_at reads a byte pattern the counterexample provides.
  {
    const wasm::Module original = fixture("traps");
    MutantId id{"traps", "load_at", MutationOperator::ChangeWidth, 0, ""};
    const std::optional<wasm::Module> mutant = applyMutation(original, id);
    ASSERT_TRUE(mutant);
    verify::Counterexample cex;
    cex.function = "load_at";
    cex.arguments = {{"i32", "100"}};
    cex.memory_pages = 1;
    ReplayResult r = replayCounterexample(original, *mutant, cex);
    EXPECT_FALSE(r.differs) << "zero memory reads the same at every width: " << r.description;
    cex.memory = {{100, 0x01}, {101, 0x02}, {102, 0x03}, {103, 0x04}};
    r = replayCounterexample(original, *mutant, cex);
    EXPECT_TRUE(r.differs) << r.description;
  }
  // Globals: add(x) returns counter + x.
  {
    const wasm::Module original = fixture("globals");
    const std::vector<std::string> sites =
        describeSites(original, "add", MutationOperator::BinaryOpSwap);
    ASSERT_FALSE(sites.empty());
    const std::optional<wasm::Module> mutant =
        applyMutation(original, {"globals", "add", MutationOperator::BinaryOpSwap, 0, ""});
    ASSERT_TRUE(mutant);
    verify::Counterexample cex;
    cex.function = "add";
    cex.arguments = {{"i32", "0"}};
    ReplayResult r = replayCounterexample(original, *mutant, cex);
    EXPECT_FALSE(r.differs) << "0 + 0 == 0 - 0: " << r.description;
    cex.globals["counter"] = {"i32", "5"};
    cex.arguments = {{"i32", "3"}};
    r = replayCounterexample(original, *mutant, cex);
    EXPECT_TRUE(r.differs) << r.description;
  }
  // Imports: every call, with or without a result, takes one entry.
  {
    const wasm::Module original = fixture("imports");
    const std::optional<wasm::Module> mutant =
        applyMutation(original, {"imports", "order", MutationOperator::SwapCalls, 0, ""});
    ASSERT_TRUE(mutant);
    verify::Counterexample cex;
    cex.function = "order";
    cex.arguments = {{"i32", "1"}};
    ReplayResult r = replayCounterexample(original, *mutant, cex);
    EXPECT_TRUE(r.replayed) << r.description;
    cex.import_results = {{}, {{"i32", "1"}}, {{"i32", "2"}}, {{"i32", "100"}}, {{"i32", "7"}}};
    r = replayCounterexample(original, *mutant, cex);
    EXPECT_TRUE(r.replayed) << r.description;
    EXPECT_EQ(r.call.import_results.size(), 5u);
    EXPECT_TRUE(r.call.import_results[0].is_null());
  }
}

// The mutant set is worth something only if most mutants really change
// behaviour; the soundness test asserts the 300 with the verifier.
TEST(Mutants, NodeDistinguishesAtLeast300) {
  const MutationCampaign& c = mutationCampaign();
  std::printf("  mutants %zu, behaviour-changing %zu (generation %.1fs, node %.1fs)\n", c.mutants,
              c.behaviour_changing, c.generation_seconds, c.node_seconds);
  std::map<MutationOperator, std::pair<std::size_t, std::size_t>> per_op;
  for (const FixtureMutants& f : c.fixtures) {
    std::size_t changing = 0;
    for (const MutantRun& m : f.mutants) {
      auto& [total, differs] = per_op[m.mutant.id.op];
      ++total;
      if (m.differential.differing) {
        ++differs;
        ++changing;
      }
    }
    std::printf("  %-14s %4zu mutants, %4zu change behaviour (node %.1fs)\n", f.fixture.c_str(),
                f.mutants.size(), changing, f.node_seconds);
  }
  for (const auto& [op, counts] : per_op) {
    std::printf("  %-20s %4zu mutants, %4zu change behaviour\n",
                std::string(operatorName(op)).c_str(), counts.first, counts.second);
  }
  EXPECT_GE(c.behaviour_changing, 300u);

  // The fuel must not cut off the originals where it matters: through the
  // exports, with their clamped loop counts, every call finishes.
  std::int64_t most_fuel = 0;
  for (const FixtureMutants& f : c.fixtures) {
    std::set<std::string> exported;
    BinaryenModuleRef m = f.original.get();
    for (BinaryenIndex i = 0, n = BinaryenGetNumExports(m); i < n; ++i) {
      BinaryenExportRef e = BinaryenGetExportByIndex(m, i);
      if (BinaryenExportGetKind(e) == BinaryenExternalFunction())
        exported.insert(BinaryenExportGetValue(e));
    }
    for (std::size_t k = 0; k < f.original_calls.size(); ++k) {
      const CallOutcome& o = f.original_outcomes.at(k);
      ASSERT_NE(o.outcome, "error") << f.original_calls[k].describe() << ": " << o.error;
      if (!exported.count(f.original_calls[k].function)) continue;
      EXPECT_NE(o.outcome, "fuel") << f.fixture << ": " << f.original_calls[k].describe();
      most_fuel = std::max(most_fuel, RunnableOptions{}.fuel - o.fuel_left);
    }
  }
  std::printf("  most fuel an original export call used: %lld of %u\n",
              static_cast<long long>(most_fuel), RunnableOptions{}.fuel);
}

}  // namespace
}  // namespace loom::test
