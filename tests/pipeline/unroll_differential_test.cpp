// Differential execution: every fixture, unrolled with every factor and
// strategy (alone and followed by cleanup passes), must behave exactly like
// the original in Node on the same calls.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "loom/pipeline/apply.hpp"
#include "loom/pipeline/unroll.hpp"
#include "loom/wasm/loader.hpp"
#include "loom/wasm/module.hpp"
#include "support/node_runner.hpp"
#include "support/test_support.hpp"

namespace loom::pipeline {
namespace {

using nlohmann::json;

const std::vector<std::string> kIntValues = {
    "0",  "1",   "2",    "3",    "5",     "7",           "8",          "16",
    "31", "100", "-1",   "4",    "63",    "255",         "1000",       "27",
    "-7", "12",  "1024", "9",    "20",    "-2147483648", "2147483647", "65536",
    "50", "6",   "-100", "4096", "12345", "-2147483647", "32",         "10"};
const std::vector<std::string> kI64Extra = {"-9223372036854775808", "9223372036854775807",
                                            "4294967296", "-4294967297"};
const std::vector<std::string> kFloatValues = {
    "0",    "1",   "-0", "0.5",  "2",   "-1.5", "3.14159", "100",   "1e10",        "-1e-10", "inf",
    "-inf", "nan", "16", "1024", "0.1", "-7",   "4",       "1e300", "-2147483648", "7",      "3"};
const std::vector<std::string> kImportResults = {"3", "1", "4", "1", "5", "9", "2", "6",
                                                 "5", "3", "5", "8", "9", "7", "9", "0"};
constexpr int kVectorsPerExport = 32;

std::string valueFor(const std::string& type, std::size_t i) {
  if (type == "f32" || type == "f64") return kFloatValues[i % kFloatValues.size()];
  if (type == "i64" && i % 8 == 7) return kI64Extra[(i / 8) % kI64Extra.size()];
  return kIntValues[i % kIntValues.size()];
}

// `;; @test NAME ARGS... [| imports V...] => RESULT` lines of a fixture.
json fixtureTestCalls(const std::string& name) {
  json calls = json::array();
  std::ifstream in(test::fixturePath(name));
  std::string line;
  while (std::getline(in, line)) {
    const auto at = line.find(";; @test ");
    if (at == std::string::npos) continue;
    std::istringstream words(line.substr(at + 9));
    std::string word, export_name;
    words >> export_name;
    json args = json::array(), imports = json::array();
    bool in_imports = false;
    while (words >> word && word != "=>") {
      if (word == "|") {
        words >> word;  // "imports"
        in_imports = true;
      } else {
        (in_imports ? imports : args).push_back(word);
      }
    }
    json call = {{"export", export_name}, {"args", args}};
    if (!imports.empty()) call["import_results"] = imports;
    calls.push_back(call);
  }
  return calls;
}

std::string typeName(BinaryenType type) {
  if (type == BinaryenTypeInt32()) return "i32";
  if (type == BinaryenTypeInt64()) return "i64";
  if (type == BinaryenTypeFloat32()) return "f32";
  if (type == BinaryenTypeFloat64()) return "f64";
  throw std::runtime_error("unexpected parameter type in a fixture export");
}

// Every exported function on kVectorsPerExport argument vectors, the
// parameters drawn from the value lists with different strides so that
// arguments mix. Read from Binaryen rather than Node to save a process.
json genericCalls(BinaryenModuleRef module) {
  bool has_imports = false;
  for (BinaryenIndex i = 0, n = BinaryenGetNumFunctions(module); i < n; ++i) {
    if (!BinaryenFunctionGetBody(BinaryenGetFunctionByIndex(module, i))) has_imports = true;
  }
  json calls = json::array();
  std::size_t seed = 0;
  for (BinaryenIndex i = 0, n = BinaryenGetNumExports(module); i < n; ++i) {
    BinaryenExportRef e = BinaryenGetExportByIndex(module, i);
    if (BinaryenExportGetKind(e) != BinaryenExternalFunction()) continue;
    const BinaryenType params =
        BinaryenFunctionGetParams(BinaryenGetFunction(module, BinaryenExportGetValue(e)));
    std::vector<BinaryenType> types(BinaryenTypeArity(params));
    if (!types.empty()) BinaryenTypeExpand(params, types.data());
    for (int v = 0; v < kVectorsPerExport; ++v, ++seed) {
      json args = json::array();
      for (std::size_t p = 0; p < types.size(); ++p) {
        args.push_back(valueFor(typeName(types[p]), seed * (2 * p + 1) + 3 * p));
      }
      json call = {{"export", BinaryenExportGetName(e)}, {"args", args}};
      if (has_imports) {
        json results = json::array();
        for (std::size_t r = 0; r < 8; ++r) results.push_back(kImportResults[(seed + r) % 16]);
        call["import_results"] = results;
      }
      calls.push_back(call);
      if (types.empty()) break;
    }
  }
  return calls;
}

struct Variant {
  std::string label;
  UnrollStats stats;
  bool valid = false;
  std::size_t job = 0;  // Node run whose results are this variant's
};

// The phases after `unroll` in the second set of variants: the cleanups the
// unrolled code is meant for, plus the local optimizations that run around
// them in -O.
const std::vector<std::string> kCleanup = {"constant-folding",
                                           "branch-simplification",
                                           "vacuum",
                                           "block-merging",
                                           "dce",
                                           "simplify-locals",
                                           "coalesce-locals",
                                           "strength-reduction",
                                           "remove-unused-names",
                                           "branch-simplification",
                                           "block-merging",
                                           "vacuum"};

struct Job {
  std::filesystem::path module;
  const json* calls;
};

// Runs every job in Node, two at a time (two cores, one node process each).
std::vector<json> runAll(const std::vector<Job>& jobs) {
  std::vector<json> results(jobs.size());
  std::vector<std::string> errors(jobs.size());
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i; (i = next++) < jobs.size();) {
      try {
        results[i] =
            test::runInNode({{"module", jobs[i].module.string()}, {"calls", *jobs[i].calls}})
                .at("results");
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    }
  };
  std::thread helper(worker);
  worker();
  helper.join();
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    EXPECT_TRUE(errors[i].empty()) << jobs[i].module << ": " << errors[i];
  }
  return results;
}

TEST(UnrollDifferential, EveryFixtureBehavesTheSameUnrolledAndAfterCleanup) {
  test::TempDir dir;
  struct FixtureRun {
    std::string name;
    json calls;
    std::size_t original_job = 0;
    std::vector<Variant> variants;
  };
  // Reserved up front: jobs point at the calls of their fixture.
  std::vector<FixtureRun> runs;
  runs.reserve(test::fixtureNames().size());
  std::vector<Job> jobs;
  UnrollStats totals;
  for (const std::string& name : test::fixtureNames()) {
    FixtureRun& run = runs.emplace_back();
    run.name = name;
    run.calls = fixtureTestCalls(name);
    const auto binary = test::fixtureBinary(name);
    const wasm::LoadedModule loaded = wasm::loadModuleFile(binary);
    for (const auto& call : genericCalls(loaded.module.get())) run.calls.push_back(call);
    run.original_job = jobs.size();
    jobs.push_back({binary, &run.calls});
    // Variants that come out byte-identical (no nested loops, so innermost
    // and all agree; no loops at all) share one Node run.
    std::map<wasm::Bytes, std::size_t> job_of_bytes;
    for (UnrollStrategy strategy : {UnrollStrategy::Innermost, UnrollStrategy::All}) {
      for (std::uint32_t factor : {2u, 4u, 8u}) {
        for (bool cleanup : {false, true}) {
          PipelineConfig config;
          config.phases = {"unroll"};
          if (cleanup) config.phases.insert(config.phases.end(), kCleanup.begin(), kCleanup.end());
          // A generous limit, so that nearly every loop is unrolled and tested.
          config.unroll = {strategy, factor, 2000};
          Variant v;
          v.label = std::string(unrollStrategyName(strategy)) + "x" + std::to_string(factor) +
                    (cleanup ? "+cleanup" : "");
          wasm::Module module = loaded.module.copy();
          // runPhases does not report the stats; a direct call on a second
          // copy does the same unrolling.
          wasm::Module probe = loaded.module.copy();
          v.stats = unrollLoops(probe.get(), config.unroll);
          runPhases(module, config);
          v.valid = module.validate();
          // Binaryen's writer aborts on some invalid IR; such a variant runs
          // the original instead, and fails below.
          const wasm::Bytes bytes = v.valid ? module.writeBinary() : loaded.module.writeBinary();
          auto [it, added] = job_of_bytes.emplace(bytes, jobs.size());
          if (added) {
            const auto path = dir / (name + "." + v.label + ".wasm");
            test::writeBytes(path, bytes);
            jobs.push_back({path, &run.calls});
          }
          v.job = it->second;
          if (!cleanup) {
            totals.loops_seen += v.stats.loops_seen;
            totals.loops_unrolled += v.stats.loops_unrolled;
            totals.loops_too_large += v.stats.loops_too_large;
          }
          run.variants.push_back(std::move(v));
        }
      }
    }
  }
  const std::vector<json> results = runAll(jobs);

  std::size_t compared = 0;
  const bool report = std::getenv("LOOM_UNROLL_REPORT") != nullptr;
  if (report) std::printf("%zu node runs\n", jobs.size());
  for (const auto& run : runs) {
    const json& expected = results[run.original_job];
    for (const auto& v : run.variants) {
      const json& actual = results[v.job];
      SCOPED_TRACE(run.name + " " + v.label);
      EXPECT_TRUE(v.valid);
      ASSERT_EQ(actual.size(), expected.size());
      for (std::size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(actual[i], expected[i]) << run.calls[i].dump();
        ++compared;
      }
      if (report) {
        std::printf("%-14s %-19s seen %3u unrolled %3u too_large %3u\n", run.name.c_str(),
                    v.label.c_str(), v.stats.loops_seen, v.stats.loops_unrolled,
                    v.stats.loops_too_large);
      }
    }
  }
  if (report) std::printf("%zu calls compared\n", compared);
  // Not vacuous: the calls ran and most loops were really unrolled.
  EXPECT_GT(compared, 20000u);
  EXPECT_GT(totals.loops_unrolled, totals.loops_seen / 2);
}

}  // namespace
}  // namespace loom::pipeline
