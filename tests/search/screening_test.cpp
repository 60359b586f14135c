// Measure first, verify only what could matter: the screen must never let an
// unverified candidate look feasible, and must verify whatever can win.
#include <gtest/gtest.h>

#include "loom/engine/engine.hpp"
#include "loom/pipeline/builtins.hpp"
#include "loom/wasm/loader.hpp"
#include "problems/candidate_evaluator.hpp"
#include "support/test_support.hpp"

namespace loom::problems {
namespace {

using pipeline::PipelineConfig;

struct Bench {
  std::shared_ptr<engine::Engine> engine;
  std::shared_ptr<ModuleEvaluator> evaluator;
};

Bench makeBench(const std::string& fixture, Objective objective) {
  const auto source = wasm::probeModuleFile(test::fixtureBinary(fixture));
  engine::EngineOptions options;
  options.workers = 2;
  auto engine = std::make_shared<engine::Engine>(source, options);
  const engine::EvalResult input = engine->evaluate(PipelineConfig{});
  EXPECT_EQ(input.status, engine::EvalStatus::Ok);
  FitnessSpec spec;
  spec.objective = objective;
  return {engine, std::make_shared<ModuleEvaluator>(engine, input.metrics, spec)};
}

TEST(Screening, CandidatesMeasuredAboveTheThresholdAreNotVerified) {
  const PipelineConfig oz = *pipeline::builtinConfig("Oz");
  // Other bytes than the input's (which is verified), yet larger than -Oz's.
  const PipelineConfig nothing_useful = [] {
    PipelineConfig c;
    c.phases = {"simplify-locals"};
    return c;
  }();

  // The objective -Oz reaches, from an engine of its own.
  const double oz_objective =
      makeBench("helpers", Objective::Size).evaluator->evaluate({oz}).front().score.objectives[0];

  Bench s = makeBench("helpers", Objective::Size);
  const auto scored = s.evaluator->evaluate({oz, nothing_useful}, oz_objective);
  ASSERT_EQ(scored.size(), 2u);

  // At the threshold: verified, and feasible.
  EXPECT_TRUE(scored[0].checked);
  ASSERT_TRUE(scored[0].result.verification.has_value());
  EXPECT_TRUE(scored[0].score.feasible());

  // Above it: measured, never verified, infeasible.
  ASSERT_EQ(scored[1].result.status, engine::EvalStatus::Ok);
  EXPECT_GT(scored[1].score.objectives[0], oz_objective);
  EXPECT_FALSE(scored[1].checked);
  EXPECT_FALSE(scored[1].result.verification.has_value());
  EXPECT_FALSE(scored[1].score.feasible());
  EXPECT_GT(scored[1].score.violation, 1.0);
  // Runs: the input, both measurements, and one verification (-Oz's).
  EXPECT_EQ(s.engine->counters().measured_only, 2u);
  EXPECT_EQ(s.engine->counters().evaluations, 4u);

  // Without a threshold the same candidate is verified, and the answer comes
  // from a new verified run, not from the measurement.
  const auto all = s.evaluator->evaluate({nothing_useful});
  EXPECT_TRUE(all[0].checked);
  EXPECT_TRUE(all[0].result.verification.has_value());
  EXPECT_FALSE(all[0].result.memo_hit);
  EXPECT_EQ(all[0].result.metrics, scored[1].result.metrics);
}

TEST(Screening, AMeasurementOfAVerifiedCandidateIsItsVerifiedResult) {
  Bench s = makeBench("arith", Objective::Size);
  const PipelineConfig o3 = *pipeline::builtinConfig("O3");
  const engine::EvalResult verified = s.engine->evaluate(o3);
  ASSERT_TRUE(verified.verification.has_value());
  const engine::EvalResult measured = s.engine->evaluate(o3, engine::Check::MeasureOnly);
  EXPECT_TRUE(measured.memo_hit);
  EXPECT_TRUE(engine::sameOutcome(verified, measured));
  EXPECT_EQ(s.engine->counters().measured_only, 0u);
}

TEST(Screening, ViolationGrowsWithTheDistanceToTheThreshold) {
  const double near = CandidateEvaluator::screenedViolation(1.01, 1.0);
  const double far = CandidateEvaluator::screenedViolation(1.30, 1.0);
  EXPECT_GT(near, 1.0);
  EXPECT_GT(far, near);
  // Negative objectives (never produced today) still order the same way.
  EXPECT_GT(CandidateEvaluator::screenedViolation(-0.5, -1.0),
            CandidateEvaluator::screenedViolation(-0.9, -1.0));
}

TEST(Screening, ParetoRunsVerifyEveryCandidate) {
  Bench s = makeBench("arith", Objective::Pareto);
  PipelineConfig dce;
  dce.phases = {"dce"};
  const auto scored = s.evaluator->evaluate({dce}, 0.0);
  EXPECT_TRUE(scored[0].checked);
  EXPECT_TRUE(scored[0].result.verification.has_value());
  EXPECT_EQ(s.engine->counters().measured_only, 0u);
}

}  // namespace
}  // namespace loom::problems
