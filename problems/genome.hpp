// How a pagmo decision vector encodes a pipeline. All genes are integers, so
// pagmo's integer-capable algorithms (sga, gaco, ihs, nsga2) work on it as it
// is, and the continuous ones (de, pso) work after rounding:
//
//   x[0 .. max_phases)  one slot per step: 0 skips it, v > 0 runs the v-th
//                       searchable phase. Sequences may repeat phases and be
//                       as long as max_phases.
//   then 9 setting genes: optimize level, shrink level, always-inline size,
//                       flexible-inline size (index), one-caller size (index),
//                       inline functions with loops, unroll strategy, unroll
//                       factor (index), unroll body limit (index).
#pragma once

#include <cstddef>
#include <cstdint>
#include <pagmo/types.hpp>
#include <span>
#include <utility>
#include <vector>

#include "loom/pipeline/config.hpp"

namespace loom::problems {

class GenomeLayout {
 public:
  static constexpr std::size_t kSettingGenes = 9;
  static constexpr std::size_t kDefaultMaxPhases = 128;

  explicit GenomeLayout(std::size_t max_phases = kDefaultMaxPhases);

  std::size_t maxPhases() const { return max_phases_; }
  std::size_t dimension() const { return max_phases_ + kSettingGenes; }
  std::pair<pagmo::vector_double, pagmo::vector_double> bounds() const;

  // Rounds and clamps every gene first: continuous algorithms send fractions.
  pipeline::PipelineConfig decode(const pagmo::vector_double& x) const;

  // Phases packed at the front, skips after them. Throws std::invalid_argument
  // when the pipeline is longer than max_phases or a setting has no gene value.
  pagmo::vector_double encode(const pipeline::PipelineConfig& config) const;

  // The phases a slot value can name (slot value v names vocabulary()[v - 1]).
  static std::span<const std::size_t> vocabulary();

  // The values each choice gene can take.
  static std::span<const std::uint32_t> flexibleInlineChoices();
  static std::span<const std::uint32_t> oneCallerInlineChoices();  // UINT32_MAX: no limit
  static std::span<const std::uint32_t> unrollFactorChoices();
  static std::span<const std::uint32_t> unrollBodyChoices();
  static constexpr std::uint32_t kMaxAlwaysInline = 16;

 private:
  std::size_t max_phases_;
};

}  // namespace loom::problems
