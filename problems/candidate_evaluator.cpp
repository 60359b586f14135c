#include "problems/candidate_evaluator.hpp"

#include <algorithm>
#include <cmath>
#include <thread>

namespace loom::problems {

double CandidateEvaluator::screenedViolation(double objective, double threshold) {
  return 1.0 + std::max(0.0, objective - threshold) / std::max(1e-12, std::abs(threshold));
}

std::vector<ScoredCandidate> CandidateEvaluator::evaluate(
    const std::vector<pipeline::PipelineConfig>& configs, double verify_threshold) {
  if (!(verify_threshold < kVerifyAll) || spec_.objective == Objective::Pareto) {
    return scoreAll(configs, engine::Check::Verify);
  }
  std::vector<ScoredCandidate> out = scoreAll(configs, engine::Check::MeasureOnly);
  // A batch canceled while it was measured starts no verifications.
  if (std::any_of(out.begin(), out.end(), [](const ScoredCandidate& c) {
        return c.result.status == engine::EvalStatus::Canceled;
      })) {
    for (ScoredCandidate& c : out) {
      if (!c.checked) c.result.status = engine::EvalStatus::Canceled;
    }
    return out;
  }
  std::vector<pipeline::PipelineConfig> competitive;
  std::vector<std::size_t> where;
  for (std::size_t i = 0; i < out.size(); ++i) {
    ScoredCandidate& c = out[i];
    if (c.checked) continue;
    if (c.score.objectives.front() <= verify_threshold) {
      competitive.push_back(configs[i]);
      where.push_back(i);
    } else {
      c.score.violation = screenedViolation(c.score.objectives.front(), verify_threshold);
    }
  }
  if (competitive.empty()) return out;
  std::vector<ScoredCandidate> verified = scoreAll(competitive, engine::Check::Verify);
  for (std::size_t k = 0; k < where.size(); ++k) out[where[k]] = std::move(verified[k]);
  return out;
}

ModuleEvaluator::ModuleEvaluator(std::shared_ptr<engine::Engine> engine, cost::Metrics input,
                                 FitnessSpec spec)
    : CandidateEvaluator(spec), engine_(std::move(engine)), input_(input) {}

std::vector<ScoredCandidate> ModuleEvaluator::scoreAll(
    const std::vector<pipeline::PipelineConfig>& configs, engine::Check check) {
  std::vector<engine::EvalResult> results = engine_->evaluateBatch(configs, check);
  std::vector<ScoredCandidate> out;
  out.reserve(results.size());
  for (auto& r : results) {
    Score s = score(r, input_, spec_);
    const bool checked = r.status != engine::EvalStatus::Ok || r.verification.has_value() ||
                         !engine_->options().verify;
    out.push_back({std::move(r), std::move(s), checked});
  }
  return out;
}

CorpusEvaluator::CorpusEvaluator(std::vector<Member> members, FitnessSpec spec)
    : CandidateEvaluator(spec), members_(std::move(members)) {}

namespace {

// A corpus candidate is canceled if any module's evaluation was: the others
// say nothing about the whole.
int severity(engine::EvalStatus s) {
  if (s == engine::EvalStatus::Canceled) return 2;
  return s == engine::EvalStatus::Ok ? 0 : 1;
}

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

ScoredCandidate CorpusEvaluator::combine(const std::vector<engine::EvalResult>& results,
                                         const std::vector<Member>& members,
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
    const double ref_bytes =
        static_cast<double>(std::max<std::uint64_t>(1, members[m].reference.total_bytes));
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

std::vector<ScoredCandidate> CorpusEvaluator::scoreAll(
    const std::vector<pipeline::PipelineConfig>& configs, engine::Check check) {
  // Every module's engine works at the same time; each has its own workers.
  std::vector<std::vector<engine::EvalResult>> per_module(members_.size());
  std::vector<std::thread> threads;
  for (std::size_t m = 0; m < members_.size(); ++m) {
    threads.emplace_back(
        [&, m] { per_module[m] = members_[m].engine->evaluateBatch(configs, check); });
  }
  for (auto& t : threads) t.join();
  std::vector<ScoredCandidate> out;
  for (std::size_t i = 0; i < configs.size(); ++i) {
    std::vector<engine::EvalResult> results;
    bool failed = false, all_verified = true;
    for (std::size_t m = 0; m < members_.size(); ++m) {
      const engine::EvalResult& r = per_module[m][i];
      failed = failed || r.status != engine::EvalStatus::Ok;
      all_verified =
          all_verified && (r.verification.has_value() || !members_[m].engine->options().verify);
      results.push_back(r);
    }
    ScoredCandidate c = combine(results, members_, spec_);
    c.checked = failed || all_verified;
    out.push_back(std::move(c));
  }
  return out;
}

void CorpusEvaluator::cancel() {
  for (auto& member : members_) member.engine->cancelPending();
}

std::vector<engine::EvalResult> CorpusEvaluator::perModule(const pipeline::PipelineConfig& config) {
  std::vector<engine::EvalResult> results;
  for (const auto& member : members_) results.push_back(member.engine->evaluate(config));
  return results;
}

}  // namespace loom::problems
