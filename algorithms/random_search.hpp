// Random search over pipelines, the baseline any evolutionary algorithm has
// to beat at equal wall-clock time: each generation draws fresh pipelines
// (the same distribution the islands are seeded from) and keeps the best.
#pragma once

#include <optional>
#include <pagmo/bfe.hpp>
#include <pagmo/population.hpp>
#include <pagmo/rng.hpp>
#include <pagmo/threading.hpp>
#include <string>

namespace loom::algorithms {

class random_search {
 public:
  explicit random_search(unsigned seed = pagmo::random_device::next()) : seed_(seed) {}

  pagmo::population evolve(pagmo::population pop) const;

  void set_seed(unsigned seed) { seed_ = seed; }
  unsigned get_seed() const { return seed_; }
  void set_bfe(const pagmo::bfe& b) { bfe_ = b; }
  std::string get_name() const { return "Random search (loom)"; }
  pagmo::thread_safety get_thread_safety() const { return pagmo::thread_safety::basic; }

 private:
  unsigned seed_;
  std::optional<pagmo::bfe> bfe_;
};

}  // namespace loom::algorithms
