#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "isolated_run.hpp"
#include "loom/pipeline/builtins.hpp"
#include "loom/support/files.hpp"
#include "loom/wasm/loader.hpp"

namespace loom::cli {

namespace {

struct ApplyOptions {
  std::string config;
  std::string module;
  std::string output;
  bool strip_debug = false;
  double timeout_seconds = 600;
};

// CONFIG is a built-in name (Oz, loom, ...), a configuration file, or a
// report whose "best.config" holds one.
pipeline::PipelineConfig loadConfig(const std::string& spec) {
  std::error_code ec;
  if (!std::filesystem::exists(spec, ec)) {
    if (auto builtin = pipeline::builtinConfig(spec)) return *builtin;
    throw support::FileError(
        fmt::format("cannot read {}: no such file, and not a built-in configuration", spec));
  }
  const std::string text = support::readTextFile(spec);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw pipeline::ConfigError(fmt::format("{}: not valid JSON: {}", spec, e.what()));
  }
  if (j.is_object() && j.contains("best") && j["best"].is_object() &&
      j["best"].contains("config")) {
    j = j["best"]["config"];
  }
  try {
    return pipeline::PipelineConfig::fromJson(j);
  } catch (const pipeline::ConfigError& e) {
    throw pipeline::ConfigError(fmt::format("{}: {}", spec, e.what()));
  }
}

int runApply(const ApplyOptions& options) {
  const pipeline::PipelineConfig config = loadConfig(options.config);
  support::checkWritable(options.output);
  wasm::LoadOptions load;
  load.strip_debug = options.strip_debug;
  const wasm::ModuleSource source = wasm::probeModuleFile(options.module, load);
  const auto timeout = std::chrono::milliseconds(static_cast<long>(options.timeout_seconds * 1000));
  const IsolatedRun run = runIsolated(source, config, timeout);
  if (!run.ok)
    throw wasm::Error(fmt::format("{}: the pipeline failed: {}", options.module, run.error));
  support::writeFileAtomic(options.output, run.binary);
  // Unverified, so compared with the wasm-opt tool's own -Oz (what users
  // ship today) and the input file.
  std::string versus;
  const IsolatedRun oz = runIsolated(source, *pipeline::builtinConfig("Oz"), timeout);
  if (oz.ok) {
    const double change = 100.0 *
                          (static_cast<double>(run.metrics.total_bytes) -
                           static_cast<double>(oz.metrics.total_bytes)) /
                          static_cast<double>(oz.metrics.total_bytes);
    versus = fmt::format(", {:+.2f}% vs wasm-opt -Oz {} B", change, oz.metrics.total_bytes);
  }
  fmt::print(stderr, "wrote {} ({} bytes, code {} bytes, unverified{}; input file {} bytes)\n",
             options.output, run.metrics.total_bytes, run.metrics.code_bytes, versus,
             source.bytes.size());
  return 0;
}

}  // namespace

Command addApplyCommand(CLI::App& app) {
  auto options = std::make_shared<ApplyOptions>();
  CLI::App* cmd = app.add_subcommand("apply", "Apply a pipeline configuration to a module");
  cmd->add_option("config", options->config,
                  "Configuration JSON, a report (its best configuration), or a built-in name "
                  "(loom, O, Os, Oz, O3, O4)")
      ->required();
  cmd->add_option("module", options->module, "WebAssembly module (.wasm or .wat)")->required();
  cmd->add_option("-o,--output", options->output, "Where to write the optimized module")
      ->required();
  cmd->add_flag("--strip-debug", options->strip_debug,
                "Strip debug info first, like wasm-opt --strip-debug");
  cmd->add_option("--timeout", options->timeout_seconds, "Seconds allowed")
      ->check(CLI::PositiveNumber);
  return [cmd, options]() -> int {
    if (!*cmd) return -1;
    return runApply(*options);
  };
}

}  // namespace loom::cli
