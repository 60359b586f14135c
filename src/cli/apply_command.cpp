#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "commands.hpp"
#include "isolated_run.hpp"
#include "loom/engine/proof_store.hpp"
#include "loom/pipeline/builtins.hpp"
#include "loom/support/files.hpp"
#include "loom/wasm/binary_layout.hpp"
#include "loom/wasm/loader.hpp"

namespace loom::cli {

namespace {

struct ApplyOptions {
  std::string config;
  std::string module;
  std::string output;
  bool strip_debug = false;
  double timeout_seconds = 600;
  bool unverified = false;
  std::string proof_store;
  bool no_proof_store = false;
  unsigned verify_timeout_ms = 3000;
  double verify_budget_seconds = 600;
  unsigned jobs = 0;  // 0: one per core
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
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range: 1e999
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
  std::error_code ec;
  const bool config_is_file = std::filesystem::exists(options.config, ec);
  support::checkDistinct(
      {{"the input", options.module, false},
       {"the configuration", config_is_file ? options.config : "", false},
       {"-o", options.output},
       {"the proof store",
        options.unverified || options.no_proof_store ? std::string() : options.proof_store}});
  support::checkWritable(options.output);
  wasm::LoadOptions load;
  load.strip_debug = options.strip_debug;
  const wasm::ModuleSource source = wasm::probeModuleFile(options.module, load);
  const auto timeout = std::chrono::milliseconds(static_cast<long>(options.timeout_seconds * 1000));
  std::optional<verify::VerifyOptions> verify;
  if (!options.unverified) {
    verify.emplace();
    verify->function_timeout = std::chrono::milliseconds(options.verify_timeout_ms);
    verify->module_budget =
        std::chrono::milliseconds(static_cast<long long>(options.verify_budget_seconds * 1000));
  }
  std::string store;
  if (verify && !options.no_proof_store) {
    store = options.proof_store.empty() ? engine::ProofStore::defaultPath().string()
                                        : options.proof_store;
    const engine::ProofStore check(store);  // a foreign file stops here, in one line
    if (!check.note().empty()) fmt::print(stderr, "warning: {}\n", check.note());
  }
  const unsigned jobs =
      options.jobs > 0 ? options.jobs : std::max(1u, std::thread::hardware_concurrency());
  const IsolatedRun run = runIsolated(source, config, timeout, verify, store, jobs);
  const bool input_is_wasm = !options.strip_debug && wasm::looksLikeBinary(source.bytes);
  if (!run.ok && verify && input_is_wasm && run.error.find("timed out") != std::string::npos) {
    // The chain stops taking steps at three quarters of --timeout; if even
    // the write step after that did not finish, the input is what is proved.
    support::writeFileAtomic(options.output, source.bytes);
    fmt::print(stderr, "wrote {} unchanged ({} bytes): verification did not finish within {} s\n",
               options.output, source.bytes.size(), options.timeout_seconds);
    return 0;
  }
  if (!run.ok)
    throw wasm::Error(fmt::format("{}: the pipeline failed: {}", options.module, run.error));
  // Compared with the wasm-opt tool's own -Oz (what users ship today) and
  // the input file.
  std::string versus;
  const IsolatedRun oz = runIsolated(source, *pipeline::builtinConfig("Oz"), timeout);
  if (oz.ok) {
    const double change = 100.0 *
                          (static_cast<double>(run.metrics.total_bytes) -
                           static_cast<double>(oz.metrics.total_bytes)) /
                          static_cast<double>(oz.metrics.total_bytes);
    versus =
        fmt::format(", {:+.2f}% vs wasm-opt -Oz {} B, unverified", change, oz.metrics.total_bytes);
  }
  if (!run.verification) {
    support::writeFileAtomic(options.output, run.binary);
    fmt::print(stderr, "wrote {} ({} bytes, code {} bytes, unverified{}; input file {} bytes)\n",
               options.output, run.metrics.total_bytes, run.metrics.code_bytes, versus,
               source.bytes.size());
    return 0;
  }
  const nlohmann::json& v = *run.verification;
  // The input file itself is verified by definition: it is written when
  // nothing verifies, or when the verified output is no smaller (a .wat or
  // a stripped input has no such file to fall back on).
  const std::string unverifiable = v.value("unverifiable", "");
  if (!unverifiable.empty() && !input_is_wasm)
    throw wasm::Error(fmt::format("{}: nothing can be verified: {}", options.module, unverifiable));
  if (input_is_wasm && (!unverifiable.empty() || run.metrics.total_bytes >= source.bytes.size())) {
    support::writeFileAtomic(options.output, source.bytes);
    fmt::print(stderr, "wrote {} unchanged ({} bytes): {}\n", options.output, source.bytes.size(),
               unverifiable.empty() ? fmt::format("the verified output ({} bytes) is no smaller",
                                                  run.metrics.total_bytes)
                                    : "nothing can be verified: " + unverifiable);
    return 0;
  }
  support::writeFileAtomic(options.output, run.binary);
  const auto& undone = v.at("reverted_steps");
  std::set<std::string> functions;
  std::set<std::uint32_t> steps;
  for (const auto& r : undone) {
    if (!r.at("function").get<std::string>().empty()) functions.insert(r.at("function"));
    steps.insert(r.at("step").get<std::uint32_t>());
  }
  fmt::print(stderr,
             "wrote {} ({} bytes, code {} bytes, verified step by step: {} of {} steps kept "
             "whole, {} (function, step) undone in {} functions{}; input file {} bytes)\n",
             options.output, run.metrics.total_bytes, run.metrics.code_bytes,
             config.phases.size() + 1 - steps.size(), config.phases.size() + 1, undone.size(),
             functions.size(), versus, source.bytes.size());
  for (const auto& r : undone) {
    const std::string f = r.at("function");
    fmt::print(stderr, "  undone: {} at step {} ({}): {}\n", f.empty() ? "the whole step" : f,
               r.at("step").get<std::uint32_t>(), r.at("phase").get<std::string>(),
               r.at("reason").get<std::string>().substr(0, 160));
  }
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
  cmd->add_flag("--unverified", options->unverified,
                "Write the pipeline's output as it is, like wasm-opt, without verifying it");
  cmd->add_option("--proof-store", options->proof_store,
                  "SQLite file of verdicts shared by every run (default: $LOOM_PROOF_STORE, "
                  "else ~/.cache/loom-evolve/proofs.db)");
  cmd->add_flag("--no-proof-store", options->no_proof_store,
                "Verify without reading or writing the proof store");
  cmd->add_option("--verify-timeout", options->verify_timeout_ms,
                  "Solver budget per function and step, in nominal milliseconds")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--verify-budget", options->verify_budget_seconds,
                  "Solver budget of the whole pipeline, in nominal seconds (0: none); steps "
                  "beyond it are not run")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--jobs", options->jobs,
                  "Processes that verify the steps' changed functions together before the "
                  "chain that writes the answer (0: one per core)")
      ->capture_default_str()
      ->check(CLI::Range(0u, 256u));
  return [cmd, options]() -> int {
    if (!*cmd) return -1;
    return runApply(*options);
  };
}

}  // namespace loom::cli
