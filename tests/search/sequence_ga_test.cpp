#include "algorithms/sequence_ga.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "algorithms/islands.hpp"
#include "loom/pipeline/builtins.hpp"
#include "problems/genome.hpp"

namespace loom::algorithms {
namespace {

TEST(SequenceOperators, KeepSequencesValid) {
  pagmo::detail::random_engine_type random(3);
  const int alphabet = 40;
  const std::size_t max_length = 30;
  for (int trial = 0; trial < 2000; ++trial) {
    operators::Sequence a, b;
    for (std::size_t i = 0; i < 1 + random() % 25; ++i)
      a.push_back(1 + static_cast<int>(random() % alphabet));
    for (std::size_t i = 0; i < 1 + random() % 25; ++i)
      b.push_back(1 + static_cast<int>(random() % alphabet));
    auto in_alphabet = [&](const operators::Sequence& s) {
      return std::all_of(s.begin(), s.end(), [&](int v) { return v >= 1 && v <= alphabet; });
    };
    const auto spliced = operators::splice(a, b, random);
    EXPECT_TRUE(in_alphabet(spliced));
    EXPECT_LE(spliced.size(), a.size() + b.size());
    const auto ox = operators::orderCrossover(a, b, random);
    EXPECT_TRUE(in_alphabet(ox));
    EXPECT_LE(ox.size(), a.size());
    // Order crossover draws every phase from the parents' multisets.
    std::map<int, int> available;
    for (int v : a) ++available[v];
    for (int v : b) ++available[v];
    for (int v : ox) EXPECT_GE(--available[v], 0);
    auto m = a;
    operators::mutate(m, alphabet, max_length, random);
    EXPECT_TRUE(in_alphabet(m));
    EXPECT_LE(m.size(), max_length);
    EXPECT_FALSE(m.empty());
  }
}

TEST(SequenceOperators, OrderCrossoverKeepsASegmentInPlace) {
  pagmo::detail::random_engine_type random(5);
  const operators::Sequence a = {1, 2, 3, 4, 5, 6, 7, 8};
  const operators::Sequence b = {8, 7, 6, 5, 4, 3, 2, 1};
  for (int trial = 0; trial < 200; ++trial) {
    const auto child = operators::orderCrossover(a, b, random);
    ASSERT_EQ(child.size(), a.size());
    // A permutation stays a permutation.
    auto sorted = child;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, (operators::Sequence{1, 2, 3, 4, 5, 6, 7, 8}));
  }
}

TEST(DebRules, FeasibleBeatsInfeasible) {
  // {objective, violation}
  EXPECT_TRUE(betterThan({5.0, 0.0}, {0.1, 1.0}, 1));
  EXPECT_FALSE(betterThan({0.1, 1.0}, {5.0, 0.0}, 1));
  EXPECT_TRUE(betterThan({0.5, 0.0}, {0.6, 0.0}, 1));
  EXPECT_TRUE(betterThan({9.0, 1.0}, {0.1, 3.0}, 1));
  EXPECT_TRUE(betterThan({0.4}, {0.6}, 0));
}

TEST(Islands, PlansAHeterogeneousArchipelago) {
  const auto plan = planIslands(6, problems::Objective::Weighted, {});
  std::set<std::string> algorithms, biases;
  for (const auto& s : plan) {
    algorithms.insert(s.algorithm);
    biases.insert(s.bias);
  }
  EXPECT_GE(algorithms.size(), 3u);
  EXPECT_GE(biases.size(), 4u);
  EXPECT_THROW(planIslands(2, problems::Objective::Weighted, {"nsga2"}), std::invalid_argument);
  EXPECT_THROW(planIslands(2, problems::Objective::Pareto, {"pga"}), std::invalid_argument);
  EXPECT_THROW(planIslands(2, problems::Objective::Size, {"simplex"}), std::invalid_argument);
  EXPECT_EQ(planIslands(3, problems::Objective::Pareto, {}).front().algorithm, "nsga2");
  EXPECT_EQ(adjustPopulation("nsga2", 10), 12u);
}

TEST(Islands, SeedPopulationsStartWithEveryBuiltinAndFitTheGenome) {
  std::mt19937_64 random(1);
  const problems::GenomeLayout layout(96);
  for (const auto& bias : knownBiases()) {
    const auto seeds = seedPopulation(bias, 20, 96, random);
    ASSERT_EQ(seeds.size(), 20u);
    for (const auto& b : pipeline::builtinConfigs()) {
      EXPECT_NE(std::find(seeds.begin(), seeds.end(), b.config), seeds.end())
          << bias << " lacks " << b.name;
    }
    for (const auto& s : seeds) EXPECT_EQ(layout.decode(layout.encode(s)), s);
  }
  EXPECT_THROW(seedPopulation("lucky", 4, 96, random), std::invalid_argument);
}

}  // namespace
}  // namespace loom::algorithms
