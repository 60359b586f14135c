// Running a pipeline configuration on a module.
#pragma once

#include <cstddef>
#include <functional>

#include "loom/pipeline/config.hpp"
#include "loom/wasm/module.hpp"

namespace loom::pipeline {

// Called after each phase with the number of phases done so far, so that the
// engine can snapshot the module for pipelines sharing this prefix.
using PhaseObserver = std::function<void(std::size_t phases_done, const wasm::Module& module)>;

// Runs phases [first_phase, end) of `config` on `module` in place. Every phase
// is its own Binaryen pass run, so a module snapshotted after phase k and
// resumed gives the same bytes as an uninterrupted run.
void runPhases(wasm::Module& module, const PipelineConfig& config, std::size_t first_phase = 0,
               const PhaseObserver& observer = {});

// Runs phase `index` of `config` alone: one step of the pipeline.
void runPhase(wasm::Module& module, const PipelineConfig& config, std::size_t index);

// A new module: `input` copied, then the whole pipeline. `input` is untouched.
wasm::Module applyPipeline(const wasm::Module& input, const PipelineConfig& config);

// Test phases (test-abort, ...) only run when this is on; otherwise they are
// rejected. LOOM_TEST_PHASES=1 in the environment turns it on.
bool testPhasesEnabled();

}  // namespace loom::pipeline
