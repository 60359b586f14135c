// The phase vocabulary: every step a pipeline can take, registered once by
// name with a one-line description (the table is in pipeline/phases.cpp).
#pragma once

#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace loom::pipeline {

enum class PhaseOrigin {
  Loom,     // one of Loom's 12 phases
  WasmOpt,  // a step of Binaryen's default -O pipelines
  Extra,    // another Binaryen pass that changes size or speed
  Project,  // implemented by loom-evolve itself (loop unrolling)
  Test,     // fault injection for the test suite; never searched
};

struct Phase {
  std::string_view name;
  PhaseOrigin origin;
  std::string_view description;
  std::vector<std::string_view> passes;  // Binaryen passes run in order; empty for Project/Test
};

std::span<const Phase> allPhases();
const Phase* findPhase(std::string_view name);

// Index of a phase in allPhases(); the genome encodes phases by this index.
std::optional<std::size_t> phaseIndex(std::string_view name);

// The phases evolution may choose from: Loom, WasmOpt, Extra and Project.
std::span<const std::size_t> searchablePhaseIndices();

std::string_view originName(PhaseOrigin origin);

// Loom's 12 phases in Loom's own order.
std::span<const std::string_view> loomPhaseOrder();

}  // namespace loom::pipeline
