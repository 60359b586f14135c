#include "problems/genome.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

#include "loom/pipeline/phase.hpp"

namespace loom::problems {

namespace {

constexpr std::array<std::uint32_t, 11> kFlexible = {0, 5, 10, 20, 40, 60, 80, 100, 150, 200, 400};
constexpr std::array<std::uint32_t, 9> kOneCaller = {0, 5, 10, 20, 50, 100, 200, 500, UINT32_MAX};
constexpr std::array<std::uint32_t, 4> kFactor = {1, 2, 4, 8};
constexpr std::array<std::uint32_t, 5> kBody = {16, 32, 64, 128, 256};

long gene(const pagmo::vector_double& x, std::size_t i, long lo, long hi) {
  const double v = std::isfinite(x[i]) ? x[i] : 0.0;
  return std::clamp(std::lround(v), lo, hi);
}

template <std::size_t N>
double indexOf(const std::array<std::uint32_t, N>& choices, std::uint32_t value, const char* what) {
  auto it = std::find(choices.begin(), choices.end(), value);
  if (it == choices.end())
    throw std::invalid_argument(fmt::format("{} {} has no gene value", what, value));
  return static_cast<double>(it - choices.begin());
}

}  // namespace

GenomeLayout::GenomeLayout(std::size_t max_phases) : max_phases_(max_phases) {
  if (max_phases == 0) throw std::invalid_argument("a genome needs at least one phase slot");
}

std::span<const std::size_t> GenomeLayout::vocabulary() {
  return pipeline::searchablePhaseIndices();
}
std::span<const std::uint32_t> GenomeLayout::flexibleInlineChoices() {
  return kFlexible;
}
std::span<const std::uint32_t> GenomeLayout::oneCallerInlineChoices() {
  return kOneCaller;
}
std::span<const std::uint32_t> GenomeLayout::unrollFactorChoices() {
  return kFactor;
}
std::span<const std::uint32_t> GenomeLayout::unrollBodyChoices() {
  return kBody;
}

std::pair<pagmo::vector_double, pagmo::vector_double> GenomeLayout::bounds() const {
  pagmo::vector_double lo(dimension(), 0.0), hi(dimension(), 0.0);
  std::fill(hi.begin(), hi.begin() + static_cast<std::ptrdiff_t>(max_phases_),
            static_cast<double>(vocabulary().size()));
  const std::array<double, kSettingGenes> settings_hi = {
      4, 2, kMaxAlwaysInline,     kFlexible.size() - 1.0, kOneCaller.size() - 1.0,
      1, 2, kFactor.size() - 1.0, kBody.size() - 1.0};
  std::copy(settings_hi.begin(), settings_hi.end(),
            hi.begin() + static_cast<std::ptrdiff_t>(max_phases_));
  return {lo, hi};
}

pipeline::PipelineConfig GenomeLayout::decode(const pagmo::vector_double& x) const {
  if (x.size() != dimension()) {
    throw std::invalid_argument(
        fmt::format("genome of {} genes, expected {}", x.size(), dimension()));
  }
  const auto vocab = vocabulary();
  const auto phases = pipeline::allPhases();
  pipeline::PipelineConfig c;
  for (std::size_t i = 0; i < max_phases_; ++i) {
    const long v = gene(x, i, 0, static_cast<long>(vocab.size()));
    if (v > 0) c.phases.emplace_back(phases[vocab[static_cast<std::size_t>(v - 1)]].name);
  }
  const std::size_t s = max_phases_;
  c.optimize_level = static_cast<int>(gene(x, s + 0, 0, 4));
  c.shrink_level = static_cast<int>(gene(x, s + 1, 0, 2));
  c.inlining.always_inline_max_size =
      static_cast<std::uint32_t>(gene(x, s + 2, 0, kMaxAlwaysInline));
  c.inlining.flexible_inline_max_size =
      kFlexible[static_cast<std::size_t>(gene(x, s + 3, 0, kFlexible.size() - 1))];
  c.inlining.one_caller_inline_max_size =
      kOneCaller[static_cast<std::size_t>(gene(x, s + 4, 0, kOneCaller.size() - 1))];
  c.inlining.allow_functions_with_loops = gene(x, s + 5, 0, 1) == 1;
  c.unroll.strategy = static_cast<pipeline::UnrollStrategy>(gene(x, s + 6, 0, 2));
  c.unroll.factor = kFactor[static_cast<std::size_t>(gene(x, s + 7, 0, kFactor.size() - 1))];
  c.unroll.max_body_size = kBody[static_cast<std::size_t>(gene(x, s + 8, 0, kBody.size() - 1))];
  return c;
}

pagmo::vector_double GenomeLayout::encode(const pipeline::PipelineConfig& c) const {
  if (c.phases.size() > max_phases_) {
    throw std::invalid_argument(fmt::format(
        "pipeline of {} phases does not fit a genome of {} slots", c.phases.size(), max_phases_));
  }
  pagmo::vector_double x(dimension(), 0.0);
  const auto vocab = vocabulary();
  for (std::size_t i = 0; i < c.phases.size(); ++i) {
    const auto index = pipeline::phaseIndex(c.phases[i]);
    auto it = index ? std::find(vocab.begin(), vocab.end(), *index) : vocab.end();
    if (it == vocab.end())
      throw std::invalid_argument(fmt::format("phase '{}' cannot be searched", c.phases[i]));
    x[i] = static_cast<double>(it - vocab.begin() + 1);
  }
  const std::size_t s = max_phases_;
  if (c.inlining.always_inline_max_size > kMaxAlwaysInline) {
    throw std::invalid_argument(
        fmt::format("always-inline size {} has no gene value", c.inlining.always_inline_max_size));
  }
  x[s + 0] = c.optimize_level;
  x[s + 1] = c.shrink_level;
  x[s + 2] = c.inlining.always_inline_max_size;
  x[s + 3] = indexOf(kFlexible, c.inlining.flexible_inline_max_size, "flexible-inline size");
  x[s + 4] = indexOf(kOneCaller, c.inlining.one_caller_inline_max_size, "one-caller inline size");
  x[s + 5] = c.inlining.allow_functions_with_loops ? 1 : 0;
  x[s + 6] = static_cast<double>(c.unroll.strategy);
  x[s + 7] = indexOf(kFactor, c.unroll.factor, "unroll factor");
  x[s + 8] = indexOf(kBody, c.unroll.max_body_size, "unroll body limit");
  return x;
}

}  // namespace loom::problems
