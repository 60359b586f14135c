#include "algorithms/random_search.hpp"

#include <algorithm>
#include <pagmo/problem.hpp>
#include <random>
#include <stdexcept>

#include "algorithms/islands.hpp"
#include "algorithms/sequence_ga.hpp"
#include "loom/pipeline/builtins.hpp"
#include "problems/pass_ordering.hpp"

namespace loom::algorithms {

pagmo::population random_search::evolve(pagmo::population pop) const {
  const pagmo::problem& prob = pop.get_problem();
  const auto* udp = prob.extract<problems::pass_ordering_problem>();
  if (!udp) throw std::invalid_argument("random_search only solves loom's pass ordering problem");
  const std::size_t size = pop.size();
  std::mt19937_64 random(seed_);
  // "none" bias without the built-ins: they are in the first generation already.
  const std::size_t builtins = pipeline::builtinConfigs().size();
  std::vector<pipeline::PipelineConfig> drawn =
      seedPopulation("none", size + builtins, udp->layout().maxPhases(), random);
  drawn.erase(drawn.begin(), drawn.begin() + static_cast<std::ptrdiff_t>(builtins));
  std::vector<pagmo::vector_double> xs;
  for (const auto& c : drawn) xs.push_back(udp->layout().encode(c));

  pagmo::vector_double flat;
  for (const auto& x : xs) flat.insert(flat.end(), x.begin(), x.end());
  const pagmo::vector_double f = bfe_ ? (*bfe_)(prob, flat) : udp->batch_fitness(flat);
  prob.increment_fevals(xs.size());
  const std::size_t width = prob.get_nf();
  const std::size_t nic = prob.get_nic();

  std::vector<std::pair<pagmo::vector_double, pagmo::vector_double>> all;
  for (std::size_t i = 0; i < size; ++i) all.emplace_back(pop.get_x()[i], pop.get_f()[i]);
  for (std::size_t i = 0; i < xs.size(); ++i) {
    all.emplace_back(
        xs[i], pagmo::vector_double(f.begin() + static_cast<std::ptrdiff_t>(i * width),
                                    f.begin() + static_cast<std::ptrdiff_t>((i + 1) * width)));
  }
  std::stable_sort(all.begin(), all.end(), [&](const auto& a, const auto& b) {
    return betterThan(a.second, b.second, nic);
  });
  for (std::size_t i = 0; i < size; ++i) pop.set_xf(i, all[i].first, all[i].second);
  return pop;
}

}  // namespace loom::algorithms
