#include "problems/pass_ordering.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace loom::problems {

void SearchContext::rememberSize(const pipeline::PipelineConfig& config, std::uint64_t bytes) {
  std::lock_guard lock(sizes_mutex_);
  sizes_[config.key()] = bytes;
}

std::optional<std::uint64_t> SearchContext::sizeOf(const pipeline::PipelineConfig& config) const {
  std::lock_guard lock(sizes_mutex_);
  auto it = sizes_.find(config.key());
  if (it == sizes_.end()) return std::nullopt;
  return it->second;
}

pass_ordering_problem::pass_ordering_problem(std::shared_ptr<SearchContext> context,
                                             ConstraintHandling handling, unsigned island)
    : context_(std::move(context)), handling_(handling), island_(island) {
  if (!context_) throw std::invalid_argument("pass_ordering_problem needs a search context");
  if (handling_ == ConstraintHandling::Constraint &&
      context_->spec.objective == Objective::Pareto) {
    // pagmo's multi-objective algorithms take no constraints.
    handling_ = ConstraintHandling::Penalty;
  }
}

std::pair<pagmo::vector_double, pagmo::vector_double> pass_ordering_problem::get_bounds() const {
  if (!context_) return {{0.0}, {1.0}};
  return context_->layout.bounds();
}

pagmo::vector_double::size_type pass_ordering_problem::get_nobj() const {
  return context_ ? context_->spec.objectiveCount() : 1;
}

pagmo::vector_double::size_type pass_ordering_problem::get_nic() const {
  return handling_ == ConstraintHandling::Constraint ? 1 : 0;
}

pagmo::vector_double::size_type pass_ordering_problem::get_nix() const {
  return context_ ? context_->layout.dimension() : 1;
}

std::string pass_ordering_problem::get_extra_info() const {
  if (!context_) return {};
  return fmt::format("\tObjective: {}\n\tConstraint handling: {}\n\tIsland: {}\n",
                     objectiveName(context_->spec.objective),
                     handling_ == ConstraintHandling::Constraint ? "constraint" : "penalty",
                     island_);
}

pagmo::vector_double pass_ordering_problem::toFitness(const Score& s) const {
  return handling_ == ConstraintHandling::Constraint ? constrainedFitness(s) : penalizedFitness(s);
}

pagmo::vector_double pass_ordering_problem::evaluateAll(
    const std::vector<pagmo::vector_double>& xs) const {
  SearchContext& ctx = *context_;
  const std::size_t width = get_nobj() + get_nic();
  pagmo::vector_double out;
  out.reserve(xs.size() * width);
  if (ctx.stop.load()) {
    // Stopping: the driver throws this generation away, so do no work.
    ctx.cut = true;
    for (std::size_t i = 0; i < xs.size(); ++i)
      out.insert(out.end(), width, kFailedObjective * 1000);
    return out;
  }
  std::vector<pipeline::PipelineConfig> configs;
  configs.reserve(xs.size());
  for (const auto& x : xs) configs.push_back(ctx.layout.decode(x));
  const std::vector<ScoredCandidate> scored =
      ctx.evaluator->evaluate(configs, ctx.verify_threshold.load());
  const unsigned generation = ctx.generation.load();
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const ScoredCandidate& c = scored[i];
    if (c.result.status == engine::EvalStatus::Ok)
      ctx.rememberSize(configs[i], c.result.metrics.total_bytes);
    if (c.result.status == engine::EvalStatus::Canceled) {
      // Not evaluated: its generation is thrown away.
      ctx.cut = true;
      out.insert(out.end(), width, kFailedObjective * 1000);
      continue;
    }
    if (ctx.on_evaluated)
      ctx.on_evaluated(EvaluatedCandidate{configs[i], c.result, c.score, island_, generation});
    const pagmo::vector_double f = toFitness(c.score);
    out.insert(out.end(), f.begin(), f.end());
  }
  return out;
}

pagmo::vector_double pass_ordering_problem::fitness(const pagmo::vector_double& x) const {
  return evaluateAll({x});
}

pagmo::vector_double pass_ordering_problem::batch_fitness(const pagmo::vector_double& xs) const {
  const std::size_t n = get_nix();
  if (xs.size() % n != 0)
    throw std::invalid_argument("batch of decision vectors has the wrong length");
  std::vector<pagmo::vector_double> split;
  for (std::size_t i = 0; i < xs.size(); i += n) {
    split.emplace_back(xs.begin() + static_cast<std::ptrdiff_t>(i),
                       xs.begin() + static_cast<std::ptrdiff_t>(i + n));
  }
  return evaluateAll(split);
}

}  // namespace loom::problems
