// A pipeline configuration: which phases run in which order, and the
// settings they run with. This is what a genome decodes to.
#pragma once

#include <binaryen-c.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "loom/wasm/hash.hpp"

namespace loom::pipeline {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct InliningSettings {
  // Binaryen's defaults (`wasm-opt --help`).
  std::uint32_t always_inline_max_size = 2;
  std::uint32_t flexible_inline_max_size = 20;
  std::uint32_t one_caller_inline_max_size = UINT32_MAX;  // wasm-opt's -1: no limit
  bool allow_functions_with_loops = false;
  friend bool operator==(const InliningSettings&, const InliningSettings&) = default;
};

enum class UnrollStrategy {
  None,       // the unroll phase does nothing
  Innermost,  // only loops that contain no other loop
  All,        // every loop whose body is within the size limit
};

struct UnrollSettings {
  UnrollStrategy strategy = UnrollStrategy::None;
  std::uint32_t factor = 1;          // 1, 2, 4 or 8 copies of the body per iteration
  std::uint32_t max_body_size = 64;  // in expressions, per copy
  friend bool operator==(const UnrollSettings&, const UnrollSettings&) = default;
};

struct PipelineConfig {
  std::vector<std::string> phases;  // names from the phase vocabulary; repeats allowed
  int optimize_level = 2;           // 0..4, Binaryen's --optimize-level
  int shrink_level = 1;             // 0..2, Binaryen's --shrink-level
  InliningSettings inlining;
  UnrollSettings unroll;

  friend bool operator==(const PipelineConfig&, const PipelineConfig&) = default;

  // Canonical JSON: fixed key order, every field present. Equal configs give
  // equal text, so its hash keys the evaluation caches.
  nlohmann::json toJson() const;
  std::string canonicalText() const;
  wasm::Hash128 key() const;

  // Throws ConfigError naming the bad field.
  static PipelineConfig fromJson(const nlohmann::json& json);

  // Whether the unroll phase is present and would do something.
  bool unrolls() const;

  // The plain wasm-opt command-line arguments (without input and -o) that
  // run this pipeline, or nothing if it uses a phase wasm-opt does not have.
  std::optional<std::vector<std::string>> wasmOptArgs(BinaryenFeatures features) const;

  // Binaryen pass names in run order (project phases appear by their own name).
  std::vector<std::string> passNames() const;
};

std::string_view unrollStrategyName(UnrollStrategy strategy);
std::optional<UnrollStrategy> parseUnrollStrategy(std::string_view name);

// The structural checks fromJson applies; throws ConfigError.
void validate(const PipelineConfig& config);

}  // namespace loom::pipeline
