// The command-line contract: useful output on good input, and on bad input a
// single "loom-evolve: error: ..." line, a non-zero exit, and no output file.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/cli_support.hpp"
#include "loom/support/files.hpp"
#include "support/test_support.hpp"

namespace loom::test {
namespace {

namespace fs = std::filesystem;

// The files a bad-input case may not leave behind.
void expectNothingWritten(const TempDir& dir) {
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    const std::string name = entry.path().filename().string();
    EXPECT_TRUE(name.starts_with("input")) << "left behind: " << name;
  }
}

struct BadInput {
  std::string name;
  std::function<fs::path(const TempDir&)> make;
  std::string needle;
};

std::vector<BadInput> badInputs() {
  auto file = [](std::string name, wasm::Bytes bytes) {
    return [name, bytes](const TempDir& dir) {
      const fs::path p = dir / name;
      writeBytes(p, bytes);
      return p;
    };
  };
  const wasm::Bytes good = support::readFile(fixtureBinary("crc32"));
  std::vector<BadInput> cases = {
      {"empty", file("input-empty.wasm", {}), "empty"},
      {"garbage", file("input-garbage.wasm", {'G', 'A', 'R', 'B', 'A', 'G', 'E', 0}),
       "not a WebAssembly module"},
      {"text syntax error",
       [](const TempDir& d) {
         const fs::path p = d / "input-bad.wat";
         support::writeFileAtomic(
             p, std::string_view("(module (func $f (result i32) (i32.add (i32.const 1))"));
         return p;
       },
       "input-bad.wat"},
      {"multi-memory",
       file("input-mm.wasm",
            {0x00, 0x61, 0x73, 0x6d, 0x01, 0, 0, 0, 0x05, 0x05, 0x02, 0x00, 0x01, 0x00, 0x01}),
       "input-mm.wasm"},
      {"directory",
       [](const TempDir& d) {
         fs::create_directory(d / "input-dir");
         return d / "input-dir";
       },
       "is a directory"},
      {"missing", [](const TempDir& d) { return d / "input-missing.wasm"; }, "No such file"},
      {"fifo",
       [](const TempDir& d) {
         const fs::path p = d / "input-fifo";
         ::mkfifo(p.c_str(), 0600);
         return p;
       },
       "not a regular file"},
      {"unreadable", [](const TempDir&) { return fs::path("/proc/self/mem"); }, "cannot read"},
  };
  for (std::size_t cut : {std::size_t{9}, std::size_t{20}, good.size() / 2, good.size() - 1}) {
    cases.push_back(
        {"truncated at " + std::to_string(cut),
         file("input-cut.wasm",
              wasm::Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut))),
         "input-cut.wasm"});
  }
  return cases;
}

TEST(Cli, EveryCommandRejectsBadModules) {
  for (const auto& bad : badInputs()) {
    TempDir dir;
    const std::string m = bad.make(dir).string();
    const std::string out = (dir / "out.wasm").string();
    const std::string good = fixturePath("helpers").string();
    expectCleanError(
        loom({m, "--generations", "1", "-o", out, "--report", (dir / "r.json").string()}),
        bad.needle, "evolve " + bad.name);
    expectCleanError(loom({"baselines", m}), bad.needle, "baselines " + bad.name);
    expectCleanError(loom({"apply", "Oz", m, "-o", out}), bad.needle, "apply " + bad.name);
    expectCleanError(loom({"verify", m, good}), bad.needle, "verify (original) " + bad.name);
    expectCleanError(loom({"verify", good, m}), bad.needle, "verify (optimized) " + bad.name);
    expectNothingWritten(dir);
  }
}

TEST(Cli, RejectsUnwritableOutputsBeforeWorking) {
  TempDir dir;
  const std::string m = fixturePath("helpers").string();
  expectCleanError(loom({"apply", "Oz", m, "-o", "/nonexistent-dir/out.wasm"}), "does not exist",
                   "apply");
  expectCleanError(loom({m, "-o", "/nonexistent-dir/out.wasm"}), "does not exist", "evolve output");
  expectCleanError(loom({m, "--report", dir.path().string()}), "is a directory", "evolve report");
  expectCleanError(loom({"plot", (dir / "missing.json").string()}), "missing.json", "plot");
}

TEST(Cli, StopsAtOnceWhenNothingCanBeVerified) {
  // An exported table filled by segments at two different imported offsets:
  // the verifier does not compare such tables, so no candidate of this
  // module can verify, and the input compared with itself shows it before
  // any search is spent.
  TempDir dir;
  const fs::path wat = dir / "input-bases.wat";
  std::ofstream(wat) << R"((module
  (import "env" "low" (global $low i32))
  (import "env" "high" (global $high i32))
  (table $t (export "table") 4 funcref)
  (elem (global.get $low) $one)
  (elem (global.get $high) $two)
  (func $one (result i32) (i32.const 1))
  (func $two (result i32) (i32.const 2))
  (func (export "get") (param i32) (result i32)
    (call_indirect (result i32) (i32.add (local.get 0) (i32.const 0)))))
)";
  const fs::path module = dir / "input-bases.wasm";
  writeBytes(module, runWasmOpt(wat, {"--enable-reference-types", "--enable-bulk-memory",
                                      "--emit-target-features"}));
  const CommandResult r =
      loom({module.string(), "--generations", "50", "--quiet", "-o", (dir / "out.wasm").string(),
            "--report", (dir / "report.json").string()});
  expectCleanError(r, "no candidate can be verified", "segments at two imported offsets");
  EXPECT_NE(r.err.find("element segments with non-constant offsets are not compared"),
            std::string::npos)
      << r.err;
  expectNothingWritten(dir);

  // The same function with a passive segment (which only declares $one, as
  // wasm-bindgen's output does) verifies and is searched.
  const fs::path passive_wat = dir / "input-passive.wat";
  std::ofstream(passive_wat) << R"((module
  (table $t (export "table") 1 funcref)
  (elem $e func $one)
  (func $one (result i32) (i32.const 1))
  (func (export "get") (param i32) (result i32)
    (call_indirect (result i32) (i32.add (local.get 0) (i32.const 0)))))
)";
  const fs::path passive = dir / "input-passive.wasm";
  writeBytes(passive, runWasmOpt(passive_wat, {"--enable-reference-types", "--enable-bulk-memory",
                                               "--emit-target-features"}));
  const CommandResult ok =
      loom({passive.string(), "--generations", "1", "--islands", "1", "--population", "4",
            "--quiet", "-o", (dir / "out.wasm").string()});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_TRUE(fs::exists(dir / "out.wasm"));
}

TEST(Cli, RejectsBadConfigurationsAndOptions) {
  TempDir dir;
  const std::string m = fixturePath("helpers").string();
  const std::string out = (dir / "out.wasm").string();
  support::writeFileAtomic(dir / "input-config.json",
                           std::string_view("{\"phases\": [\"dce\", \"warp-drive\"]}"));
  expectCleanError(loom({"apply", (dir / "input-config.json").string(), m, "-o", out}),
                   "warp-drive", "unknown phase");
  support::writeFileAtomic(dir / "input-broken.json", std::string_view("{\"phases\": [\"dce\""));
  expectCleanError(loom({"apply", (dir / "input-broken.json").string(), m, "-o", out}),
                   "not valid JSON", "broken JSON");
  expectCleanError(loom({"apply", "O9", m, "-o", out}), "O9", "unknown built-in");
  expectCleanError(loom({m, "--islands", "0"}), "islands", "islands 0");
  expectCleanError(loom({m, "--population", "1"}), "population", "population 1");
  expectCleanError(loom({m, "--verify-budget", "-5"}), "verify-budget", "negative module budget");
  expectCleanError(loom({m, "--objective", "speed"}), "objective", "objective");
  expectCleanError(loom({m, "--weights", "1"}), "weights", "weights");
  expectCleanError(loom({m, "--topology", "star"}), "star", "topology");
  expectCleanError(loom({m, "--algorithms", "pga,simplex"}), "simplex", "algorithm");
  expectCleanError(loom({m, "--no-such-option"}), "no-such-option", "unknown option");
  expectCleanError(loom({"plot", m}), "not valid JSON", "plot of a module");
  support::writeFileAtomic(dir / "input-report.json",
                           std::string_view("{\"schema\": \"something else\"}"));
  expectCleanError(
      loom({"plot", (dir / "input-report.json").string(), "-o", (dir / "p.png").string()}),
      "not a loom-evolve report", "plot schema");
  expectCleanError(
      loom({"plot", (dir / "input-report.json").string(), "-o", (dir / "p.gif").string()}),
      ".png or .svg", "plot format");
  expectNothingWritten(dir);
}

TEST(Cli, BaselinesPrintsEveryBuiltinAsJson) {
  const CommandResult r = loom({"baselines", fixturePath("strings").string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_GT(j["input"]["total_bytes"].get<int>(), 0);
  for (const char* name : {"loom", "O", "Os", "Oz", "O3", "O4"}) {
    ASSERT_TRUE(j["baselines"].contains(name)) << name;
    EXPECT_GT(j["baselines"][name]["total_bytes"].get<int>(), 0);
    EXPECT_GT(j["baselines"][name]["code_bytes"].get<int>(), 0);
    EXPECT_GT(j["baselines"][name]["instructions"].get<int>(), 0);
    EXPECT_GT(j["baselines"][name]["cycles"].get<double>(), 0);
  }
}

TEST(Cli, ApplyUnverifiedWritesWhatWasmOptWrites) {
  TempDir dir;
  const auto m = fixturePath("sort");
  const CommandResult r =
      loom({"apply", "Oz", m.string(), "-o", (dir / "out.wasm").string(), "--unverified"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(support::readFile(dir / "out.wasm"), runWasmOpt(m, {"-Oz"}));
  EXPECT_NE(r.err.find("unverified"), std::string::npos) << r.err;
}

// `apply` verifies step by step by default: what it writes is wasm-opt's
// output where every step is proved, and says what it undid otherwise.
TEST(Cli, ApplyVerifiesStepByStep) {
  TempDir dir;
  for (const char* fixture : {"sort", "crc32"}) {
    SCOPED_TRACE(fixture);
    const auto input = fixtureBinary(fixture);
    const auto out = dir / (std::string(fixture) + ".wasm");
    const CommandResult r = loom({"apply", "Oz", input.string(), "-o", out.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto written = support::readFile(out);
    EXPECT_LE(written.size(), support::readFile(input).size());
    if (r.err.find("unchanged") != std::string::npos) continue;  // the input itself won
    EXPECT_NE(r.err.find("verified step by step"), std::string::npos) << r.err;
    if (r.err.find("  undone: ") == std::string::npos) {
      EXPECT_EQ(written, runWasmOpt(input, {"-Oz"})) << r.err;
    } else {
      EXPECT_NE(written, runWasmOpt(input, {"-Oz"})) << r.err;
    }
  }
}

// With several processes (--jobs), each first checks its share of every
// step; the chain that writes the answer then writes what one process
// alone writes.
TEST(Cli, ApplyWithSeveralJobsWritesWhatOneJobWrites) {
  TempDir dir;
  for (const char* fixture : {"arith", "strings"}) {
    SCOPED_TRACE(fixture);
    const auto input = fixtureBinary(fixture);
    std::vector<wasm::Bytes> written;
    for (const char* jobs : {"1", "3"}) {
      const auto out = dir / (std::string(fixture) + jobs + ".wasm");
      const CommandResult r = loom(
          {"apply", "Oz", input.string(), "-o", out.string(), "--jobs", jobs, "--no-proof-store"});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_NE(r.err.find("verified step by step"), std::string::npos) << r.err;
      written.push_back(support::readFile(out));
    }
    EXPECT_EQ(written[0], written[1]);
  }
}

// --timeout ends a verified apply with what it verified by then: the steps
// left are not run (or, at worst, the input is written), never an error
// without a file.
TEST(Cli, ApplyEndsWithWhatItVerifiedWithinItsTimeout) {
  TempDir dir;
  const fs::path example = sourceDir() / "examples" / "example.wasm";
  const auto out = dir / "out.wasm";
  const CommandResult r = loom(
      {"apply", "Oz", example.string(), "-o", out.string(), "--timeout", "6", "--no-proof-store"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LE(support::readFile(out).size(), support::readFile(example).size());
  const bool cut =
      r.err.find("not run: the time allowed has run out") != std::string::npos ||
      r.err.find("not run: the module's verification budget is spent") != std::string::npos;
  const bool unchanged = r.err.find("unchanged") != std::string::npos;
  EXPECT_TRUE(cut || unchanged) << r.err;
}

// The comparison users check: the report's wasm_opt sizes and the final
// line are what the wasm-opt tool itself writes on the bundled example.
TEST(Cli, ExampleComparesWithWhatWasmOptWrites) {
  TempDir dir;
  const fs::path example = sourceDir() / "examples" / "example.wasm";
  const std::string report_path = (dir / "r.json").string();
  const CommandResult run =
      loom({example.string(), "--generations", "0", "--islands", "2", "--population", "4", "--jobs",
            "2", "--report", report_path, "-o", (dir / "out.wasm").string(), "--progress-lines"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto report = nlohmann::json::parse(support::readTextFile(report_path));
  std::vector<std::string> flags;
  const std::string features = report["module"]["features"];
  if (features != "mvp") {
    std::stringstream in(features);
    for (std::string f; std::getline(in, f, ',');) flags.push_back("--enable-" + f);
  }
  for (const char* level : {"O", "Os", "Oz", "O3", "O4"}) {
    std::vector<std::string> args = flags;
    args.push_back(std::string("-") + level);
    EXPECT_EQ(report["wasm_opt"][level]["total_bytes"].get<std::uint64_t>(),
              runWasmOpt(example, args).size())
        << level;
  }
  std::vector<std::string> oz = flags;
  oz.push_back("-Oz");
  const auto tool_oz = runWasmOpt(example, oz).size();
  const auto verified_oz = report["baselines"]["Oz"]["total_bytes"].get<std::uint64_t>();
  // Both references named on the final line, with their byte counts.
  EXPECT_NE(run.err.find(fmt::format("vs wasm-opt -Oz {} B, unverified", tool_oz)),
            std::string::npos)
      << run.err;
  EXPECT_NE(run.err.find(fmt::format("vs verified -Oz {} B", verified_oz)), std::string::npos)
      << run.err;
  // Never larger than the input file.
  EXPECT_LE(support::readFile(dir / "out.wasm").size(), support::readFile(example).size());
}

TEST(Cli, PlotDrawsPngAndSvg) {
  TempDir dir;
  const std::string report = (dir / "r.json").string();
  const CommandResult run =
      loom({fixtureBinary("arith").string(), "--generations", "2", "--islands", "2", "--population",
            "6", "--report", report, "--quiet", "--jobs", "2"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  for (const char* kind : {"convergence", "sizes"}) {
    for (const char* ext : {".png", ".svg"}) {
      const auto out = dir / (std::string(kind) + ext);
      const CommandResult r = loom({"plot", report, "--kind", kind, "-o", out.string()});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      const auto bytes = support::readFile(out);
      ASSERT_GT(bytes.size(), 1000u);
      if (std::string(ext) == ".png")
        EXPECT_EQ(bytes[1], 'P');
      else
        EXPECT_NE(std::string(bytes.begin(), bytes.end()).find("<svg"), std::string::npos);
    }
  }
  expectCleanError(loom({"plot", report, "--kind", "pareto", "-o", (dir / "f.svg").string()}),
                   "pareto_front", "pareto of a weighted run");
}

// A text module against wasm-opt's binary output, which has no global names:
// globals are paired by position, so a correct optimization is proved...
TEST(Cli, VerifyPairsUnnamedGlobalsByPosition) {
  TempDir dir;
  const auto m = fixturePath("licm");
  const auto optimized = dir / "licm.O.wasm";
  writeBytes(optimized, runWasmOpt(m, {"-O"}));
  const CommandResult r = loom({"verify", m.string(), optimized.string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

// ... and a wrong one is still refuted: the globals' initial values swapped,
// which no pairing of the globals can make equivalent.
TEST(Cli, VerifyRefutesSwappedUnnamedGlobals) {
  TempDir dir;
  const auto original = dir / "two.wat";
  const auto swapped = dir / "swapped.wat";
  const std::string body =
      R"((func (export "get") (result i32) (i32.sub (global.get 0) (global.get 1))))";
  {
    std::ofstream(original)
        << "(module (global $lo (mut i32) (i32.const 1)) (global $hi (mut i32) (i32.const 7))"
        << body << ")";
    std::ofstream(swapped)
        << "(module (global (mut i32) (i32.const 7)) (global (mut i32) (i32.const 1))" << body
        << ")";
  }
  const auto binary = dir / "swapped.wasm";
  writeBytes(binary, runWasmOpt(swapped, {}));
  const CommandResult r = loom({"verify", original.string(), binary.string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const auto verdict = nlohmann::json::parse(r.out);
  EXPECT_EQ(verdict["overall"], "refuted") << r.out;
}

// With a budget for the whole module, what it does not reach is reported
// unknown (exit 2), not proved; without one, the same pair is proved.
TEST(Cli, VerifyBudgetLeavesTheRestUnknown) {
  TempDir dir;
  const auto m = fixturePath("strings");
  const auto optimized = dir / "strings.Oz.wasm";
  writeBytes(optimized, runWasmOpt(m, {"-Oz"}));
  const CommandResult full = loom({"verify", m.string(), optimized.string()});
  ASSERT_EQ(full.exit_code, 0) << full.out << full.err;
  const CommandResult r = loom({"verify", m.string(), optimized.string(), "--budget", "0.001"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  const auto verdict = nlohmann::json::parse(r.out);
  EXPECT_EQ(verdict["overall"], "unknown") << r.out;
  EXPECT_EQ(verdict["options"]["module_budget_ms"], 1) << r.out;
  int not_checked = 0;
  for (const auto& f : verdict["functions"]) {
    not_checked += f["reason"].get<std::string>().find("verification budget") != std::string::npos;
  }
  EXPECT_GT(not_checked, 0) << r.out;
  expectCleanError(loom({"verify", m.string(), optimized.string(), "--budget", "-1"}), "--budget",
                   "a negative budget");
}

}  // namespace
}  // namespace loom::test
