#include "loom/driver/tune.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "loom/support/files.hpp"
#include "loom/wasm/module.hpp"
#include "support/test_support.hpp"

namespace loom::driver {
namespace {

namespace fs = std::filesystem;

// A corpus of fixtures with a fixed train/test split, as fetch-corpus writes it.
fs::path makeCorpus(const test::TempDir& dir,
                    const std::vector<std::pair<std::string, std::string>>& modules) {
  const fs::path corpus = dir / "corpus";
  fs::create_directories(corpus);
  std::string manifest = "name\tsplit\tbytes\tsha256\tpath\n";
  for (const auto& [name, split] : modules) {
    fs::copy_file(test::fixtureBinary(name), corpus / (name + ".wasm"));
    manifest += name + "\t" + split + "\t0\t-\t-\n";
  }
  support::writeFileAtomic(corpus / "manifest.tsv", manifest);
  return corpus;
}

RunOptions tuneRun(const fs::path& corpus, const test::TempDir& dir) {
  RunOptions o;
  o.module = corpus;
  o.output = dir / "recommended.json";
  o.report = dir / "tune.json";
  o.checkpoint = dir / "tune.checkpoint.json";
  o.generations = 2;
  o.islands = 2;
  o.population = 6;
  o.jobs = 2;
  o.quiet = true;
  o.max_phases = 96;
  o.fitness.objective = problems::Objective::Size;
  return o;
}

TEST(Tune, RecommendsAConfigurationAndChecksItOnHeldOutModules) {
  test::TempDir dir;
  const auto corpus =
      makeCorpus(dir, {{"arith", "train"}, {"helpers", "train"}, {"strings", "test"}});
  const RunOutcome outcome = runTune(tuneRun(corpus, dir));
  ASSERT_EQ(outcome.exit_code, 0);
  const auto& r = outcome.report;
  ASSERT_TRUE(r["recommended"].is_object());
  // Oz scores 1 by construction, and it is among the candidates.
  EXPECT_LE(r["recommended"]["geomean_ratio_to_oz"].get<double>(), 1.0 + 1e-12);
  EXPECT_EQ(r["train"]["modules"].size(), 2u);
  EXPECT_EQ(r["test"]["modules"].size(), 1u);
  EXPECT_EQ(r["test"]["modules"][0]["name"], "strings");
  for (const auto& m : r["train"]["modules"]) EXPECT_TRUE(m["verified"].get<bool>()) << m.dump();
  EXPECT_TRUE(r["test"]["summary"].contains("improved"));
  EXPECT_TRUE(r["test"]["summary"].contains("worse"));
  EXPECT_TRUE(r["test"]["summary"].contains("all_verified"));
  // The recommendation is a configuration `apply` takes.
  const auto saved = nlohmann::json::parse(support::readTextFile(dir / "recommended.json"));
  EXPECT_EQ(saved, r["recommended"]["config"]);
}

TEST(Tune, RejectsEmptyAndBrokenCorpora) {
  test::TempDir dir;
  fs::create_directories(dir / "empty");
  EXPECT_THROW(runTune(tuneRun(dir / "empty", dir)), std::exception);
  EXPECT_THROW(runTune(tuneRun(dir / "missing", dir)), std::exception);
  const auto corpus = makeCorpus(dir, {{"arith", "train"}});
  test::writeBytes(corpus / "broken.wasm", {0x00, 0x61, 0x73, 0x6d, 0x01, 0, 0, 0, 0x01, 0x50});
  support::writeFileAtomic(corpus / "manifest.tsv",
                           std::string_view("name\tsplit\narith\ttrain\nbroken\ttrain\n"));
  try {
    runTune(tuneRun(corpus, dir));
    FAIL() << "accepted a broken module";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("broken.wasm"), std::string::npos) << e.what();
  }
  support::writeFileAtomic(corpus / "manifest.tsv",
                           std::string_view("name\tsplit\narith\tvalidation\n"));
  EXPECT_THROW(runTune(tuneRun(corpus, dir)), std::exception);
}

TEST(Tune, ReadsADirectoryWithoutManifestAsTrainingModules) {
  test::TempDir dir;
  fs::create_directories(dir / "c");
  fs::copy_file(test::fixtureBinary("arith"), dir / "c" / "a.wasm");
  fs::copy_file(test::fixtureBinary("crc32"), dir / "c" / "b.wasm");
  const auto modules = readCorpus(dir / "c");
  ASSERT_EQ(modules.size(), 2u);
  EXPECT_EQ(modules[0].name, "a");
  EXPECT_EQ(modules[0].split, "train");
}

// A training module whose -Oz output the verifier cannot check (here: an
// exported table filled by segments at two different imported offsets,
// which module checks do not compare) would make every candidate
// infeasible; it is set aside, with the reason in the report.
TEST(Tune, SetsAsideATrainingModuleWhoseOzOutputCannotBeVerified) {
  test::TempDir dir;
  const auto corpus = makeCorpus(dir, {{"arith", "train"}, {"helpers", "train"}});
  const wasm::Module two_tables = wasm::Module::parseTextTrusted(R"((module
  (import "env" "low" (global $low i32))
  (import "env" "high" (global $high i32))
  (table $t (export "tab") 4 funcref)
  (elem (table $t) (global.get $low) func $one)
  (elem (table $t) (global.get $high) func $two)
  (func $one (result i32) (i32.const 1))
  (func $two (result i32) (i32.const 2))
  (func (export "g") (param i32) (result i32)
    (i32.add (i32.mul (local.get 0) (i32.const 1)) (i32.const 0)))))");
  test::writeBytes(corpus / "tables.wasm", two_tables.writeBinary());
  support::writeFileAtomic(
      corpus / "manifest.tsv",
      std::string_view("name\tsplit\narith\ttrain\nhelpers\ttrain\ntables\ttrain\n"));
  RunOptions options = tuneRun(corpus, dir);
  options.generations = 1;
  const RunOutcome outcome = runTune(options);
  ASSERT_EQ(outcome.exit_code, 0);
  const auto& r = outcome.report;
  ASSERT_TRUE(r["recommended"].is_object()) << r.dump();
  ASSERT_EQ(r["corpus"]["excluded"].size(), 1u) << r["corpus"].dump();
  EXPECT_EQ(r["corpus"]["excluded"][0]["name"], "tables");
  EXPECT_NE(r["corpus"]["excluded"][0]["reason"].get<std::string>().find("element segments"),
            std::string::npos);
  EXPECT_EQ(r["train"]["modules"].size(), 2u);

  // With nothing else to train on, the tune says so.
  support::writeFileAtomic(corpus / "manifest.tsv",
                           std::string_view("name\tsplit\ntables\ttrain\narith\ttest\n"));
  try {
    runTune(tuneRun(corpus, dir));
    FAIL() << "tuned on nothing";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("verifies"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace loom::driver
