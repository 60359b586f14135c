#include "loom/driver/tune.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

#include "archipelago.hpp"
#include "cancel_watch.hpp"
#include "checkpoint.hpp"
#include "loom/driver/archive.hpp"
#include "loom/driver/evaluation_log.hpp"
#include "loom/driver/progress.hpp"
#include "loom/pipeline/builtins.hpp"
#include "loom/support/files.hpp"
#include "loom/wasm/hash.hpp"
#include "loom/wasm/loader.hpp"
#include "report.hpp"
#include "run_support.hpp"

namespace loom::driver {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

class TuneError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A module of the corpus, loaded, with its own engine.
struct Loaded {
  CorpusModule module;
  wasm::ModuleSource source;
  std::string sha256;
  std::shared_ptr<engine::Engine> engine;
  engine::EvalResult reference;  // -Oz, verified (its unverifiable functions kept original)
  engine::EvalResult tool_oz;    // what the wasm-opt tool writes at -Oz, unverified
};

// Engines for every module; nothing evaluated yet.
std::vector<Loaded> openAll(const std::vector<CorpusModule>& modules, const RunOptions& options,
                            unsigned workers_each) {
  std::vector<Loaded> out;
  wasm::LoadOptions load;
  load.strip_debug = options.strip_debug;
  engine::EngineOptions engine_options = engineOptions(options);
  engine_options.workers = workers_each;
  // Many engines at once: keep each worker's snapshot cache modest.
  engine_options.evaluator.prefix_cache_bytes = 128ull << 20;
  for (const auto& m : modules) {
    Loaded l;
    l.module = m;
    l.source = wasm::probeModuleFile(m.path, load);
    l.sha256 = wasm::sha256Hex(l.source.bytes);
    l.engine = std::make_shared<engine::Engine>(l.source, engine_options);
    out.push_back(std::move(l));
  }
  return out;
}

void requireReferences(const std::vector<Loaded>& loaded) {
  for (const auto& l : loaded) {
    if (l.reference.status != engine::EvalStatus::Ok) {
      throw TuneError(fmt::format("{}: wasm-opt -Oz fails on it: {}", l.module.path.string(),
                                  l.reference.reason));
    }
  }
}

// A module's -Oz reference, its unverifiable functions kept original from
// then on.
void measureReference(Loaded& l, const RunOptions& options) {
  l.tool_oz = measureWasmOpt(l.source, options, {"Oz"}).front().result;
  keepWhatOzCannotVerify(*l.engine, options);
  l.reference = l.engine->evaluateRetryingCrashes(*pipeline::builtinConfig("Oz"));
}

// Every module's -Oz reference, all modules at once.
void measureReferences(std::vector<Loaded>& loaded, const RunOptions& options) {
  std::vector<std::thread> threads;
  for (auto& l : loaded) threads.emplace_back([&l, &options] { measureReference(l, options); });
  for (auto& t : threads) t.join();
  requireReferences(loaded);
}

// A training module whose -Oz output cannot be verified at all (a module
// feature the verifier does not compare, a repair that cannot be made) would
// make every candidate infeasible, since a candidate must verify on every
// training module: it is left out of the search, and the report says why.
// Stepwise, every candidate verifies (at worst as the input), but a module
// whose every changing step was undone whole teaches the search nothing.
bool nothingVerifies(const engine::EvalResult& r) {
  if (!r.stepwise) return false;
  const engine::StepwiseStats& s = *r.stepwise;
  bool whole_step_undone = false;
  for (const auto& step : r.reverted_steps) whole_step_undone |= step.function.empty();
  return whole_step_undone && s.proved_by_solver + s.proved_renamed + s.proved_cached == 0;
}

nlohmann::json setAsideUnverifiable(std::vector<Loaded>& loaded, bool allow_bounded,
                                    Progress& progress) {
  nlohmann::json excluded = nlohmann::json::array();
  std::vector<Loaded> kept;
  for (auto& l : loaded) {
    if (l.reference.verified(allow_bounded) && !nothingVerifies(l.reference)) {
      kept.push_back(std::move(l));
      continue;
    }
    const std::string why =
        l.reference.verification ? l.reference.verification->first_problem : "not verified";
    progress.message(
        fmt::format("warning: {} left out of training: wasm-opt -Oz's output does not verify ({})",
                    l.module.name, why));
    excluded.push_back({{"name", l.module.name}, {"sha256", l.sha256}, {"reason", why}});
  }
  loaded = std::move(kept);
  if (loaded.empty()) {
    throw TuneError("no training module's wasm-opt -Oz output verifies, so nothing can be tuned");
  }
  return excluded;
}

nlohmann::json moduleResult(const Loaded& l, const engine::EvalResult& tuned, bool allow_bounded) {
  const double ratio = static_cast<double>(tuned.metrics.total_bytes) /
                       static_cast<double>(l.reference.metrics.total_bytes);
  // What applying the recommendation gives, never worse than doing nothing:
  // the verified output, or the input file when that is no larger (a text
  // input's file is no candidate).
  const bool binary = l.source.format == wasm::SourceFormat::Binary;
  const std::uint64_t input_bytes = l.source.bytes.size();
  const bool keep_input =
      binary && !l.source.strip_debug &&
      (!tuned.verified(allow_bounded) || tuned.metrics.total_bytes >= input_bytes);
  const std::uint64_t answer_bytes = keep_input ? input_bytes : tuned.metrics.total_bytes;
  nlohmann::json tool = nullptr;
  if (l.tool_oz.status == engine::EvalStatus::Ok) tool = l.tool_oz.metrics.total_bytes;
  return {
      {"name", l.module.name},
      {"split", l.module.split},
      {"sha256", l.sha256},
      {"input_bytes", binary ? nlohmann::json(input_bytes) : nlohmann::json(nullptr)},
      {"wasm_opt_oz_bytes", tool},
      {"oz_bytes", l.reference.metrics.total_bytes},
      {"tuned_bytes", tuned.metrics.total_bytes},
      {"ratio_to_oz", ratio},
      {"answer", keep_input ? "input-file" : "tuned"},
      {"answer_bytes", answer_bytes},
      {"answer_ratio_to_wasm_opt_oz",
       tool.is_null() ? nlohmann::json(nullptr)
                      : nlohmann::json(static_cast<double>(answer_bytes) /
                                       static_cast<double>(l.tool_oz.metrics.total_bytes))},
      {"tuned_status", engine::statusName(tuned.status)},
      {"verified", tuned.verified(allow_bounded)},
      {"verdict", tuned.verification
                      ? nlohmann::json(verify::verdictName(tuned.verification->overall))
                      : nlohmann::json(nullptr)},
      {"first_problem", tuned.verification ? tuned.verification->first_problem : std::string()}};
}

nlohmann::json summarize(const nlohmann::json& rows) {
  double log_sum = 0, tool_log_sum = 0;
  int improved = 0, worse = 0, equal = 0, verified = 0, input_kept = 0, tool_known = 0;
  for (const auto& r : rows) {
    if (r["answer"] == "input-file") ++input_kept;
    if (r["answer_ratio_to_wasm_opt_oz"].is_number()) {
      tool_log_sum += std::log(r["answer_ratio_to_wasm_opt_oz"].get<double>());
      ++tool_known;
    }
    const double ratio = r["ratio_to_oz"];
    log_sum += std::log(ratio);
    if (ratio < 1)
      ++improved;
    else if (ratio > 1)
      ++worse;
    else
      ++equal;
    verified += r["verified"].get<bool>();
  }
  const double n = static_cast<double>(rows.size());
  return {{"modules", rows.size()},
          {"geomean_ratio_to_oz",
           rows.empty() ? nlohmann::json(nullptr) : nlohmann::json(std::exp(log_sum / n))},
          {"improved", improved},
          {"worse", worse},
          {"equal", equal},
          {"verified", verified},
          {"all_verified", verified == static_cast<int>(rows.size())},
          {"input_file_kept", input_kept},
          {"answer_geomean_ratio_to_wasm_opt_oz",
           tool_known == static_cast<int>(rows.size()) && tool_known > 0
               ? nlohmann::json(std::exp(tool_log_sum / tool_known))
               : nlohmann::json(nullptr)}};
}

}  // namespace

std::vector<CorpusModule> readCorpus(const fs::path& directory) {
  std::error_code ec;
  if (!fs::is_directory(directory, ec)) {
    throw TuneError(fmt::format("{}: not a directory of modules", directory.string()));
  }
  std::vector<CorpusModule> modules;
  const fs::path manifest = directory / "manifest.tsv";
  if (fs::exists(manifest, ec)) {
    std::istringstream in(support::readTextFile(manifest));
    std::string line;
    bool header = true;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      if (header) {
        header = false;
        if (line.rfind("name\t", 0) == 0) continue;
      }
      std::vector<std::string> cols;
      std::stringstream row(line);
      for (std::string col; std::getline(row, col, '\t');) cols.push_back(col);
      if (cols.size() < 2)
        throw TuneError(fmt::format("{}: malformed line '{}'", manifest.string(), line));
      const std::string& split = cols[1];
      if (split != "train" && split != "test") {
        throw TuneError(fmt::format("{}: split '{}' of {} is neither train nor test",
                                    manifest.string(), split, cols[0]));
      }
      modules.push_back({cols[0], split, directory / (cols[0] + ".wasm")});
    }
  } else {
    for (const auto& entry : fs::directory_iterator(directory)) {
      if (entry.path().extension() == ".wasm")
        modules.push_back({entry.path().stem().string(), "train", entry.path()});
    }
    std::sort(modules.begin(), modules.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
  }
  if (std::none_of(modules.begin(), modules.end(),
                   [](const auto& m) { return m.split == "train"; })) {
    throw TuneError(fmt::format("{}: the corpus has no training modules", directory.string()));
  }
  return modules;
}

RunOutcome runTune(const RunOptions& options) {
  const auto started = Clock::now();
  beginSetup();  // a signal from here on stops this run (during set-up: at once)
  Progress progress(Progress::detect(options.quiet, options.progress_lines));
  checkRunFiles(options);
  const auto checkpoint_path = options.checkpointPath();
  openProofStore(options, progress);

  const auto corpus = readCorpus(options.module);
  std::vector<CorpusModule> train, test;
  for (const auto& m : corpus) (m.split == "train" ? train : test).push_back(m);
  const unsigned jobs =
      options.jobs ? options.jobs : std::max(1u, std::thread::hardware_concurrency());
  const unsigned workers_each = std::max(1u, jobs / static_cast<unsigned>(train.size()));
  checkDescriptors(workers_each * static_cast<unsigned>(train.size()));

  auto context = std::make_shared<problems::SearchContext>();
  context->layout = problems::GenomeLayout(options.max_phases);
  context->spec = options.fitness;
  std::unique_ptr<Archipelago> islands;
  try {
    islands = std::make_unique<Archipelago>(archipelagoSettings(options), context);
  } catch (const std::invalid_argument& e) {
    throw TuneError(e.what());
  }

  progress.message(fmt::format("tuning on {} training modules ({} held out for testing)",
                               train.size(), test.size()));
  // --time-budget holds from the start (see runSearch).
  const auto deadline = deadlineOf(started, options);
  SetupStatus setup(progress, started, deadline);  // outlives the engines that call it
  std::vector<Loaded> loaded = openAll(train, options, workers_each);
  for (unsigned i = 0; i < loaded.size(); ++i) {
    if (options.time_budget_seconds > 0) loaded[i].engine->setDeadline(deadline, graceOf(options));
    loaded[i].engine->setProgressListener(
        [&setup, i](const engine::Engine::Progress& p) { setup.onProgress(p, i); });
  }

  // The corpus identity: a resumed tune must see the same modules.
  std::string corpus_identity;
  for (const auto& l : loaded) corpus_identity += l.module.name + ":" + l.sha256 + ";";
  const std::string corpus_sha = wasm::hashString(corpus_identity).hex();

  nlohmann::json checkpoint;
  unsigned first_generation = 1;
  double earlier_seconds = 0;
  if (options.resume) {
    const Checkpoint c = readCheckpoint(
        checkpoint_path, {"loom-evolve-tune-checkpoint/1", "corpus", corpus_sha,
                          "was made for another corpus", options.searchIdentity(), false});
    checkpoint = c.json;
    first_generation = c.generation + 1;
    earlier_seconds = c.elapsed_seconds;
    restoreIslands(*islands, c, checkpoint_path);
  }

  std::unique_ptr<EvaluationLog> log;
  std::int64_t run_id = 0;
  if (options.log) {
    log = std::make_unique<EvaluationLog>(*options.log);
    log->setVerifyFingerprint(verifyFingerprint(options));
    run_id = log->startRun("tune", options.module.string(), corpus_sha, options.toJson());
    for (auto& l : loaded) {
      log->forEachKnown(l.sha256, verifyFingerprint(options),
                        [&](const auto& c, const auto& r) { l.engine->remember(c, r); });
      l.engine->setListener([&log, &context, run_id, sha = l.sha256](
                                const pipeline::PipelineConfig& c, const engine::EvalResult& r) {
        if (r.cut_short) return;  // not what the pipeline gives with time left
        log->record(run_id, sha, c, r, -1, static_cast<int>(context->generation.load()));
      });
    }
  }

  // After the log has seeded the engines: a resumed run finds its
  // references there instead of verifying them again.
  setup.stage("set-up: verifying wasm-opt -Oz on every training module, all at once");
  measureReferences(loaded, options);
  const nlohmann::json excluded =
      setAsideUnverifiable(loaded, options.fitness.allow_bounded, progress);

  std::vector<problems::CorpusEvaluator::Member> members;
  for (const auto& l : loaded) members.push_back({l.module.name, l.engine, l.reference.metrics});
  auto evaluator = std::make_shared<problems::CorpusEvaluator>(members, options.fitness);
  context->evaluator = evaluator;

  Archive archive;
  context->on_evaluated = [&](const problems::EvaluatedCandidate& c) {
    if (!c.result.memo_hit) islands->countEvaluation(c.island);
    archive.offer(
        ArchivedCandidate{c.config, c.result, c.score, static_cast<int>(c.island), c.generation});
  };

  // Oz itself scores 1.0 by construction; the other built-ins set the bar too.
  std::vector<Baseline> baselines;
  {
    std::vector<pipeline::PipelineConfig> configs;
    for (const auto& b : pipeline::builtinConfigs()) configs.push_back(b.config);
    setup.stage("set-up: the built-in pipelines (loom, O, Os, Oz, O3, O4)");
    const auto scored = scoreBaselines(*evaluator, configs, options);
    for (std::size_t i = 0; i < configs.size(); ++i) {
      archive.offer(ArchivedCandidate{configs[i], scored[i].result, scored[i].score, -1, 0});
      baselines.push_back({std::string(pipeline::builtinConfigs()[i].name), configs[i],
                           scored[i].result, scored[i].score});
    }
  }

  checkStopDuringSetup();

  if (options.resume) {
    archive.restore(checkpoint.at("archive"));  // checked when the checkpoint was read
  } else {
    context->verify_threshold = verifyThreshold(archive, options);
    setup.stage("set-up: the first generation");
    islands->seed(deadline);
  }
  context->verify_threshold = verifyThreshold(archive, options);

  auto elapsed = [&] {
    return earlier_seconds + std::chrono::duration<double>(Clock::now() - started).count();
  };
  auto evaluations = [&] {
    std::uint64_t n = 0;
    for (const auto& l : loaded) n += l.engine->counters().evaluations;
    return n;
  };
  auto saveCheckpoint = [&](unsigned generation) {
    nlohmann::json j = {{"schema", "loom-evolve-tune-checkpoint/1"},
                        {"corpus", corpus_sha},
                        {"identity", options.searchIdentity()},
                        {"generation", generation},
                        {"elapsed_seconds", elapsed()},
                        {"archive", archive.toJson()},
                        {"islands", islands->saveIslands()},
                        {"migrations", islands->saveMigrations()}};
    // A busy log keeps its rows for the next attempt; the checkpoint is
    // written either way.
    if (log) log->flush();
    try {
      support::writeFileAtomic(checkpoint_path, j.dump());
    } catch (const std::exception& e) {
      progress.message(fmt::format("warning: checkpoint not written: {}", e.what()));
    }
  };

  for (auto& l : loaded) l.engine->setProgressListener({});
  progress.finish();
  endSetup();
  unsigned last_generation = first_generation - 1;
  bool interrupted =
      islands->evolve(first_generation, options.generations, stopFlag(), deadline, [&](unsigned g) {
        last_generation = g;
        context->verify_threshold = verifyThreshold(archive, options);
        if (g % options.checkpoint_every == 0 || g == options.generations) saveCheckpoint(g);
        const auto best = archive.best();
        ProgressSnapshot p;
        p.generation = g;
        p.generations = options.generations;
        p.elapsed_seconds = elapsed();
        p.evaluations = evaluations();
        p.evaluations_per_second =
            p.elapsed_seconds > 0 ? static_cast<double>(p.evaluations) / p.elapsed_seconds : 0;
        if (best) p.best_bytes = best->result.metrics.total_bytes;
        progress.update(p);
        if (best)
          progress.message(
              fmt::format("  geometric mean of size / verified -Oz on training modules: {:.5f}",
                          best->score.size_ratio));
      });
  if (last_generation % options.checkpoint_every != 0 || last_generation < first_generation)
    saveCheckpoint(last_generation);
  progress.finish();

  const std::optional<ArchivedCandidate> best = archive.best();
  nlohmann::json report;
  report["schema"] = "loom-evolve-tune-report/1";
  report["corpus"] = {{"directory", options.module.string()},
                      {"id", corpus_sha},
                      {"train", train.size()},
                      {"test", test.size()},
                      {"excluded", excluded}};
  report["options"] = options.toJson();
  report["generations"] = last_generation;
  report["baselines"] = nlohmann::json::object();
  for (const auto& b : baselines) {
    report["baselines"][b.name] = {{"geomean_ratio_to_oz", b.score.size_ratio},
                                   {"verified", b.score.feasible()},
                                   {"total_bytes", b.result.metrics.total_bytes}};
  }
  if (best) {
    report["recommended"] = describeCandidate(best->config, best->result, 0);
    report["recommended"]["geomean_ratio_to_oz"] = best->score.size_ratio;
    report["recommended"]["note"] =
        "wasm_opt_args enables no features: add the --enable-* flags your module needs "
        "(loom-evolve baselines prints them)";
    nlohmann::json train_rows = nlohmann::json::array();
    const auto per_train = evaluator->perModule(best->config);
    for (std::size_t m = 0; m < loaded.size(); ++m)
      train_rows.push_back(moduleResult(loaded[m], per_train[m], options.fitness.allow_bounded));
    report["train"] = {{"modules", train_rows}, {"summary", summarize(train_rows)}};
    // Held-out modules: never seen by the search.
    nlohmann::json test_rows = nlohmann::json::array();
    if (!test.empty() && !interrupted) {
      progress.message(
          fmt::format("checking the recommendation on {} held-out modules", test.size()));
      std::vector<Loaded> held_out =
          openAll(test, options, std::max(1u, jobs / static_cast<unsigned>(test.size())));
      std::vector<engine::EvalResult> results(held_out.size());
      {
        // The recommendation is in the checkpoint already: a signal ends the
        // check at once, and resuming runs it again.
        const CancelWatch cancel_on_stop(stopRequested, [&] {
          for (auto& l : held_out) l.engine->cancelPending();
        });
        std::vector<std::thread> threads;
        for (std::size_t m = 0; m < held_out.size(); ++m) {
          threads.emplace_back([&, m] {
            Loaded& l = held_out[m];
            measureReference(l, options);
            if (l.reference.status == engine::EvalStatus::Ok)
              results[m] = l.engine->evaluateRetryingCrashes(best->config);
          });
        }
        for (auto& t : threads) t.join();
      }
      if (stopRequested()) {
        interrupted = true;
      } else {
        requireReferences(held_out);
        for (std::size_t m = 0; m < held_out.size(); ++m) {
          test_rows.push_back(moduleResult(held_out[m], results[m], options.fitness.allow_bounded));
          if (log) log->record(run_id, held_out[m].sha256, best->config, results[m], -1, -1);
        }
      }
    }
    report["test"] = {{"modules", test_rows}, {"summary", summarize(test_rows)}};
  } else {
    report["recommended"] = nullptr;
  }
  report["interrupted"] = interrupted;
  report["islands"] = nlohmann::json::array();
  const auto records = islands->records();
  for (std::size_t i = 0; i < records.size(); ++i) {
    nlohmann::json isl = {{"index", i},
                          {"algorithm", records[i].strategy.algorithm},
                          {"bias", records[i].strategy.bias},
                          {"population", records[i].population},
                          {"history", nlohmann::json::array()}};
    for (const auto& h : records[i].history) isl["history"].push_back(h.toJson());
    report["islands"].push_back(isl);
  }
  report["migrations"] = islands->saveMigrations();
  report["evaluations"] = evaluations();
  report["seconds"] = elapsed();
  report["evaluations_per_second"] =
      elapsed() > 0 ? static_cast<double>(evaluations()) / elapsed() : 0.0;
  const std::size_t log_rows_lost = closeLog(log.get(), options, progress);

  RunOutcome outcome;
  outcome.report = report;
  outcome.interrupted = interrupted;
  outcome.exit_code = interrupted ? 130 : best ? 0 : 3;
  if (log_rows_lost && outcome.exit_code == 0) outcome.exit_code = kExitLogIncomplete;
  if (options.output && best)
    support::writeFileAtomic(*options.output, best->config.toJson().dump(2) + "\n");
  if (options.report) support::writeFileAtomic(*options.report, report.dump(2) + "\n");
  return outcome;
}

}  // namespace loom::driver
