// The learned model: it recovers effects planted in a synthetic log (and
// finds none where none was planted), it ranks held-out rows of a real
// search's log better than chance, and `loom-evolve learn` fails cleanly on
// bad input.
#include "loom/learn/model.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "loom/driver/driver.hpp"
#include "loom/driver/evaluation_log.hpp"
#include "loom/pipeline/builtins.hpp"
#include "loom/support/files.hpp"
#include "support/test_support.hpp"

namespace loom::learn {
namespace {

namespace fs = std::filesystem;

engine::EvalResult result(double bytes, double cycles,
                          verify::Verdict verdict = verify::Verdict::Proved) {
  engine::EvalResult r;
  r.status = engine::EvalStatus::Ok;
  r.metrics.total_bytes = static_cast<std::uint64_t>(std::llround(bytes));
  r.metrics.code_bytes = r.metrics.total_bytes / 2;
  r.metrics.cycles = cycles;
  r.verification = engine::VerificationSummary{};
  r.verification->overall = verdict;
  return r;
}

bool before(const pipeline::PipelineConfig& c, const std::string& a, const std::string& b) {
  const auto ia = std::find(c.phases.begin(), c.phases.end(), a);
  const auto ib = std::find(c.phases.begin(), c.phases.end(), b);
  return ia != c.phases.end() && ib != c.phases.end() && ia < ib;
}
bool has(const pipeline::PipelineConfig& c, const std::string& a) {
  return std::find(c.phases.begin(), c.phases.end(), a) != c.phases.end();
}

// The planted truth, as log(size) relative to the module's base size.
double planted(const pipeline::PipelineConfig& c) {
  double effect = 0;
  if (has(c, "precompute") && has(c, "vacuum"))
    effect += before(c, "precompute", "vacuum") ? -0.025 : 0.025;
  if (has(c, "flatten")) effect += std::log(1.10);
  return effect;
}

// A log written by the real EvaluationLog, where the truth is known:
// "precompute before vacuum" (rather than after) makes the output 5% smaller,
// "flatten" makes it 10% larger, nothing else matters (1% noise). Three
// modules of very different sizes; some refuted rows with absurd sizes and
// repeated configurations that must not count.
void writePlantedLog(const fs::path& path, std::size_t rows_per_module, std::uint64_t seed = 7) {
  driver::EvaluationLog log(path);
  const std::vector<std::string> pool = {
      "precompute", "vacuum",          "flatten",         "dce",           "licm", "code-folding",
      "cse",        "simplify-locals", "coalesce-locals", "reorder-locals"};
  const double bases[] = {1200, 48000, 310000};
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0, 0.01);
  std::uniform_int_distribution<int> level(0, 4), shrink(0, 2), length(3, 10),
      pick(0, static_cast<int>(pool.size()) - 1);
  for (int m = 0; m < 3; ++m) {
    const std::string sha = fmt::format("{:064x}", m + 1);
    const auto run = log.startRun("evolve", fmt::format("/planted/module{}.wasm", m), sha,
                                  nlohmann::json::object());
    // -Oz obeys the same truth (it contains precompute and vacuum too).
    const auto oz = *pipeline::builtinConfig("Oz");
    log.record(run, sha, oz, result(bases[m] * std::exp(planted(oz)), bases[m] * 3), -1, 0);
    for (std::size_t i = 0; i < rows_per_module; ++i) {
      pipeline::PipelineConfig c;
      const int n = length(rng);
      for (int k = 0; k < n; ++k) c.phases.push_back(pool[static_cast<std::size_t>(pick(rng))]);
      c.optimize_level = level(rng);
      c.shrink_level = shrink(rng);
      const double bytes = bases[m] * std::exp(planted(c) + noise(rng));
      log.record(run, sha, c, result(bytes, bases[m] * 3 * std::exp(noise(rng))), 0, 1);
      if (i % 10 == 0)
        log.record(run, sha, c, result(bytes, bases[m] * 3), 1, 2);  // the same configuration again
      if (i % 7 == 0) {
        c.phases.push_back("dce");
        log.record(run, sha, c, result(bases[m] * 100, 1, verify::Verdict::Refuted), 0, 1);
      }
    }
  }
  log.flush();
}

const Effect* findEffect(const Model& model, const std::string& label) {
  for (const auto& e : model.effects()) {
    if (e.label == label) return &e;
  }
  return nullptr;
}

TEST(LearnedModel, RecoversPlantedEffectsAndFindsNoneWhereNoneWasPlanted) {
  test::TempDir dir;
  writePlantedLog(dir / "planted.db", 200);
  const Dataset data = loadLog(dir / "planted.db");
  ASSERT_EQ(data.modules.size(), 3u);
  for (const auto& m : data.modules) {
    EXPECT_TRUE(m.has_oz) << m.name;
    EXPECT_EQ(m.rows, 201u)
        << m.name;  // -Oz and 200 others: repeats counted once, refuted rows ignored
    EXPECT_TRUE(m.name.starts_with("module")) << m.name;
  }
  // A small penalty: effects nearly unshrunk (600 rows, ~70 features).
  FitOptions small;
  small.lambda = 0.01;
  const Model model = Model::fit(data, small);

  // The planted precedence: 5% smaller, on every module, in the stated direction.
  const Effect* order = findEffect(model, "precompute before vacuum");
  ASSERT_NE(order, nullptr);
  EXPECT_NEAR(order->percent, -4.9, 1.0);
  EXPECT_EQ(order->modules_agree, 3u);
  EXPECT_EQ(order->modules_varying, 3u);
  // The planted presence effect: 10% larger.
  const Effect* flatten = findEffect(model, "flatten present");
  ASSERT_NE(flatten, nullptr);
  EXPECT_NEAR(flatten->percent, 10.0, 1.5);
  EXPECT_EQ(flatten->modules_agree, 3u);
  // They are the two strongest effects.
  ASSERT_GE(model.effects().size(), 2u);
  EXPECT_TRUE(model.effects()[0].label == "flatten present" ||
              model.effects()[1].label == "flatten present");

  // Controls: no planted effect, none found (well under the noise of one row).
  for (const char* label : {"dce present", "licm present", "cse present"}) {
    const Effect* e = findEffect(model, label);
    ASSERT_NE(e, nullptr) << label;
    EXPECT_LT(std::abs(e->percent), 0.6) << label;
  }
  for (const auto& e : model.effects()) {
    if (e.kind == FeatureKind::Setting) {
      EXPECT_LT(std::abs(e.percent), 0.8) << e.label;
    }
    if (e.kind == FeatureKind::Order && e.label.find("precompute") == std::string::npos &&
        e.label.find("vacuum") == std::string::npos) {
      EXPECT_LT(std::abs(e.percent), 1.0) << e.label;
    }
  }

  // predict ranks configurations by the planted truth.
  pipeline::PipelineConfig good, bad;
  good.phases = {"precompute", "cse", "vacuum"};
  bad.phases = {"vacuum", "cse", "precompute"};
  EXPECT_LT(model.predict(good), model.predict(bad));
  pipeline::PipelineConfig flat = good;
  flat.phases.push_back("flatten");
  EXPECT_NEAR(model.predict(flat) - model.predict(good), std::log(1.10), 0.03);

  // Held out, the ranking is nearly perfect on planted data.
  const Validation v = crossValidate(data, small, 5);
  EXPECT_EQ(v.rows, 603u);
  EXPECT_GT(v.spearman, 0.8);
  // The planted truth holds on every module, so a module left out is ranked well too.
  const Validation across = leaveOneModuleOut(data, small);
  EXPECT_EQ(across.folds, 3u);
  EXPECT_GT(across.spearman, 0.8);
}

TEST(LearnedModel, NothingPlantedNothingFound) {
  // Pure noise: no effect may look large, and held-out ranking is at chance.
  test::TempDir dir;
  driver::EvaluationLog log(dir / "noise.db");
  const std::vector<std::string> pool = {"precompute", "vacuum", "dce",
                                         "licm",       "cse",    "code-folding"};
  std::mt19937_64 rng(11);
  std::normal_distribution<double> noise(0, 0.02);
  std::uniform_int_distribution<int> length(2, 8), pick(0, static_cast<int>(pool.size()) - 1);
  const std::string sha(64, 'a');
  const auto run = log.startRun("evolve", "noise.wasm", sha, nlohmann::json::object());
  for (int i = 0; i < 300; ++i) {
    pipeline::PipelineConfig c;
    const int n = length(rng);
    for (int k = 0; k < n; ++k) c.phases.push_back(pool[static_cast<std::size_t>(pick(rng))]);
    log.record(run, sha, c, result(10000 * std::exp(noise(rng)), 1000), 0, 1);
  }
  log.flush();
  const Dataset data = loadLog(dir / "noise.db");
  EXPECT_FALSE(data.modules.at(0).has_oz);
  const Model model = Model::fit(data);
  for (const auto& e : model.effects()) EXPECT_LT(std::abs(e.percent), 1.5) << e.label;
  EXPECT_LT(std::abs(crossValidate(data, FitOptions{}, 5).spearman), 0.2);
}

TEST(LearnedModel, Spearman) {
  const std::vector<double> a = {1, 2, 3, 4, 5};
  const std::vector<double> b = {10, 20, 30, 40, 50};
  const std::vector<double> c = {5, 4, 3, 2, 1};
  const std::vector<double> ties = {1, 1, 2, 2, 3};
  EXPECT_DOUBLE_EQ(spearman(a, b), 1.0);
  EXPECT_DOUBLE_EQ(spearman(a, c), -1.0);
  EXPECT_NEAR(spearman(a, ties), 0.9486832980505138, 1e-12);
  EXPECT_EQ(spearman(a, std::vector<double>(5, 7.0)), 0.0);
}

// A short real search with --log, then: does the model, fitted on part of
// the rows, rank the held-out rest better than chance?
TEST(LearnedModel, RanksHeldOutRowsOfARealSearchBetterThanChance) {
  test::TempDir dir;
  driver::RunOptions o;
  o.module = test::fixtureBinary("helpers");
  o.output = dir / "out.wasm";
  o.report = dir / "report.json";
  o.checkpoint = dir / "checkpoint.json";
  o.log = dir / "runs.db";
  o.generations = 2;
  o.islands = 2;
  o.population = 12;
  o.jobs = 2;
  o.seed = 5;
  o.quiet = true;
  o.max_phases = 64;
  o.fitness.objective = problems::Objective::Size;
  o.screen_margin = -1;  // verify every candidate: the model learns from verified rows only
  ASSERT_EQ(driver::runSearch(o).exit_code, 0);

  const Dataset data = loadLog(dir / "runs.db");
  ASSERT_EQ(data.modules.size(), 1u);
  EXPECT_TRUE(data.modules[0].has_oz);
  ASSERT_GE(data.rows.size(), 60u);
  const Validation v = crossValidate(data, FitOptions{}, 5);
  RecordProperty("held_out_spearman", std::to_string(v.spearman));
  RecordProperty("baseline_spearman", std::to_string(v.baseline_spearman));
  std::printf("real log: %zu rows, held-out Spearman %.3f (distinct-phase baseline %.3f)\n",
              data.rows.size(), v.spearman, v.baseline_spearman);
  // Measured 0.72 with seed 5 (baseline 0.68); seeds 1-3 of the same search gave 0.75, 0.81, 0.68.
  EXPECT_GT(v.spearman, 0.2);
}

// ---------------------------------------------------------------- the command

test::CommandResult learnCommand(std::vector<std::string> args) {
  args.insert(args.begin(), {LOOM_EVOLVE_EXECUTABLE, "learn"});
  return test::runCommand(args);
}

void expectCleanError(const test::CommandResult& r, const std::string& needle) {
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_LT(r.exit_code, 128) << "crashed: " << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  std::string err = r.err;
  ASSERT_FALSE(err.empty());
  EXPECT_EQ(err.back(), '\n');
  err.pop_back();
  EXPECT_EQ(err.find('\n'), std::string::npos) << "more than one line:\n" << r.err;
  EXPECT_EQ(err.rfind("loom-evolve: error: ", 0), 0u) << r.err;
  EXPECT_NE(err.find(needle), std::string::npos) << r.err;
}

TEST(LearnCommand, BadInputGivesOneLineAndNonZeroExit) {
  test::TempDir dir;
  expectCleanError(learnCommand({(dir / "missing.db").string()}), "no such file");

  support::writeFileAtomic(dir / "text.db", std::string_view("this is not a database\n"));
  expectCleanError(learnCommand({(dir / "text.db").string()}), "not an evaluation log");

  {  // A SQLite database, but not an evaluation log.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir / "other.db").c_str(), &db), SQLITE_OK);
    sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1);", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  expectCleanError(learnCommand({(dir / "other.db").string()}), "not an evaluation log");

  {  // Only refuted rows.
    driver::EvaluationLog log(dir / "refuted.db");
    const std::string sha(64, 'b');
    const auto run = log.startRun("evolve", "m.wasm", sha, nlohmann::json::object());
    pipeline::PipelineConfig c;
    c.phases = {"dce"};
    log.record(run, sha, c, result(100, 10, verify::Verdict::Refuted), 0, 1);
    log.flush();
  }
  expectCleanError(learnCommand({(dir / "refuted.db").string()}), "no verified evaluations");

  {  // Too few rows.
    driver::EvaluationLog log(dir / "few.db");
    const std::string sha(64, 'c');
    const auto run = log.startRun("evolve", "m.wasm", sha, nlohmann::json::object());
    for (const char* phase : {"dce", "vacuum", "cse"}) {
      pipeline::PipelineConfig c;
      c.phases = {phase};
      log.record(run, sha, c, result(100, 10), 0, 1);
    }
    log.flush();
  }
  expectCleanError(learnCommand({(dir / "few.db").string()}), "at least");

  writePlantedLog(dir / "planted.db", 60);
  expectCleanError(learnCommand({(dir / "planted.db").string(), "--objective", "speed"}),
                   "size or cycles");
}

TEST(LearnCommand, PrintsATableAndJson) {
  test::TempDir dir;
  writePlantedLog(dir / "planted.db", 120);
  const auto table = learnCommand({(dir / "planted.db").string(), "--top", "5"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("flatten present"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("hurts on 3 of 3"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("held-out Spearman"), std::string::npos) << table.out;

  const auto json = learnCommand(
      {(dir / "planted.db").string(), "--json", "--top", "3", "--objective", "cycles"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j["objective"], "cycles");
  EXPECT_EQ(j["modules"].size(), 3u);
  EXPECT_EQ(j["effects"].size(), 3u);
  EXPECT_TRUE(j["validation"]["spearman"].is_number());
}

}  // namespace
}  // namespace loom::learn
