// What a run writes and what it compares with: the input file is always a
// candidate (the answer is never larger than doing nothing), the report
// names the wasm-opt tool's own sizes beside the verified built-ins', and
// the plots are given those same references.
#include <gtest/gtest.h>

#include <sstream>

#include "loom/driver/driver.hpp"
#include "loom/driver/plot.hpp"
#include "loom/support/files.hpp"
#include "support/test_support.hpp"

namespace loom::driver {
namespace {

RunOptions sizeRun(const std::filesystem::path& module, const test::TempDir& dir,
                   unsigned generations) {
  RunOptions o;
  o.module = module;
  o.output = dir / "out.wasm";
  o.report = dir / "report.json";
  o.checkpoint = dir / "checkpoint.json";
  o.generations = generations;
  o.islands = 2;
  o.population = 6;
  o.jobs = 2;
  o.seed = 7;
  o.quiet = true;
  o.max_phases = 96;
  o.fitness.objective = problems::Objective::Size;
  return o;
}

// wasm-opt's --enable-* flags for the features the report names.
std::vector<std::string> featureFlags(const nlohmann::json& report) {
  std::vector<std::string> flags;
  const std::string features = report["module"]["features"];
  if (features == "mvp") return flags;
  std::stringstream in(features);
  for (std::string f; std::getline(in, f, ',');) flags.push_back("--enable-" + f);
  return flags;
}

// A module written as a C toolchain writes it, more tightly than Binaryen
// can: f calls h, keeps its result on the stack across a call to g, and
// returns it. Binaryen's IR has no such stack values, so every module it
// writes holds that value in a local (72 bytes unoptimized, 68 after
// wasm-opt -Oz, against these 66).
wasm::Bytes stackyModule() {
  return {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
          // types: () -> i32, (i32) -> (), (i32) -> i32
          0x01, 0x0e, 0x03, 0x60, 0x00, 0x01, 0x7f, 0x60, 0x01, 0x7f, 0x00, 0x60, 0x01, 0x7f, 0x01,
          0x7f,
          // imports: env.h (type 0), env.g (type 1)
          0x02, 0x11, 0x02, 0x03, 0x65, 0x6e, 0x76, 0x01, 0x68, 0x00, 0x00, 0x03, 0x65, 0x6e, 0x76,
          0x01, 0x67, 0x00, 0x01,
          // one function of type 2, exported as "f"
          0x03, 0x02, 0x01, 0x02, 0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x02,
          // code: call h; local.get 0; call g; end
          0x0a, 0x0a, 0x01, 0x08, 0x00, 0x10, 0x00, 0x20, 0x00, 0x10, 0x01, 0x0b};
}

TEST(Answer, TheInputFileIsWrittenUnchangedWhenNothingBeatsIt) {
  test::TempDir dir;
  const auto module = dir / "stacky.wasm";
  test::writeBytes(module, stackyModule());
  const RunOutcome outcome = runSearch(sizeRun(module, dir, 1));
  ASSERT_EQ(outcome.exit_code, 0);
  const auto& report = outcome.report;
  const std::uint64_t input_bytes = stackyModule().size();
  ASSERT_EQ(report["module"]["bytes"].get<std::uint64_t>(), input_bytes);
  // What makes this case: every verified candidate is larger than the file,
  // and so is what the wasm-opt tool writes.
  ASSERT_TRUE(report["best"].is_object());
  EXPECT_GT(report["best"]["total_bytes"].get<std::uint64_t>(), input_bytes);
  EXPECT_GT(report["wasm_opt"]["Oz"]["total_bytes"].get<std::uint64_t>(), input_bytes);

  EXPECT_EQ(report["written"]["from"], "input-file") << report["written"].dump();
  EXPECT_EQ(report["written"]["total_bytes"].get<std::uint64_t>(), input_bytes);
  EXPECT_EQ(support::readFile(dir / "out.wasm"), stackyModule());
}

TEST(Answer, AnOptimizedModuleSmallerThanTheInputIsWritten) {
  test::TempDir dir;
  const auto module = test::fixtureBinary("helpers");
  const RunOutcome outcome = runSearch(sizeRun(module, dir, 1));
  ASSERT_EQ(outcome.exit_code, 0);
  const auto& report = outcome.report;
  const auto input_bytes = support::readFile(module).size();
  EXPECT_EQ(report["written"]["from"], "best") << report["written"].dump();
  const auto written = support::readFile(dir / "out.wasm");
  EXPECT_EQ(written.size(), report["best"]["total_bytes"].get<std::uint64_t>());
  EXPECT_EQ(written.size(), report["written"]["total_bytes"].get<std::uint64_t>());
  EXPECT_LT(written.size(), input_bytes);
}

// The report's wasm_opt sizes are what the wasm-opt tool writes, and the
// convergence plot is drawn in bytes with the tool's -Oz and the verified
// -Oz as its two reference lines.
TEST(Answer, ReportAndPlotNameTheToolsOzAndTheVerifiedOz) {
  test::TempDir dir;
  const auto module = test::fixtureBinary("strings");
  const RunOutcome outcome = runSearch(sizeRun(module, dir, 2));
  ASSERT_EQ(outcome.exit_code, 0);
  const auto& report = outcome.report;
  const auto flags = featureFlags(report);
  for (const char* level : {"O", "Os", "Oz", "O3", "O4"}) {
    std::vector<std::string> args = flags;
    args.push_back(std::string("-") + level);
    const wasm::Bytes tool = test::runWasmOpt(module, args);
    EXPECT_EQ(report["wasm_opt"][level]["total_bytes"].get<std::uint64_t>(), tool.size()) << level;
    EXPECT_FALSE(report["wasm_opt"][level]["verified"].get<bool>()) << level;
  }

  const PlotData plot = plotData(report, PlotKind::Convergence);
  ASSERT_EQ(plot.references.size(), 2u);
  EXPECT_EQ(plot.references[0].value, static_cast<double>(test::runWasmOpt(module,
                                                                           [&] {
                                                                             auto a = flags;
                                                                             a.push_back("-Oz");
                                                                             return a;
                                                                           }())
                                                              .size()));
  EXPECT_NE(plot.references[0].label.find("unverified"), std::string::npos);
  ASSERT_TRUE(report["baselines"]["Oz"]["verified"].get<bool>());
  EXPECT_EQ(plot.references[1].value, report["baselines"]["Oz"]["total_bytes"].get<double>());
  EXPECT_NE(plot.references[1].label.find("verified"), std::string::npos);
  // One series per island, named by its algorithm, in bytes.
  ASSERT_EQ(plot.series.size(), report["islands"].size());
  for (std::size_t i = 0; i < plot.series.size(); ++i) {
    const auto& island = report["islands"][i];
    EXPECT_NE(plot.series[i].label.find(island["algorithm"].get<std::string>()), std::string::npos);
    ASSERT_FALSE(plot.series[i].points.empty());
    EXPECT_EQ(plot.series[i].points.back().second,
              island["history"].back()["best_total_bytes"].get<double>());
  }
  EXPECT_NE(plot.ylabel.find("bytes"), std::string::npos);

  // gnuplot draws it.
  for (const char* ext : {".png", ".svg"}) {
    const auto out = dir / (std::string("convergence") + ext);
    plotReport(report, PlotKind::Convergence, out);
    EXPECT_GT(std::filesystem::file_size(out), 1000u) << ext;
  }
}

}  // namespace
}  // namespace loom::driver
