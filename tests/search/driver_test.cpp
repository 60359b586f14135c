#include "loom/driver/driver.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "loom/driver/plot.hpp"
#include "loom/driver/progress.hpp"
#include "loom/support/files.hpp"
#include "loom/wasm/loader.hpp"
#include "support/test_support.hpp"

namespace loom::driver {
namespace {

RunOptions smallRun(const std::filesystem::path& module, const test::TempDir& dir,
                    unsigned generations) {
  RunOptions o;
  o.module = module;
  o.output = dir / "out.wasm";
  o.report = dir / "report.json";
  o.checkpoint = dir / "checkpoint.json";
  o.generations = generations;
  o.islands = 3;
  o.population = 8;
  o.migrate_every = 1;
  o.jobs = 2;
  o.seed = 42;
  o.quiet = true;
  o.max_phases = 96;
  o.fitness.objective = problems::Objective::Size;
  return o;
}

// What must be equal between two runs that should be the same run.
nlohmann::json essence(const nlohmann::json& report) {
  nlohmann::json e;
  e["best_config"] = report["best"]["config"];
  e["best_bytes"] = report["best"]["total_bytes"];
  for (const auto& island : report["islands"]) {
    nlohmann::json h = island["history"];
    for (auto& point : h)
      point.erase("evaluations");  // memo hits differ between a run and its resumption
    e["histories"].push_back(h);
  }
  e["migrations"] = report["migrations"];
  return e;
}

std::uint64_t bestVerifiedBaseline(const nlohmann::json& report) {
  std::uint64_t best = UINT64_MAX;
  for (const auto& [name, b] : report["baselines"].items()) {
    if (b["verified"].get<bool>()) best = std::min(best, b["total_bytes"].get<std::uint64_t>());
  }
  return best;
}

TEST(Search, EndToEndGivesAVerifiedModuleNoWorseThanAnyBaseline) {
  test::TempDir dir;
  const auto module = test::fixtureBinary("helpers");
  const RunOutcome outcome = runSearch(smallRun(module, dir, 3));
  ASSERT_EQ(outcome.exit_code, 0);
  const auto& report = outcome.report;
  ASSERT_TRUE(report["best"].is_object());
  EXPECT_TRUE(report["best"]["verified"].get<bool>());
  EXPECT_EQ(report["best"]["verification"]["overall"], "proved");
  EXPECT_LE(report["best"]["total_bytes"].get<std::uint64_t>(), bestVerifiedBaseline(report));
  for (const char* name : {"loom", "O", "Os", "Oz", "O3", "O4"})
    EXPECT_TRUE(report["baselines"].contains(name)) << name;
  EXPECT_GT(report["evaluations"].get<std::uint64_t>(), 0u);
  EXPECT_GT(report["evaluations_per_second"].get<double>(), 0.0);

  // The output is that module, and it validates.
  const wasm::Bytes out = support::readFile(dir / "out.wasm");
  EXPECT_EQ(out.size(), report["best"]["total_bytes"].get<std::uint64_t>());
  EXPECT_TRUE(wasm::loadModuleFile(dir / "out.wasm").module.validate());

  // The wasm-opt argument list reproduces it with the wasm-opt tool.
  ASSERT_TRUE(report["best"]["wasm_opt_args"].is_array());
  const auto args = report["best"]["wasm_opt_args"].get<std::vector<std::string>>();
  EXPECT_EQ(test::runWasmOpt(module, args), out);
  // The report on disk is the one returned.
  EXPECT_EQ(nlohmann::json::parse(support::readTextFile(dir / "report.json")), report);
}

// Baselines are screened like candidates: only those measured no larger than
// the verified -Oz are verified, and the answer is still no larger than any.
TEST(Search, BaselinesMeasuredAboveOzAreNotVerified) {
  test::TempDir dir;
  const RunOutcome outcome = runSearch(smallRun(test::fixtureBinary("helpers"), dir, 0));
  ASSERT_EQ(outcome.exit_code, 0);
  const auto& baselines = outcome.report["baselines"];
  ASSERT_TRUE(baselines["Oz"]["verified"].get<bool>());
  const auto oz_bytes = baselines["Oz"]["total_bytes"].get<std::uint64_t>();
  unsigned screened = 0;
  for (const auto& [name, b] : baselines.items()) {
    if (name == "input") continue;  // measured before the screen, as every ratio's denominator
    const auto bytes = b["total_bytes"].get<std::uint64_t>();
    if (b["screened"].get<bool>()) {
      ++screened;
      EXPECT_GT(bytes, oz_bytes) << name;
      EXPECT_TRUE(b["verification"].is_null()) << name;
      EXPECT_FALSE(b["verified"].get<bool>()) << name;
    } else {
      EXPECT_TRUE(b["verification"].is_object()) << name;
    }
    EXPECT_LE(outcome.report["best"]["total_bytes"].get<std::uint64_t>(), bytes) << name;
  }
  EXPECT_GT(screened, 0u);
}

// Evolution, not just seeding: on `floats` it finds a verified module smaller
// than every built-in pipeline's (every built-in writes 793 bytes there;
// bench/evolve-table records what 50 generations reach).
TEST(Search, EvolutionBeatsEveryBuiltinOnFloats) {
  test::TempDir dir;
  RunOptions o = smallRun(test::fixtureBinary("floats"), dir, 8);
  const RunOutcome outcome = runSearch(o);
  ASSERT_EQ(outcome.exit_code, 0);
  const auto& report = outcome.report;
  std::uint64_t best_builtin = UINT64_MAX;
  for (const char* name : {"loom", "O", "Os", "Oz", "O3", "O4"}) {
    best_builtin =
        std::min(best_builtin, report["baselines"][name]["total_bytes"].get<std::uint64_t>());
  }
  EXPECT_TRUE(report["best"]["verified"].get<bool>());
  EXPECT_LT(report["best"]["total_bytes"].get<std::uint64_t>(), best_builtin)
      << report["best"]["phases"].dump();
  EXPECT_TRUE(report["best"]["found_by"].is_number())
      << "found by " << report["best"]["found_by"];  // an island, not a baseline
}

TEST(Search, ZeroGenerationsRunsOnlyTheSeeds) {
  test::TempDir dir;
  const RunOutcome outcome = runSearch(smallRun(test::fixtureBinary("strings"), dir, 0));
  ASSERT_EQ(outcome.exit_code, 0);
  EXPECT_EQ(outcome.report["generations"], 0);
  for (const auto& island : outcome.report["islands"]) EXPECT_EQ(island["history"].size(), 1u);
  EXPECT_LE(outcome.report["best"]["total_bytes"].get<std::uint64_t>(),
            bestVerifiedBaseline(outcome.report));
}

// --time-budget ends the set-up too: with the time spent before the first
// verification, the run ends at once after its set-up, with no generation,
// and still writes a verified answer no larger than the input.
TEST(Search, ATimeBudgetSpentInTheSetUpEndsTheRunWithAVerifiedAnswer) {
  test::TempDir dir;
  const auto module = test::fixtureBinary("strings");
  RunOptions o = smallRun(module, dir, 50);
  o.time_budget_seconds = 0.001;
  const RunOutcome outcome = runSearch(o);
  ASSERT_EQ(outcome.exit_code, 0);
  EXPECT_EQ(outcome.report["generations"], 0);
  const auto written = support::readFile(dir / "out.wasm");
  EXPECT_LE(written.size(), support::readFile(module).size());
  const auto& oz = outcome.report["baselines"]["Oz"];
  EXPECT_TRUE(oz["verified"].get<bool>()) << oz.dump();
  EXPECT_TRUE(oz["cut_short"].get<bool>()) << "the set-up's -Oz was not cut: " << oz.dump();
  // Past the deadline the other built-ins and the seeds are not evaluated at all.
  EXPECT_EQ(outcome.report["baselines"]["O3"]["status"], "canceled")
      << outcome.report["baselines"]["O3"].dump();
  for (const auto& island : outcome.report["islands"])
    EXPECT_TRUE(island["history"][0]["best_objective"].is_null()) << island["history"].dump();
}

// The set-up's status line: the stage, where the verification furthest
// behind is, the time so far, and what is left (never more than the time
// budget allows).
TEST(SetupStatusLine, NamesTheStepTheFunctionAndTheTimeLeft) {
  using namespace std::chrono_literals;
  const auto now = std::chrono::steady_clock::now();
  std::FILE* sink = std::tmpfile();
  ASSERT_NE(sink, nullptr);
  Progress progress(Progress::Mode::Lines, sink);
  SetupStatus status(progress, now - 40s, now + 30s);
  status.stage("set-up: verifying -Oz's output");
  status.onProgress({0, engine::StepProgress{30, 40, "vacuum", 1, 4}});
  status.onProgress({1, engine::StepProgress{10, 40, "dce", 5, 10}});
  const std::string line = status.line(std::chrono::steady_clock::now());
  EXPECT_NE(line.find("set-up: verifying -Oz's output"), std::string::npos) << line;
  EXPECT_NE(line.find("step 10/40 dce, function 5/10"), std::string::npos) << line;
  EXPECT_NE(line.find("00:40 elapsed"), std::string::npos) << line;
  EXPECT_NE(line.find("about 00:"), std::string::npos) << line;  // at most the 30 s left

  SetupStatus unbounded(progress, now, std::chrono::steady_clock::time_point::max());
  unbounded.stage("set-up: measuring");
  EXPECT_EQ(unbounded.line(now).find("left"), std::string::npos) << "nothing to estimate from";
  std::fclose(sink);
}

TEST(Search, SameSeedSameResultWhateverTheWorkerCount) {
  test::TempDir a, b;
  RunOptions first = smallRun(test::fixtureBinary("arith"), a, 3);
  RunOptions second = smallRun(test::fixtureBinary("arith"), b, 3);
  first.jobs = 1;
  second.jobs = 3;
  EXPECT_EQ(essence(runSearch(first).report), essence(runSearch(second).report));
}

TEST(Search, ResumingAfterAnInterruptionGivesTheUninterruptedResult) {
  test::TempDir straight, split;
  const auto module = test::fixtureBinary("loops");
  const nlohmann::json expected = essence(runSearch(smallRun(module, straight, 4)).report);

  RunOptions part = smallRun(module, split, 2);
  runSearch(part);
  ASSERT_TRUE(std::filesystem::exists(split / "checkpoint.json"));
  RunOptions rest = part;
  rest.generations = 4;
  rest.resume = true;
  const RunOutcome resumed = runSearch(rest);
  EXPECT_EQ(resumed.report["generations"], 4);
  EXPECT_EQ(essence(resumed.report), expected);
}

TEST(Search, ResumeRefusesADifferentSearch) {
  test::TempDir dir;
  RunOptions o = smallRun(test::fixtureBinary("arith"), dir, 1);
  runSearch(o);
  o.resume = true;
  o.islands = 4;
  EXPECT_THROW(runSearch(o), std::exception);
}

TEST(Search, TopologyDecidesWhereMigrantsGo) {
  test::TempDir ring_dir, lonely_dir, free_dir;
  RunOptions ring = smallRun(test::fixtureBinary("arith"), ring_dir, 2);
  ring.topology = "ring";
  ring.migration_type = "broadcast";
  const auto ring_report = runSearch(ring).report;
  std::set<std::pair<int, int>> edges;
  for (const auto& m : ring_report["migrations"])
    edges.insert({m["from"].get<int>(), m["to"].get<int>()});
  for (const auto& [from, to] : edges)
    EXPECT_TRUE(to == (from + 1) % 3 || from == (to + 1) % 3) << from << "->" << to;

  RunOptions lonely = smallRun(test::fixtureBinary("arith"), lonely_dir, 2);
  lonely.topology = "unconnected";
  EXPECT_TRUE(runSearch(lonely).report["migrations"].empty());

  RunOptions free = smallRun(test::fixtureBinary("arith"), free_dir, 2);
  free.topology = "free:0-2";
  const nlohmann::json free_report = runSearch(free).report;  // a range-for would dangle
  for (const auto& m : free_report["migrations"]) {
    EXPECT_EQ(m["from"], 0);
    EXPECT_EQ(m["to"], 2);
  }
  RunOptions bad = free;
  bad.topology = "free:0-7";
  EXPECT_THROW(runSearch(bad), std::exception);
}

TEST(Search, ParetoModeReportsAFront) {
  test::TempDir dir;
  RunOptions o = smallRun(test::fixtureBinary("matmul"), dir, 2);
  o.fitness.objective = problems::Objective::Pareto;
  // The front is under test, not the proofs: a Pareto run verifies every
  // front member, and stepwise each of matmul's loop nests again at every
  // step (455 s here against 17 s end to end).
  o.stepwise = false;
  const auto report = runSearch(o).report;
  ASSERT_TRUE(report.contains("pareto_front"));
  EXPECT_FALSE(report["pareto_front"].empty());
  for (const auto& island : report["islands"]) EXPECT_EQ(island["algorithm"], "nsga2");
  double last_size = -1;
  for (const auto& p : report["pareto_front"]) {
    EXPECT_GT(p["size_ratio"].get<double>(), last_size);
    last_size = p["size_ratio"];
  }
  // The Pareto plot is in bytes and estimated cycles: the front's own.
  const PlotData plot = plotData(report, PlotKind::Pareto);
  ASSERT_FALSE(plot.series.empty());
  ASSERT_EQ(plot.series[0].points.size(), report["pareto_front"].size());
  for (std::size_t i = 0; i < plot.series[0].points.size(); ++i) {
    EXPECT_EQ(plot.series[0].points[i].first,
              report["pareto_front"][i]["total_bytes"].get<double>());
    EXPECT_EQ(plot.series[0].points[i].second, report["pareto_front"][i]["cycles"].get<double>());
  }
  EXPECT_NE(plot.xlabel.find("bytes"), std::string::npos);
  EXPECT_NE(plot.ylabel.find("cycles"), std::string::npos);
}

}  // namespace
}  // namespace loom::driver
