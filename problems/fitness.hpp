// From an evaluated candidate to what the search minimizes: objectives as
// ratios to the input (so modules of any size weigh alike) and a constraint
// that is violated by anything not verified.
#pragma once

#include <optional>
#include <pagmo/types.hpp>
#include <string>
#include <string_view>

#include "loom/cost/cost_model.hpp"
#include "loom/engine/eval_result.hpp"

namespace loom::problems {

enum class Objective {
  Size,      // total bytes
  Cycles,    // estimated cycles
  Weighted,  // size_weight * size ratio + cycles_weight * cycles ratio
  Pareto,    // (size ratio, cycles ratio), two objectives
};

std::string_view objectiveName(Objective objective);
std::optional<Objective> parseObjective(std::string_view name);

struct FitnessSpec {
  Objective objective = Objective::Weighted;
  double size_weight = 1.0;
  double cycles_weight = 1.0;
  bool allow_bounded = false;  // a Bounded verdict counts as verified
  std::size_t objectiveCount() const { return objective == Objective::Pareto ? 2 : 1; }
};

struct Score {
  pagmo::vector_double objectives;  // 1 or 2 values
  double violation = 0;             // 0 when verified; >= 1 otherwise
  double size_ratio = 0, cycles_ratio = 0;
  bool feasible() const { return violation <= 0; }
};

// The objective value given to anything that did not even produce a module.
inline constexpr double kFailedObjective = 1000.0;

Score score(const engine::EvalResult& result, const cost::Metrics& input, const FitnessSpec& spec);

// How pagmo sees a score. Constrained: {objectives..., violation} with one
// inequality constraint (g <= 0 is feasible). Penalized, for algorithms that
// cannot take constraints: infeasible candidates get kFailedObjective plus
// their violation, which is worse than any feasible candidate.
pagmo::vector_double constrainedFitness(const Score& s);
pagmo::vector_double penalizedFitness(const Score& s);

}  // namespace loom::problems
