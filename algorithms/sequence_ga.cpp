#include "algorithms/sequence_ga.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <pagmo/algorithm.hpp>
#include <pagmo/problem.hpp>
#include <random>
#include <set>
#include <stdexcept>

#include "problems/pass_ordering.hpp"

namespace loom::algorithms {

namespace operators {

namespace {

std::size_t uniformIndex(std::size_t n, pagmo::detail::random_engine_type& random) {
  return n == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, n - 1)(random);
}

}  // namespace

// Child = a prefix of `a` and a suffix of `b`: keeps a's prefix intact, which
// is also what lets the engine's prefix cache resume from a's snapshots.
Sequence splice(const Sequence& a, const Sequence& b, pagmo::detail::random_engine_type& random) {
  const std::size_t cut_a = uniformIndex(a.size() + 1, random);
  const std::size_t cut_b = uniformIndex(b.size() + 1, random);
  Sequence child(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(cut_a));
  child.insert(child.end(), b.begin() + static_cast<std::ptrdiff_t>(cut_b), b.end());
  return child;
}

// Order crossover for sequences with repeats: a segment of `a` stays in place;
// the other positions take b's phases in b's order, each occurrence of the
// segment's phases used up once (a multiset difference).
Sequence orderCrossover(const Sequence& a, const Sequence& b,
                        pagmo::detail::random_engine_type& random) {
  if (a.empty()) return b;
  std::size_t lo = uniformIndex(a.size(), random), hi = uniformIndex(a.size(), random);
  if (lo > hi) std::swap(lo, hi);
  std::map<int, int> used;
  for (std::size_t i = lo; i <= hi; ++i) ++used[a[i]];
  Sequence filler;
  for (int v : b) {
    if (auto it = used.find(v); it != used.end() && it->second > 0) {
      --it->second;
      continue;
    }
    filler.push_back(v);
  }
  Sequence child;
  std::size_t next = 0;
  for (std::size_t i = 0; i < lo && next < filler.size(); ++i) child.push_back(filler[next++]);
  child.insert(child.end(), a.begin() + static_cast<std::ptrdiff_t>(lo),
               a.begin() + static_cast<std::ptrdiff_t>(hi + 1));
  while (next < filler.size() && child.size() < a.size()) child.push_back(filler[next++]);
  return child;
}

void mutate(Sequence& s, int alphabet, std::size_t max_length,
            pagmo::detail::random_engine_type& random) {
  std::uniform_int_distribution<int> phase(1, alphabet);
  const int op = std::uniform_int_distribution<int>(0, 5)(random);
  const std::size_t n = s.size();
  switch (op) {
    case 0:  // swap two steps
      if (n >= 2) std::swap(s[uniformIndex(n, random)], s[uniformIndex(n, random)]);
      break;
    case 1:  // insert a step
      if (n < max_length)
        s.insert(s.begin() + static_cast<std::ptrdiff_t>(uniformIndex(n + 1, random)),
                 phase(random));
      break;
    case 2:  // delete a step
      if (n > 1) s.erase(s.begin() + static_cast<std::ptrdiff_t>(uniformIndex(n, random)));
      break;
    case 3:  // replace a step
      if (n > 0) s[uniformIndex(n, random)] = phase(random);
      break;
    case 4: {  // move a segment elsewhere
      if (n < 3) break;
      std::size_t lo = uniformIndex(n, random), hi = uniformIndex(n, random);
      if (lo > hi) std::swap(lo, hi);
      Sequence segment(s.begin() + static_cast<std::ptrdiff_t>(lo),
                       s.begin() + static_cast<std::ptrdiff_t>(hi + 1));
      s.erase(s.begin() + static_cast<std::ptrdiff_t>(lo),
              s.begin() + static_cast<std::ptrdiff_t>(hi + 1));
      s.insert(s.begin() + static_cast<std::ptrdiff_t>(uniformIndex(s.size() + 1, random)),
               segment.begin(), segment.end());
      break;
    }
    case 5: {  // duplicate a short segment: the best pipelines repeat cleanup runs
      if (n == 0) break;
      const std::size_t lo = uniformIndex(n, random);
      const std::size_t len = std::min<std::size_t>(
          {1 + uniformIndex(6, random), n - lo, max_length - std::min(max_length, n)});
      if (len == 0) break;
      Sequence segment(s.begin() + static_cast<std::ptrdiff_t>(lo),
                       s.begin() + static_cast<std::ptrdiff_t>(lo + len));
      s.insert(s.begin() + static_cast<std::ptrdiff_t>(lo + len), segment.begin(), segment.end());
      break;
    }
  }
  if (s.size() > max_length) s.resize(max_length);
}

}  // namespace operators

bool betterThan(const pagmo::vector_double& a, const pagmo::vector_double& b, std::size_t nic) {
  if (nic == 0) return a[0] < b[0];
  const double va = std::max(0.0, a.back()), vb = std::max(0.0, b.back());
  const bool fa = va <= 0, fb = vb <= 0;
  if (fa != fb) return fa;
  if (!fa) return va < vb;
  return a[0] < b[0];
}

sequence_ga::sequence_ga(unsigned generations, double crossover_rate, double mutation_rate,
                         unsigned tournament_size, unsigned seed)
    : generations_(generations),
      crossover_rate_(crossover_rate),
      mutation_rate_(mutation_rate),
      tournament_size_(std::max(1u, tournament_size)),
      seed_(seed),
      random_(seed) {
  if (crossover_rate < 0 || crossover_rate > 1 || mutation_rate < 0 || mutation_rate > 1) {
    throw std::invalid_argument("sequence_ga: rates must be within [0, 1]");
  }
}

void sequence_ga::set_seed(unsigned seed) {
  seed_ = seed;
  random_.seed(seed);
}

std::string sequence_ga::get_extra_info() const {
  return fmt::format(
      "\tGenerations: {}\n\tCrossover rate: {}\n\tMutation rate: {}\n\tTournament size: "
      "{}\n\tSeed: {}\n",
      generations_, crossover_rate_, mutation_rate_, tournament_size_, seed_);
}

pagmo::population sequence_ga::evolve(pagmo::population pop) const {
  const pagmo::problem& prob = pop.get_problem();
  const auto* udp = prob.extract<problems::pass_ordering_problem>();
  if (!udp) throw std::invalid_argument("sequence_ga only solves loom's pass ordering problem");
  if (prob.get_nobj() != 1)
    throw std::invalid_argument("sequence_ga is single-objective; use nsga2 for Pareto runs");
  const std::size_t size = pop.size();
  if (size < 2) throw std::invalid_argument("sequence_ga needs a population of at least 2");
  const std::size_t nic = prob.get_nic();
  const std::size_t slots = udp->layout().maxPhases();
  const std::size_t dim = prob.get_nx();
  const auto [lo, hi] = prob.get_bounds();
  const int alphabet = static_cast<int>(hi[0]);

  auto sequenceOf = [&](const pagmo::vector_double& x) {
    operators::Sequence s;
    for (std::size_t i = 0; i < slots; ++i) {
      const long v = std::lround(x[i]);
      if (v > 0) s.push_back(static_cast<int>(std::min<long>(v, alphabet)));
    }
    return s;
  };
  auto tournament = [&](const std::vector<pagmo::vector_double>& fs) {
    std::size_t best = operators::uniformIndex(fs.size(), random_);
    for (unsigned k = 1; k < tournament_size_; ++k) {
      const std::size_t other = operators::uniformIndex(fs.size(), random_);
      if (betterThan(fs[other], fs[best], nic)) best = other;
    }
    return best;
  };
  std::uniform_real_distribution<double> unit(0.0, 1.0);

  for (unsigned gen = 0; gen < generations_; ++gen) {
    const auto xs = pop.get_x();
    const auto fs = pop.get_f();
    std::set<pagmo::vector_double> seen(xs.begin(), xs.end());
    std::vector<pagmo::vector_double> offspring;
    for (std::size_t attempt = 0; offspring.size() < size && attempt < size * 20; ++attempt) {
      const auto& a = xs[tournament(fs)];
      const auto& b = xs[tournament(fs)];
      operators::Sequence child = sequenceOf(a);
      pagmo::vector_double x(dim, 0.0);
      std::copy(a.begin() + static_cast<std::ptrdiff_t>(slots), a.end(),
                x.begin() + static_cast<std::ptrdiff_t>(slots));
      if (unit(random_) < crossover_rate_) {
        child = unit(random_) < 0.5 ? operators::splice(child, sequenceOf(b), random_)
                                    : operators::orderCrossover(child, sequenceOf(b), random_);
        for (std::size_t g = slots; g < dim; ++g) {
          if (unit(random_) < 0.5) x[g] = b[g];
        }
      }
      if (unit(random_) < mutation_rate_) {
        do {
          operators::mutate(child, alphabet, slots, random_);
        } while (unit(random_) < 0.4);
      }
      if (unit(random_) < 0.2) {
        const std::size_t g = slots + operators::uniformIndex(dim - slots, random_);
        x[g] = static_cast<double>(
            std::uniform_int_distribution<long>(std::lround(lo[g]), std::lround(hi[g]))(random_));
      }
      if (child.empty()) child.push_back(std::uniform_int_distribution<int>(1, alphabet)(random_));
      for (std::size_t i = 0; i < child.size() && i < slots; ++i) x[i] = child[i];
      if (!seen.insert(x).second) continue;  // already in the population or made this generation
      offspring.push_back(std::move(x));
    }
    if (offspring.empty()) break;

    std::vector<pagmo::vector_double> offspring_f;
    if (bfe_) {
      pagmo::vector_double flat;
      for (const auto& x : offspring) flat.insert(flat.end(), x.begin(), x.end());
      const pagmo::vector_double f = (*bfe_)(prob, flat);
      const std::size_t width = prob.get_nf();
      for (std::size_t i = 0; i < offspring.size(); ++i) {
        offspring_f.emplace_back(f.begin() + static_cast<std::ptrdiff_t>(i * width),
                                 f.begin() + static_cast<std::ptrdiff_t>((i + 1) * width));
      }
      pop.get_problem().increment_fevals(offspring.size());
    } else {
      for (const auto& x : offspring) offspring_f.push_back(pop.get_problem().fitness(x));
    }

    // (mu + lambda): the best `size` of parents and offspring survive.
    std::vector<std::pair<pagmo::vector_double, pagmo::vector_double>> all;
    for (std::size_t i = 0; i < size; ++i) all.emplace_back(xs[i], fs[i]);
    for (std::size_t i = 0; i < offspring.size(); ++i)
      all.emplace_back(offspring[i], offspring_f[i]);
    std::stable_sort(all.begin(), all.end(), [&](const auto& p, const auto& q) {
      return betterThan(p.second, q.second, nic);
    });
    for (std::size_t i = 0; i < size; ++i) pop.set_xf(i, all[i].first, all[i].second);
  }
  return pop;
}

}  // namespace loom::algorithms
