#include "problems/candidate_evaluator.hpp"

#include <algorithm>
#include <cmath>
#include <thread>

namespace loom::problems {

ModuleEvaluator::ModuleEvaluator(std::shared_ptr<engine::Engine> engine, cost::Metrics input, FitnessSpec spec)
    : engine_(std::move(engine)), input_(input), spec_(spec) {}

std::vector<ScoredCandidate> ModuleEvaluator::evaluate(const std::vector<pipeline::PipelineConfig>& configs) {
  std::vector<engine::EvalResult> results = engine_->evaluateBatch(configs);
  std::vector<ScoredCandidate> out;
  out.reserve(results.size());
  for (auto& r : results) {
    Score s = score(r, input_, spec_);
    out.push_back({std::move(r), std::move(s)});
  }
  return out;
}

CorpusEvaluator::CorpusEvaluator(std::vector<Member> members, FitnessSpec spec)
    : members_(std::move(members)), spec_(spec) {}

namespace {

int severity(engine::EvalStatus s) { return s == engine::EvalStatus::Ok ? 0 : 1; }

int verdictRank(verify::Verdict v) {
  switch (v) {
    case verify::Verdict::Proved:
      return 0;
    case verify::Verdict::Bounded:
      return 1;
    case verify::Verdict::Unknown:
      return 2;
    case verify::Verdict::Refuted:
      return 3;
  }
  return 3;
}

}  // namespace

ScoredCandidate CorpusEvaluator::combine(const std::vector<engine::EvalResult>& results, const std::vector<Member>& members,
                                         const FitnessSpec& spec) {
  ScoredCandidate c;
  engine::EvalResult& total = c.result;
  total.status = engine::EvalStatus::Ok;
  engine::VerificationSummary summary;
  summary.overall = verify::Verdict::Proved;
  double log_size = 0, log_cycles = 0;
  double violation = 0;
  for (std::size_t m = 0; m < results.size(); ++m) {
    const auto& r = results[m];
    if (severity(r.status) > severity(total.status)) {
      total.status = r.status;
      total.reason = members[m].name + ": " + r.reason;
    }
    total.metrics.total_bytes += r.metrics.total_bytes;
    total.metrics.code_bytes += r.metrics.code_bytes;
    total.metrics.instructions += r.metrics.instructions;
    total.metrics.cycles += r.metrics.cycles;
    total.metrics.functions += r.metrics.functions;
    total.times.total += r.times.total;
    total.memo_hit = m == 0 ? r.memo_hit : total.memo_hit && r.memo_hit;
    if (r.verification) {
      const auto& v = *r.verification;
      summary.proved += v.proved;
      summary.bounded += v.bounded;
      summary.refuted += v.refuted;
      summary.unknown += v.unknown;
      summary.unchanged += v.unchanged;
      summary.module_problems += v.module_problems;
      if (verdictRank(v.overall) > verdictRank(summary.overall)) {
        summary.overall = v.overall;
        summary.first_problem = members[m].name + ": " + v.first_problem;
      }
    } else {
      summary.overall = verify::Verdict::Unknown;
    }
    if (r.status != engine::EvalStatus::Ok) {
      violation += 100;
      continue;
    }
    if (!r.verified(spec.allow_bounded)) violation += 1;
    const double ref_bytes = static_cast<double>(std::max<std::uint64_t>(1, members[m].reference.total_bytes));
    const double ref_cycles = std::max(1e-9, members[m].reference.cycles);
    log_size += std::log(static_cast<double>(r.metrics.total_bytes) / ref_bytes);
    log_cycles += std::log(std::max(1e-9, r.metrics.cycles) / ref_cycles);
  }
  total.verification = summary;
  const double n = static_cast<double>(std::max<std::size_t>(1, results.size()));
  Score& s = c.score;
  s.violation = violation;
  if (total.status != engine::EvalStatus::Ok) {
    s.objectives.assign(spec.objectiveCount(), kFailedObjective);
    return c;
  }
  s.size_ratio = std::exp(log_size / n);
  s.cycles_ratio = std::exp(log_cycles / n);
  switch (spec.objective) {
    case Objective::Size:
      s.objectives = {s.size_ratio + 1e-9 * s.cycles_ratio};
      break;
    case Objective::Cycles:
      s.objectives = {s.cycles_ratio + 1e-9 * s.size_ratio};
      break;
    case Objective::Weighted:
      s.objectives = {spec.size_weight * s.size_ratio + spec.cycles_weight * s.cycles_ratio};
      break;
    case Objective::Pareto:
      s.objectives = {s.size_ratio, s.cycles_ratio};
      break;
  }
  return c;
}

std::vector<ScoredCandidate> CorpusEvaluator::evaluate(const std::vector<pipeline::PipelineConfig>& configs) {
  // Every module's engine works at the same time; each has its own workers.
  std::vector<std::vector<engine::EvalResult>> per_module(members_.size());
  std::vector<std::thread> threads;
  for (std::size_t m = 0; m < members_.size(); ++m) {
    threads.emplace_back([&, m] { per_module[m] = members_[m].engine->evaluateBatch(configs); });
  }
  for (auto& t : threads) t.join();
  std::vector<ScoredCandidate> out;
  for (std::size_t i = 0; i < configs.size(); ++i) {
    std::vector<engine::EvalResult> results;
    for (std::size_t m = 0; m < members_.size(); ++m) results.push_back(per_module[m][i]);
    out.push_back(combine(results, members_, spec_));
  }
  return out;
}

std::vector<engine::EvalResult> CorpusEvaluator::perModule(const pipeline::PipelineConfig& config) {
  std::vector<engine::EvalResult> results;
  for (const auto& member : members_) results.push_back(member.engine->evaluate(config));
  return results;
}

}  // namespace loom::problems
