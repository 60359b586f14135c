// Evaluation-engine throughput, measured side by side with what a user would
// write without it: one `wasm-opt` process per candidate with the same passes.
//
// The candidate stream imitates a search: offspring of -Oz (one to three
// edits each, so they share long prefixes) with some repeats, the same list
// for every contender. Modules: a small fixture, and the corpus modules named
// in LOOM_BENCH_CORPUS (default as-sha256,lz4) when scripts/fetch-corpus has
// put them in build/corpus.
//
//   build/bin/engine_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <sstream>

#include "loom/engine/engine.hpp"
#include "loom/pipeline/builtins.hpp"
#include "loom/pipeline/phase.hpp"
#include "loom/wasm/features.hpp"
#include "loom/wasm/loader.hpp"

namespace {

namespace fs = std::filesystem;
using loom::pipeline::PipelineConfig;

std::vector<PipelineConfig> candidateStream(std::size_t count) {
  std::mt19937 random(2024);
  std::vector<std::string> names;
  for (std::size_t i : loom::pipeline::searchablePhaseIndices()) {
    const auto& p = loom::pipeline::allPhases()[i];
    if (!p.passes.empty() && p.name != "flatten" && p.name != "ssa") names.emplace_back(p.name);
  }
  const PipelineConfig oz = *loom::pipeline::builtinConfig("Oz");
  std::vector<PipelineConfig> stream;
  while (stream.size() < count) {
    if (stream.size() >= 8 && random() % 8 == 0) {  // a repeat, as selection produces
      stream.push_back(stream[random() % stream.size()]);
      continue;
    }
    PipelineConfig c = oz;
    const int edits = 1 + static_cast<int>(random() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at =
          10 + random() % (c.phases.size() - 10);  // late edits: long shared prefixes
      switch (random() % 3) {
        case 0:
          c.phases.insert(c.phases.begin() + static_cast<std::ptrdiff_t>(at),
                          names[random() % names.size()]);
          break;
        case 1:
          c.phases.erase(c.phases.begin() + static_cast<std::ptrdiff_t>(at));
          break;
        default:
          c.phases[at] = names[random() % names.size()];
      }
    }
    stream.push_back(std::move(c));
  }
  return stream;
}

fs::path fixtureWasm() {
  // The fixture as a binary, the form users pass.
  static const fs::path path = [] {
    const fs::path out = fs::temp_directory_path() / "loom-engine-bench-matmul.wasm";
    const std::string command = std::string("wasm-opt ") + LOOM_SOURCE_DIR +
                                "/tests/fixtures/matmul.wat -o " + out.string();
    if (std::system(command.c_str()) != 0) std::abort();
    return out;
  }();
  return path;
}

std::vector<fs::path> modules() {
  std::vector<fs::path> out = {fixtureWasm()};
  const char* env = std::getenv("LOOM_BENCH_CORPUS");
  std::string names = env ? env : "as-sha256,lz4";
  std::stringstream in(names);
  for (std::string name; std::getline(in, name, ',');) {
    const fs::path p = fs::path(LOOM_SOURCE_DIR) / "build" / "corpus" / (name + ".wasm");
    if (fs::exists(p)) out.push_back(p);
  }
  return out;
}

constexpr std::size_t kCandidates = 48;

void engineRun(benchmark::State& state, const fs::path& module, unsigned workers, bool verify) {
  const auto source = loom::wasm::probeModuleFile(module);
  const auto stream = candidateStream(kCandidates);
  loom::engine::EngineCounters counters;
  for (auto _ : state) {
    loom::engine::EngineOptions options;
    options.workers = workers;
    options.verify = verify;
    loom::engine::Engine engine(source, options);
    engine.evaluateBatch(stream);
    counters = engine.counters();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kCandidates));
  state.counters["memo_hit_rate"] = counters.memoHitRate();
  state.counters["prefix_reuse"] = counters.prefixReuseRate();
  const double total = counters.time.total > 0 ? counters.time.total : 1;
  state.counters["share_passes"] = counters.time.passes / total;
  state.counters["share_verify"] = counters.time.verification / total;
  state.counters["share_measure"] = (counters.time.measuring + counters.time.validation) / total;
}

void plainWasmOpt(benchmark::State& state, const fs::path& module) {
  const auto source = loom::wasm::probeModuleFile(module);
  const auto stream = candidateStream(kCandidates);
  const fs::path out =
      fs::temp_directory_path() / ("loom-bench-plain-" + std::to_string(::getpid()) + ".wasm");
  for (auto _ : state) {
    for (const auto& config : stream) {
      std::vector<std::string> args = {"wasm-opt", module.string()};
      const auto extra = *config.wasmOptArgs(source.features);
      args.insert(args.end(), extra.begin(), extra.end());
      args.insert(args.end(), {"-o", out.string()});
      const pid_t pid = ::fork();
      if (pid == 0) {
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execvp("wasm-opt", argv.data());
        ::_exit(127);
      }
      int status = 0;
      ::waitpid(pid, &status, 0);
      // And read the result back, as a search must, to measure it.
      benchmark::DoNotOptimize(fs::file_size(out));
    }
  }
  fs::remove(out);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kCandidates));
}

void registerAll() {
  for (const auto& module : modules()) {
    const std::string name = module.stem().string();
    benchmark::RegisterBenchmark(("plain_wasm_opt/" + name).c_str(), plainWasmOpt, module)
        ->Unit(benchmark::kMillisecond)
        ->Iterations(1)
        ->UseRealTime();
    for (unsigned workers : {1u, 2u}) {
      benchmark::RegisterBenchmark(
          ("engine/" + name + "/workers:" + std::to_string(workers)).c_str(), engineRun, module,
          workers, false)
          ->Unit(benchmark::kMillisecond)
          ->Iterations(1)
          ->UseRealTime();
    }
    for (unsigned workers : {1u, 2u}) {
      benchmark::RegisterBenchmark(
          ("engine_verified/" + name + "/workers:" + std::to_string(workers)).c_str(), engineRun,
          module, workers, true)
          ->Unit(benchmark::kMillisecond)
          ->Iterations(1)
          ->UseRealTime();
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  ::setenv("BINARYEN_CORES", "1", 1);
  benchmark::Initialize(&argc, argv);
  registerAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
