#include "loom/driver/driver.hpp"

#include <fmt/format.h>
#include <pagmo/archipelago.hpp>
#include <pagmo/islands/thread_island.hpp>
#include <pagmo/problem.hpp>
#include <pagmo/r_policies/fair_replace.hpp>
#include <pagmo/r_policy.hpp>
#include <pagmo/s_policies/select_best.hpp>
#include <pagmo/s_policy.hpp>
#include <pagmo/topologies/free_form.hpp>
#include <pagmo/topologies/fully_connected.hpp>
#include <pagmo/topologies/ring.hpp>
#include <pagmo/topologies/unconnected.hpp>
#include <pagmo/topology.hpp>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <sstream>
#include <thread>

#include "algorithms/islands.hpp"
#include "loom/driver/archive.hpp"
#include "loom/driver/evaluation_log.hpp"
#include "loom/driver/progress.hpp"
#include "loom/pipeline/builtins.hpp"
#include "loom/support/files.hpp"
#include "loom/wasm/hash.hpp"
#include "loom/wasm/loader.hpp"
#include "report.hpp"

namespace loom::driver {

namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_signals{0};

void onSignal(int) {
  g_stop.store(true);
  if (g_signals.fetch_add(1) >= 1) {
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::raise(SIGINT);
  }
}

using Clock = std::chrono::steady_clock;

class SearchError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

pagmo::topology makeTopology(const std::string& spec, unsigned islands) {
  if (spec == "ring") return pagmo::topology{pagmo::ring(islands, 1.0)};
  if (spec == "fully-connected") return pagmo::topology{pagmo::fully_connected(islands, 1.0)};
  if (spec == "unconnected") return pagmo::topology{pagmo::unconnected{}};
  if (spec.rfind("free:", 0) == 0) {
    pagmo::free_form graph;
    for (unsigned i = 0; i < islands; ++i) graph.add_vertex();
    std::string edges = spec.substr(5);
    std::size_t start = 0;
    while (start < edges.size()) {
      const std::size_t end = std::min(edges.find(',', start), edges.size());
      const std::string edge = edges.substr(start, end - start);
      unsigned from = 0, to = 0;
      char dash = 0;
      std::istringstream in(edge);
      if (!(in >> from >> dash >> to) || dash != '-' || from >= islands || to >= islands) {
        throw SearchError(fmt::format("bad edge '{}' in topology '{}' (edges are FROM-TO between 0 and {})", edge,
                                      spec, islands - 1));
      }
      graph.add_edge(from, to, 1.0);
      start = end + 1;
    }
    return pagmo::topology{graph};
  }
  throw SearchError(fmt::format("unknown topology '{}' (ring, fully-connected, unconnected, free:0-1,1-2,...)", spec));
}

std::vector<std::size_t> incoming(const pagmo::topology& topology, std::size_t island) {
  try {
    return topology.get_connections(island).first;
  } catch (const std::exception&) {
    return {};  // unconnected topologies know no vertices
  }
}

bool feasibleFitness(const pagmo::vector_double& f, problems::ConstraintHandling handling) {
  if (handling == problems::ConstraintHandling::Constraint) return f.back() <= 0;
  return f[0] < problems::kFailedObjective;
}

struct IslandState {
  algorithms::IslandStrategy strategy;
  unsigned population_size = 0;
  problems::ConstraintHandling handling = problems::ConstraintHandling::Constraint;
  pagmo::problem problem;
  std::vector<pagmo::vector_double> xs, fs;
  std::vector<HistoryPoint> history;
  std::atomic<std::uint64_t> evaluations{0};
};

pagmo::population buildPopulation(const IslandState& island, unsigned seed) {
  pagmo::population pop(island.problem, 0u, seed);
  for (std::size_t i = 0; i < island.xs.size(); ++i) pop.push_back(island.xs[i], island.fs[i]);
  return pop;
}

std::string verifyFingerprint(const RunOptions& o) {
  return fmt::format("loop_bound={};inline_depth={};timeout_ms={};max_terms={}", o.verify.loop_bound,
                     o.verify.inline_depth, o.verify.function_timeout.count(), o.verify.max_terms);
}

}  // namespace

void installStopHandlers() {
  struct sigaction action {};
  action.sa_handler = onSignal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

void requestStop() { g_stop.store(true); }
bool stopRequested() { return g_stop.load(); }

unsigned deriveSeed(std::uint64_t seed, std::uint64_t island, std::uint64_t generation) {
  std::uint64_t z = seed ^ (island * 0x9e3779b97f4a7c15ULL) ^ (generation * 0xbf58476d1ce4e5b9ULL);
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<unsigned>(z & 0xffffffffu);
}

RunOutcome runSearch(const RunOptions& options) {
  const auto started = Clock::now();
  Progress progress(Progress::detect(options.quiet, options.progress_lines));

  // Everything that can fail on bad input fails here, before any work.
  if (options.islands == 0) throw SearchError("--islands must be at least 1");
  if (options.population < 2) throw SearchError("--population must be at least 2");
  if (options.migrate_every == 0) throw SearchError("--migrate-every must be at least 1");
  if (options.selection != "best") throw SearchError(fmt::format("unknown selection policy '{}' (best)", options.selection));
  if (options.replacement != "fair") throw SearchError(fmt::format("unknown replacement policy '{}' (fair)", options.replacement));
  if (options.migration_type != "p2p" && options.migration_type != "broadcast") {
    throw SearchError(fmt::format("unknown migration type '{}' (p2p, broadcast)", options.migration_type));
  }
  const auto plan = algorithms::planIslands(options.islands, options.fitness.objective, options.algorithms);
  const pagmo::topology migration_topology = makeTopology(options.topology, options.islands);
  if (options.output) support::checkWritable(*options.output);
  if (options.report) support::checkWritable(*options.report);
  const auto checkpoint_path = options.checkpointPath();
  support::checkWritable(checkpoint_path);

  wasm::LoadOptions load;
  load.strip_debug = options.strip_debug;
  const wasm::ModuleSource source = wasm::probeModuleFile(options.module, load);
  const std::string module_sha = wasm::sha256Hex(source.bytes);

  nlohmann::json checkpoint;
  unsigned first_generation = 1;
  double earlier_seconds = 0;
  std::uint64_t earlier_evaluations = 0;
  if (options.resume) {
    std::string text;
    try {
      text = support::readTextFile(checkpoint_path);
      checkpoint = nlohmann::json::parse(text);
    } catch (const std::exception& e) {
      throw SearchError(fmt::format("cannot resume from {}: {}", checkpoint_path.string(), e.what()));
    }
    if (checkpoint.value("module_sha256", "") != module_sha) {
      throw SearchError(fmt::format("cannot resume: {} was made for a different module", checkpoint_path.string()));
    }
    if (checkpoint.at("identity") != options.searchIdentity()) {
      throw SearchError(fmt::format("cannot resume: {} was made with different search options", checkpoint_path.string()));
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
    run_id = log->startRun(options.resume ? "resume" : "evolve", options.module.string(), module_sha, options.toJson());
  }

  engine::EngineOptions engine_options;
  engine_options.workers = options.jobs;
  engine_options.candidate_timeout = std::chrono::milliseconds(static_cast<long>(options.candidate_timeout_seconds * 1000));
  engine_options.memory_limit_bytes = options.memory_limit_bytes;
  engine_options.evaluator.verify_options = options.verify;
  auto engine = std::make_shared<engine::Engine>(source, engine_options);
  if (log) {
    std::size_t known = 0;
    log->forEachKnown(module_sha, verifyFingerprint(options), [&](const auto& config, const auto& result) {
      engine->remember(config, result);
      ++known;
    });
    if (known) progress.message(fmt::format("evaluation log: {} earlier evaluations of this module reused", known));
  }

  // The input as Binaryen writes it: the denominators of every ratio.
  const engine::EvalResult input = engine->evaluate(pipeline::PipelineConfig{});
  if (input.status != engine::EvalStatus::Ok) {
    throw SearchError(fmt::format("{}: cannot measure the input: {}", options.module.string(), input.reason));
  }

  auto context = std::make_shared<problems::SearchContext>();
  context->engine = engine;
  context->layout = problems::GenomeLayout(options.max_phases);
  context->input = input.metrics;
  context->spec = options.fitness;

  Archive archive;
  std::vector<std::unique_ptr<IslandState>> islands;
  context->on_evaluated = [&](const problems::EvaluatedCandidate& c) {
    if (c.island < islands.size() && !c.result.memo_hit) ++islands[c.island]->evaluations;
    archive.offer(ArchivedCandidate{c.config, c.result, c.score, static_cast<int>(c.island), c.generation});
    if (log && !c.result.memo_hit) log->record(run_id, module_sha, c.config, c.result, static_cast<int>(c.island), static_cast<int>(c.generation));
  };

  // Baselines: the input itself and every built-in pipeline, verified like any
  // candidate, so the answer is never worse than the best of them.
  std::vector<Baseline> baselines;
  {
    std::vector<pipeline::PipelineConfig> configs = {pipeline::PipelineConfig{}};
    for (const auto& b : pipeline::builtinConfigs()) configs.push_back(b.config);
    const auto results = engine->evaluateBatch(configs);
    for (std::size_t i = 0; i < configs.size(); ++i) {
      const std::string name = i == 0 ? "input" : std::string(pipeline::builtinConfigs()[i - 1].name);
      const problems::Score s = problems::score(results[i], input.metrics, options.fitness);
      archive.offer(ArchivedCandidate{configs[i], results[i], s, -1, 0});
      if (log && !results[i].memo_hit) log->record(run_id, module_sha, configs[i], results[i], -1, 0);
      baselines.push_back({name, configs[i], results[i], s});
    }
  }
  std::uint64_t oz_bytes = 0;
  for (const auto& b : baselines) {
    if (b.name == "Oz" && b.result.status == engine::EvalStatus::Ok) oz_bytes = b.result.metrics.total_bytes;
  }

  // The islands and their first generation.
  std::vector<Migration> migrations;
  for (unsigned i = 0; i < options.islands; ++i) {
    auto state = std::make_unique<IslandState>();
    state->strategy = plan[i];
    state->population_size = algorithms::adjustPopulation(plan[i].algorithm, options.population);
    state->handling = algorithms::constraintHandlingFor(plan[i].algorithm, options.fitness.objective);
    state->problem = pagmo::problem{problems::pass_ordering_problem(context, state->handling, i)};
    islands.push_back(std::move(state));
  }
  if (options.resume) {
    const auto& saved = checkpoint.at("islands");
    if (saved.size() != islands.size()) throw SearchError("cannot resume: the checkpoint has a different number of islands");
    for (std::size_t i = 0; i < islands.size(); ++i) {
      for (const auto& ind : saved[i].at("individuals")) {
        islands[i]->xs.push_back(ind.at("x").get<pagmo::vector_double>());
        islands[i]->fs.push_back(ind.at("f").get<pagmo::vector_double>());
      }
      for (const auto& h : saved[i].at("history")) islands[i]->history.push_back(HistoryPoint::fromJson(h));
    }
    for (const auto& m : checkpoint.at("migrations")) migrations.push_back(Migration::fromJson(m));
    archive.restore(checkpoint.at("archive"));
  } else {
    for (unsigned i = 0; i < options.islands; ++i) {
      IslandState& island = *islands[i];
      std::mt19937_64 random(deriveSeed(options.seed, i, 0));
      const auto seeds = algorithms::seedPopulation(island.strategy.bias, island.population_size, options.max_phases, random);
      pagmo::vector_double flat;
      for (const auto& c : seeds) {
        const auto x = context->layout.encode(c);
        island.xs.push_back(x);
        flat.insert(flat.end(), x.begin(), x.end());
      }
      const auto* udp = island.problem.extract<problems::pass_ordering_problem>();
      const pagmo::vector_double f = udp->batch_fitness(flat);
      const std::size_t width = island.problem.get_nf();
      for (std::size_t k = 0; k < seeds.size(); ++k) {
        island.fs.emplace_back(f.begin() + static_cast<std::ptrdiff_t>(k * width),
                               f.begin() + static_cast<std::ptrdiff_t>((k + 1) * width));
      }
    }
  }

  auto historyPoint = [&](IslandState& island, unsigned generation, unsigned migrants_in) {
    HistoryPoint h;
    h.generation = generation;
    std::vector<double> objectives;
    std::size_t feasible = 0;
    std::optional<std::size_t> best;
    for (std::size_t k = 0; k < island.fs.size(); ++k) {
      objectives.push_back(island.fs[k][0]);
      if (!feasibleFitness(island.fs[k], island.handling)) continue;
      ++feasible;
      if (!best || island.fs[k][0] < island.fs[*best][0]) best = k;
    }
    std::sort(objectives.begin(), objectives.end());
    h.median_objective = objectives.empty() ? NAN : objectives[objectives.size() / 2];
    h.feasible_share = island.fs.empty() ? 0 : static_cast<double>(feasible) / static_cast<double>(island.fs.size());
    if (best) {
      h.best_objective = island.fs[*best][0];
      const auto r = engine->evaluate(context->layout.decode(island.xs[*best]));
      h.best_total_bytes = r.metrics.total_bytes;
    }
    h.evaluations = island.evaluations.exchange(0);
    h.migrants_in = migrants_in;
    island.history.push_back(h);
  };
  if (!options.resume) {
    for (auto& island : islands) historyPoint(*island, 0, 0);
  }

  auto elapsed = [&] { return earlier_seconds + std::chrono::duration<double>(Clock::now() - started).count(); };
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
    j["migrations"] = nlohmann::json::array();
    for (const auto& m : migrations) j["migrations"].push_back(m.toJson());
    for (const auto& island : islands) {
      nlohmann::json isl;
      isl["algorithm"] = island->strategy.algorithm;
      isl["bias"] = island->strategy.bias;
      isl["individuals"] = nlohmann::json::array();
      for (std::size_t k = 0; k < island->xs.size(); ++k) {
        isl["individuals"].push_back({{"x", island->xs[k]}, {"f", island->fs[k]}});
      }
      isl["history"] = nlohmann::json::array();
      for (const auto& h : island->history) isl["history"].push_back(h.toJson());
      j["islands"].push_back(isl);
    }
    try {
      if (log) log->flush();
      support::writeFileAtomic(checkpoint_path, j.dump());
    } catch (const std::exception& e) {
      progress.message(fmt::format("warning: checkpoint not written: {}", e.what()));
    }
  };

  auto snapshot = [&](unsigned generation) {
    ProgressSnapshot p;
    p.generation = generation;
    p.generations = options.generations;
    for (std::size_t i = 0; i < islands.size(); ++i) {
      const auto& h = islands[i]->history.back();
      p.islands.push_back({fmt::format("{} {}/{}", i, islands[i]->strategy.algorithm, islands[i]->strategy.bias),
                           h.best_objective, h.best_total_bytes});
    }
    if (auto b = archive.best()) p.best_bytes = b->result.metrics.total_bytes;
    p.oz_bytes = oz_bytes;
    p.elapsed_seconds = elapsed();
    p.evaluations = evaluationsSoFar();
    p.evaluations_per_second = p.elapsed_seconds > 0 ? static_cast<double>(p.evaluations) / p.elapsed_seconds : 0;
    const unsigned done = generation >= first_generation ? generation - first_generation + 1 : 0;
    const double session = std::chrono::duration<double>(Clock::now() - started).count();
    if (done > 0 && generation <= options.generations) {
      p.remaining_seconds = session / done * (options.generations - generation);
      if (options.time_budget_seconds > 0) p.remaining_seconds = std::min(p.remaining_seconds, options.time_budget_seconds - session);
    }
    return p;
  };

  g_stop.store(false);
  g_signals.store(0);
  bool interrupted = false;
  unsigned last_generation = first_generation - 1;
  if (options.generations >= first_generation) {
    pagmo::archipelago archi{pagmo::topology{pagmo::unconnected{}}};
    for (unsigned i = 0; i < islands.size(); ++i) {
      archi.push_back(pagmo::thread_island{}, algorithms::makeAlgorithm(islands[i]->strategy.algorithm, islands[i]->population_size, 0),
                      buildPopulation(*islands[i], deriveSeed(options.seed, i, first_generation - 1)));
    }
    double slowest_generation = 0;
    for (unsigned g = first_generation; g <= options.generations; ++g) {
      const double session = std::chrono::duration<double>(Clock::now() - started).count();
      if (options.time_budget_seconds > 0 && session + slowest_generation > options.time_budget_seconds) break;
      if (g_stop.load()) {
        interrupted = true;
        break;
      }
      const auto generation_start = Clock::now();
      context->generation = g;
      for (unsigned i = 0; i < islands.size(); ++i) {
        archi[i].set_population(buildPopulation(*islands[i], deriveSeed(options.seed, i, g)));
        archi[i].set_algorithm(algorithms::makeAlgorithm(islands[i]->strategy.algorithm, islands[i]->population_size,
                                                         deriveSeed(options.seed, i, g)));
      }
      context->stop = false;
      std::atomic<bool> watching{true};
      std::thread watcher([&] {
        while (watching.load()) {
          if (g_stop.load()) context->stop = true;
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      });
      try {
        archi.evolve(1);
        archi.wait_check();
      } catch (...) {
        watching = false;
        watcher.join();
        throw;
      }
      watching = false;
      watcher.join();
      if (context->stop.load() || g_stop.load()) {
        interrupted = true;  // this generation is thrown away; the last checkpoint stands
        break;
      }
      for (unsigned i = 0; i < islands.size(); ++i) {
        const auto pop = archi[i].get_population();
        islands[i]->xs = pop.get_x();
        islands[i]->fs = pop.get_f();
      }

      std::vector<unsigned> migrants_in(islands.size(), 0);
      if (g % options.migrate_every == 0 && islands.size() > 1) {
        const pagmo::s_policy selection{pagmo::select_best(static_cast<pagmo::pop_size_t>(options.migrants))};
        const pagmo::r_policy replacement{pagmo::fair_replace(static_cast<pagmo::pop_size_t>(options.migrants))};
        std::vector<pagmo::individuals_group_t> selected;
        for (unsigned i = 0; i < islands.size(); ++i) {
          const auto& island = *islands[i];
          std::vector<unsigned long long> ids(island.xs.size());
          std::iota(ids.begin(), ids.end(), 0ull);
          const pagmo::problem& p = island.problem;
          selected.push_back(selection.select({ids, island.xs, island.fs}, p.get_nx(), p.get_nix(), p.get_nobj(),
                                              p.get_nec(), p.get_nic(), p.get_c_tol()));
        }
        std::mt19937_64 random(deriveSeed(options.seed, 0xffff, g));
        for (unsigned t = 0; t < islands.size(); ++t) {
          auto sources = incoming(migration_topology, t);
          if (sources.empty()) continue;
          if (options.migration_type == "p2p") {
            sources = {sources[std::uniform_int_distribution<std::size_t>(0, sources.size() - 1)(random)]};
          }
          IslandState& target = *islands[t];
          const auto* udp = target.problem.extract<problems::pass_ordering_problem>();
          for (std::size_t s : sources) {
            const auto& [sel_ids, sel_xs, sel_fs] = selected[s];
            if (sel_xs.empty()) continue;
            // The source may score with the other constraint handling: ask
            // the target's problem (the engine's memo answers at once).
            pagmo::vector_double flat;
            for (const auto& x : sel_xs) flat.insert(flat.end(), x.begin(), x.end());
            const pagmo::vector_double f = udp->batch_fitness(flat);
            const std::size_t width = target.problem.get_nf();
            std::vector<pagmo::vector_double> mig_fs;
            std::vector<unsigned long long> mig_ids;
            for (std::size_t k = 0; k < sel_xs.size(); ++k) {
              mig_fs.emplace_back(f.begin() + static_cast<std::ptrdiff_t>(k * width),
                                  f.begin() + static_cast<std::ptrdiff_t>((k + 1) * width));
              mig_ids.push_back(1000000ull + k);
            }
            std::vector<unsigned long long> ids(target.xs.size());
            std::iota(ids.begin(), ids.end(), 0ull);
            const pagmo::problem& p = target.problem;
            auto [new_ids, new_xs, new_fs] =
                replacement.replace({ids, target.xs, target.fs}, p.get_nx(), p.get_nix(), p.get_nobj(), p.get_nec(),
                                    p.get_nic(), p.get_c_tol(), {mig_ids, sel_xs, mig_fs});
            const auto arrived = static_cast<unsigned>(
                std::count_if(new_ids.begin(), new_ids.end(), [](auto id) { return id >= 1000000ull; }));
            target.xs = std::move(new_xs);
            target.fs = std::move(new_fs);
            migrants_in[t] += arrived;
            if (arrived) migrations.push_back({g, static_cast<unsigned>(s), t, arrived});
          }
        }
      }
      for (unsigned i = 0; i < islands.size(); ++i) historyPoint(*islands[i], g, migrants_in[i]);
      last_generation = g;
      slowest_generation = std::max(slowest_generation, std::chrono::duration<double>(Clock::now() - generation_start).count());
      if (g % options.checkpoint_every == 0 || g == options.generations) saveCheckpoint(g);
      progress.update(snapshot(g));
    }
  }
  if (!interrupted && last_generation >= first_generation && last_generation % options.checkpoint_every != 0) {
    saveCheckpoint(last_generation);
  }
  if (last_generation < first_generation && !options.resume) saveCheckpoint(0);
  progress.finish();

  // The answer: the best verified candidate, run once more to get its bytes.
  std::optional<ArchivedCandidate> best = archive.best();
  if (options.fitness.objective == problems::Objective::Pareto) {
    const auto front = archive.paretoFront();
    for (const auto& c : front) {
      auto weighted = [&](const ArchivedCandidate& a) {
        return options.fitness.size_weight * a.score.size_ratio + options.fitness.cycles_weight * a.score.cycles_ratio;
      };
      if (!best || weighted(c) < weighted(*best)) best = c;
    }
  }
  wasm::Bytes best_module;
  if (best) {
    engine::EvalResult again = engine->evaluateWithModule(best->config);
    if (!again.verified(options.fitness.allow_bounded) || again.metrics != best->result.metrics) {
      progress.message(fmt::format("warning: re-running the best configuration gave {} ({} bytes, verdict {}); using it",
                                   engine::statusName(again.status), again.metrics.total_bytes,
                                   again.verification ? verify::verdictName(again.verification->overall) : "none"));
    }
    if (again.verified(options.fitness.allow_bounded)) {
      best_module = std::move(again.module);
      best->result = again;
      best->result.module.clear();
    } else {
      best.reset();
    }
  }
  if (log) {
    try {
      log->flush();
    } catch (const std::exception& e) {
      progress.message(fmt::format("warning: evaluation log not written: {}", e.what()));
    }
  }

  ReportInputs inputs{options, source, module_sha, input, baselines, archive, best, islands.size(), migrations};
  for (const auto& island : islands) inputs.island_records.push_back({island->strategy, island->population_size, island->history});
  inputs.engine_counters = engine->counters();
  inputs.evaluations = evaluationsSoFar();
  inputs.seconds = elapsed();
  inputs.generations_done = last_generation;
  inputs.interrupted = interrupted;
  RunOutcome outcome;
  outcome.report = buildReport(inputs);
  outcome.interrupted = interrupted;
  outcome.exit_code = interrupted ? 130 : 0;

  if (options.output && best) support::writeFileAtomic(*options.output, best_module);
  if (options.report) support::writeFileAtomic(*options.report, outcome.report.dump(2) + "\n");
  if (!best) {
    progress.message("no verified candidate: nothing written to the output");
    if (!interrupted) outcome.exit_code = 3;
  }
  return outcome;
}

}  // namespace loom::driver
