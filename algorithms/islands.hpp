// What makes the islands of an archipelago differ: the algorithm each runs
// (with its parameters) and the bias of the pipelines it starts from.
#pragma once

#include <pagmo/algorithm.hpp>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "loom/pipeline/config.hpp"
#include "problems/fitness.hpp"
#include "problems/pass_ordering.hpp"

namespace loom::algorithms {

// Algorithms an island can run: "pga" (sequence_ga, loom's own), "random"
// (random search, the baseline), and pagmo's "gaco", "ihs", "sga", "de",
// "pso", "nsga2" (Pareto only).
std::vector<std::string> knownAlgorithms();

// Seed biases: "none", "inline-first", "cse-first", "size-first", "speed-first".
std::vector<std::string> knownBiases();

struct IslandStrategy {
  std::string algorithm = "pga";
  std::string bias = "none";
  friend bool operator==(const IslandStrategy&, const IslandStrategy&) = default;
};

// `count` islands cycling through a heterogeneous mix (or through `algorithms`
// if given), each with its own bias. Throws std::invalid_argument on unknown
// names or an algorithm that cannot solve the objective.
std::vector<IslandStrategy> planIslands(unsigned count, problems::Objective objective,
                                        const std::vector<std::string>& algorithms);

// Whether the algorithm takes pagmo constraints or needs the penalty form.
problems::ConstraintHandling constraintHandlingFor(const std::string& algorithm,
                                                   problems::Objective objective);

// The algorithm for one generation of one island, seeded, with batch
// evaluation where pagmo supports it for that algorithm.
pagmo::algorithm makeAlgorithm(const std::string& algorithm, unsigned population, unsigned seed);

// Population sizes an algorithm accepts (nsga2 wants a multiple of 4, >= 8).
unsigned adjustPopulation(const std::string& algorithm, unsigned population);

// The first generation of an island: every built-in configuration that fits
// the genome, then pipelines drawn according to the bias until `size`.
std::vector<pipeline::PipelineConfig> seedPopulation(const std::string& bias, std::size_t size,
                                                     std::size_t max_phases,
                                                     std::mt19937_64& random);

}  // namespace loom::algorithms
