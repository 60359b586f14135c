// `loom-evolve MODULE`: evolve a pipeline for one module.
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "archipelago.hpp"
#include "loom/driver/archive.hpp"
#include "loom/driver/driver.hpp"
#include "loom/driver/evaluation_log.hpp"
#include "loom/driver/progress.hpp"
#include "loom/engine/proof_store.hpp"
#include "loom/pipeline/builtins.hpp"
#include "loom/support/files.hpp"
#include "loom/wasm/binary_layout.hpp"
#include "loom/wasm/hash.hpp"
#include "loom/wasm/loader.hpp"
#include "report.hpp"
#include "run_support.hpp"

namespace loom::driver {

namespace {

using Clock = std::chrono::steady_clock;

class SearchError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace

ArchipelagoSettings archipelagoSettings(const RunOptions& o) {
  ArchipelagoSettings s;
  s.islands = o.islands;
  s.population = o.population;
  s.topology = o.topology;
  s.migrate_every = o.migrate_every;
  s.migrants = o.migrants;
  s.selection = o.selection;
  s.replacement = o.replacement;
  s.migration_type = o.migration_type;
  s.algorithms = o.algorithms;
  s.seed = o.seed;
  return s;
}

std::string verifyFingerprint(const RunOptions& o) {
  const auto& v = o.verify;
  return fmt::format(
      "loop_bound={};inline_depth={};timeout_ms={};module_budget_ms={};max_terms={};repair={};"
      "bounded={}",
      v.loop_bound, v.inline_depth, v.function_timeout.count(), v.module_budget.count(),
      v.max_terms, o.repair, o.fitness.allow_bounded);
}

double verifyThreshold(const Archive& archive, const RunOptions& o) {
  const auto best = archive.best();
  if (o.screen_margin < 0 || !best || o.fitness.objective == problems::Objective::Pareto) {
    return problems::CandidateEvaluator::kVerifyAll;
  }
  const double f = best->score.objectives.front();
  return f + std::abs(f) * o.screen_margin;
}

std::vector<problems::ScoredCandidate> scoreBaselines(
    problems::CandidateEvaluator& evaluator, const std::vector<pipeline::PipelineConfig>& configs,
    const RunOptions& options) {
  Archive reference;
  const pipeline::PipelineConfig oz = *pipeline::builtinConfig("Oz");
  const problems::ScoredCandidate scored_oz = evaluator.evaluate({oz}).front();
  reference.offer(ArchivedCandidate{oz, scored_oz.result, scored_oz.score, -1, 0});
  return evaluator.evaluate(configs, verifyThreshold(reference, options));
}

std::optional<engine::EvalResult> keepWhatOzCannotVerify(engine::Engine& engine,
                                                         const RunOptions& options) {
  if (!options.repair) return std::nullopt;
  engine::EvalResult oz = engine.evaluateRetryingCrashes(*pipeline::builtinConfig("Oz"));
  if (oz.verified(options.fitness.allow_bounded)) engine.keepOriginal(oz.repaired);
  return oz;
}

std::vector<ToolOutput> measureWasmOpt(const wasm::ModuleSource& source, const RunOptions& options,
                                       const std::vector<std::string>& levels) {
  engine::EngineOptions e = engineOptions(options);
  e.verify = false;
  const unsigned cores =
      options.jobs ? options.jobs : std::max(1u, std::thread::hardware_concurrency());
  e.workers = std::max(1u, std::min(cores, static_cast<unsigned>(levels.size())));
  engine::Engine tool(source, e);
  std::vector<pipeline::PipelineConfig> configs;
  for (const auto& level : levels) configs.push_back(*pipeline::builtinConfig(level));
  std::vector<engine::EvalResult> results = tool.evaluateBatch(configs);
  std::vector<ToolOutput> out;
  for (std::size_t i = 0; i < levels.size(); ++i) {
    // A worker killed from outside is not the pipeline's fault: once more.
    if (results[i].status == engine::EvalStatus::Crashed ||
        results[i].status == engine::EvalStatus::OutOfMemory)
      results[i] = tool.evaluateRetryingCrashes(configs[i]);
    results[i].module.clear();
    out.push_back({levels[i], std::move(results[i])});
  }
  return out;
}

namespace {

// The one number candidates are ranked by when choosing what to write; a
// Pareto run writes the front's best by the weights, as the search does.
double rankingObjective(const problems::Score& s, const RunOptions& options) {
  if (options.fitness.objective == problems::Objective::Pareto)
    return options.fitness.size_weight * s.size_ratio +
           options.fitness.cycles_weight * s.cycles_ratio;
  return s.objectives.front();
}

}  // namespace

Answer chooseAnswer(const wasm::ModuleSource& source, const engine::EvalResult& input,
                    const std::optional<ArchivedCandidate>& best, const RunOptions& options) {
  Answer a;
  if (best) {
    a.total_bytes = best->result.metrics.total_bytes;
    a.code_bytes = best->result.metrics.code_bytes;
  }
  if (source.format != wasm::SourceFormat::Binary) {
    a.reason = "the input is a text module, so its file is no candidate";
    return a;
  }
  a.input_file_bytes = source.bytes.size();
  a.input_file_code_bytes = wasm::readBinaryLayout(source.bytes).codeSectionBytes();
  if (options.strip_debug) {
    a.reason = "--strip-debug: the input file, with its debug info, is no candidate";
    return a;
  }
  a.input_file_candidate = true;
  // The input file has the input's code, so the input's cycles; only its
  // sizes are its own.
  engine::EvalResult file = input;
  file.metrics.total_bytes = a.input_file_bytes;
  file.metrics.code_bytes = a.input_file_code_bytes;
  const problems::Score file_score = problems::score(file, input.metrics, options.fitness);
  if (best && rankingObjective(best->score, options) < rankingObjective(file_score, options)) {
    a.reason = fmt::format("the best verified candidate ({} bytes) beats the input file ({} bytes)",
                           a.total_bytes, a.input_file_bytes);
    return a;
  }
  a.input_file_wins = true;
  a.reason = best ? fmt::format(
                        "nothing beats the input file ({} bytes; the best verified candidate has "
                        "{} bytes): "
                        "the input is written unchanged",
                        a.input_file_bytes, best->result.metrics.total_bytes)
                  : fmt::format(
                        "no verified candidate beats the input file ({} bytes): the input is "
                        "written unchanged",
                        a.input_file_bytes);
  a.total_bytes = a.input_file_bytes;
  a.code_bytes = a.input_file_code_bytes;
  return a;
}

std::chrono::steady_clock::time_point deadlineOf(std::chrono::steady_clock::time_point started,
                                                 const RunOptions& options) {
  if (options.time_budget_seconds <= 0) return std::chrono::steady_clock::time_point::max();
  return started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                       std::chrono::duration<double>(options.time_budget_seconds));
}

void openProofStore(const RunOptions& options, Progress& progress) {
  if (options.proof_store.empty()) return;
  // Opened here first, so that a file that is not a proof store stops the
  // run before any work, in one line; workers open it again.
  const engine::ProofStore store(options.proof_store);
  if (!store.note().empty()) progress.message("warning: " + store.note());
}

engine::EngineOptions engineOptions(const RunOptions& o) {
  engine::EngineOptions e;
  e.workers = o.jobs;
  e.candidate_timeout =
      std::chrono::milliseconds(static_cast<long>(o.candidate_timeout_seconds * 1000));
  e.memory_limit_bytes = o.memory_limit_bytes;
  e.evaluator.verify_options = o.verify;
  e.evaluator.accept_bounded = o.fitness.allow_bounded;
  e.evaluator.repair = o.repair;
  e.evaluator.stepwise = o.stepwise;
  e.evaluator.proof_store = o.proof_store;
  return e;
}

RunOutcome runSearch(const RunOptions& options) {
  const auto started = Clock::now();
  beginSetup();  // a signal from here on stops this run (during set-up: at once)
  Progress progress(Progress::detect(options.quiet, options.progress_lines));

  // Everything that can fail on bad input fails here, before any work.
  if (options.output) support::checkWritable(*options.output);
  if (options.report) support::checkWritable(*options.report);
  const auto checkpoint_path = options.checkpointPath();
  support::checkWritable(checkpoint_path);
  openProofStore(options, progress);
  wasm::LoadOptions load;
  load.strip_debug = options.strip_debug;
  const wasm::ModuleSource source = wasm::probeModuleFile(options.module, load);
  const std::string module_sha = wasm::sha256Hex(source.bytes);

  auto context = std::make_shared<problems::SearchContext>();
  context->layout = problems::GenomeLayout(options.max_phases);
  context->spec = options.fitness;
  std::unique_ptr<Archipelago> islands;
  try {
    islands = std::make_unique<Archipelago>(archipelagoSettings(options), context);
  } catch (const std::invalid_argument& e) {
    throw SearchError(e.what());
  }

  nlohmann::json checkpoint;
  unsigned first_generation = 1;
  double earlier_seconds = 0;
  std::uint64_t earlier_evaluations = 0;
  if (options.resume) {
    try {
      checkpoint = nlohmann::json::parse(support::readTextFile(checkpoint_path));
    } catch (const std::exception& e) {
      throw SearchError(
          fmt::format("cannot resume from {}: {}", checkpoint_path.string(), e.what()));
    }
    if (checkpoint.value("module_sha256", "") != module_sha) {
      throw SearchError(fmt::format("cannot resume: {} was made for a different module",
                                    checkpoint_path.string()));
    }
    if (checkpoint.value("identity", nlohmann::json()) != options.searchIdentity()) {
      throw SearchError(fmt::format("cannot resume: {} was made with different search options",
                                    checkpoint_path.string()));
    }
    first_generation = checkpoint.at("generation").get<unsigned>() + 1;
    earlier_seconds = checkpoint.at("elapsed_seconds");
    earlier_evaluations = checkpoint.at("evaluations");
  }

  std::unique_ptr<EvaluationLog> log;
  std::int64_t run_id = 0;
  if (options.log) {
    log = std::make_unique<EvaluationLog>(*options.log);
    log->setVerifyFingerprint(verifyFingerprint(options));
    run_id = log->startRun(options.resume ? "resume" : "evolve", options.module.string(),
                           module_sha, options.toJson());
  }

  auto engine = std::make_shared<engine::Engine>(source, engineOptions(options));
  if (log) {
    std::size_t known = 0;
    log->forEachKnown(module_sha, verifyFingerprint(options),
                      [&](const auto& config, const auto& result) {
                        engine->remember(config, result);
                        ++known;
                      });
    if (known)
      progress.message(
          fmt::format("evaluation log: {} earlier evaluations of this module reused", known));
  }

  // The input as Binaryen writes it: the denominators of every ratio.
  // Set-up steps can take minutes on a large module: say what is going on.
  progress.message(fmt::format("set-up: measuring {}", options.module.filename().string()));
  const engine::EvalResult input = engine->evaluateRetryingCrashes(pipeline::PipelineConfig{});
  if (input.status != engine::EvalStatus::Ok) {
    throw SearchError(
        fmt::format("{}: cannot measure the input: {}", options.module.string(), input.reason));
  }
  // The input compared with itself already fails a module-level check (a
  // table or data layout the verifier does not compare): then so does every
  // candidate, and a search could only end without an answer, after minutes
  // of solver time on a large module.
  if (input.verification && input.verification->module_problems > 0) {
    throw SearchError(fmt::format(
        "{}: no candidate can be verified: the input compared with itself already fails: {}",
        options.module.string(), input.verification->first_problem));
  }
  auto evaluator =
      std::make_shared<problems::ModuleEvaluator>(engine, input.metrics, options.fitness);
  context->evaluator = evaluator;

  // The reference users know: what the wasm-opt tool itself writes
  // (unverified), in an engine of its own, so nothing is kept original.
  progress.message("set-up: what the wasm-opt tool writes at -O, -Os, -Oz, -O3, -O4");
  const std::vector<ToolOutput> wasm_opt = measureWasmOpt(source, options);
  const std::uint64_t tool_oz_bytes = toolOzBytes(wasm_opt);

  Archive archive;
  bool log_failed = false;
  auto logRecord = [&](const pipeline::PipelineConfig& config, const engine::EvalResult& result,
                       int island, unsigned generation) {
    if (!log || result.memo_hit || log_failed) return;
    log->record(run_id, module_sha, config, result, island, static_cast<int>(generation));
  };
  if (options.repair) progress.message("set-up: verifying -Oz's output");
  if (const auto oz = keepWhatOzCannotVerify(*engine, options)) {
    logRecord(*pipeline::builtinConfig("Oz"), *oz, -1, 0);
  }
  context->on_evaluated = [&](const problems::EvaluatedCandidate& c) {
    if (!c.result.memo_hit) islands->countEvaluation(c.island);
    archive.offer(
        ArchivedCandidate{c.config, c.result, c.score, static_cast<int>(c.island), c.generation});
    logRecord(c.config, c.result, static_cast<int>(c.island), c.generation);
  };

  // Baselines: the input itself and every built-in pipeline, screened and
  // verified like any candidate, so the answer is never worse than the best
  // verified of them.
  std::vector<Baseline> baselines;
  {
    std::vector<pipeline::PipelineConfig> configs = {pipeline::PipelineConfig{}};
    for (const auto& b : pipeline::builtinConfigs()) configs.push_back(b.config);
    progress.message("set-up: the built-in pipelines (loom, O, Os, Oz, O3, O4)");
    const auto scored = scoreBaselines(*evaluator, configs, options);
    for (std::size_t i = 0; i < configs.size(); ++i) {
      const std::string name =
          i == 0 ? "input" : std::string(pipeline::builtinConfigs()[i - 1].name);
      archive.offer(ArchivedCandidate{configs[i], scored[i].result, scored[i].score, -1, 0});
      logRecord(configs[i], scored[i].result, -1, 0);
      baselines.push_back({name, configs[i], scored[i].result, scored[i].score});
      baselines.back().result.module.clear();
    }
  }
  std::uint64_t oz_bytes = 0;
  for (const auto& b : baselines) {
    if (b.name == "Oz" && b.result.status == engine::EvalStatus::Ok)
      oz_bytes = b.result.metrics.total_bytes;
  }

  checkStopDuringSetup();

  if (options.resume) {
    try {
      islands->restore(checkpoint.at("islands"), checkpoint.at("migrations"));
      archive.restore(checkpoint.at("archive"));
    } catch (const std::exception& e) {
      throw SearchError(
          fmt::format("cannot resume from {}: {}", checkpoint_path.string(), e.what()));
    }
  } else {
    context->verify_threshold = verifyThreshold(archive, options);
    progress.message(
        fmt::format("set-up: the first generation of {} islands", islands->records().size()));
    islands->seed();
  }
  context->verify_threshold = verifyThreshold(archive, options);

  auto elapsed = [&] {
    return earlier_seconds + std::chrono::duration<double>(Clock::now() - started).count();
  };
  auto evaluationsSoFar = [&] { return earlier_evaluations + engine->counters().evaluations; };

  auto saveCheckpoint = [&](unsigned generation) {
    nlohmann::json j;
    j["schema"] = "loom-evolve-checkpoint/1";
    j["module"] = options.module.string();
    j["module_sha256"] = module_sha;
    j["identity"] = options.searchIdentity();
    j["generation"] = generation;
    j["elapsed_seconds"] = elapsed();
    j["evaluations"] = evaluationsSoFar();
    j["archive"] = archive.toJson();
    j["islands"] = islands->saveIslands();
    j["migrations"] = islands->saveMigrations();
    try {
      if (log && !log_failed) log->flush();
    } catch (const std::exception& e) {
      log_failed = true;
      progress.message(fmt::format("warning: evaluation log disabled: {}", e.what()));
    }
    try {
      support::writeFileAtomic(checkpoint_path, j.dump());
    } catch (const std::exception& e) {
      progress.message(fmt::format("warning: checkpoint not written: {}", e.what()));
    }
  };

  auto snapshot = [&](unsigned generation) {
    ProgressSnapshot p;
    p.generation = generation;
    p.generations = options.generations;
    for (const auto& record : islands->records()) {
      const auto& h = record.history.back();
      p.islands.push_back({fmt::format("{}/{}", record.strategy.algorithm, record.strategy.bias),
                           h.best_objective, h.best_total_bytes});
    }
    if (auto b = archive.best()) p.best_bytes = b->result.metrics.total_bytes;
    p.oz_bytes = oz_bytes;
    p.tool_oz_bytes = tool_oz_bytes;
    p.elapsed_seconds = elapsed();
    p.evaluations = evaluationsSoFar();
    p.evaluations_per_second =
        p.elapsed_seconds > 0 ? static_cast<double>(p.evaluations) / p.elapsed_seconds : 0;
    const unsigned done = generation >= first_generation ? generation - first_generation + 1 : 0;
    const double session = std::chrono::duration<double>(Clock::now() - started).count();
    if (done > 0) {
      p.remaining_seconds = session / done * (options.generations - generation);
      if (options.time_budget_seconds > 0)
        p.remaining_seconds = std::min(p.remaining_seconds, options.time_budget_seconds - session);
    }
    return p;
  };

  endSetup();
  const auto deadline = deadlineOf(started, options);
  unsigned last_generation = first_generation - 1;
  const bool interrupted =
      islands->evolve(first_generation, options.generations, stopFlag(), deadline, [&](unsigned g) {
        last_generation = g;
        context->verify_threshold = verifyThreshold(archive, options);
        if (g % options.checkpoint_every == 0 || g == options.generations) saveCheckpoint(g);
        progress.update(snapshot(g));
      });
  if (last_generation % options.checkpoint_every != 0 || last_generation < first_generation)
    saveCheckpoint(last_generation);
  progress.finish();

  // The answer: the best verified candidate, with the bytes its verification
  // returned; run once more for them only when it was found earlier than this
  // run (a resumed checkpoint or the evaluation log keeps no bytes).
  std::optional<ArchivedCandidate> best = archive.best();
  if (options.fitness.objective == problems::Objective::Pareto) {
    auto weighted = [&](const ArchivedCandidate& a) {
      return options.fitness.size_weight * a.score.size_ratio +
             options.fitness.cycles_weight * a.score.cycles_ratio;
    };
    for (const auto& c : archive.paretoFront()) {
      if (!best || weighted(c) < weighted(*best)) best = c;
    }
  }
  wasm::Bytes best_module;
  if (best && !best->result.module.empty()) {
    best_module = std::move(best->result.module);
    best->result.module.clear();
  } else if (best) {
    engine::EvalResult again = engine->evaluateWithModule(best->config);
    // A worker killed from outside is not the candidate's fault: try again.
    for (int attempt = 1; attempt < 3 && again.status == engine::EvalStatus::Crashed; ++attempt) {
      again = engine->evaluateWithModule(best->config);
    }
    if (!again.verified(options.fitness.allow_bounded) || again.metrics != best->result.metrics) {
      progress.message(fmt::format(
          "warning: the best configuration re-ran to {} ({} bytes, verdict {})",
          engine::statusName(again.status), again.metrics.total_bytes,
          again.verification ? verify::verdictName(again.verification->overall) : "none"));
    }
    if (again.verified(options.fitness.allow_bounded)) {
      best_module = std::move(again.module);
      again.module.clear();
      best->result = again;
    } else {
      best.reset();
    }
  }
  if (log && !log_failed) {
    try {
      log->flush();
    } catch (const std::exception& e) {
      progress.message(fmt::format("warning: evaluation log not written: {}", e.what()));
    }
  }

  // The input file itself is a candidate too: the written module is never
  // worse than doing nothing.
  const Answer answer = chooseAnswer(source, input, best, options);

  ReportInputs inputs{options, source,          module_sha,           input, baselines, archive,
                      best,    islands->size(), islands->migrations()};
  inputs.wasm_opt = wasm_opt;
  inputs.answer = answer;
  inputs.island_records = islands->records();
  inputs.engine_counters = engine->counters();
  inputs.evaluations = evaluationsSoFar();
  inputs.seconds = elapsed();
  inputs.generations_done = last_generation;
  inputs.interrupted = interrupted;
  RunOutcome outcome;
  outcome.report = buildReport(inputs);
  outcome.interrupted = interrupted;
  outcome.exit_code = interrupted ? 130 : 0;

  if (options.output && answer.input_file_wins)
    support::writeFileAtomic(*options.output, source.bytes);
  else if (options.output && best)
    support::writeFileAtomic(*options.output, best_module);
  if (options.report) support::writeFileAtomic(*options.report, outcome.report.dump(2) + "\n");
  if (!best && !answer.input_file_wins) {
    progress.message("no verified candidate: nothing written to the output");
    if (!interrupted) outcome.exit_code = 3;
  }
  return outcome;
}

}  // namespace loom::driver
