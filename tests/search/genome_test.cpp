#include "problems/genome.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "loom/pipeline/builtins.hpp"
#include "loom/pipeline/phase.hpp"
#include "problems/fitness.hpp"

namespace loom::problems {
namespace {

TEST(Genome, BoundsAreIntegralAndCoverEveryGene) {
  const GenomeLayout layout(40);
  const auto [lo, hi] = layout.bounds();
  ASSERT_EQ(lo.size(), layout.dimension());
  ASSERT_EQ(hi.size(), layout.dimension());
  EXPECT_EQ(layout.dimension(), 40u + GenomeLayout::kSettingGenes);
  for (std::size_t i = 0; i < lo.size(); ++i) {
    EXPECT_EQ(lo[i], std::round(lo[i]));
    EXPECT_EQ(hi[i], std::round(hi[i]));
    EXPECT_LT(lo[i], hi[i]) << "gene " << i << " cannot vary";
  }
  EXPECT_EQ(hi[0], static_cast<double>(GenomeLayout::vocabulary().size()));
}

TEST(Genome, EveryBuiltinRoundTrips) {
  const GenomeLayout layout;
  for (const auto& b : pipeline::builtinConfigs()) {
    EXPECT_EQ(layout.decode(layout.encode(b.config)), b.config) << b.name;
  }
}

TEST(Genome, DecodesEverySettingGene) {
  const GenomeLayout layout(4);
  pagmo::vector_double x(layout.dimension(), 0.0);
  x[0] = 1;                                                       // first searchable phase
  x[2] = static_cast<double>(GenomeLayout::vocabulary().size());  // last one
  const std::size_t s = layout.maxPhases();
  x[s + 0] = 3;  // optimize level
  x[s + 1] = 2;  // shrink level
  x[s + 2] = 7;  // always-inline size
  x[s + 3] = 4;  // flexible-inline index -> 40
  x[s + 4] = 8;  // one-caller index -> unlimited
  x[s + 5] = 1;  // inline functions with loops
  x[s + 6] = 1;  // unroll innermost
  x[s + 7] = 2;  // factor index -> 4
  x[s + 8] = 3;  // body index -> 128
  const auto c = layout.decode(x);
  const auto vocab = GenomeLayout::vocabulary();
  ASSERT_EQ(c.phases.size(), 2u);
  EXPECT_EQ(c.phases[0], pipeline::allPhases()[vocab.front()].name);
  EXPECT_EQ(c.phases[1], pipeline::allPhases()[vocab.back()].name);
  EXPECT_EQ(c.optimize_level, 3);
  EXPECT_EQ(c.shrink_level, 2);
  EXPECT_EQ(c.inlining.always_inline_max_size, 7u);
  EXPECT_EQ(c.inlining.flexible_inline_max_size, 40u);
  EXPECT_EQ(c.inlining.one_caller_inline_max_size, UINT32_MAX);
  EXPECT_TRUE(c.inlining.allow_functions_with_loops);
  EXPECT_EQ(c.unroll.strategy, pipeline::UnrollStrategy::Innermost);
  EXPECT_EQ(c.unroll.factor, 4u);
  EXPECT_EQ(c.unroll.max_body_size, 128u);
}

TEST(Genome, RoundsAndClampsWhatContinuousAlgorithmsSend) {
  const GenomeLayout layout(3);
  pagmo::vector_double x(layout.dimension(), 0.0);
  x[0] = 0.4;                    // rounds to 0: skipped
  x[1] = 1.6;                    // rounds to 2
  x[2] = 1e9;                    // clamps to the last phase
  x[layout.maxPhases()] = -7.2;  // optimize level clamps to 0
  x[layout.maxPhases() + 1] = NAN;
  const auto c = layout.decode(x);
  ASSERT_EQ(c.phases.size(), 2u);
  EXPECT_EQ(c.phases[0], pipeline::allPhases()[GenomeLayout::vocabulary()[1]].name);
  EXPECT_EQ(c.optimize_level, 0);
  EXPECT_EQ(c.shrink_level, 0);
}

TEST(Genome, RejectsWhatItCannotHold) {
  const GenomeLayout layout(3);
  pipeline::PipelineConfig c;
  c.phases = {"dce", "dce", "dce", "dce"};
  EXPECT_THROW(layout.encode(c), std::invalid_argument);
  c.phases = {"test-abort"};
  EXPECT_THROW(layout.encode(c), std::invalid_argument);
  c.phases = {"dce"};
  c.inlining.flexible_inline_max_size = 33;
  EXPECT_THROW(layout.encode(c), std::invalid_argument);
  EXPECT_THROW(layout.decode(pagmo::vector_double(2, 0.0)), std::invalid_argument);
}

engine::EvalResult verifiedResult(std::uint64_t bytes, double cycles, verify::Verdict verdict) {
  engine::EvalResult r;
  r.status = engine::EvalStatus::Ok;
  r.metrics.total_bytes = bytes;
  r.metrics.cycles = cycles;
  engine::VerificationSummary v;
  v.overall = verdict;
  v.proved = verdict == verify::Verdict::Proved;
  v.bounded = verdict == verify::Verdict::Bounded;
  v.refuted = verdict == verify::Verdict::Refuted;
  v.unknown = verdict == verify::Verdict::Unknown;
  r.verification = v;
  return r;
}

TEST(Fitness, ConstraintIsSatisfiedOnlyByVerifiedCandidates) {
  const cost::Metrics input{1000, 800, 100, 200.0, 5};
  FitnessSpec spec;
  spec.objective = Objective::Weighted;
  spec.size_weight = 1;
  spec.cycles_weight = 0.5;
  const Score proved = score(verifiedResult(900, 100, verify::Verdict::Proved), input, spec);
  EXPECT_TRUE(proved.feasible());
  EXPECT_DOUBLE_EQ(proved.objectives[0], 0.9 + 0.5 * 0.5);
  EXPECT_EQ(constrainedFitness(proved).back(), 0.0);

  const Score refuted = score(verifiedResult(500, 50, verify::Verdict::Refuted), input, spec);
  EXPECT_FALSE(refuted.feasible());
  EXPECT_GE(constrainedFitness(refuted).back(), 1.0);
  // Penalized, an infeasible candidate is worse than any feasible one, however small.
  EXPECT_GT(penalizedFitness(refuted)[0], penalizedFitness(proved)[0]);

  const Score bounded = score(verifiedResult(900, 100, verify::Verdict::Bounded), input, spec);
  EXPECT_FALSE(bounded.feasible());
  spec.allow_bounded = true;
  EXPECT_TRUE(score(verifiedResult(900, 100, verify::Verdict::Bounded), input, spec).feasible());

  engine::EvalResult crashed;
  crashed.status = engine::EvalStatus::Crashed;
  const Score s = score(crashed, input, spec);
  EXPECT_FALSE(s.feasible());
  EXPECT_EQ(s.objectives[0], kFailedObjective);
}

TEST(Fitness, ParetoHasTwoObjectivesAndSizeBreaksTiesOnly) {
  const cost::Metrics input{1000, 800, 100, 200.0, 5};
  FitnessSpec pareto;
  pareto.objective = Objective::Pareto;
  const Score p = score(verifiedResult(500, 100, verify::Verdict::Proved), input, pareto);
  ASSERT_EQ(p.objectives.size(), 2u);
  EXPECT_DOUBLE_EQ(p.objectives[0], 0.5);
  EXPECT_DOUBLE_EQ(p.objectives[1], 0.5);
  FitnessSpec size;
  size.objective = Objective::Size;
  const Score small_slow = score(verifiedResult(500, 190, verify::Verdict::Proved), input, size);
  const Score big_fast = score(verifiedResult(501, 10, verify::Verdict::Proved), input, size);
  EXPECT_LT(small_slow.objectives[0], big_fast.objectives[0]);
  EXPECT_EQ(parseObjective("pareto"), Objective::Pareto);
  EXPECT_FALSE(parseObjective("speed").has_value());
}

}  // namespace
}  // namespace loom::problems
