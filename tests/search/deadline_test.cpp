// A time budget and a signal end a search mid-generation: the evaluations in
// progress are canceled, not waited for. The candidates here never finish
// (every pipeline ends in the test-only pass that hangs), so a search that
// waited for its generation would run into the 600 s candidate limit.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "driver/archipelago.hpp"
#include "loom/engine/engine.hpp"
#include "loom/wasm/loader.hpp"
#include "problems/candidate_evaluator.hpp"
#include "support/test_support.hpp"

namespace loom::driver {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The real engine, with every pipeline ending in `test-hang` once armed.
class HangingEvaluator : public problems::ModuleEvaluator {
 public:
  using ModuleEvaluator::ModuleEvaluator;
  std::atomic<bool> armed{false};

 protected:
  std::vector<problems::ScoredCandidate> scoreAll(
      const std::vector<pipeline::PipelineConfig>& configs, engine::Check check) override {
    std::vector<pipeline::PipelineConfig> hanging = configs;
    if (armed.load()) {
      for (auto& c : hanging) c.phases.push_back("test-hang");
    }
    return ModuleEvaluator::scoreAll(hanging, check);
  }
};

class Deadline : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("LOOM_TEST_PHASES", "1", 1);
    const auto source = wasm::probeModuleFile(test::fixturePath("helpers"));
    engine::EngineOptions options;
    options.workers = 2;
    options.candidate_timeout = 600s;
    options.verify = false;  // the seeds only need to be measured
    engine_ = std::make_shared<engine::Engine>(source, options);
    const engine::EvalResult input = engine_->evaluate(pipeline::PipelineConfig{});
    ASSERT_EQ(input.status, engine::EvalStatus::Ok);
    context_ = std::make_shared<problems::SearchContext>();
    context_->layout = problems::GenomeLayout(24);
    evaluator_ = std::make_shared<HangingEvaluator>(engine_, input.metrics, context_->spec);
    context_->evaluator = evaluator_;
    context_->on_evaluated = [this](const problems::EvaluatedCandidate&) { ++reported_; };
    ArchipelagoSettings settings;
    settings.islands = 2;
    settings.population = 4;
    archipelago_ = std::make_unique<Archipelago>(settings, context_);
    archipelago_->seed();
    evaluations_before_ = engine_->counters().evaluations;
    reported_ = 0;
    evaluator_->armed = true;
  }
  void TearDown() override { ::unsetenv("LOOM_TEST_PHASES"); }

  std::shared_ptr<engine::Engine> engine_;
  std::shared_ptr<problems::SearchContext> context_;
  std::shared_ptr<HangingEvaluator> evaluator_;
  std::unique_ptr<Archipelago> archipelago_;
  std::uint64_t evaluations_before_ = 0;
  std::atomic<unsigned> reported_{0};
};

TEST_F(Deadline, EndsTheGenerationInProgress) {
  unsigned completed = 0;
  const auto started = Clock::now();
  const bool interrupted = archipelago_->evolve(1, 5, std::atomic<bool>{false}, started + 2s,
                                                [&](unsigned) { ++completed; });
  EXPECT_FALSE(interrupted);  // the budget ran out: a normal end
  EXPECT_LT(Clock::now() - started, 120s);
  EXPECT_EQ(completed, 0u);
  const engine::EngineCounters c = engine_->counters();
  EXPECT_GE(c.canceled, 1u);
  EXPECT_EQ(c.evaluations, evaluations_before_);
  EXPECT_EQ(reported_.load(), 0u);  // nothing canceled reaches the archive or the log
}

TEST_F(Deadline, ASignalEndsTheGenerationInProgress) {
  std::atomic<bool> stop{false};
  std::thread signal([&] {
    std::this_thread::sleep_for(1s);
    stop = true;
  });
  const auto started = Clock::now();
  const bool interrupted =
      archipelago_->evolve(1, 5, stop, Clock::time_point::max(), [](unsigned) {});
  signal.join();
  EXPECT_TRUE(interrupted);
  EXPECT_LT(Clock::now() - started, 120s);
  EXPECT_GE(engine_->counters().canceled, 1u);
  EXPECT_EQ(reported_.load(), 0u);
}

}  // namespace
}  // namespace loom::driver
