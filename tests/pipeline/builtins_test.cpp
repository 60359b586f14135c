#include "loom/pipeline/builtins.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "loom/pipeline/apply.hpp"
#include "loom/pipeline/phase.hpp"
#include "loom/support/child_process.hpp"
#include "loom/support/files.hpp"
#include "loom/wasm/features.hpp"
#include "loom/wasm/loader.hpp"
#include "support/test_support.hpp"

namespace loom::pipeline {
namespace {

// Our built-in pipelines must give the very bytes wasm-opt gives.
class BuiltinParity : public ::testing::TestWithParam<std::string> {};

TEST_P(BuiltinParity, SameBytesAsWasmOptOnEveryFixture) {
  const std::string level = GetParam();
  const PipelineConfig config = *builtinConfig(level);
  for (const auto& name : test::fixtureNames()) {
    SCOPED_TRACE(name);
    const auto path = test::fixturePath(name);
    wasm::LoadedModule loaded = wasm::loadModuleFile(path);
    const wasm::Bytes ours = applyPipeline(loaded.module, config).writeBinary();
    std::vector<std::string> args = wasm::wasmOptFeatureFlags(loaded.source.features);
    args.push_back("-" + level);
    EXPECT_EQ(ours, test::runWasmOpt(path, args))
        << "pipeline " << level << " differs from wasm-opt -" << level;
  }
}

INSTANTIATE_TEST_SUITE_P(Levels, BuiltinParity, ::testing::Values("O", "Os", "Oz", "O3", "O4"));

TEST(Builtins, ExistInTheDocumentedOrder) {
  std::vector<std::string> names;
  for (const auto& b : builtinConfigs()) names.emplace_back(b.name);
  EXPECT_EQ(names, (std::vector<std::string>{"loom", "O", "Os", "Oz", "O3", "O4"}));
  const auto loom = *builtinConfig("loom");
  ASSERT_EQ(loom.phases.size(), 12u);
  EXPECT_EQ(loom.phases.front(), "precompute");
  EXPECT_EQ(loom.phases.back(), "vacuum");
  EXPECT_FALSE(builtinConfig("O9").has_value());
}

TEST(Apply, NeverChangesTheInput) {
  wasm::LoadedModule loaded = wasm::loadModuleFile(test::fixturePath("helpers"));
  const wasm::Bytes before = loaded.module.writeBinary();
  const wasm::Bytes after = applyPipeline(loaded.module, *builtinConfig("O3")).writeBinary();
  EXPECT_NE(after, before);
  EXPECT_EQ(loaded.module.writeBinary(), before);
}

TEST(Apply, ResumingAfterAPrefixGivesTheSameBytes) {
  wasm::LoadedModule loaded = wasm::loadModuleFile(test::fixturePath("loops"));
  const PipelineConfig config = *builtinConfig("Oz");
  const wasm::Bytes whole = applyPipeline(loaded.module, config).writeBinary();
  for (std::size_t cut : {std::size_t{1}, std::size_t{10}, config.phases.size() - 3}) {
    wasm::Module m = loaded.module.copy();
    runPhases(m, config, 0, [&](std::size_t done, const wasm::Module& snapshot) {
      if (done == cut) m = snapshot.copy();  // continue from a copy, as the prefix cache does
    });
    wasm::Module resumed = loaded.module.copy();
    PipelineConfig prefix = config;
    prefix.phases.resize(cut);
    runPhases(resumed, prefix);
    runPhases(resumed, config, cut);
    EXPECT_EQ(resumed.writeBinary(), whole) << "cut after " << cut;
  }
}

// A random pipeline and its wasm-opt argument list do the same thing.
TEST(WasmOptArgs, ReproduceRandomPipelinesExactly) {
  std::mt19937 random(7);
  std::vector<std::string> vocabulary;
  for (std::size_t i : searchablePhaseIndices()) {
    const Phase& p = allPhases()[i];
    if (!p.passes.empty()) vocabulary.emplace_back(p.name);
  }
  const std::vector<std::string> fixtures = {"arith",   "helpers", "loops",
                                             "strings", "globals", "indirect"};
  for (int trial = 0; trial < 12; ++trial) {
    PipelineConfig config;
    const int length = 5 + static_cast<int>(random() % 30);
    for (int k = 0; k < length; ++k)
      config.phases.push_back(vocabulary[random() % vocabulary.size()]);
    config.optimize_level = static_cast<int>(random() % 5);
    config.shrink_level = static_cast<int>(random() % 3);
    config.inlining.always_inline_max_size = static_cast<std::uint32_t>(random() % 12);
    config.inlining.flexible_inline_max_size = static_cast<std::uint32_t>(random() % 60);
    config.inlining.one_caller_inline_max_size =
        random() % 2 ? UINT32_MAX : static_cast<std::uint32_t>(random() % 100);
    config.inlining.allow_functions_with_loops = random() % 2;
    const std::string& fixture = fixtures[static_cast<std::size_t>(trial) % fixtures.size()];
    SCOPED_TRACE(fixture + ": " + config.canonicalText());
    const auto path = test::fixturePath(fixture);
    wasm::LoadedModule loaded = wasm::loadModuleFile(path);
    // flatten-based passes can fail on some orders: run ours in a child.
    wasm::Bytes ours;
    const auto outcome = support::runInChild(
        [&](int fd) {
          const wasm::Bytes b = applyPipeline(loaded.module, config).writeBinary();
          support::writeAll(fd, b.data(), b.size());
          return 0;
        },
        {});
    auto args = config.wasmOptArgs(loaded.source.features);
    ASSERT_TRUE(args.has_value());
    test::TempDir dir;
    std::vector<std::string> argv = {LOOM_WASM_OPT, path.string()};
    argv.insert(argv.end(), args->begin(), args->end());
    argv.insert(argv.end(), {"-o", (dir / "out.wasm").string()});
    const auto r = test::runCommand(argv);
    EXPECT_EQ(outcome.ok(), r.exit_code == 0) << outcome.error_text << " / " << r.err;
    if (!outcome.ok() || r.exit_code != 0) continue;
    ours.assign(outcome.result.begin(), outcome.result.end());
    EXPECT_EQ(ours, support::readFile(dir / "out.wasm"));
  }
}

TEST(WasmOptArgs, AbsentWhenThePipelineUnrolls) {
  PipelineConfig config = *builtinConfig("Oz");
  EXPECT_TRUE(config.wasmOptArgs(0).has_value());
  config.phases.insert(config.phases.begin(), "unroll");
  EXPECT_TRUE(config.wasmOptArgs(0).has_value())
      << "an unroll phase with strategy none does nothing";
  config.unroll = {UnrollStrategy::All, 4, 64};
  EXPECT_FALSE(config.wasmOptArgs(0).has_value());
}

TEST(Phases, EveryBinaryenPhaseRunsOnAFixture) {
  wasm::LoadedModule loaded = wasm::loadModuleFile(test::fixturePath("matmul"));
  for (const Phase& phase : allPhases()) {
    if (phase.passes.empty()) continue;
    SCOPED_TRACE(std::string(phase.name));
    PipelineConfig config;
    config.phases = {std::string(phase.name)};
    const auto outcome = support::runInChild(
        [&](int) {
          wasm::Module out = applyPipeline(loaded.module, config);
          return out.validate() ? 0 : 3;
        },
        {});
    EXPECT_TRUE(outcome.ok()) << outcome.describe() << ": " << outcome.error_text;
  }
}

TEST(Phases, VocabularyIsConsistent) {
  std::set<std::string_view> names, single_passes;
  std::size_t loom = 0;
  for (const Phase& p : allPhases()) {
    EXPECT_TRUE(names.insert(p.name).second) << "duplicate phase " << p.name;
    EXPECT_FALSE(p.description.empty()) << p.name;
    if (p.passes.size() == 1) {
      EXPECT_TRUE(single_passes.insert(p.passes[0]).second) << "pass twice: " << p.passes[0];
    }
    loom += p.origin == PhaseOrigin::Loom;
  }
  EXPECT_EQ(loom, 12u);
  for (auto name : loomPhaseOrder()) EXPECT_EQ(findPhase(name)->origin, PhaseOrigin::Loom) << name;
  for (std::size_t i : searchablePhaseIndices())
    EXPECT_NE(allPhases()[i].origin, PhaseOrigin::Test);
  EXPECT_EQ(phaseIndex("dce").value(),
            static_cast<std::size_t>(findPhase("dce") - allPhases().data()));
}

}  // namespace
}  // namespace loom::pipeline
