// Stepwise against end-to-end translation validation of the same candidates
// (the built-in pipelines) on the same modules: the verified size each ends
// with, how much of the pipeline's gain it keeps, what it asked the solver,
// and the time it took. One iteration each: a verification takes seconds.
//
//   build/bin/stepwise_bench --benchmark_counters_tabular=true
//   LOOM_BENCH_MODULES=a.wasm,b.wasm LOOM_BENCH_CONFIGS=Oz,O3 build/bin/stepwise_bench
//   LOOM_BENCH_PROOF_STORE=/tmp/p.db build/bin/stepwise_bench   # twice: cold, then warm
//
// Modules: the bundled example and, from LOOM_BENCH_MODULES, any others.
// Counters: bytes (the verified output), tool_bytes (the pipeline's own
// output, unverified), input_bytes, kept (share of the tool's saving the
// verified output keeps), reverted ((function, step) pairs undone, or
// functions kept original end to end), solver (proofs the solver made),
// no_solver (proofs by renamed vars or from the cache or proof store).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "loom/engine/evaluator.hpp"
#include "loom/pipeline/builtins.hpp"
#include "loom/wasm/loader.hpp"

namespace {

namespace fs = std::filesystem;

std::vector<std::string> listFromEnv(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  std::stringstream in(value && *value ? value : fallback);
  std::vector<std::string> items;
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

void verifyOnce(benchmark::State& state, const std::string& path, const std::string& config_name,
                bool stepwise) {
  const loom::wasm::ModuleSource source = loom::wasm::probeModuleFile(path);
  const loom::pipeline::PipelineConfig config = *loom::pipeline::builtinConfig(config_name);
  loom::engine::EvaluatorOptions options;
  options.verify_options.function_timeout = std::chrono::milliseconds(3000);
  options.verify_options.module_budget = std::chrono::milliseconds(0);
  options.stepwise = stepwise;
  options.prefix_stride = 0;  // every candidate from scratch: no sharing between the two
  // LOOM_BENCH_PROOF_STORE=FILE: verdicts from and to that proof store (run
  // twice for a cold and a warm figure).
  if (const char* store = std::getenv("LOOM_BENCH_PROOF_STORE"); store && *store)
    options.proof_store = store;
  loom::engine::EvalResult verified, tool;
  for (auto _ : state) {
    loom::engine::Evaluator evaluator(source, options);
    verified = evaluator.evaluate(config, /*verify=*/true, /*want_module=*/false);
    state.PauseTiming();
    tool = evaluator.evaluate(config, /*verify=*/false, /*want_module=*/false);
    state.ResumeTiming();
  }
  if (verified.status != loom::engine::EvalStatus::Ok) {
    state.SkipWithError(verified.reason.c_str());
    return;
  }
  // LOOM_BENCH_VERBOSE=1: what was undone, and why.
  if (const char* verbose = std::getenv("LOOM_BENCH_VERBOSE"); verbose && *verbose == '1') {
    for (const auto& r : verified.reverted_steps)
      std::fprintf(stderr, "reverted: %s\n", r.toJson().dump().c_str());
    for (const auto& f : verified.repaired) std::fprintf(stderr, "kept original: %s\n", f.c_str());
  }
  const auto input = static_cast<double>(source.bytes.size());
  const auto bytes = static_cast<double>(verified.metrics.total_bytes);
  const auto tool_bytes = static_cast<double>(tool.metrics.total_bytes);
  state.counters["bytes"] = bytes;
  state.counters["tool_bytes"] = tool_bytes;
  state.counters["input_bytes"] = input;
  state.counters["kept"] = input > tool_bytes ? (input - bytes) / (input - tool_bytes) : 1.0;
  if (verified.stepwise) {
    const auto& s = *verified.stepwise;
    state.counters["reverted"] = static_cast<double>(s.reverted);
    state.counters["solver"] = static_cast<double>(s.proved_by_solver);
    state.counters["no_solver"] = static_cast<double>(s.proved_renamed + s.proved_cached);
  } else if (verified.verification) {
    const auto& v = *verified.verification;
    state.counters["reverted"] = static_cast<double>(verified.repaired.size());
    state.counters["solver"] = static_cast<double>(v.proved);
    state.counters["no_solver"] = 0;
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  std::vector<std::string> modules = {std::string(LOOM_SOURCE_DIR) + "/examples/example.wasm"};
  for (auto& m : listFromEnv("LOOM_BENCH_MODULES", "")) modules.push_back(m);
  const std::vector<std::string> configs = listFromEnv("LOOM_BENCH_CONFIGS", "Oz");
  for (const auto& module : modules) {
    if (!fs::exists(module)) continue;
    const std::string name = fs::path(module).stem().string();
    for (const auto& config : configs) {
      for (bool stepwise : {true, false}) {
        benchmark::RegisterBenchmark(
            (name + "/" + config + (stepwise ? "/stepwise" : "/end-to-end")).c_str(),
            [=](benchmark::State& s) { verifyOnce(s, module, config, stepwise); })
            ->Iterations(1)
            ->Unit(benchmark::kSecond)
            ->UseRealTime();
      }
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
