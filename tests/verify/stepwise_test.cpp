// Stepwise validation (engine/stepwise.hpp): a wrong transformation put in
// as a step between two real phases of -Oz must be undone for the function
// it broke, whatever the operator, and the chain's output must still behave
// as the input in Node; a pipeline whose steps all verify writes what the
// pipeline alone writes.
#include "loom/engine/stepwise.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "loom/pipeline/apply.hpp"
#include "loom/pipeline/builtins.hpp"
#include "loom/wasm/hash.hpp"
#include "loom/wasm/ir.hpp"
#include "loom/wasm/loader.hpp"
#include "support/test_support.hpp"
#include "verify/mutants.hpp"
#include "verify/replay.hpp"

namespace loom::test {
namespace {

using engine::StepwiseOptions;
using engine::StepwiseState;
using engine::StepwiseValidator;

wasm::Module loadFixture(const std::string& name) {
  // As the engine loads its input: with the features the module uses.
  return wasm::instantiate(wasm::probeModuleFile(fixtureBinary(name)));
}

StepwiseOptions options() {
  StepwiseOptions o;
  o.verify_options.function_timeout = std::chrono::milliseconds(3000);
  return o;
}

// Node runs of `function` in `a` and `b` on the same calls: how they differ.
Differential compareInNode(const wasm::Module& a, const wasm::Module& b,
                           const std::string& function, const std::string& fixture,
                           const TempDir& dir) {
  const auto tests = parseFixtureTests(fixturePath(fixture));
  const std::vector<CallSpec> calls = differentialCalls(a, function, tests, 48);
  const auto pa = dir.path() / "a.wasm";
  const auto pb = dir.path() / "b.wasm";
  writeBytes(pa, makeRunnable(a).writeBinary());
  writeBytes(pb, makeRunnable(b).writeBinary());
  const auto outcomes = runBatch({{pa, calls}, {pb, calls}});
  const std::set<std::string> globals = observableGlobals(a);
  return compareRuns(calls, outcomes.at(0), outcomes.at(1), &globals);
}

struct Campaign {
  unsigned mutants = 0, undone = 0, kept_equivalent = 0;
};

// Every operator, once per fixture: -Oz's first half, the mutant as a step,
// -Oz's second half, the write.
void runCampaign(const std::string& fixture, Campaign& campaign) {
  const wasm::Module input = loadFixture(fixture);
  const pipeline::PipelineConfig oz = *pipeline::builtinConfig("Oz");
  const std::size_t half = oz.phases.size() / 2;
  StepwiseValidator validator(options(), nullptr);
  StepwiseState start{input.copy(), {}, {}, {}, false, {}};
  for (std::size_t i = 0; i < half; ++i) validator.step(start, oz, i);

  std::set<MutationOperator> seen;
  TempDir dir;
  for (Mutant& mutant : generateMutants(start.module, fixture, {.max_sites_per_operator = 1})) {
    if (!seen.insert(mutant.id.op).second) continue;
    SCOPED_TRACE(mutant.id.name() + " (" + mutant.id.description + ")");
    ++campaign.mutants;
    StepwiseState state = start.copy();
    const auto mutant_step = static_cast<std::uint32_t>(half + 1);
    validator.step(state, "mutant", mutant_step,
                   [&](wasm::Module& module) { module = std::move(mutant.module); });
    bool undone = false;
    for (const auto& r : state.reverted) {
      if (r.phase != "mutant") continue;
      undone = undone || r.function == mutant.id.function || r.function.empty();
      EXPECT_EQ(r.reason.rfind("proved", 0), std::string::npos) << r.reason;
    }
    if (undone) {
      ++campaign.undone;
    } else {
      // Kept: then it must be a mutant that changes nothing observable.
      const Differential d =
          compareInNode(start.module, state.module, mutant.id.function, fixture, dir);
      EXPECT_EQ(d.differing, 0u) << "a kept mutant step behaves differently: "
                                 << d.first_difference;
      ++campaign.kept_equivalent;
    }
    for (std::size_t i = half; i < oz.phases.size(); ++i) validator.step(state, oz, i);
    const engine::StepwiseOutcome out = validator.finish(std::move(state), oz);
    // Whatever was undone, the chain's output behaves as the input.
    const Differential d = compareInNode(input, out.shipped, mutant.id.function, fixture, dir);
    EXPECT_EQ(d.differing, 0u) << "the chain's output differs from the input: "
                               << d.first_difference;
  }
}

TEST(Stepwise, AWrongStepBetweenTwoRealPhasesIsUndoneForEveryOperator) {
  Campaign campaign;
  for (const char* fixture : {"arith", "crc32", "globals", "helpers"}) {
    SCOPED_TRACE(fixture);
    runCampaign(fixture, campaign);
  }
  // Not vacuous: most operators make a real difference, and each of those is undone.
  EXPECT_GE(campaign.mutants, 30u);
  EXPECT_GE(campaign.undone, campaign.mutants * 3 / 4)
      << campaign.kept_equivalent << " mutants kept as equivalent";
}

TEST(Stepwise, APipelineWhoseStepsAllVerifyWritesWhatThePipelineWrites) {
  for (const char* fixture : {"arith", "strings", "dead_code"}) {
    SCOPED_TRACE(fixture);
    const wasm::Module input = loadFixture(fixture);
    const pipeline::PipelineConfig oz = *pipeline::builtinConfig("Oz");
    const engine::StepwiseOutcome out = engine::runStepwise(input, oz, options());
    for (const auto& r : out.reverted) ADD_FAILURE() << r.toJson().dump();
    if (!out.reverted.empty()) continue;
    const wasm::Module plain = pipeline::applyPipeline(input, oz);
    EXPECT_EQ(out.binary, plain.writeBinary());
    EXPECT_EQ(out.stats.steps, oz.phases.size() - 2 + 1)  // Stack IR phases run at the write
        << out.stats.toJson().dump();
    EXPECT_GT(out.stats.proved_by_solver + out.stats.proved_renamed, 0u);
  }
}

// Vars 2 and 3 exchanged at every use (`all`), or at the sets only.
void swapVars(wasm::Module& module, bool all) {
  BinaryenFunctionRef f = BinaryenGetFunction(module.get(), "f");
  wasm::walk(BinaryenFunctionGetBody(f), [&](BinaryenExpressionRef e, unsigned) {
    auto swapped = [](BinaryenIndex i) { return i == 2 ? 3 : i == 3 ? 2 : i; };
    if (wasm::kindOf(e) == wasm::ExprKind::LocalGet && all)
      BinaryenLocalGetSetIndex(e, swapped(BinaryenLocalGetGetIndex(e)));
    if (wasm::kindOf(e) == wasm::ExprKind::LocalSet)
      BinaryenLocalSetSetIndex(e, swapped(BinaryenLocalSetGetIndex(e)));
    return true;
  });
}

TEST(Stepwise, RenamedVarsAreProvedWithoutTheSolverAndAPartialRenamingIsNot) {
  const char* text = R"((module
    (func $f (export "f") (param $a i32) (param $b i32) (result i32)
      (local $x i32) (local $y i32)
      (local.set $x (i32.add (local.get $a) (i32.const 3)))
      (local.set $y (i32.mul (local.get $b) (local.get $x)))
      (i32.sub (local.get $x) (local.get $y)))))";
  const wasm::Module input = wasm::Module::parseTextTrusted(text);
  StepwiseValidator validator(options(), nullptr);

  StepwiseState renamed{input.copy(), {}, {}, {}, false, {}};
  validator.step(renamed, "swap-vars", 1, [](wasm::Module& m) { swapVars(m, true); });
  EXPECT_TRUE(renamed.reverted.empty());
  EXPECT_EQ(renamed.stats.proved_renamed, 1u) << renamed.stats.toJson().dump();
  EXPECT_EQ(renamed.stats.proved_by_solver, 0u);

  StepwiseState partial{input.copy(), {}, {}, {}, false, {}};
  validator.step(partial, "swap-sets", 1, [](wasm::Module& m) { swapVars(m, false); });
  EXPECT_EQ(partial.stats.proved_renamed, 0u);
  ASSERT_EQ(partial.reverted.size(), 1u) << partial.stats.toJson().dump();
  EXPECT_EQ(partial.reverted[0].function, "f");
  EXPECT_EQ(partial.reverted[0].reason.rfind("refuted", 0), 0u) << partial.reverted[0].reason;
  // Undone: the function is back as it was.
  EXPECT_EQ(wasm::hashFunction(BinaryenGetFunction(partial.module.get(), "f")).hash,
            wasm::hashFunction(BinaryenGetFunction(input.get(), "f")).hash);
}

// What wasm-bindgen writes at the end of a function (the stack pointer
// restored while the result waits on the stack) is read by Binaryen into an
// unnamed block with a scratch local; written again and read back, that
// block is named and the locals are in another order. The input's own
// encoding must still verify without the solver, or the input of a module
// like webbuf cannot even be measured.
TEST(Stepwise, TheInputsOwnEncodingIsProvedWithoutTheSolver) {
  // (func (param i32) (result i32)
  //   global.get 0  local.get 0  i32.add  global.set 0
  //   block (result i32) i32.const 5 end      ;; the result, left on the stack
  //   i32.const 1  global.set 0)
  const std::uint8_t bytes[] = {
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,  // header
      0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f,  // type: i32 -> i32
      0x03, 0x02, 0x01, 0x00,                          // function 0
      0x06, 0x06, 0x01, 0x7f, 0x01, 0x41, 0x00, 0x0b,  // global: mut i32 = 0
      0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00,        // export "f"
      0x0a, 0x14, 0x01, 0x12, 0x00,                    // code: one body, no locals
      0x23, 0x00, 0x20, 0x00, 0x6a, 0x24, 0x00,        // sp = sp + arg
      0x02, 0x7f, 0x41, 0x05, 0x0b,                    // block (result i32) 5
      0x41, 0x01, 0x24, 0x00, 0x0b};                   // sp = 1; end
  const wasm::Module input = wasm::Module::parseBinaryTrusted(bytes);
  StepwiseOptions o = options();
  o.verify_options.function_timeout = std::chrono::milliseconds(1);
  const engine::StepwiseOutcome out = engine::runStepwise(input, pipeline::PipelineConfig{}, o);
  for (const auto& r : out.reverted) ADD_FAILURE() << r.toJson().dump();
  EXPECT_TRUE(out.unverifiable.empty()) << out.unverifiable;
  EXPECT_EQ(out.stats.proved_by_solver, 0u) << out.stats.toJson().dump();
  // The encoding did change the body (or this test tests nothing): the
  // block has a name now.
  EXPECT_NE(wasm::Module::parseBinaryTrusted(out.binary).writeText(), input.writeText());
}

TEST(Stepwise, ASpentModuleBudgetStopsTheChainWithAVerifiedModule) {
  const wasm::Module input = loadFixture("crc32");
  StepwiseOptions o = options();
  o.verify_options.module_budget = std::chrono::milliseconds(1);
  const pipeline::PipelineConfig oz = *pipeline::builtinConfig("Oz");
  const engine::StepwiseOutcome out = engine::runStepwise(input, oz, o);
  bool stopped = false;
  for (const auto& r : out.reverted)
    stopped = stopped || r.reason.find("budget is spent") != std::string::npos;
  EXPECT_TRUE(stopped);
  // What was written behaves as the input.
  TempDir dir;
  const Differential d = compareInNode(input, out.shipped, "crc32_bitwise", "crc32", dir);
  EXPECT_EQ(d.differing, 0u) << d.first_difference;
}

// The chain's deadline holds for the Stack IR's checks at the write (they
// can take minutes on a large module): past it, the IR is written as it is,
// and that encoding is still checked.
TEST(Stepwise, PastTheDeadlineTheIrIsWrittenWithoutStackIr) {
  // A local set and then read at once: the Stack IR keeps the value on the stack.
  const wasm::Module input = wasm::Module::parseTextTrusted(
      "(module (func $f (export \"f\") (param i32) (result i32) (local i32)"
      " (local.set 1 (i32.add (local.get 0) (i32.const 1)))"
      " (i32.mul (local.get 1) (i32.const 3))))");
  pipeline::PipelineConfig stack_ir;
  stack_ir.phases = {"generate-stack-ir", "optimize-stack-ir"};
  StepwiseOptions late = options();
  late.deadline = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  const engine::StepwiseOutcome out = engine::runStepwise(input, stack_ir, late);
  EXPECT_TRUE(out.unverifiable.empty()) << out.unverifiable;
  const engine::StepwiseOutcome plain =
      engine::runStepwise(input, pipeline::PipelineConfig{}, options());
  EXPECT_EQ(out.binary, plain.binary);
  // In time, the Stack IR is written (and checked).
  const engine::StepwiseOutcome in_time = engine::runStepwise(input, stack_ir, options());
  EXPECT_TRUE(in_time.unverifiable.empty()) << in_time.unverifiable;
  EXPECT_NE(in_time.binary, plain.binary);
}

// Shards (verify::Shard): each checks its share of every step; their
// verdicts, handed to the full chain, leave it little to ask the solver,
// and it writes what it writes without them.
TEST(Stepwise, ShardsWarmTheCacheAndTheFullChainWritesTheSame) {
  const wasm::Module input = loadFixture("arith");
  const pipeline::PipelineConfig oz = *pipeline::builtinConfig("Oz");
  const engine::StepwiseOutcome cold = engine::runStepwise(input, oz, options());
  auto warm = std::make_shared<verify::VerdictCache>();
  for (unsigned k = 0; k < 2; ++k) {
    StepwiseOptions o = options();
    o.shard = verify::Shard{k, 2};
    auto own = std::make_shared<verify::VerdictCache>();
    engine::runStepwise(input, oz, o, own);
    warm->importEntries(own->exportEntries());
  }
  const engine::StepwiseOutcome warmed = engine::runStepwise(input, oz, options(), warm);
  EXPECT_EQ(warmed.binary, cold.binary);
  EXPECT_EQ(warmed.reverted.size(), cold.reverted.size());
  EXPECT_GT(cold.stats.proved_by_solver, 4u) << cold.stats.toJson().dump();
  EXPECT_EQ(warmed.stats.proved_by_solver, 0u) << warmed.stats.toJson().dump();
  EXPECT_EQ(warmed.stats.proved_cached, cold.stats.proved_by_solver + cold.stats.proved_cached);
}

// A shard takes the functions that are not its share as proved; that must
// never reach the cache, or a wrong step would be kept by the full chain.
TEST(Stepwise, AShardNeverVouchesForAFunctionItDidNotCheck) {
  const wasm::Module input = loadFixture("arith");
  const pipeline::PipelineConfig oz = *pipeline::builtinConfig("Oz");
  const std::size_t half = oz.phases.size() / 2;
  StepwiseValidator plain(options(), nullptr);
  StepwiseState start{input.copy(), {}, {}, {}, false, {}};
  for (std::size_t i = 0; i < half; ++i) plain.step(start, oz, i);
  unsigned tried = 0;
  for (Mutant& mutant : generateMutants(start.module, "arith", {.max_sites_per_operator = 1})) {
    SCOPED_TRACE(mutant.id.name());
    // The shard that does not own the mutated function.
    const verify::Shard other =
        verify::Shard{0, 2}.mine(mutant.id.function) ? verify::Shard{1, 2} : verify::Shard{0, 2};
    StepwiseOptions o = options();
    o.shard = other;
    auto cache = std::make_shared<verify::VerdictCache>();
    const wasm::Module mutated = mutant.module.copy();
    // Whether the mutant step, run by `validator`, was undone for its function.
    auto undoneBy = [&](StepwiseValidator& validator) {
      StepwiseState state = start.copy();
      validator.step(state, "mutant", static_cast<std::uint32_t>(half + 1),
                     [&](wasm::Module& m) { m = mutated.copy(); });
      bool undone = false;
      for (const auto& r : state.reverted)
        undone = undone || (r.phase == "mutant" && r.function == mutant.id.function);
      return undone;
    };
    // The shard keeps the step (the function is not its to check)...
    StepwiseValidator sharded(o, cache);
    EXPECT_FALSE(undoneBy(sharded));
    // ...and the full chain, with everything the shard learned, undoes it
    // whenever it does so alone (some mutants are equivalent).
    StepwiseValidator full(options(), cache);
    const bool undone = undoneBy(full);
    StepwiseValidator alone(options(), nullptr);
    const bool undone_alone = undoneBy(alone);
    EXPECT_EQ(undone, undone_alone);
    if (undone_alone && ++tried >= 3) break;
  }
  EXPECT_GE(tried, 1u);
}

}  // namespace
}  // namespace loom::test
