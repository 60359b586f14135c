#include "loom/pipeline/apply.hpp"

#include <binaryen-c.h>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include "loom/pipeline/phase.hpp"
#include "loom/pipeline/unroll.hpp"
#include "loom/wasm/binaryen_globals.hpp"

namespace loom::pipeline {

namespace {

void setGlobalOptions(const PipelineConfig& config) {
  BinaryenSetOptimizeLevel(config.optimize_level);
  BinaryenSetShrinkLevel(config.shrink_level);
  BinaryenSetAlwaysInlineMaxSize(config.inlining.always_inline_max_size);
  BinaryenSetFlexibleInlineMaxSize(config.inlining.flexible_inline_max_size);
  BinaryenSetOneCallerInlineMaxSize(config.inlining.one_caller_inline_max_size);
  BinaryenSetAllowInliningFunctionsWithLoops(config.inlining.allow_functions_with_loops);
  // Promises about the program that wasm-opt does not make by default either.
  BinaryenSetLowMemoryUnused(false);
  BinaryenSetZeroFilledMemory(false);
  BinaryenSetFastMath(false);
  BinaryenSetDebugInfo(false);
  BinaryenClearPassArguments();
}

[[noreturn]] void runTestPhase(std::string_view name) {
  if (name == "test-abort") std::abort();
  if (name == "test-exit") std::_Exit(1);
  if (name == "test-hang") {
    for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
  }
  // test-oom: keep allocating and touching memory until the allocator gives up.
  std::vector<std::unique_ptr<char[]>> blocks;
  for (;;) {
    auto block = std::make_unique<char[]>(64u << 20);
    for (std::size_t i = 0; i < (64u << 20); i += 4096) block[i] = 1;
    blocks.push_back(std::move(block));
  }
}

}  // namespace

bool testPhasesEnabled() {
  const char* value = std::getenv("LOOM_TEST_PHASES");
  return value && std::string_view(value) == "1";
}

void runPhase(wasm::Module& module, const PipelineConfig& config, std::size_t index) {
  const Phase* phase = findPhase(config.phases.at(index));
  if (!phase)
    throw ConfigError(fmt::format("configuration: unknown phase '{}'", config.phases[index]));
  switch (phase->origin) {
    case PhaseOrigin::Test:
      if (!testPhasesEnabled()) {
        throw ConfigError(fmt::format("phase '{}' is for tests only", phase->name));
      }
      runTestPhase(phase->name);
    case PhaseOrigin::Project:
      if (config.unrolls()) unrollLoops(module.get(), config.unroll);
      break;
    default: {
      std::vector<const char*> passes;
      for (auto pass : phase->passes) passes.push_back(pass.data());
      std::lock_guard lock(wasm::binaryenGlobalsMutex());
      setGlobalOptions(config);
      BinaryenModuleRunPasses(module.get(), passes.data(),
                              static_cast<BinaryenIndex>(passes.size()));
      break;
    }
  }
}

void runPhases(wasm::Module& module, const PipelineConfig& config, std::size_t first_phase,
               const PhaseObserver& observer) {
  for (std::size_t i = first_phase; i < config.phases.size(); ++i) {
    runPhase(module, config, i);
    if (observer) observer(i + 1, module);
  }
}

wasm::Module applyPipeline(const wasm::Module& input, const PipelineConfig& config) {
  wasm::Module module = input.copy();
  runPhases(module, config);
  return module;
}

}  // namespace loom::pipeline
