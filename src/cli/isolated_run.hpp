// Running one pipeline on a module in a forked child, for the commands that
// do a single job (baselines, apply): Binaryen may exit or abort on a pass.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "loom/cost/cost_model.hpp"
#include "loom/pipeline/config.hpp"
#include "loom/verify/verifier.hpp"
#include "loom/wasm/loader.hpp"

namespace loom::cli {

struct IsolatedRun {
  bool ok = false;
  std::string error;  // one line when !ok
  wasm::Bytes binary;
  cost::Metrics metrics;
  // With verification: {"reverted_steps": [...], "stepwise": {...},
  // "unverifiable": "..."} (engine/stepwise.hpp).
  std::optional<nlohmann::json> verification;
};

// An empty phase list measures the input as Binaryen writes it. With
// `verify`, the pipeline runs stepwise and what is written is verified;
// with `jobs` above 1, that many children first check a share of every
// step each (verify::Shard), at most half of `timeout` in all.
IsolatedRun runIsolated(const wasm::ModuleSource& source, const pipeline::PipelineConfig& config,
                        std::chrono::milliseconds timeout,
                        const std::optional<verify::VerifyOptions>& verify = std::nullopt,
                        const std::string& proof_store = "", unsigned jobs = 1);

}  // namespace loom::cli
