#include "archipelago.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <pagmo/archipelago.hpp>
#include <pagmo/islands/thread_island.hpp>
#include <pagmo/r_policies/fair_replace.hpp>
#include <pagmo/r_policy.hpp>
#include <pagmo/s_policies/select_best.hpp>
#include <pagmo/s_policy.hpp>
#include <pagmo/topologies/free_form.hpp>
#include <pagmo/topologies/fully_connected.hpp>
#include <pagmo/topologies/ring.hpp>
#include <pagmo/topologies/unconnected.hpp>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "cancel_watch.hpp"
#include "loom/driver/driver.hpp"

namespace loom::driver {

namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::size_t> incoming(const pagmo::topology& topology, std::size_t island) {
  try {
    return topology.get_connections(island).first;
  } catch (const std::exception&) {
    return {};  // unconnected topologies know no vertices
  }
}

bool feasibleFitness(const pagmo::vector_double& f, problems::ConstraintHandling handling) {
  if (handling == problems::ConstraintHandling::Constraint) return f.back() <= 0;
  return f[0] < problems::kFailedObjective;
}

// Splits a flat batch of fitness vectors.
std::vector<pagmo::vector_double> split(const pagmo::vector_double& flat, std::size_t width) {
  std::vector<pagmo::vector_double> out;
  for (std::size_t k = 0; k + width <= flat.size(); k += width) {
    out.emplace_back(flat.begin() + static_cast<std::ptrdiff_t>(k),
                     flat.begin() + static_cast<std::ptrdiff_t>(k + width));
  }
  return out;
}

pagmo::vector_double flatten(const std::vector<pagmo::vector_double>& xs) {
  pagmo::vector_double flat;
  for (const auto& x : xs) flat.insert(flat.end(), x.begin(), x.end());
  return flat;
}

}  // namespace

pagmo::topology makeTopology(const std::string& spec, unsigned islands) {
  if (spec == "ring") return pagmo::topology{pagmo::ring(islands, 1.0)};
  if (spec == "fully-connected") return pagmo::topology{pagmo::fully_connected(islands, 1.0)};
  if (spec == "unconnected") return pagmo::topology{pagmo::unconnected{}};
  if (spec.rfind("free:", 0) == 0) {
    pagmo::free_form graph;
    for (unsigned i = 0; i < islands; ++i) graph.add_vertex();
    const std::string edges = spec.substr(5);
    std::size_t start = 0;
    while (start < edges.size()) {
      const std::size_t end = std::min(edges.find(',', start), edges.size());
      const std::string edge = edges.substr(start, end - start);
      unsigned from = 0, to = 0;
      char dash = 0;
      std::istringstream in(edge);
      if (!(in >> from >> dash >> to) || dash != '-' || from >= islands || to >= islands) {
        throw std::invalid_argument(
            fmt::format("bad edge '{}' in topology '{}' (edges are FROM-TO between 0 and {})", edge,
                        spec, islands - 1));
      }
      graph.add_edge(from, to, 1.0);
      start = end + 1;
    }
    return pagmo::topology{graph};
  }
  throw std::invalid_argument(fmt::format(
      "unknown topology '{}' (ring, fully-connected, unconnected, free:0-1,1-2,...)", spec));
}

struct Archipelago::Island {
  algorithms::IslandStrategy strategy;
  unsigned population_size = 0;
  problems::ConstraintHandling handling = problems::ConstraintHandling::Constraint;
  pagmo::problem problem;
  std::vector<pagmo::vector_double> xs, fs;
  std::vector<HistoryPoint> history;
  std::atomic<std::uint64_t> evaluations{0};

  const problems::pass_ordering_problem& udp() const {
    return *problem.extract<problems::pass_ordering_problem>();
  }

  pagmo::population population(unsigned seed) const {
    pagmo::population pop(problem, 0u, seed);
    for (std::size_t i = 0; i < xs.size(); ++i) pop.push_back(xs[i], fs[i]);
    return pop;
  }
};

Archipelago::Archipelago(const ArchipelagoSettings& settings,
                         std::shared_ptr<problems::SearchContext> context)
    : settings_(settings), context_(std::move(context)) {
  if (settings.islands == 0) throw std::invalid_argument("--islands must be at least 1");
  if (settings.population < 2) throw std::invalid_argument("--population must be at least 2");
  if (settings.migrate_every == 0)
    throw std::invalid_argument("--migrate-every must be at least 1");
  if (settings.selection != "best")
    throw std::invalid_argument(
        fmt::format("unknown selection policy '{}' (best)", settings.selection));
  if (settings.replacement != "fair")
    throw std::invalid_argument(
        fmt::format("unknown replacement policy '{}' (fair)", settings.replacement));
  if (settings.migration_type != "p2p" && settings.migration_type != "broadcast") {
    throw std::invalid_argument(
        fmt::format("unknown migration type '{}' (p2p, broadcast)", settings.migration_type));
  }
  topology_ = makeTopology(settings.topology, settings.islands);
  const auto plan =
      algorithms::planIslands(settings.islands, context_->spec.objective, settings.algorithms);
  for (unsigned i = 0; i < settings.islands; ++i) {
    auto island = std::make_unique<Island>();
    island->strategy = plan[i];
    island->population_size = algorithms::adjustPopulation(plan[i].algorithm, settings.population);
    island->handling =
        algorithms::constraintHandlingFor(plan[i].algorithm, context_->spec.objective);
    island->problem =
        pagmo::problem{problems::pass_ordering_problem(context_, island->handling, i)};
    islands_.push_back(std::move(island));
  }
}

Archipelago::~Archipelago() = default;

std::size_t Archipelago::size() const {
  return islands_.size();
}

void Archipelago::countEvaluation(unsigned island) {
  if (island < islands_.size()) ++islands_[island]->evaluations;
}

void Archipelago::seed(Clock::time_point deadline) {
  context_->stop = Clock::now() >= deadline;  // then nothing is evaluated
  context_->cut = false;
  {
    const CancelWatch cancel_when_due([&] { return Clock::now() >= deadline; },
                                      [&] {
                                        context_->stop = true;
                                        context_->evaluator->cancel();
                                      });
    for (unsigned i = 0; i < islands_.size(); ++i) {
      Island& island = *islands_[i];
      std::mt19937_64 random(deriveSeed(settings_.seed, i, 0));
      const auto seeds = algorithms::seedPopulation(island.strategy.bias, island.population_size,
                                                    context_->layout.maxPhases(), random);
      island.xs.clear();
      for (const auto& c : seeds) island.xs.push_back(context_->layout.encode(c));
      island.fs = split(island.udp().batch_fitness(flatten(island.xs)), island.problem.get_nf());
    }
  }
  context_->stop = false;
  for (auto& island : islands_) recordHistory(*island, 0, 0);
}

nlohmann::json Archipelago::saveIslands() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& island : islands_) {
    nlohmann::json isl;
    isl["algorithm"] = island->strategy.algorithm;
    isl["bias"] = island->strategy.bias;
    isl["individuals"] = nlohmann::json::array();
    for (std::size_t k = 0; k < island->xs.size(); ++k) {
      isl["individuals"].push_back({{"x", island->xs[k]}, {"f", island->fs[k]}});
    }
    isl["history"] = nlohmann::json::array();
    for (const auto& h : island->history) isl["history"].push_back(h.toJson());
    out.push_back(isl);
  }
  return out;
}

nlohmann::json Archipelago::saveMigrations() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& m : migrations_) out.push_back(m.toJson());
  return out;
}

void Archipelago::restore(const nlohmann::json& saved, const nlohmann::json& migrations) {
  // Checked field by field: a damaged or edited checkpoint is named, not
  // handed to pagmo (a wrong-length decision vector would abort it).
  auto bad = [](const std::string& where, const std::string& what) {
    return std::invalid_argument(fmt::format("field '{}' {}", where, what));
  };
  if (!saved.is_array()) throw bad("islands", "is not a list");
  if (saved.size() != islands_.size())
    throw std::invalid_argument(
        fmt::format("the checkpoint has {} islands, the run {}", saved.size(), islands_.size()));
  std::vector<std::vector<pagmo::vector_double>> xs(islands_.size()), fs(islands_.size());
  std::vector<std::vector<HistoryPoint>> histories(islands_.size());
  for (std::size_t i = 0; i < islands_.size(); ++i) {
    const pagmo::problem& p = islands_[i]->problem;
    const std::string at = fmt::format("islands[{}]", i);
    if (!saved[i].is_object()) throw bad(at, "is not an object");
    const auto individuals = saved[i].find("individuals");
    if (individuals == saved[i].end() || !individuals->is_array())
      throw bad(at + ".individuals", "is missing or not a list");
    if (individuals->empty()) throw bad(at + ".individuals", "is empty");
    const auto [lower, upper] = p.get_bounds();
    const std::size_t nf = p.get_nobj() + p.get_nec() + p.get_nic();
    for (std::size_t k = 0; k < individuals->size(); ++k) {
      const auto& ind = (*individuals)[k];
      const std::string where = fmt::format("{}.individuals[{}]", at, k);
      try {
        auto x = ind.at("x").get<pagmo::vector_double>();
        auto f = ind.at("f").get<pagmo::vector_double>();
        if (x.size() != lower.size())
          throw bad(where + ".x", fmt::format("has {} genes, expected {}", x.size(), lower.size()));
        for (std::size_t g = 0; g < x.size(); ++g) {
          if (!std::isfinite(x[g]) || x[g] < lower[g] || x[g] > upper[g])
            throw bad(fmt::format("{}.x[{}]", where, g),
                      fmt::format("is {}, outside [{}, {}]", x[g], lower[g], upper[g]));
        }
        if (f.size() != nf)
          throw bad(where + ".f", fmt::format("has {} values, expected {}", f.size(), nf));
        xs[i].push_back(std::move(x));
        fs[i].push_back(std::move(f));
      } catch (const nlohmann::json::exception&) {
        throw bad(where, "needs lists of numbers 'x' and 'f'");
      }
    }
    const auto history = saved[i].find("history");
    if (history == saved[i].end() || !history->is_array())
      throw bad(at + ".history", "is missing or not a list");
    try {
      for (const auto& h : *history) histories[i].push_back(HistoryPoint::fromJson(h));
    } catch (const nlohmann::json::exception&) {
      throw bad(at + ".history", "has an entry of the wrong shape");
    }
  }
  std::vector<Migration> restored;
  if (!migrations.is_array()) throw bad("migrations", "is not a list");
  try {
    for (const auto& m : migrations) restored.push_back(Migration::fromJson(m));
  } catch (const nlohmann::json::exception&) {
    throw bad("migrations", "has an entry of the wrong shape");
  }
  for (std::size_t i = 0; i < islands_.size(); ++i) {
    islands_[i]->xs = std::move(xs[i]);
    islands_[i]->fs = std::move(fs[i]);
    islands_[i]->history = std::move(histories[i]);
  }
  migrations_ = std::move(restored);
}

std::vector<IslandRecord> Archipelago::records() const {
  std::vector<IslandRecord> out;
  for (const auto& island : islands_)
    out.push_back({island->strategy, island->population_size, island->history});
  return out;
}

void Archipelago::recordHistory(Island& island, unsigned generation, unsigned migrants_in) {
  HistoryPoint h;
  h.generation = generation;
  std::vector<double> objectives;
  std::size_t feasible = 0;
  std::optional<std::size_t> best;
  for (std::size_t k = 0; k < island.fs.size(); ++k) {
    objectives.push_back(island.fs[k][0]);
    if (!feasibleFitness(island.fs[k], island.handling)) continue;
    ++feasible;
    if (!best || island.fs[k][0] < island.fs[*best][0]) best = k;
  }
  std::sort(objectives.begin(), objectives.end());
  h.median_objective = objectives.empty() ? NAN : objectives[objectives.size() / 2];
  h.feasible_share =
      island.fs.empty() ? 0 : static_cast<double>(feasible) / static_cast<double>(island.fs.size());
  if (best) {
    h.best_objective = island.fs[*best][0];
    const auto config = context_->layout.decode(island.xs[*best]);
    auto bytes = context_->sizeOf(config);
    // A resumed run has not seen it yet in this session: the memo knows it.
    if (!bytes) bytes = context_->evaluator->evaluate({config}).front().result.metrics.total_bytes;
    h.best_total_bytes = *bytes;
  }
  h.evaluations = island.evaluations.exchange(0);
  h.migrants_in = migrants_in;
  island.history.push_back(h);
}

void Archipelago::migrate(unsigned generation) {
  const pagmo::s_policy selection{
      pagmo::select_best(static_cast<pagmo::pop_size_t>(settings_.migrants))};
  const pagmo::r_policy replacement{
      pagmo::fair_replace(static_cast<pagmo::pop_size_t>(settings_.migrants))};
  std::vector<pagmo::individuals_group_t> selected;
  for (const auto& island : islands_) {
    std::vector<unsigned long long> ids(island->xs.size());
    std::iota(ids.begin(), ids.end(), 0ull);
    const pagmo::problem& p = island->problem;
    selected.push_back(selection.select({ids, island->xs, island->fs}, p.get_nx(), p.get_nix(),
                                        p.get_nobj(), p.get_nec(), p.get_nic(), p.get_c_tol()));
  }
  std::mt19937_64 random(deriveSeed(settings_.seed, 0xffff, generation));
  std::vector<unsigned> arrivals(islands_.size(), 0);
  for (unsigned t = 0; t < islands_.size(); ++t) {
    auto sources = incoming(topology_, t);
    if (sources.empty()) continue;
    if (settings_.migration_type == "p2p") {
      sources = {
          sources[std::uniform_int_distribution<std::size_t>(0, sources.size() - 1)(random)]};
    }
    Island& target = *islands_[t];
    constexpr unsigned long long kMigrantIds = 1ull << 40;
    for (std::size_t s : sources) {
      const auto& [sel_ids, sel_xs, sel_fs] = selected[s];
      if (sel_xs.empty()) continue;
      // The source may score with the other constraint handling: ask the
      // target's problem (the engine's memo answers at once).
      const auto mig_fs =
          split(target.udp().batch_fitness(flatten(sel_xs)), target.problem.get_nf());
      std::vector<unsigned long long> mig_ids(sel_xs.size());
      std::iota(mig_ids.begin(), mig_ids.end(), kMigrantIds);
      std::vector<unsigned long long> ids(target.xs.size());
      std::iota(ids.begin(), ids.end(), 0ull);
      const pagmo::problem& p = target.problem;
      auto [new_ids, new_xs, new_fs] =
          replacement.replace({ids, target.xs, target.fs}, p.get_nx(), p.get_nix(), p.get_nobj(),
                              p.get_nec(), p.get_nic(), p.get_c_tol(), {mig_ids, sel_xs, mig_fs});
      const auto arrived = static_cast<unsigned>(
          std::count_if(new_ids.begin(), new_ids.end(), [](auto id) { return id >= kMigrantIds; }));
      target.xs = std::move(new_xs);
      target.fs = std::move(new_fs);
      arrivals[t] += arrived;
      if (arrived) migrations_.push_back({generation, static_cast<unsigned>(s), t, arrived});
    }
  }
  for (unsigned i = 0; i < islands_.size(); ++i)
    islands_[i]->history.back().migrants_in = arrivals[i];
}

bool Archipelago::evolve(unsigned first, unsigned last, const std::atomic<bool>& stop,
                         Clock::time_point deadline, const std::function<void(unsigned)>& done) {
  if (first > last) return false;
  pagmo::archipelago archi{pagmo::topology{pagmo::unconnected{}}};
  for (unsigned i = 0; i < islands_.size(); ++i) {
    archi.push_back(
        pagmo::thread_island{},
        algorithms::makeAlgorithm(islands_[i]->strategy.algorithm, islands_[i]->population_size, 0),
        islands_[i]->population(0));
  }
  for (unsigned g = first; g <= last; ++g) {
    if (stop.load()) return true;
    if (Clock::now() >= deadline) return false;
    context_->generation = g;
    for (unsigned i = 0; i < islands_.size(); ++i) {
      const unsigned seed = deriveSeed(settings_.seed, i, g);
      archi[i].set_population(islands_[i]->population(seed));
      archi[i].set_algorithm(algorithms::makeAlgorithm(islands_[i]->strategy.algorithm,
                                                       islands_[i]->population_size, seed));
    }
    // A signal or the deadline mid-generation cancels the evaluations in
    // progress and makes the remaining fitness calls return at once; the
    // generation is then thrown away. What it finished is already archived
    // and logged, so a generation cut short still counts.
    context_->stop = false;
    context_->cut = false;
    {
      const CancelWatch cancel_when_due(
          [&] { return context_->stop.load() || stop.load() || Clock::now() >= deadline; },
          [&] {
            context_->stop = true;
            context_->evaluator->cancel();
          });
      archi.evolve(1);
      archi.wait_check();
    }
    // A stop that came after every candidate was evaluated cuts nothing.
    if (context_->cut.load()) return stop.load();
    for (unsigned i = 0; i < islands_.size(); ++i) {
      const auto pop = archi[i].get_population();
      islands_[i]->xs = pop.get_x();
      islands_[i]->fs = pop.get_f();
    }
    for (auto& island : islands_) recordHistory(*island, g, 0);
    if (g % settings_.migrate_every == 0 && islands_.size() > 1) migrate(g);
    done(g);
  }
  return false;
}

}  // namespace loom::driver
