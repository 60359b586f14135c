#include "loom/engine/engine.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "loom/engine/evaluator.hpp"
#include "loom/pipeline/apply.hpp"
#include "loom/pipeline/builtins.hpp"
#include "loom/pipeline/phase.hpp"
#include "loom/verify/verifier.hpp"
#include "loom/wasm/loader.hpp"
#include "support/test_support.hpp"
#include "verify/verify_pair.hpp"

namespace loom::engine {
namespace {

using pipeline::PipelineConfig;

PipelineConfig phases(std::vector<std::string> names) {
  PipelineConfig c;
  c.phases = std::move(names);
  return c;
}

EngineOptions smallEngine(unsigned workers) {
  EngineOptions o;
  o.workers = workers;
  o.candidate_timeout = std::chrono::seconds(60);
  return o;
}

// Random pipelines from the searchable vocabulary, without the slow flatten.
std::vector<PipelineConfig> randomConfigs(std::size_t count, unsigned seed) {
  std::mt19937 random(seed);
  std::vector<std::string> names;
  for (std::size_t i : pipeline::searchablePhaseIndices()) {
    const auto& p = pipeline::allPhases()[i];
    if (p.name != "flatten" && p.name != "ssa" && !p.passes.empty()) names.emplace_back(p.name);
  }
  std::vector<PipelineConfig> out;
  for (std::size_t k = 0; k < count; ++k) {
    PipelineConfig c;
    const std::size_t n = 3 + random() % 20;
    for (std::size_t i = 0; i < n; ++i) c.phases.push_back(names[random() % names.size()]);
    c.shrink_level = static_cast<int>(random() % 3);
    out.push_back(std::move(c));
  }
  return out;
}

class FaultInjection : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv("LOOM_TEST_PHASES", "1", 1); }
  void TearDown() override { ::unsetenv("LOOM_TEST_PHASES"); }
};

// The workers of `parent` that have not exited, from /proc.
std::vector<pid_t> runningChildrenOf(pid_t parent) {
  std::vector<pid_t> pids;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')');  // comm may hold spaces
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state = 0;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent && state != 'Z') pids.push_back(static_cast<pid_t>(std::stoi(name)));
  }
  return pids;
}

bool isRunning(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

// An engine killed while its worker is inside a candidate (here one that never
// ends): the worker leaves too instead of computing for nobody.
TEST_F(FaultInjection, WorkersLeaveWhenTheirEngineIsKilled) {
  using namespace std::chrono_literals;
  const auto source = wasm::probeModuleFile(test::fixturePath("helpers"));
  const pid_t engine_process = ::fork();
  ASSERT_GE(engine_process, 0);
  if (engine_process == 0) {
    EngineOptions options = smallEngine(1);
    options.candidate_timeout = 600s;
    Engine engine(source, options);
    engine.evaluate(phases({"test-hang"}));
    ::_exit(0);
  }
  std::vector<pid_t> workers;
  for (int i = 0; i < 100 && workers.empty(); ++i) {
    std::this_thread::sleep_for(100ms);
    workers = runningChildrenOf(engine_process);
  }
  ASSERT_EQ(workers.size(), 1u);
  std::this_thread::sleep_for(1s);  // the worker is in the hanging candidate by now
  ::kill(engine_process, SIGKILL);
  ::waitpid(engine_process, nullptr, 0);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (isRunning(workers[0]) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(isRunning(workers[0]));
  if (isRunning(workers[0])) ::kill(workers[0], SIGKILL);
}

TEST_F(FaultInjection, CrashHangAndOutOfMemoryFailOnlyTheirCandidate) {
  const auto source = wasm::probeModuleFile(test::fixturePath("helpers"));
  EngineOptions options = smallEngine(2);
  // Long enough for test-oom to reach the memory limit on a loaded machine
  // (it took over 3 s in CI next to the soundness test).
  options.candidate_timeout = std::chrono::seconds(10);
  options.memory_limit_bytes = 768ull << 20;
  Engine engine(source, options);

  const auto results = engine.evaluateBatch({phases({"dce", "test-abort"}), phases({"test-exit"}),
                                             phases({"vacuum", "test-hang"}), phases({"test-oom"}),
                                             *pipeline::builtinConfig("Oz")});
  ASSERT_EQ(results.size(), 5u);
  EXPECT_EQ(results[0].status, EvalStatus::Crashed) << results[0].reason;
  EXPECT_NE(results[0].reason.find("signal 6"), std::string::npos) << results[0].reason;
  EXPECT_EQ(results[1].status, EvalStatus::Crashed) << results[1].reason;
  EXPECT_NE(results[1].reason.find("exit code 1"), std::string::npos) << results[1].reason;
  EXPECT_EQ(results[2].status, EvalStatus::TimedOut) << results[2].reason;
  EXPECT_EQ(results[3].status, EvalStatus::OutOfMemory) << results[3].reason;
  // The run goes on: the last candidate ran in a replacement worker.
  EXPECT_EQ(results[4].status, EvalStatus::Ok) << results[4].reason;
  EXPECT_TRUE(results[4].verified(false)) << results[4].toJson().dump();

  const EngineCounters c = engine.counters();
  EXPECT_EQ(c.by_status.at("crashed"), 2u);
  EXPECT_EQ(c.by_status.at("timed-out"), 1u);
  EXPECT_EQ(c.by_status.at("out-of-memory"), 1u);
  EXPECT_GE(c.pool.restarts, 4u);
  // And it still evaluates afterwards.
  EXPECT_EQ(engine.evaluate(*pipeline::builtinConfig("O3")).status, EvalStatus::Ok);
}

// Z3 does not always stop at its timeout: a candidate still running a grace
// period after the run's deadline is ended like a hung one, long before its
// own time limit, and says why.
TEST_F(FaultInjection, ACandidateStillRunningAfterTheDeadlineIsStopped) {
  using namespace std::chrono_literals;
  const auto source = wasm::probeModuleFile(test::fixturePath("helpers"));
  EngineOptions options = smallEngine(1);
  options.candidate_timeout = 600s;
  Engine engine(source, options);
  engine.setDeadline(std::chrono::steady_clock::now() + 1s, 1s);
  auto running =
      std::async(std::launch::async, [&] { return engine.evaluate(phases({"test-hang"})); });
  ASSERT_EQ(running.wait_for(120s), std::future_status::ready);
  const EvalResult r = running.get();
  EXPECT_EQ(r.status, EvalStatus::TimedOut) << r.reason;
  EXPECT_EQ(r.reason, "still running when the run's time was up");
}

// Cancellation is what makes time budgets hard: a candidate that would run
// for its whole time limit (here forever) ends at once, and so do the queued
// ones; nothing canceled is counted, memoized or reported, and the engine
// evaluates normally afterwards.
TEST_F(FaultInjection, CancelPendingEndsRunningAndQueuedCandidatesOnly) {
  using namespace std::chrono_literals;
  const auto source = wasm::probeModuleFile(test::fixturePath("helpers"));
  EngineOptions options = smallEngine(1);
  options.candidate_timeout = 600s;
  Engine engine(source, options);
  unsigned reported = 0;
  engine.setListener([&](const PipelineConfig&, const EvalResult&) { ++reported; });

  const PipelineConfig hang = phases({"test-hang"});
  const PipelineConfig queued = *pipeline::builtinConfig("Oz");  // one worker: waits behind `hang`
  auto running = std::async(std::launch::async, [&] { return engine.evaluate(hang); });
  for (int i = 0; i < 3000 && engine.counters().pool.jobs == 0; ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_EQ(engine.counters().pool.jobs, 1u);  // `hang` has the only worker
  auto waiting = std::async(std::launch::async, [&] { return engine.evaluate(queued); });
  std::this_thread::sleep_for(300ms);  // `queued` is in the queue by now
  engine.cancelPending();
  // Far below the 600 s the hanging candidate would otherwise be given.
  ASSERT_EQ(running.wait_for(60s), std::future_status::ready);
  ASSERT_EQ(waiting.wait_for(60s), std::future_status::ready);
  const EvalResult canceled_running = running.get(), canceled_waiting = waiting.get();
  EXPECT_EQ(canceled_running.status, EvalStatus::Canceled) << canceled_running.reason;
  EXPECT_EQ(canceled_waiting.status, EvalStatus::Canceled) << canceled_waiting.reason;
  EngineCounters c = engine.counters();
  EXPECT_EQ(c.canceled, 2u);
  EXPECT_EQ(c.evaluations, 0u);
  EXPECT_EQ(c.pool.canceled, 2u);
  EXPECT_EQ(c.pool.timeouts, 0u);
  EXPECT_EQ(c.pool.restarts, 0u);  // the killed worker's replacement is not a restart
  EXPECT_EQ(reported, 0u);

  // Not memoized: asked again, -Oz runs (in the replacement worker) and verifies.
  const EvalResult again = engine.evaluate(queued);
  EXPECT_EQ(again.status, EvalStatus::Ok) << again.reason;
  EXPECT_FALSE(again.memo_hit);
  EXPECT_TRUE(again.verified(false));
  // A cancellation ends only what was pending when it was asked for.
  engine.cancelPending();
  EXPECT_TRUE(engine.evaluate(queued).memo_hit);
  c = engine.counters();
  EXPECT_EQ(c.evaluations, 1u);
  EXPECT_EQ(c.canceled, 2u);
  EXPECT_EQ(reported, 1u);
}

TEST_F(FaultInjection, TestPhasesAreRejectedUnlessEnabled) {
  ::unsetenv("LOOM_TEST_PHASES");
  const auto source = wasm::probeModuleFile(test::fixturePath("helpers"));
  Engine engine(source, smallEngine(1));
  const EvalResult r = engine.evaluate(phases({"test-abort"}));
  EXPECT_EQ(r.status, EvalStatus::Failed);
  EXPECT_NE(r.reason.find("tests only"), std::string::npos) << r.reason;
}

TEST(Engine, MemoAnswersRepeatsWithTheSameResult) {
  const auto source = wasm::probeModuleFile(test::fixturePath("arith"));
  Engine engine(source, smallEngine(1));
  const EvalResult first = engine.evaluate(*pipeline::builtinConfig("Oz"));
  const EvalResult again = engine.evaluate(*pipeline::builtinConfig("Oz"));
  EXPECT_FALSE(first.memo_hit);
  EXPECT_TRUE(again.memo_hit);
  EXPECT_TRUE(sameOutcome(first, again));
  EXPECT_EQ(engine.counters().memo_hits, 1u);
  EXPECT_EQ(engine.counters().evaluations, 1u);
}

TEST(Engine, BatchKeepsOrderAndEvaluatesDuplicatesOnce) {
  const auto source = wasm::probeModuleFile(test::fixturePath("strings"));
  Engine engine(source, smallEngine(2));
  const auto oz = *pipeline::builtinConfig("Oz");
  const auto o3 = *pipeline::builtinConfig("O3");
  const auto results = engine.evaluateBatch({oz, o3, oz, phases({"dce"}), o3});
  ASSERT_EQ(results.size(), 5u);
  EXPECT_TRUE(sameOutcome(results[0], results[2]));
  EXPECT_TRUE(sameOutcome(results[1], results[4]));
  EXPECT_EQ(engine.counters().evaluations, 3u);
}

// Different pipelines often make the same bytes; their verification is the
// same, so it runs once. Only a measured candidate can be matched by its bytes.
TEST(Engine, VerifiesTheSameOutputBytesOnce) {
  const auto source = wasm::probeModuleFile(test::fixturePath("strings"));
  Engine engine(source, smallEngine(2));
  const auto once = phases({"dce"});
  const auto twice = phases({"dce", "dce"});
  const auto oz = *pipeline::builtinConfig("Oz");
  const auto measured = engine.evaluateBatch({once, twice, oz}, Check::MeasureOnly);
  ASSERT_FALSE(measured[0].output_hash.empty());
  ASSERT_EQ(measured[0].output_hash, measured[1].output_hash);
  ASSERT_NE(measured[0].output_hash, measured[2].output_hash);

  const EvalResult first = engine.evaluate(once);
  ASSERT_TRUE(first.verification.has_value());
  const auto runs = engine.counters().evaluations;
  const EvalResult second = engine.evaluate(twice);
  EXPECT_TRUE(second.memo_hit);
  EXPECT_TRUE(sameOutcome(first, second));
  EXPECT_EQ(engine.counters().evaluations, runs);
  EXPECT_EQ(engine.counters().output_hits, 1u);

  const EvalResult other = engine.evaluate(oz);  // other bytes: verified on its own
  EXPECT_FALSE(other.memo_hit);
  EXPECT_EQ(engine.counters().evaluations, runs + 1);
  EXPECT_EQ(engine.counters().output_hits, 1u);
}

TEST(Engine, ResultsDoNotDependOnTheNumberOfWorkers) {
  const auto source = wasm::probeModuleFile(test::fixturePath("sort"));
  const auto configs = randomConfigs(10, 11);
  Engine one(source, smallEngine(1));
  Engine three(source, smallEngine(3));
  const auto a = one.evaluateBatch(configs);
  const auto b = three.evaluateBatch(configs);
  for (std::size_t i = 0; i < configs.size(); ++i) {
    EXPECT_TRUE(sameOutcome(a[i], b[i])) << configs[i].canonicalText() << "\n"
                                         << a[i].toJson().dump() << "\n"
                                         << b[i].toJson().dump();
  }
}

TEST(Engine, ReturnsTheModuleWhenAskedAndItMatchesTheMetrics) {
  const auto source = wasm::probeModuleFile(test::fixturePath("crc32"));
  Engine engine(source, smallEngine(1));
  const EvalResult r = engine.evaluateWithModule(*pipeline::builtinConfig("Oz"));
  ASSERT_EQ(r.status, EvalStatus::Ok);
  EXPECT_EQ(r.module.size(), r.metrics.total_bytes);
  wasm::LoadedModule loaded = wasm::loadModuleFile(test::fixturePath("crc32"));
  EXPECT_EQ(r.module,
            pipeline::applyPipeline(loaded.module, *pipeline::builtinConfig("Oz")).writeBinary());
}

// A search keeps the best candidate's bytes from its verification instead of
// running it again: they must be the bytes verified, after repair (a module
// budget of 1 ms undoes steps, or reverts functions end to end), and only the
// call that ran it gets them.
TEST(Engine, AVerificationReturnsTheBytesItVerifiedAndTheMemoKeepsNone) {
  using namespace std::chrono_literals;
  const auto source = wasm::probeModuleFile(test::fixturePath("strings"));
  EngineOptions options = smallEngine(2);
  options.evaluator.verify_options.module_budget = 1ms;
  Engine engine(source, options);
  const PipelineConfig oz = *pipeline::builtinConfig("Oz");
  const EvalResult first = engine.evaluate(oz);
  ASSERT_TRUE(first.verified(false)) << first.toJson().dump();
  ASSERT_FALSE(first.repaired.empty() && first.reverted_steps.empty())
      << "1 ms reached every function";
  EXPECT_FALSE(first.memo_hit);
  EXPECT_EQ(first.module.size(), first.metrics.total_bytes);
  wasm::LoadedModule loaded = wasm::loadModuleFile(test::fixturePath("strings"));
  EXPECT_NE(first.module, pipeline::applyPipeline(loaded.module, oz).writeBinary());
  // As `loom-evolve verify` would check it: the fixture has no names section.
  const wasm::Module shipped = wasm::instantiate(wasm::probeModule("shipped", first.module));
  verify::VerifyOptions by_export;
  by_export.match_by_export = true;
  const verify::ModuleVerdict again = verify::Verifier(loaded.module, by_export).verify(shipped);
  EXPECT_EQ(again.overall(), verify::Verdict::Proved) << verify::describeVerdict(again);

  const EvalResult memo = engine.evaluate(oz);
  EXPECT_TRUE(memo.memo_hit);
  EXPECT_TRUE(memo.module.empty());
  const std::vector<EvalResult> batch = engine.evaluateBatch({oz, phases({"vacuum"})});
  EXPECT_TRUE(batch[0].memo_hit);
  EXPECT_TRUE(batch[0].module.empty());
  ASSERT_TRUE(batch[1].verified(false)) << batch[1].toJson().dump();
  EXPECT_EQ(batch[1].module, engine.evaluateWithModule(phases({"vacuum"})).module);
  EXPECT_TRUE(engine.evaluate(phases({"dce"}), Check::MeasureOnly).module.empty());
}

// Functions kept original (those -Oz's output cannot verify) cost nothing
// where the pipeline changed nothing: the input comes out byte for byte.
TEST(Engine, FunctionsKeptOriginalLeaveUnchangedBytesAlone) {
  const auto source = wasm::probeModuleFile(test::fixturePath("helpers"));
  const wasm::LoadedModule loaded = wasm::loadModuleFile(test::fixturePath("helpers"));
  std::vector<std::string> defined;
  for (BinaryenIndex i = 0; i < BinaryenGetNumFunctions(loaded.module.get()); ++i) {
    BinaryenFunctionRef f = BinaryenGetFunctionByIndex(loaded.module.get(), i);
    if (BinaryenFunctionGetBody(f)) defined.emplace_back(BinaryenFunctionGetName(f));
  }
  ASSERT_GE(defined.size(), 3u);
  Engine plain(source, smallEngine(1));
  const EvalResult input = plain.evaluate(PipelineConfig{}, Check::MeasureOnly);
  ASSERT_EQ(input.status, EvalStatus::Ok) << input.reason;

  Engine kept(source, smallEngine(1));
  kept.keepOriginal({defined.front(), defined[defined.size() / 2]});
  const EvalResult r = kept.evaluate(PipelineConfig{}, Check::MeasureOnly);
  ASSERT_EQ(r.status, EvalStatus::Ok) << r.reason;
  EXPECT_EQ(r.metrics.total_bytes, input.metrics.total_bytes);
  EXPECT_EQ(r.output_hash, input.output_hash);
}

// The prefix cache must be invisible: resuming from a snapshot gives what a
// fresh evaluation gives.
TEST(Evaluator, PrefixCacheGivesTheSameResultsAsFreshEvaluation) {
  const auto source = wasm::probeModuleFile(test::fixturePath("matmul"));
  EvaluatorOptions cached_options;
  cached_options.prefix_stride = 2;
  Evaluator cached(source, cached_options);
  const auto base = *pipeline::builtinConfig("Oz");
  std::vector<PipelineConfig> family;
  for (std::size_t cut : {10u, 20u, 30u, 40u}) {
    PipelineConfig c = base;
    c.phases.resize(cut);
    c.phases.insert(c.phases.end(),
                    {"inlining-optimizing", "vacuum", "remove-unused-module-elements"});
    family.push_back(c);
  }
  family.push_back(base);
  std::uint32_t reused = 0;
  for (const auto& c : family) {
    const EvalResult warm = cached.evaluate(c, true, true);
    EvaluatorOptions fresh_options;
    fresh_options.prefix_stride = 0;
    Evaluator fresh(source, fresh_options);
    const EvalResult cold = fresh.evaluate(c, true, true);
    EXPECT_TRUE(sameOutcome(warm, cold)) << c.canonicalText();
    EXPECT_EQ(warm.module, cold.module);
    reused += warm.phases_reused;
  }
  EXPECT_GT(reused, 0u);
  EXPECT_GT(cached.prefixStats().hits, 0u);
}

TEST(Evaluator, ReportsInvalidPipelinesAsFailures) {
  const auto source = wasm::probeModuleFile(test::fixturePath("arith"));
  Evaluator evaluator(source, {});
  PipelineConfig bad;
  bad.phases = {"no-such-phase"};
  const EvalResult r = evaluator.evaluate(bad, true, false);
  EXPECT_EQ(r.status, EvalStatus::Failed);
  EXPECT_NE(r.reason.find("no-such-phase"), std::string::npos);
}

// licm.wat names its mutable globals; Binaryen's module copy forgets that
// the names were explicit, so a candidate's written form names them by index.
// The original must be seen the same way, or correct candidates that touch a
// named global are refuted (docs/fuzzing.md, finding 2).
TEST(Evaluator, CandidatesTouchingNamedGlobalsVerify) {
  const auto source = wasm::probeModuleFile(test::fixturePath("licm"));
  Evaluator evaluator(source, {});
  for (const char* name : {"O", "Oz", "O3"}) {
    const EvalResult r = evaluator.evaluate(*pipeline::builtinConfig(name), true, false);
    ASSERT_EQ(r.status, EvalStatus::Ok) << r.reason;
    ASSERT_TRUE(r.verification.has_value());
    EXPECT_EQ(r.verification->refuted, 0u) << name << ": " << r.verification->first_problem;
    EXPECT_TRUE(r.verified(false)) << name << ": " << r.toJson().dump();
  }
}

// Three zero-initialized globals without names, the first written and never
// read: simplify-globals drops it, and the written form then calls the other
// two "global$0" and "global$1". Aligned in order they would look like the
// first two; the engine knows which they are, and the output verifies as it
// is, with no function put back.
TEST(Evaluator, RemovedUnnamedGlobalsKeepTheirIdentity) {
  const test::TempDir dir;
  const wasm::Module text = wasm::Module::parseTextTrusted(R"((module
  (global (mut i32) (i32.const 0))
  (global (mut i32) (i32.const 0))
  (global (mut i32) (i32.const 0))
  (func (export "touch") (param i32) (global.set 0 (local.get 0)))
  (func (export "bumpA") (result i32)
    (global.set 1 (i32.add (global.get 1) (i32.const 1))) (global.get 1))
  (func (export "bumpB") (result i32)
    (global.set 2 (i32.add (global.get 2) (i32.const 2))) (global.get 2))))");
  const wasm::Bytes bytes = text.writeBinary();
  std::ofstream(dir / "globals.wasm", std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  Evaluator evaluator(wasm::probeModuleFile(dir / "globals.wasm"), {});
  const EvalResult r =
      evaluator.evaluate(phases({"simplify-globals", "remove-unused-module-elements"}), true, true);
  ASSERT_EQ(r.status, EvalStatus::Ok) << r.reason;
  ASSERT_TRUE(r.verification.has_value());
  EXPECT_EQ(r.verification->overall, verify::Verdict::Proved) << r.toJson().dump();
  EXPECT_TRUE(r.repaired.empty()) << r.toJson().dump();
  EXPECT_LT(r.metrics.total_bytes, bytes.size());  // the global is gone
}

// A warm-up spreads one verification over every worker: the evaluation
// after it finds its verdicts ready and ends as it would have without it,
// and the warm-up itself is neither counted nor memoized.
TEST(Engine, AWarmUpLeavesTheVerdictsAndNothingElse) {
  const auto source = wasm::probeModuleFile(test::fixturePath("strings"));
  const PipelineConfig oz = *pipeline::builtinConfig("Oz");
  Engine cold(source, smallEngine(2));
  const EvalResult expected = cold.evaluate(oz);
  ASSERT_EQ(expected.status, EvalStatus::Ok) << expected.reason;
  ASSERT_TRUE(expected.stepwise.has_value());

  Engine engine(source, smallEngine(2));
  engine.warmUp(oz);
  EXPECT_EQ(engine.counters().evaluations, 0u);
  EXPECT_EQ(engine.counters().requests, 0u);
  const EvalResult r = engine.evaluate(oz);
  ASSERT_EQ(r.status, EvalStatus::Ok) << r.reason;
  EXPECT_FALSE(r.memo_hit);
  EXPECT_EQ(r.output_hash, expected.output_hash);
  EXPECT_EQ(r.reverted_steps.size(), expected.reverted_steps.size());
  ASSERT_TRUE(r.stepwise.has_value());
  EXPECT_GT(expected.stepwise->proved_by_solver, 0u);
  EXPECT_LT(r.stepwise->proved_by_solver, expected.stepwise->proved_by_solver)
      << r.stepwise->toJson().dump();
  EXPECT_EQ(engine.counters().evaluations, 1u);
}

// A run's deadline (--time-budget) ends a verification where it is: what it
// proved by then is kept, the steps left are not run, the result says it was
// cut short, and it is still verified and never larger than the input. The
// same pipeline without a deadline is not cut short.
TEST(Engine, ADeadlineEndsTheVerificationWithWhatItProved) {
  const auto source = wasm::probeModuleFile(test::fixturePath("strings"));
  const PipelineConfig oz = *pipeline::builtinConfig("Oz");
  Engine free_engine(source, smallEngine(1));
  const EvalResult full = free_engine.evaluate(oz);
  ASSERT_EQ(full.status, EvalStatus::Ok) << full.reason;
  EXPECT_FALSE(full.cut_short);

  Engine engine(source, smallEngine(1));
  engine.setDeadline(std::chrono::steady_clock::now());
  const EvalResult r = engine.evaluate(oz);
  ASSERT_EQ(r.status, EvalStatus::Ok) << r.reason;
  EXPECT_TRUE(r.cut_short);
  EXPECT_TRUE(r.verified(false)) << r.toJson().dump();
  EXPECT_LE(r.metrics.total_bytes, source.bytes.size());
  EXPECT_GT(r.metrics.total_bytes, full.metrics.total_bytes);
  bool said = false;
  for (const auto& step : r.reverted_steps)
    said = said || step.reason == "not run: the time allowed has run out";
  EXPECT_TRUE(said) << r.toJson().dump();
  EXPECT_TRUE(EvalResult::fromJson(r.toJson()).cut_short);
}

// Workers say where a stepwise verification is while it runs: the steps
// come in order within the pipeline's length (its phases and the write),
// and a listener removed hears nothing more.
TEST(Engine, ProgressNamesTheStepsOfTheVerificationRunning) {
  const auto source = wasm::probeModuleFile(test::fixturePath("strings"));
  const PipelineConfig oz = *pipeline::builtinConfig("Oz");
  Engine engine(source, smallEngine(1));
  std::mutex mutex;
  std::vector<StepProgress> heard;
  engine.setProgressListener([&](const Engine::Progress& p) {
    std::lock_guard lock(mutex);
    heard.push_back(p.step);
  });
  ASSERT_EQ(engine.evaluate(oz).status, EvalStatus::Ok);
  engine.setProgressListener({});
  std::size_t before = 0;
  {
    std::lock_guard lock(mutex);
    ASSERT_FALSE(heard.empty());
    for (std::size_t i = 0; i < heard.size(); ++i) {
      EXPECT_EQ(heard[i].steps, oz.phases.size() + 1);
      EXPECT_GE(heard[i].step, 1u);
      EXPECT_LE(heard[i].step, heard[i].steps);
      EXPECT_LE(heard[i].decided, heard[i].changed);
      EXPECT_FALSE(heard[i].phase.empty());
      if (i > 0) {
        EXPECT_GE(heard[i].step, heard[i - 1].step);
      }
    }
    before = heard.size();
  }
  ASSERT_EQ(engine.evaluate(*pipeline::builtinConfig("Os")).status, EvalStatus::Ok);
  std::lock_guard lock(mutex);
  EXPECT_EQ(heard.size(), before);
}

// With a module budget too small for the whole module, the functions it
// does not reach keep their original bodies and the candidate still ships
// verified: never larger than the input, never smaller than with the budget
// to verify everything.
TEST(Evaluator, AModuleBudgetLeavesTheRestOriginalAndVerified) {
  using namespace std::chrono_literals;
  const auto source = wasm::probeModuleFile(test::fixturePath("strings"));
  const pipeline::PipelineConfig oz = *pipeline::builtinConfig("Oz");
  for (bool stepwise : {true, false}) {
    SCOPED_TRACE(stepwise ? "stepwise" : "end to end");
    EvaluatorOptions options;
    options.stepwise = stepwise;
    Evaluator unlimited(source, options);
    const EvalResult full = unlimited.evaluate(oz, true, false);
    ASSERT_EQ(full.status, EvalStatus::Ok) << full.reason;
    ASSERT_TRUE(full.verified(false)) << full.toJson().dump();

    options.verify_options.module_budget = 1ms;
    Evaluator limited(source, options);
    const EvalResult r = limited.evaluate(oz, true, false);
    ASSERT_EQ(r.status, EvalStatus::Ok) << r.reason;
    EXPECT_TRUE(r.verified(false)) << r.toJson().dump();
    // End to end the functions not reached keep their original bodies; stepwise
    // the steps not reached are not run.
    EXPECT_FALSE((stepwise ? r.reverted_steps.size() : r.repaired.size()) == 0)
        << "1 ms reached every function: " << r.toJson().dump();
    EXPECT_GE(r.metrics.total_bytes, full.metrics.total_bytes);
    EXPECT_LE(r.metrics.total_bytes, source.bytes.size());
  }
}

// Past Z3's memory limit (per process; workers set it) every check of the
// process fails: the candidate ends out of memory, so that its worker makes
// way for a fresh one, instead of a repair that could only fail the same way.
TEST(Evaluator, Z3OutOfMemoryEndsTheCandidateOutOfMemory) {
  EXPECT_EXIT(
      {
        const auto source = wasm::probeModuleFile(test::fixturePath("strings"));
        Evaluator evaluator(source, {});
        verify::limitSolverMemory(1);
        const EvalResult r = evaluator.evaluate(*pipeline::builtinConfig("Oz"), true, false);
        const bool ok = r.status == EvalStatus::OutOfMemory &&
                        r.reason.find("Z3 reached its memory limit") != std::string::npos;
        std::_Exit(ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(EvalResult, JsonRoundTrip) {
  EvalResult r;
  r.status = EvalStatus::Ok;
  r.metrics = {100, 60, 40, 123.5, 3};
  VerificationSummary v;
  v.overall = verify::Verdict::Bounded;
  v.proved = 2;
  v.bounded = 1;
  v.first_problem = "f: bounded";
  r.verification = v;
  r.output_hash = "00112233445566778899aabbccddeeff";
  const EvalResult back = EvalResult::fromJson(r.toJson());
  EXPECT_TRUE(sameOutcome(r, back));
  EXPECT_EQ(back.output_hash, r.output_hash);
  EXPECT_TRUE(back.verified(true));
  EXPECT_FALSE(back.verified(false));
}

}  // namespace
}  // namespace loom::engine

namespace loom::engine {
namespace {

// Verifying a candidate may take the solver's budget for every function, so
// the default time limit grows with the module instead of cutting
// verification of large modules short.
TEST(EngineOptionsTest, DefaultCandidateTimeLimitScalesWithTheFunctions) {
  using namespace std::chrono_literals;
  EXPECT_EQ(autoCandidateTimeout(0, 3000ms, 0ms, true), 120s);
  EXPECT_EQ(autoCandidateTimeout(10, 3000ms, 0ms, true), 120s + 10 * 18s);
  EXPECT_EQ(autoCandidateTimeout(10, 3000ms, 0ms, false), 120s);
  EXPECT_EQ(autoCandidateTimeout(100000, 3000ms, 0ms, true), 2h);
  // A module budget bounds what verification can take, however many functions.
  EXPECT_EQ(autoCandidateTimeout(10, 3000ms, 600s, true), 120s + 10 * 18s);
  EXPECT_EQ(autoCandidateTimeout(100000, 3000ms, 60s, true), 120s + 2 * 3 * 63s);

  const auto source = wasm::probeModuleFile(test::fixturePath("helpers"));
  EngineOptions options;
  options.workers = 1;
  Engine engine(source, options);
  EXPECT_GT(engine.options().candidate_timeout, 120s);  // helpers defines functions, none imported
  EXPECT_EQ((engine.options().candidate_timeout - 120s) %
                (2 * 3 * options.evaluator.verify_options.function_timeout),
            0ms);
}

}  // namespace
}  // namespace loom::engine
