#include "problems/fitness.hpp"

namespace loom::problems {

std::string_view objectiveName(Objective objective) {
  switch (objective) {
    case Objective::Size:
      return "size";
    case Objective::Cycles:
      return "cycles";
    case Objective::Weighted:
      return "weighted";
    case Objective::Pareto:
      return "pareto";
  }
  return "weighted";
}

std::optional<Objective> parseObjective(std::string_view name) {
  for (Objective o : {Objective::Size, Objective::Cycles, Objective::Weighted, Objective::Pareto}) {
    if (objectiveName(o) == name) return o;
  }
  return std::nullopt;
}

Score score(const engine::EvalResult& result, const cost::Metrics& input, const FitnessSpec& spec) {
  Score s;
  if (result.status != engine::EvalStatus::Ok) {
    s.violation = 100;
    s.objectives.assign(spec.objectiveCount(), kFailedObjective);
    return s;
  }
  s.size_ratio = input.total_bytes ? static_cast<double>(result.metrics.total_bytes) /
                                         static_cast<double>(input.total_bytes)
                                   : 1.0;
  s.cycles_ratio = input.cycles > 0 ? result.metrics.cycles / input.cycles : 1.0;
  // Ties on the main objective go to the other one, by a margin too small to
  // trade against a real difference.
  constexpr double kTieBreak = 1e-9;
  switch (spec.objective) {
    case Objective::Size:
      s.objectives = {s.size_ratio + kTieBreak * s.cycles_ratio};
      break;
    case Objective::Cycles:
      s.objectives = {s.cycles_ratio + kTieBreak * s.size_ratio};
      break;
    case Objective::Weighted:
      s.objectives = {spec.size_weight * s.size_ratio + spec.cycles_weight * s.cycles_ratio};
      break;
    case Objective::Pareto:
      s.objectives = {s.size_ratio, s.cycles_ratio};
      break;
  }
  if (!result.verified(spec.allow_bounded)) {
    const auto& v = result.verification;
    s.violation = 1;
    if (v)
      s.violation +=
          v->refuted + v->unknown + v->module_problems + (spec.allow_bounded ? 0 : v->bounded);
  }
  return s;
}

pagmo::vector_double constrainedFitness(const Score& s) {
  pagmo::vector_double f = s.objectives;
  f.push_back(s.violation);
  return f;
}

pagmo::vector_double penalizedFitness(const Score& s) {
  if (s.feasible()) return s.objectives;
  return pagmo::vector_double(s.objectives.size(), kFailedObjective + s.violation);
}

}  // namespace loom::problems
