#include <fmt/format.h>
#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "isolated_run.hpp"
#include "loom/pipeline/builtins.hpp"
#include "loom/wasm/features.hpp"
#include "loom/wasm/hash.hpp"
#include "loom/wasm/loader.hpp"

namespace loom::cli {

namespace {

struct BaselinesOptions {
  std::string module;
  bool json = false;
  bool strip_debug = false;
  double timeout_seconds = 600;
};

nlohmann::json metricsJson(const cost::Metrics& m) {
  return {{"total_bytes", m.total_bytes},
          {"code_bytes", m.code_bytes},
          {"instructions", m.instructions},
          {"cycles", m.cycles},
          {"functions", m.functions}};
}

int runBaselines(const BaselinesOptions& options) {
  wasm::LoadOptions load;
  load.strip_debug = options.strip_debug;
  const wasm::ModuleSource source = wasm::probeModuleFile(options.module, load);
  const auto timeout = std::chrono::milliseconds(static_cast<long>(options.timeout_seconds * 1000));

  nlohmann::json out;
  out["module"] = options.module;
  out["sha256"] = wasm::sha256Hex(source.bytes);
  out["features"] = wasm::describeFeatures(source.features);
  out["strip_debug"] = options.strip_debug;

  const IsolatedRun input = runIsolated(source, pipeline::PipelineConfig{}, timeout);
  if (!input.ok) throw wasm::Error(fmt::format("{}: {}", options.module, input.error));
  out["input"] = metricsJson(input.metrics);
  out["input_file_bytes"] = source.bytes.size();
  // What each pipeline writes, unverified: for O..O4 what the wasm-opt tool
  // writes (scripts/check-builtins); `loom-evolve MODULE --generations 0`
  // verifies them.
  out["verified"] = false;

  struct Row {
    std::string name;
    IsolatedRun run;
  };
  std::vector<Row> rows;
  for (const auto& builtin : pipeline::builtinConfigs()) {
    IsolatedRun run = runIsolated(source, builtin.config, timeout);
    nlohmann::json entry = run.ok ? metricsJson(run.metrics) : nlohmann::json{{"error", run.error}};
    out["baselines"][std::string(builtin.name)] = entry;
    if (builtin.name != "loom") out["wasm_opt"][std::string(builtin.name)] = entry;
    rows.push_back({std::string(builtin.name), std::move(run)});
  }

  if (options.json || !::isatty(STDOUT_FILENO)) {
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  const double input_total = static_cast<double>(input.metrics.total_bytes);
  fmt::print("{}  ({} bytes in, features: {})\n", options.module, source.bytes.size(),
             wasm::describeFeatures(source.features));
  fmt::print(
      "unverified: O to O4 are what the wasm-opt tool writes; `loom-evolve MODULE --generations "
      "0` verifies them\n\n");
  fmt::print("{:<8} {:>12} {:>8} {:>12} {:>13} {:>16}\n", "config", "total bytes", "ratio",
             "code bytes", "instructions", "est. cycles");
  auto line = [&](const std::string& name, const cost::Metrics& m) {
    fmt::print("{:<8} {:>12} {:>8.4f} {:>12} {:>13} {:>16.0f}\n", name, m.total_bytes,
               static_cast<double>(m.total_bytes) / input_total, m.code_bytes, m.instructions,
               m.cycles);
  };
  line("input", input.metrics);  // as Binaryen writes it; the file's own size is above
  for (const Row& row : rows) {
    if (row.run.ok)
      line(row.name, row.run.metrics);
    else
      fmt::print("{:<8} failed: {}\n", row.name, row.run.error);
  }
  return 0;
}

}  // namespace

Command addBaselinesCommand(CLI::App& app) {
  auto options = std::make_shared<BaselinesOptions>();
  CLI::App* cmd = app.add_subcommand(
      "baselines",
      "Size, instructions and estimated cycles of the input and of each built-in pipeline");
  cmd->add_option("module", options->module, "WebAssembly module (.wasm or .wat)")->required();
  cmd->add_flag("--json", options->json, "Print JSON (the default when stdout is not a terminal)");
  cmd->add_flag("--strip-debug", options->strip_debug,
                "Strip debug info first, like wasm-opt --strip-debug");
  cmd->add_option("--timeout", options->timeout_seconds, "Seconds allowed per pipeline")
      ->check(CLI::PositiveNumber);
  return [cmd, options]() -> int {
    if (!*cmd) return -1;
    return runBaselines(*options);
  };
}

}  // namespace loom::cli
