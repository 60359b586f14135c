#include "loom/pipeline/builtins.hpp"

#include <stdexcept>
#include <string>
#include <vector>

#include "loom/pipeline/phase.hpp"

namespace loom::pipeline {

namespace {

// The single-pass phase that runs `pass`.
std::string phaseOfPass(std::string_view pass) {
  for (const Phase& phase : allPhases()) {
    if (phase.passes.size() == 1 && phase.passes.front() == pass) return std::string(phase.name);
  }
  throw std::logic_error("no phase runs Binaryen pass " + std::string(pass));
}

// What Binaryen 108's PassRunner::addDefaultOptimizationPasses adds for a
// module without GC, as `BINARYEN_PASS_DEBUG=1 wasm-opt -O...` lists it. The
// level-dependent steps follow pass.cpp: e.g. precompute-propagate from
// optimize 3 or shrink 2 on, merge-similar-functions only at shrink 2.
std::vector<std::string> defaultPipeline(int optimize, int shrink) {
  std::vector<std::string_view> p;
  const bool o3_or_s2 = optimize >= 3 || shrink >= 2;
  const bool o3_or_s1 = optimize >= 3 || shrink >= 1;
  const bool o2_or_s1 = optimize >= 2 || shrink >= 1;
  const bool o2_or_s2 = optimize >= 2 || shrink >= 2;
  // global pre-passes
  p.push_back("duplicate-function-elimination");
  p.push_back("memory-packing");
  if (optimize >= 2) p.push_back("once-reduction");
  // function passes
  if (o3_or_s1) p.push_back("ssa-nomerge");
  if (optimize >= 4) {
    p.push_back("flatten");
    p.push_back("simplify-locals-notee-nostructure");
    p.push_back("local-cse");
  }
  p.insert(p.end(), {"dce", "remove-unused-names", "remove-unused-brs", "remove-unused-names",
                     "optimize-instructions"});
  if (o2_or_s2) p.push_back("pick-load-signs");
  p.push_back(o3_or_s2 ? "precompute-propagate" : "precompute");
  if (o2_or_s2) p.push_back("code-pushing");
  p.insert(p.end(),
           {"simplify-locals-nostructure", "vacuum", "reorder-locals", "remove-unused-brs"});
  if (o3_or_s2) p.push_back("merge-locals");
  p.push_back("coalesce-locals");
  if (o3_or_s1) p.push_back("local-cse");
  p.insert(p.end(), {"simplify-locals", "vacuum", "reorder-locals", "coalesce-locals",
                     "reorder-locals", "vacuum"});
  if (o3_or_s1) p.push_back("code-folding");
  p.insert(p.end(), {"merge-blocks", "remove-unused-brs", "remove-unused-names", "merge-blocks"});
  p.push_back(o3_or_s2 ? "precompute-propagate" : "precompute");
  p.push_back("optimize-instructions");
  if (o2_or_s1) p.push_back("rse");
  p.push_back("vacuum");
  // global post-passes
  if (o2_or_s1) {
    p.push_back("dae-optimizing");
    p.push_back("inlining-optimizing");
  }
  p.push_back("duplicate-function-elimination");
  p.push_back("duplicate-import-elimination");
  if (shrink >= 2) p.push_back("merge-similar-functions");
  p.push_back(o2_or_s2 ? "simplify-globals-optimizing" : "simplify-globals");
  p.push_back("remove-unused-module-elements");
  p.push_back("directize");
  if (o2_or_s1) {
    p.push_back("generate-stack-ir");
    p.push_back("optimize-stack-ir");
  }
  std::vector<std::string> phases;
  for (auto pass : p) phases.push_back(phaseOfPass(pass));
  return phases;
}

PipelineConfig levels(int optimize, int shrink) {
  PipelineConfig c;
  c.optimize_level = optimize;
  c.shrink_level = shrink;
  c.phases = defaultPipeline(optimize, shrink);
  return c;
}

PipelineConfig loom() {
  PipelineConfig c;
  for (auto name : loomPhaseOrder()) c.phases.emplace_back(name);
  return c;
}

}  // namespace

std::span<const BuiltinConfig> builtinConfigs() {
  static const std::vector<BuiltinConfig> configs = {
      {"loom", "Loom's 12 phases in Loom's order", loom()},
      {"O", "wasm-opt -O (the same as -Os)", levels(2, 1)},
      {"Os", "wasm-opt -Os", levels(2, 1)},
      {"Oz", "wasm-opt -Oz", levels(2, 2)},
      {"O3", "wasm-opt -O3", levels(3, 0)},
      {"O4", "wasm-opt -O4", levels(4, 0)},
  };
  return configs;
}

std::optional<PipelineConfig> builtinConfig(std::string_view name) {
  for (const auto& b : builtinConfigs()) {
    if (b.name == name) return b.config;
  }
  return std::nullopt;
}

}  // namespace loom::pipeline
