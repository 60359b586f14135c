#include "algorithms/islands.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <pagmo/algorithms/de.hpp>
#include <pagmo/algorithms/gaco.hpp>
#include <pagmo/algorithms/ihs.hpp>
#include <pagmo/algorithms/nsga2.hpp>
#include <pagmo/algorithms/pso.hpp>
#include <pagmo/algorithms/sga.hpp>
#include <pagmo/batch_evaluators/member_bfe.hpp>
#include <pagmo/bfe.hpp>
#include <stdexcept>

#include "algorithms/random_search.hpp"
#include "algorithms/sequence_ga.hpp"
#include "loom/pipeline/builtins.hpp"
#include "loom/pipeline/phase.hpp"
#include "problems/genome.hpp"

namespace loom::algorithms {

std::vector<std::string> knownAlgorithms() {
  return {"pga", "gaco", "ihs", "sga", "de", "pso", "nsga2", "random"};
}

std::vector<std::string> knownBiases() {
  return {"none", "inline-first", "cse-first", "size-first", "speed-first"};
}

namespace {

void checkAlgorithm(const std::string& algorithm, problems::Objective objective) {
  const auto known = knownAlgorithms();
  if (std::find(known.begin(), known.end(), algorithm) == known.end()) {
    throw std::invalid_argument(fmt::format(
        "unknown algorithm '{}' (known: pga, gaco, ihs, sga, de, pso, nsga2, random)", algorithm));
  }
  const bool pareto = objective == problems::Objective::Pareto;
  if (pareto && algorithm != "nsga2") {
    throw std::invalid_argument(fmt::format(
        "algorithm '{}' is single-objective; the pareto objective needs nsga2", algorithm));
  }
  if (!pareto && algorithm == "nsga2") {
    throw std::invalid_argument("nsga2 is multi-objective: use it with --objective pareto");
  }
}

}  // namespace

std::vector<IslandStrategy> planIslands(unsigned count, problems::Objective objective,
                                        const std::vector<std::string>& algorithms) {
  if (count == 0) throw std::invalid_argument("at least one island is needed");
  const std::vector<std::string> biases = {"inline-first", "size-first", "cse-first", "speed-first",
                                           "none"};
  std::vector<std::string> cycle = algorithms;
  if (cycle.empty()) {
    // The heterogeneous default: loom's own GA where orderings matter most,
    // pagmo's constraint-aware gaco, and sga for diversity.
    cycle = objective == problems::Objective::Pareto
                ? std::vector<std::string>{"nsga2"}
                : std::vector<std::string>{"pga", "gaco", "pga", "sga", "pga", "ihs"};
  }
  for (const auto& a : cycle) checkAlgorithm(a, objective);
  std::vector<IslandStrategy> plan;
  for (unsigned i = 0; i < count; ++i)
    plan.push_back({cycle[i % cycle.size()], biases[i % biases.size()]});
  return plan;
}

problems::ConstraintHandling constraintHandlingFor(const std::string& algorithm,
                                                   problems::Objective objective) {
  if (objective == problems::Objective::Pareto) return problems::ConstraintHandling::Penalty;
  if (algorithm == "pga" || algorithm == "gaco" || algorithm == "ihs" || algorithm == "random") {
    return problems::ConstraintHandling::Constraint;
  }
  return problems::ConstraintHandling::Penalty;
}

unsigned adjustPopulation(const std::string& algorithm, unsigned population) {
  if (algorithm == "nsga2") return std::max(8u, (population + 3) / 4 * 4);
  if (algorithm == "de") return std::max(population, 5u);
  if (algorithm == "gaco") return std::max(population, 2u);
  return std::max(population, 2u);
}

pagmo::algorithm makeAlgorithm(const std::string& algorithm, unsigned population, unsigned seed) {
  const pagmo::bfe batch{pagmo::member_bfe{}};
  if (algorithm == "pga") {
    sequence_ga ga(1, 0.9, 0.9, 3, seed);
    ga.set_bfe(batch);
    return pagmo::algorithm{ga};
  }
  if (algorithm == "gaco") {
    // One generation per call; the kernel (solution archive) is the population.
    pagmo::gaco g(1, std::min(population, 63u), 1.0, 0.0, 0.01, 1, 7, 100000, 100000, 0.0, false,
                  seed);
    g.set_bfe(batch);
    return pagmo::algorithm{g};
  }
  if (algorithm == "ihs") {
    // ihs improvises one candidate per generation: give it a population's worth.
    return pagmo::algorithm{pagmo::ihs(population, 0.85, 0.35, 0.99, 1e-5, 1., seed)};
  }
  if (algorithm == "sga") {
    return pagmo::algorithm{
        pagmo::sga(1, 0.9, 1., 0.1, 1., 2u, "exponential", "polynomial", "tournament", seed)};
  }
  if (algorithm == "de") return pagmo::algorithm{pagmo::de(1, 0.8, 0.9, 2u, 1e-6, 1e-6, seed)};
  if (algorithm == "pso")
    return pagmo::algorithm{pagmo::pso(1, 0.7298, 2.05, 2.05, 0.5, 5u, 2u, 4u, false, seed)};
  if (algorithm == "random") {
    random_search r(seed);
    r.set_bfe(batch);
    return pagmo::algorithm{r};
  }
  if (algorithm == "nsga2") {
    pagmo::nsga2 n(1, 0.95, 10., 0.01, 50., seed);
    n.set_bfe(batch);
    return pagmo::algorithm{n};
  }
  throw std::invalid_argument(fmt::format("unknown algorithm '{}'", algorithm));
}

namespace {

using pipeline::PipelineConfig;

std::vector<std::string> phaseNames() {
  std::vector<std::string> names;
  for (std::size_t i : pipeline::searchablePhaseIndices())
    names.emplace_back(pipeline::allPhases()[i].name);
  return names;
}

template <class T>
const T& pick(const std::vector<T>& items, std::mt19937_64& random) {
  return items[std::uniform_int_distribution<std::size_t>(0, items.size() - 1)(random)];
}

// A few random edits of a pipeline: the neighbourhood of a known-good one.
PipelineConfig perturb(PipelineConfig c, int edits, std::mt19937_64& random,
                       std::size_t max_phases) {
  static const std::vector<std::string> names = phaseNames();
  for (int k = 0; k < edits; ++k) {
    const std::size_t n = c.phases.size();
    auto at = [&](std::size_t limit) {
      return std::uniform_int_distribution<std::size_t>(0, limit)(random);
    };
    switch (std::uniform_int_distribution<int>(0, 3)(random)) {
      case 0:
        if (n < max_phases)
          c.phases.insert(c.phases.begin() + static_cast<std::ptrdiff_t>(at(n)),
                          pick(names, random));
        break;
      case 1:
        if (n > 1) c.phases.erase(c.phases.begin() + static_cast<std::ptrdiff_t>(at(n - 1)));
        break;
      case 2:
        if (n >= 2) std::swap(c.phases[at(n - 1)], c.phases[at(n - 1)]);
        break;
      case 3:
        if (n > 0) c.phases[at(n - 1)] = pick(names, random);
        break;
    }
  }
  if (c.phases.size() > max_phases) c.phases.resize(max_phases);
  return c;
}

PipelineConfig biased(const std::string& bias, std::mt19937_64& random, std::size_t max_phases) {
  static const std::vector<std::string> names = phaseNames();
  const PipelineConfig oz = *pipeline::builtinConfig("Oz");
  const PipelineConfig o3 = *pipeline::builtinConfig("O3");
  std::uniform_int_distribution<int> coin(0, 1);
  PipelineConfig c = coin(random) ? oz : o3;
  if (bias == "inline-first") {
    c.phases.insert(c.phases.begin(), {"inlining-optimizing", "dae-optimizing"});
    c.inlining.flexible_inline_max_size = pick(std::vector<std::uint32_t>{20, 40, 60, 80}, random);
    c.inlining.always_inline_max_size = pick(std::vector<std::uint32_t>{2, 4, 6, 8}, random);
  } else if (bias == "cse-first") {
    c.phases.insert(c.phases.begin(), {"ssa-nomerge", "cse", "simplify-locals", "cse"});
  } else if (bias == "size-first") {
    c = oz;
    // Repeating the cleanup tail and the inliner is what long winning
    // pipelines did on real modules (DESIGN.md §2).
    const std::vector<std::string> tail = {
        "inlining-optimizing", "dae-optimizing", "simplify-locals",  "vacuum",
        "code-folding",        "block-merging",  "reorder-functions"};
    c.phases.insert(c.phases.end() - 2, tail.begin(), tail.end());
  } else if (bias == "speed-first") {
    c = coin(random) ? o3 : *pipeline::builtinConfig("O4");
    c.phases.insert(c.phases.begin() + 4, {"licm", "unroll"});
    c.unroll = {pipeline::UnrollStrategy::Innermost, pick(std::vector<std::uint32_t>{2, 4}, random),
                64};
  } else if (std::uniform_int_distribution<int>(0, 3)(random) == 0) {
    // Some plain random pipelines keep the search honest.
    c = PipelineConfig{};
    const std::size_t length = std::uniform_int_distribution<std::size_t>(
        5, std::min<std::size_t>(60, max_phases))(random);
    for (std::size_t i = 0; i < length; ++i) c.phases.push_back(pick(names, random));
  }
  return perturb(std::move(c), std::uniform_int_distribution<int>(1, 4)(random), random,
                 max_phases);
}

}  // namespace

std::vector<PipelineConfig> seedPopulation(const std::string& bias, std::size_t size,
                                           std::size_t max_phases, std::mt19937_64& random) {
  const auto biases = knownBiases();
  if (std::find(biases.begin(), biases.end(), bias) == biases.end()) {
    throw std::invalid_argument(fmt::format("unknown seed bias '{}'", bias));
  }
  std::vector<PipelineConfig> seeds;
  for (const auto& b : pipeline::builtinConfigs()) {
    if (seeds.size() < size && b.config.phases.size() <= max_phases) seeds.push_back(b.config);
  }
  const problems::GenomeLayout layout(max_phases);
  while (seeds.size() < size) {
    PipelineConfig c = biased(bias, random, max_phases);
    // Keep only what the genome can hold exactly.
    try {
      (void)layout.encode(c);
    } catch (const std::invalid_argument&) {
      continue;
    }
    seeds.push_back(std::move(c));
  }
  return seeds;
}

}  // namespace loom::algorithms
