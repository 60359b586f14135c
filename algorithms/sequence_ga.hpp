// A genetic algorithm that respects orderings, for loom's pass-ordering
// problem. pagmo's real-vector operators cut a pipeline at arbitrary genes
// and scramble the order that matters; this one treats the phase slots as a
// variable-length sequence: one-point splice and order crossover, swap,
// insert, delete, replace, move and duplicate-segment mutation, tournament
// selection with Deb's feasibility rules, and (mu + lambda) survival.
#pragma once

#include <optional>
#include <pagmo/bfe.hpp>
#include <pagmo/population.hpp>
#include <pagmo/rng.hpp>
#include <pagmo/threading.hpp>
#include <string>

namespace loom::algorithms {

class sequence_ga {
 public:
  explicit sequence_ga(unsigned generations = 1, double crossover_rate = 0.9,
                       double mutation_rate = 0.9, unsigned tournament_size = 3,
                       unsigned seed = pagmo::random_device::next());

  pagmo::population evolve(pagmo::population pop) const;

  void set_seed(unsigned seed);
  unsigned get_seed() const { return seed_; }
  void set_bfe(const pagmo::bfe& b) { bfe_ = b; }
  void set_verbosity(unsigned level) { verbosity_ = level; }
  std::string get_name() const { return "Sequence GA (loom)"; }
  std::string get_extra_info() const;
  pagmo::thread_safety get_thread_safety() const { return pagmo::thread_safety::basic; }

 private:
  unsigned generations_;
  double crossover_rate_;
  double mutation_rate_;
  unsigned tournament_size_;
  unsigned seed_;
  unsigned verbosity_ = 0;
  mutable pagmo::detail::random_engine_type random_;
  std::optional<pagmo::bfe> bfe_;
};

// Deb's rules: a feasible candidate beats an infeasible one; two feasible ones
// compare by objective, two infeasible ones by how far they are from feasible.
// `f` is a pagmo fitness vector with one objective and nic constraints.
bool betterThan(const pagmo::vector_double& a, const pagmo::vector_double& b, std::size_t nic);

// Sequence operators on phase-slot values (0 = skip is never in a sequence).
// Exposed for tests: every result is a sequence over the same alphabet.
namespace operators {
using Sequence = std::vector<int>;
Sequence splice(const Sequence& a, const Sequence& b, pagmo::detail::random_engine_type& random);
Sequence orderCrossover(const Sequence& a, const Sequence& b,
                        pagmo::detail::random_engine_type& random);
void mutate(Sequence& s, int alphabet, std::size_t max_length,
            pagmo::detail::random_engine_type& random);
}  // namespace operators

}  // namespace loom::algorithms
