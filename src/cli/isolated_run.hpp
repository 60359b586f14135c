// Running one pipeline on a module in a forked child, for the commands that
// do a single job (baselines, apply): Binaryen may exit or abort on a pass.
#pragma once

#include <chrono>
#include <string>

#include "loom/cost/cost_model.hpp"
#include "loom/pipeline/config.hpp"
#include "loom/wasm/loader.hpp"

namespace loom::cli {

struct IsolatedRun {
  bool ok = false;
  std::string error;  // one line when !ok
  wasm::Bytes binary;
  cost::Metrics metrics;
};

// An empty phase list measures the input as Binaryen writes it.
IsolatedRun runIsolated(const wasm::ModuleSource& source, const pipeline::PipelineConfig& config,
                        std::chrono::milliseconds timeout);

}  // namespace loom::cli
