// The main job: loom-evolve MODULE --generations N -o OUT.wasm --report R.json
#include <fmt/format.h>

#include <sstream>

#include "commands.hpp"
#include "loom/driver/driver.hpp"
#include "loom/driver/progress.hpp"
#include "loom/driver/tune.hpp"
#include "loom/engine/proof_store.hpp"

namespace loom::cli {

namespace {

std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

struct EvolveSettings {
  driver::RunOptions run;
  std::string module, output, report, log, checkpoint;
  std::string objective = "weighted";
  std::string weights = "1,1";
  std::string algorithms;
  double memory_limit_mb = 4096;
  unsigned verify_timeout_ms = 3000;
  std::string verify_mode = "stepwise";
  std::string proof_store;
  bool no_proof_store = false;
  double verify_budget_seconds = 600;
  double screen_margin_percent = 0;
  bool verify_all = false;
  bool tune = false;
};

int runEvolve(EvolveSettings& s) {
  driver::RunOptions& o = s.run;
  o.module = s.module;
  if (!s.output.empty()) o.output = s.output;
  if (!s.report.empty()) o.report = s.report;
  if (!s.log.empty()) o.log = s.log;
  if (!s.checkpoint.empty()) o.checkpoint = s.checkpoint;
  const auto objective = problems::parseObjective(s.objective);
  if (!objective)
    throw CLI::ValidationError("--objective", "must be size, cycles, weighted or pareto");
  o.fitness.objective = *objective;
  const auto w = splitList(s.weights);
  try {
    if (w.size() != 2) throw std::invalid_argument("two numbers");
    o.fitness.size_weight = std::stod(w[0]);
    o.fitness.cycles_weight = std::stod(w[1]);
  } catch (const std::exception&) {
    throw CLI::ValidationError("--weights", "expected SIZE,CYCLES (two non-negative numbers)");
  }
  if (o.fitness.size_weight < 0 || o.fitness.cycles_weight < 0 ||
      o.fitness.size_weight + o.fitness.cycles_weight <= 0) {
    throw CLI::ValidationError("--weights", "weights must be non-negative and not both zero");
  }
  o.algorithms = splitList(s.algorithms);
  o.memory_limit_bytes = static_cast<std::uint64_t>(s.memory_limit_mb * 1024 * 1024);
  o.verify.function_timeout = std::chrono::milliseconds(s.verify_timeout_ms);
  o.stepwise = s.verify_mode == "stepwise";
  if (!s.no_proof_store)
    o.proof_store =
        s.proof_store.empty() ? engine::ProofStore::defaultPath().string() : s.proof_store;
  o.verify.module_budget =
      std::chrono::milliseconds(static_cast<long long>(s.verify_budget_seconds * 1000));
  o.screen_margin = s.verify_all ? -1.0 : s.screen_margin_percent / 100.0;

  driver::installStopHandlers();
  if (s.tune) {
    const driver::RunOutcome outcome = driver::runTune(o);
    if (!o.quiet) {
      const auto& r = outcome.report;
      if (r["recommended"].is_object()) {
        fmt::print(stderr,
                   "recommended: geometric mean {:.5f} of the verified -Oz on training modules",
                   r["recommended"]["geomean_ratio_to_oz"].get<double>());
        const auto& tool = r["train"]["summary"]["answer_geomean_ratio_to_wasm_opt_oz"];
        if (tool.is_number()) {
          fmt::print(stderr,
                     " ({:.5f} of wasm-opt -Oz, unverified, keeping the input file where "
                     "it is smaller)",
                     tool.get<double>());
        }
        if (!r["test"]["summary"]["geomean_ratio_to_oz"].is_null()) {
          fmt::print(
              stderr, ", {:.5f} on {} held-out modules ({} better, {} worse, all verified: {})",
              r["test"]["summary"]["geomean_ratio_to_oz"].get<double>(),
              r["test"]["summary"]["modules"].get<int>(),
              r["test"]["summary"]["improved"].get<int>(), r["test"]["summary"]["worse"].get<int>(),
              r["test"]["summary"]["all_verified"].get<bool>());
        }
        fmt::print(stderr, "\n");
      }
      if (o.output && r["recommended"].is_object())
        fmt::print(stderr, "wrote {}\n", o.output->string());
      if (o.report) fmt::print(stderr, "wrote {}\n", o.report->string());
    }
    return outcome.exit_code;
  }
  const driver::RunOutcome outcome = driver::runSearch(o);
  if (!o.quiet) {
    const auto& report = outcome.report;
    const auto& best = report["best"];
    const auto& written = report["written"];
    auto bytesOf = [](const nlohmann::json& j) -> std::uint64_t {
      return j.is_object() && j.value("status", "") == "ok" && j["total_bytes"].is_number()
                 ? j["total_bytes"].get<std::uint64_t>()
                 : 0;
    };
    const std::uint64_t tool_oz = bytesOf(report["wasm_opt"]["Oz"]);
    const auto& verified_oz = report["baselines"]["Oz"];
    const std::uint64_t oz =
        verified_oz.is_object() && verified_oz.value("verified", false) ? bytesOf(verified_oz) : 0;
    if (best.is_object()) {
      const auto bytes = best["total_bytes"].get<std::uint64_t>();
      fmt::print(stderr, "best verified: {} bytes{}, {} phases, found by {}\n", bytes,
                 driver::versusReferences(bytes, tool_oz, oz), best["phases"].size(),
                 best["found_by"].dump());
    }
    const bool input_file = written.is_object() && written["from"] == "input-file";
    if (input_file) {
      const auto bytes = written["total_bytes"].get<std::uint64_t>();
      fmt::print(stderr, "nothing verified beats the input file: {} bytes{}\n", bytes,
                 driver::versusReferences(bytes, tool_oz, oz));
    }
    if (o.output && (best.is_object() || input_file)) {
      fmt::print(stderr, "wrote {}{}\n", o.output->string(),
                 input_file ? " (the input file, unchanged)" : "");
    }
    if (o.report) fmt::print(stderr, "wrote {}\n", o.report->string());
    if (outcome.interrupted) {
      fmt::print(stderr, "interrupted: resume with the same command and --resume (checkpoint {})\n",
                 o.checkpointPath().string());
    }
  }
  // Said under --quiet too: the answer may be worse than the run could give.
  if (const std::string degraded =
          driver::degradationLine(outcome.report.value("degraded", nlohmann::json::object()));
      !degraded.empty())
    fmt::print(stderr, "{}\n", degraded);
  return outcome.exit_code;
}

// The search options `loom-evolve MODULE` and `loom-evolve tune` share.
void addSearchOptions(CLI::App& app, EvolveSettings& s) {
  driver::RunOptions& o = s.run;
  app.add_option("--report", s.report, "Write the JSON report here (schema: docs/report.md)");
  app.add_option("--log", s.log, "Append every evaluation to this SQLite database");
  app.add_option("--log-wait", o.log_wait_seconds,
                 "Seconds the end of a run waits for a busy --log before it gives up (exit 4)")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  app.add_option("--checkpoint", s.checkpoint,
                 "Checkpoint file (default: REPORT/OUTPUT/MODULE + .checkpoint.json)");
  app.add_flag("--resume", o.resume, "Continue the run saved in the checkpoint");
  app.add_option("--checkpoint-every", o.checkpoint_every, "Generations between checkpoints")
      ->check(CLI::PositiveNumber);
  app.add_option("--generations", o.generations,
                 "Generations to evolve (0: only evaluate the seed pipelines)")
      ->capture_default_str();
  app.add_option("--islands", o.islands, "Islands in the archipelago")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--population", o.population, "Individuals per island")
      ->capture_default_str()
      ->check(CLI::Range(2, 1000));
  app.add_option("--topology", o.topology,
                 "ring, fully-connected, unconnected, or free:0-1,1-2,...")
      ->capture_default_str();
  app.add_option("--migrate-every", o.migrate_every, "Generations between migrations")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--migrants", o.migrants, "Migrants per source island and migration")
      ->capture_default_str();
  app.add_option("--selection", o.selection, "Migrant selection policy (best)")
      ->capture_default_str();
  app.add_option("--replacement", o.replacement, "Migrant replacement policy (fair)")
      ->capture_default_str();
  app.add_option("--migration-type", o.migration_type,
                 "p2p (one neighbour) or broadcast (all neighbours)")
      ->capture_default_str();
  app.add_option("--algorithms", s.algorithms,
                 "Comma-separated island algorithms: pga, gaco, ihs, sga, de, pso, nsga2");
  app.add_option("--objective", s.objective, "size, cycles, weighted or pareto")
      ->capture_default_str();
  app.add_option("--weights", s.weights, "SIZE,CYCLES weights of the weighted objective")
      ->capture_default_str();
  app.add_flag("--allow-bounded", o.fitness.allow_bounded,
               "Accept functions verified only up to the loop bound");
  app.add_flag("!--no-repair", o.repair,
               "Do not give unverified functions their original bodies back");
  app.add_option("--proof-store", s.proof_store,
                 "SQLite file of verdicts shared by every run (default: "
                 "$LOOM_PROOF_STORE, else ~/.cache/loom-evolve/proofs.db)");
  app.add_flag("--no-proof-store", s.no_proof_store,
               "Verify without reading or writing the proof store");
  app.add_option("--verify-mode", s.verify_mode,
                 "stepwise: verify each step of a pipeline against the one before and undo, per "
                 "function, the steps that do not verify; end-to-end: the output against the "
                 "input")
      ->capture_default_str()
      ->check(CLI::IsMember({"stepwise", "end-to-end"}));
  app.add_option("--screen-margin", s.screen_margin_percent,
                 "Verify only candidates whose measured objective is within PERCENT of the best "
                 "verified one")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1000.0));
  app.add_flag("--verify-all", s.verify_all,
               "Verify every candidate, however far from the best (slower)");
  app.add_option("--time-budget", o.time_budget_seconds,
                 "Stop after this many seconds (0: no limit)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seed", o.seed,
                 "Random seed: the same seed on the same input gives the same result")
      ->capture_default_str();
  app.add_option("--jobs", o.jobs, "Worker processes (0: one per core)")->capture_default_str();
  app.add_option("--max-phases", o.max_phases, "Longest pipeline a genome can hold")
      ->capture_default_str()
      ->check(CLI::Range(50, 1000));
  app.add_flag("--strip-debug", o.strip_debug,
               "Strip debug info first, like wasm-opt --strip-debug");
  app.add_flag("-q,--quiet", o.quiet, "Print nothing but errors");
  app.add_flag("--progress-lines", o.progress_lines, "Plain progress lines even on a terminal");
  app.add_option("--candidate-timeout", o.candidate_timeout_seconds,
                 "Seconds one candidate may take (0: scaled to the module's function count)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--memory-limit", s.memory_limit_mb, "Megabytes one worker may use")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--verify-timeout", s.verify_timeout_ms,
                 "Solver budget per function, in nominal milliseconds (Z3 resource units, so "
                 "verdicts do not depend on machine load)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--verify-budget", s.verify_budget_seconds,
                 "Solver budget per candidate module, in nominal seconds (0: none); functions "
                 "beyond it stay unverified and keep their original bodies")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e6));
  app.add_option("--loop-bound", o.verify.loop_bound,
                 "Loop iterations checked when a loop cannot be proved inductively")
      ->capture_default_str();
  app.add_option("--inline-depth", o.verify.inline_depth,
                 "Depth of calls the verifier executes symbolically")
      ->capture_default_str();
}

}  // namespace

Command addEvolveCommand(CLI::App& app) {
  auto s = std::make_shared<EvolveSettings>();
  app.add_option("module", s->module, "WebAssembly module to optimize (.wasm or .wat)");
  app.add_option("-o,--output", s->output, "Write the best verified module here");
  addSearchOptions(app, *s);
  return [&app, s]() -> int {
    if (!app.get_subcommands().empty()) return -1;
    if (s->module.empty()) return -1;
    return runEvolve(*s);
  };
}

Command addTuneCommand(CLI::App& app) {
  auto s = std::make_shared<EvolveSettings>();
  CLI::App* cmd = app.add_subcommand(
      "tune", "Evolve one configuration that is generally better over a corpus of modules");
  cmd->add_option("corpus", s->module,
                  "Directory of .wasm modules (with manifest.tsv from scripts/fetch-corpus for a "
                  "train/test split)")
      ->required();
  cmd->add_option("-o,--output", s->output,
                  "Write the recommended configuration (JSON, for `apply`) here");
  addSearchOptions(*cmd, *s);
  return [cmd, s]() -> int {
    if (!*cmd) return -1;
    s->tune = true;
    return runEvolve(*s);
  };
}

}  // namespace loom::cli
