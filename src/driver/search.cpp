// `loom-evolve MODULE`: evolve a pipeline for one module.
#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include <thread>

#include "archipelago.hpp"
#include "checkpoint.hpp"
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

void checkRunFiles(const RunOptions& o) {
  const auto checkpoint = o.checkpointPath();
  std::vector<support::RunFile> files = {{"the input", o.module, false}};
  if (o.output) files.push_back({"-o", *o.output});
  if (o.report) files.push_back({"--report", *o.report});
  if (o.log) files.push_back({"--log", *o.log});
  files.push_back({o.checkpoint ? "--checkpoint" : "the checkpoint", checkpoint});
  if (!o.proof_store.empty()) files.push_back({"the proof store", o.proof_store});
  support::checkDistinct(files);
  if (o.output) support::checkWritable(*o.output);
  if (o.report) support::checkWritable(*o.report);
  support::checkWritable(checkpoint);
  if (o.log) support::checkWritable(*o.log);
}

void checkDescriptors(unsigned workers) {
  // Each worker: its stdin, stdout and stderr pipes (three descriptors kept
  // here). The wasm-opt reference engine runs up to five more beside them;
  // the rest is stdio, the log and the proof store (database, WAL, shared
  // memory each) and a margin.
  const rlim_t needed = 3 * (workers + std::min(workers, 5u)) + 24;
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= needed) return;
  if (limit.rlim_max == RLIM_INFINITY || limit.rlim_max >= needed) {
    limit.rlim_cur = needed;
    if (::setrlimit(RLIMIT_NOFILE, &limit) == 0) return;
  }
  throw support::FileError(fmt::format(
      "too few file descriptors: {} workers need about {} open files, and the limit is {} "
      "(raise it with `ulimit -n {}`, or give fewer --jobs)",
      workers, needed, limit.rlim_cur, needed));
}

std::string memoryLimitHint(const RunOptions& o) {
  if (o.memory_limit_bytes >= (1ull << 30)) return {};
  return fmt::format(" (--memory-limit {} MB is probably too small for a worker; try 1024 or more)",
                     o.memory_limit_bytes >> 20);
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

std::vector<problems::ScoredCandidate> knownBaselines(
    problems::CandidateEvaluator& evaluator, const std::vector<pipeline::PipelineConfig>& configs,
    const cost::Metrics& input, const RunOptions& options) {
  std::vector<problems::ScoredCandidate> out;
  const pipeline::PipelineConfig oz = *pipeline::builtinConfig("Oz");
  for (const auto& config : configs) {
    if (config.phases.empty() || config.key() == oz.key()) {
      out.push_back(evaluator.evaluate({config}).front());  // the set-up's own: memoized
      continue;
    }
    problems::ScoredCandidate skipped;
    skipped.result.status = engine::EvalStatus::Canceled;
    skipped.result.reason = "not evaluated: the time budget ran out during the set-up";
    skipped.score = problems::score(skipped.result, input, options.fitness);
    out.push_back(std::move(skipped));
  }
  return out;
}

std::optional<engine::EvalResult> keepWhatOzCannotVerify(engine::Engine& engine,
                                                         const RunOptions& options) {
  if (!options.repair) return std::nullopt;
  engine.warmUp(*pipeline::builtinConfig("Oz"));
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

std::chrono::milliseconds graceOf(const RunOptions& options) {
  return std::chrono::milliseconds(
      static_cast<long>(1000 * std::max(30.0, options.time_budget_seconds / 5)));
}

std::size_t closeLog(EvaluationLog* log, const RunOptions& options, Progress& progress) {
  if (!log) return 0;
  const std::size_t lost =
      log->close(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(options.log_wait_seconds)));
  if (lost)
    progress.warning(fmt::format(
        "evaluation log: {} rows not written to {} ({}); the run is incomplete (exit status {}); "
        "--log-wait waits longer for a busy log",
        lost, log->path().string(), log->lastError(), kExitLogIncomplete));
  return lost;
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
  checkRunFiles(options);
  const auto checkpoint_path = options.checkpointPath();
  checkDescriptors(options.jobs ? options.jobs : std::max(1u, std::thread::hardware_concurrency()));
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
    const Checkpoint c = readCheckpoint(
        checkpoint_path, {"loom-evolve-checkpoint/1", "module_sha256", module_sha,
                          "was made for a different module", options.searchIdentity(), true});
    checkpoint = c.json;
    first_generation = c.generation + 1;
    earlier_seconds = c.elapsed_seconds;
    earlier_evaluations = c.evaluations;
    restoreIslands(*islands, c, checkpoint_path);
  }

  std::unique_ptr<EvaluationLog> log;
  std::int64_t run_id = 0;
  if (options.log) {
    log = std::make_unique<EvaluationLog>(*options.log);
    log->setVerifyFingerprint(verifyFingerprint(options));
    run_id = log->startRun(options.resume ? "resume" : "evolve", options.module.string(),
                           module_sha, options.toJson());
  }

  // --time-budget holds from the start: a set-up verification that reaches
  // it keeps what it proved by then, and no generation follows.
  const auto deadline = deadlineOf(started, options);
  SetupStatus setup(progress, started, deadline);  // outlives the engine that calls it
  auto engine = std::make_shared<engine::Engine>(source, engineOptions(options));
  if (options.time_budget_seconds > 0) engine->setDeadline(deadline, graceOf(options));
  engine->setProgressListener([&setup](const engine::Engine::Progress& p) { setup.onProgress(p); });
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
  setup.stage(fmt::format("set-up: measuring {}", options.module.filename().string()));
  const engine::EvalResult input = engine->evaluateRetryingCrashes(pipeline::PipelineConfig{});
  if (input.status != engine::EvalStatus::Ok) {
    throw SearchError(fmt::format("{}: cannot measure the input: {}{}", options.module.string(),
                                  input.reason, memoryLimitHint(options)));
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
  setup.stage("set-up: what the wasm-opt tool writes at -O, -Os, -Oz, -O3, -O4");
  const std::vector<ToolOutput> wasm_opt = measureWasmOpt(source, options);
  const std::uint64_t tool_oz_bytes = toolOzBytes(wasm_opt);

  Archive archive;
  auto logRecord = [&](const pipeline::PipelineConfig& config, const engine::EvalResult& result,
                       int island, unsigned generation) {
    // A result the deadline cut short is not what its pipeline gives with time left.
    if (!log || result.memo_hit || result.cut_short) return;
    log->record(run_id, module_sha, config, result, island, static_cast<int>(generation));
  };
  if (options.repair) setup.stage("set-up: verifying -Oz's output");
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
    setup.stage("set-up: the built-in pipelines (loom, O, Os, Oz, O3, O4)");
    const auto scored = Clock::now() < deadline
                            ? scoreBaselines(*evaluator, configs, options)
                            : knownBaselines(*evaluator, configs, input.metrics, options);
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
    archive.restore(checkpoint.at("archive"));  // checked when the checkpoint was read
  } else {
    context->verify_threshold = verifyThreshold(archive, options);
    setup.stage(
        fmt::format("set-up: the first generation of {} islands", islands->records().size()));
    islands->seed(deadline);
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
    // A busy log keeps its rows for the next attempt; the checkpoint is
    // written either way.
    if (log) log->flush();
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

  engine->setProgressListener({});
  progress.finish();
  endSetup();
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
  // Candidates known from the evaluation log or the checkpoint are hints:
  // their bytes were not made in this run. Such a pipeline runs again and is
  // ranked by what it really gives; the best candidates are tried in the
  // order they claim until no untried claim beats what holds up, so a row
  // that lies (or is stale) can only cost a re-run, never make the answer
  // worse.
  {
    const bool pareto = options.fitness.objective == problems::Objective::Pareto;
    std::vector<ArchivedCandidate> claims = pareto ? archive.paretoFront() : archive.top();
    if (best) claims.insert(claims.begin(), *best);
    // Ties go to the archive's own best (the order every report is used to).
    std::optional<ArchivedCandidate> held =
        best && !best->result.module.empty() ? best : archive.bestConfirmed();
    auto rank = [&](const ArchivedCandidate& c) { return rankingObjective(c.score, options); };
    for (const auto& c : claims) {
      if (!c.result.module.empty() && (!held || rank(c) < rank(*held))) held = c;
    }
    // Whether `held` is one of the claims in order (a tie then stays with
    // it) or the fallback (a claim that ties with it, run again, wins, as
    // the archive's order says).
    bool held_in_order = best && !best->result.module.empty();
    std::size_t reruns = 0;
    std::set<std::string> tried;
    for (const auto& claim : claims) {
      if (!claim.result.module.empty() || !tried.insert(claim.config.canonicalText()).second)
        continue;
      if (held && !pareto &&
          (held_in_order ? rank(*held) <= rank(claim) : rank(*held) < rank(claim)))
        break;
      if (++reruns > Archive::kTopSize) break;
      engine::EvalResult again = engine->evaluateWithModule(claim.config);
      // A worker killed from outside is not the candidate's fault: try again.
      for (int attempt = 1; attempt < 3 && again.status == engine::EvalStatus::Crashed; ++attempt)
        again = engine->evaluateWithModule(claim.config);
      const bool holds = again.verified(options.fitness.allow_bounded) && !again.module.empty();
      if (!holds || again.metrics != claim.result.metrics) {
        progress.message(fmt::format(
            "warning: a configuration known from {} ({} bytes) re-ran to {} ({} bytes, verdict "
            "{}); it is ranked by what it gives now",
            options.resume ? "the checkpoint or the log" : "the evaluation log",
            claim.result.metrics.total_bytes, engine::statusName(again.status),
            again.metrics.total_bytes,
            again.verification ? verify::verdictName(again.verification->overall) : "none"));
      }
      if (!holds) continue;
      ArchivedCandidate rerun = claim;
      rerun.result = std::move(again);
      rerun.score = problems::score(rerun.result, input.metrics, options.fitness);
      if (rerun.score.feasible() &&
          (!held || rank(rerun) < rank(*held) || (!held_in_order && rank(rerun) == rank(*held)))) {
        held = std::move(rerun);
        held_in_order = true;
      }
    }
    best = std::move(held);
  }
  wasm::Bytes best_module;
  if (best) {
    best_module = std::move(best->result.module);
    best->result.module.clear();
  }
  const std::size_t log_rows_lost = closeLog(log.get(), options, progress);

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
  if (log_rows_lost && outcome.exit_code == 0) outcome.exit_code = kExitLogIncomplete;
  return outcome;
}

}  // namespace loom::driver
