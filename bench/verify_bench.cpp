// How fast the verifier is on what the search will feed it: each fixture
// optimized with -Oz, verified from an empty cache (every changed function
// goes to Z3), plus two small shipped modules from the corpus when they have
// been fetched (scripts/fetch-corpus --dest build/corpus --names as-sha256,lz4).
//
// Counters: functions/s (changed functions verified per second of wall
// time), solver_ms/fn (Z3 time per verified function), proved and unknown
// shares of the verified functions.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "loom/pipeline/apply.hpp"
#include "loom/pipeline/builtins.hpp"
#include "loom/verify/verifier.hpp"
#include "loom/wasm/loader.hpp"

namespace {

namespace fs = std::filesystem;
using loom::verify::Verdict;

struct Input {
  loom::wasm::Module original;
  loom::wasm::Module optimized;
};

// Loaded and optimized on first use, outside the timed loop.
const Input& input(const fs::path& path) {
  static std::map<fs::path, std::unique_ptr<Input>> cache;
  auto& slot = cache[path];
  if (!slot) {
    loom::wasm::Module original = loom::wasm::loadModuleFile(path).module;
    loom::wasm::Module optimized =
        loom::pipeline::applyPipeline(original, *loom::pipeline::builtinConfig("Oz"));
    slot = std::make_unique<Input>(Input{std::move(original), std::move(optimized)});
  }
  return *slot;
}

void verifyModule(benchmark::State& state, const fs::path& path) {
  const Input* in = nullptr;
  try {
    in = &input(path);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  std::size_t functions = 0, proved = 0, unknown = 0, refuted = 0;
  double solver_seconds = 0;
  for (auto _ : state) {
    // A new verifier has an empty cache: every changed function is solved.
    loom::verify::Verifier verifier(in->original);
    const loom::verify::ModuleVerdict verdict = verifier.verify(in->optimized);
    for (const auto& f : verdict.functions) {
      ++functions;
      solver_seconds += f.solver_seconds;
      if (f.verdict == Verdict::Proved) ++proved;
      if (f.verdict == Verdict::Unknown) ++unknown;
      if (f.verdict == Verdict::Refuted) ++refuted;
    }
    benchmark::DoNotOptimize(verdict);
  }
  const double n = functions ? static_cast<double>(functions) : 1.0;
  state.counters["functions"] =
      benchmark::Counter(static_cast<double>(functions), benchmark::Counter::kAvgIterations);
  state.counters["functions/s"] =
      benchmark::Counter(static_cast<double>(functions), benchmark::Counter::kIsRate);
  state.counters["solver_ms/fn"] = 1000.0 * solver_seconds / n;
  state.counters["proved"] = static_cast<double>(proved) / n;
  state.counters["unknown"] = static_cast<double>(unknown) / n;
  state.counters["refuted"] = static_cast<double>(refuted) / n;
}

// Registered at start-up from what is on disk, so that a missing corpus
// shows up as a message rather than as a missing benchmark.
const bool registered = [] {
  // No Binaryen worker threads: the measurement is one core's throughput.
  ::setenv("BINARYEN_CORES", "1", 1);
  const fs::path source = LOOM_SOURCE_DIR;
  std::vector<fs::path> fixtures;
  for (const auto& entry : fs::directory_iterator(source / "tests" / "fixtures")) {
    if (entry.path().extension() == ".wat") fixtures.push_back(entry.path());
  }
  std::sort(fixtures.begin(), fixtures.end());
  for (const fs::path& path : fixtures) {
    benchmark::RegisterBenchmark(("verify_Oz/fixture/" + path.stem().string()).c_str(),
                                 [path](benchmark::State& state) { verifyModule(state, path); })
        ->Unit(benchmark::kMillisecond);
  }
  const char* dir = std::getenv("LOOM_CORPUS_DIR");
  const fs::path corpus = dir ? fs::path(dir) : source / "build" / "corpus";
  for (const char* name : {"as-sha256", "lz4"}) {
    const fs::path path = corpus / (std::string(name) + ".wasm");
    if (!fs::exists(path)) {
      std::fprintf(stderr,
                   "verify_bench: %s not found; skipping it (fetch it with "
                   "scripts/fetch-corpus --dest build/corpus --names as-sha256,lz4)\n",
                   path.c_str());
      continue;
    }
    // One iteration: a corpus module takes seconds to minutes.
    benchmark::RegisterBenchmark(("verify_Oz/corpus/" + std::string(name)).c_str(),
                                 [path](benchmark::State& state) { verifyModule(state, path); })
        ->Unit(benchmark::kSecond)
        ->Iterations(1);
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
