// The named pipelines everyone knows: Loom's default order and wasm-opt's
// -O levels, spelled as phase sequences so evolution can start from them.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "loom/pipeline/config.hpp"

namespace loom::pipeline {

struct BuiltinConfig {
  std::string_view name;  // "loom", "O", "Os", "Oz", "O3", "O4"
  std::string_view description;
  PipelineConfig config;
};

// In a fixed order: loom, O, Os, Oz, O3, O4.
std::span<const BuiltinConfig> builtinConfigs();
std::optional<PipelineConfig> builtinConfig(std::string_view name);

}  // namespace loom::pipeline
