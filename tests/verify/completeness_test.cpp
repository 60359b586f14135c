// Completeness evidence for the verifier: what Binaryen's own pipelines (and
// Oz with loop unrolling) do to the fixtures is correct, so the verifier must
// never refute it, and should prove most of it. Node cross-checks the
// verdicts: no function the verifier proves may behave differently there.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "loom/pipeline/apply.hpp"
#include "loom/pipeline/builtins.hpp"
#include "loom/pipeline/phase.hpp"
#include "loom/verify/verifier.hpp"
#include "loom/wasm/ir.hpp"
#include "loom/wasm/loader.hpp"
#include "support/test_support.hpp"
#include "verify/replay.hpp"

namespace loom::test {
namespace {

using verify::Verdict;

struct Fixture {
  std::string name;
  wasm::Module original;
  std::vector<FixtureTest> tests;
  std::set<std::string> observable_globals;
};

const std::vector<Fixture>& fixtures() {
  static const std::vector<Fixture> all = [] {
    std::vector<Fixture> out;
    for (const std::string& name : fixtureNames()) {
      Fixture f;
      f.name = name;
      f.original = wasm::loadModuleFile(fixturePath(name)).module;
      f.tests = parseFixtureTests(fixturePath(name));
      f.observable_globals = observableGlobals(f.original);
      out.push_back(std::move(f));
    }
    return out;
  }();
  return all;
}

struct Tally {
  std::size_t functions = 0, proved = 0, bounded = 0, unknown = 0, refuted = 0, unchanged = 0;
  std::size_t node_compared = 0;  // proved/bounded functions Node ran on both sides
  double seconds = 0;
  void add(const Tally& o) {
    functions += o.functions;
    proved += o.proved;
    bounded += o.bounded;
    unknown += o.unknown;
    refuted += o.refuted;
    unchanged += o.unchanged;
    node_compared += o.node_compared;
    seconds += o.seconds;
  }
  std::string shares() const {
    const double n = functions ? static_cast<double>(functions) : 1.0;
    return fmt::format("{:5.1f}% {:5.1f}% {:5.1f}% {:5.1f}%", 100.0 * proved / n,
                       100.0 * bounded / n, 100.0 * unknown / n, 100.0 * refuted / n);
  }
};

struct ConfigOutcome {
  Tally tally;
  std::map<std::string, std::size_t> unknown_reasons;
  std::vector<std::string> failures;
  std::vector<std::string> notes;  // module problems that do not refute
};

std::string reasonClass(const std::string& reason) {
  std::string r = reason.substr(0, std::min(reason.find(':'), reason.find('(')));
  while (!r.empty() && r.back() == ' ') r.pop_back();
  if (r.size() > 60) r = r.substr(0, 60) + "...";
  return r.empty() ? "(no reason)" : r;
}

bool sameSignature(const wasm::Module& a, const wasm::Module& b, const std::string& name) {
  BinaryenFunctionRef fa = BinaryenGetFunction(a.get(), name.c_str());
  BinaryenFunctionRef fb = BinaryenGetFunction(b.get(), name.c_str());
  return fa && fb && BinaryenFunctionGetBody(fa) && BinaryenFunctionGetBody(fb) &&
         BinaryenFunctionGetParams(fa) == BinaryenFunctionGetParams(fb) &&
         BinaryenFunctionGetResults(fa) == BinaryenFunctionGetResults(fb);
}

ConfigOutcome runConfiguration(const std::string& name, const pipeline::PipelineConfig& config) {
  const std::vector<Fixture>& fs = fixtures();
  struct PerFixture {
    std::optional<wasm::Module> optimized;
    verify::ModuleVerdict verdict;
    double seconds = 0;
    std::string error;
  };
  std::vector<PerFixture> per(fs.size());
  // Optimize everything first: the verification below forks, and a fork
  // must not happen while another thread is inside Binaryen.
  for (std::size_t i = 0; i < fs.size(); ++i) {
    try {
      per[i].optimized = pipeline::applyPipeline(fs[i].original, config);
    } catch (const std::exception& e) {
      per[i].error = e.what();
    }
  }
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i; (i = next++) < fs.size();) {
      if (!per[i].optimized) continue;
      // A generous deadline: the budget is per function, and a module has many.
      const auto functions = wasm::definedFunctions(per[i].optimized->get()).size();
      const std::chrono::milliseconds deadline =
          std::chrono::seconds(30) + 2 * verify::VerifyOptions{}.function_timeout * functions;
      IsolatedVerdict iv = verifyInChild(fs[i].original, *per[i].optimized, {}, deadline);
      per[i].seconds = iv.seconds;
      if (iv.verdict) {
        per[i].verdict = std::move(*iv.verdict);
      } else {
        per[i].error = iv.failure;
      }
    }
  };
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < forkingJobs(); ++t) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();

  ConfigOutcome out;
  std::vector<ReplayJob> replays;
  std::vector<std::string> replay_owner;
  TempDir dir;
  std::vector<ModuleRun> runs;
  struct NodeCheck {
    std::size_t fixture;
    verify::FunctionVerdict verdict;
    std::size_t first_call;
    std::vector<CallSpec> calls;
  };
  std::vector<NodeCheck> checks;
  for (std::size_t i = 0; i < fs.size(); ++i) {
    const Fixture& f = fs[i];
    PerFixture& p = per[i];
    if (!p.optimized) {
      // The unroller (or a pass) failing is not the verifier's business, but
      // it must not go unnoticed.
      out.failures.push_back(fmt::format("{}: pipeline {} failed: {}", f.name, name, p.error));
      continue;
    }
    if (!p.error.empty()) {
      out.failures.push_back(fmt::format("{}: no verdict: {}", f.name, p.error));
      continue;
    }
    Tally t;
    t.seconds = p.seconds;
    t.unchanged = p.verdict.unchanged_functions;
    if (p.verdict.module_problems_refute) {
      out.failures.push_back(fmt::format("{}: module problems refute: {}", f.name,
                                         fmt::join(p.verdict.module_problems, "; ")));
    } else {
      for (const std::string& problem : p.verdict.module_problems)
        out.notes.push_back(f.name + ": " + problem);
    }
    std::vector<CallSpec> original_calls;
    for (const verify::FunctionVerdict& fv : p.verdict.functions) {
      ++t.functions;
      switch (fv.verdict) {
        case Verdict::Proved:
          ++t.proved;
          break;
        case Verdict::Bounded:
          ++t.bounded;
          break;
        case Verdict::Unknown:
          ++t.unknown;
          ++out.unknown_reasons[reasonClass(fv.reason)];
          break;
        case Verdict::Refuted: {
          ++t.refuted;
          out.failures.push_back(
              fmt::format("{}: ${} refuted: {}", f.name, fv.function, fv.reason));
          if (fv.counterexample) {
            replays.push_back({&f.original, &*p.optimized, *fv.counterexample});
            replay_owner.push_back(fmt::format("{}: ${}", f.name, fv.function));
          }
          break;
        }
      }
      if ((fv.verdict == Verdict::Proved || fv.verdict == Verdict::Bounded) &&
          sameSignature(f.original, *p.optimized, fv.function)) {
        NodeCheck c{i, fv, original_calls.size(),
                    differentialCalls(f.original, fv.function, f.tests, 64)};
        original_calls.insert(original_calls.end(), c.calls.begin(), c.calls.end());
        checks.push_back(std::move(c));
        ++t.node_compared;
      }
    }
    out.tally.add(t);
    if (!original_calls.empty()) {
      const auto a = dir / (f.name + "-original.wasm");
      const auto b = dir / (f.name + "-optimized.wasm");
      writeBytes(a, makeRunnable(f.original).writeBinary());
      writeBytes(b, makeRunnable(*p.optimized).writeBinary());
      runs.push_back({a, original_calls});
      runs.push_back({b, original_calls});
    }
  }

  // Node: the proved and bounded functions, original against optimized.
  if (!runs.empty()) {
    const auto outcomes = runBatch(runs);
    std::size_t run = 0;
    std::size_t fixture = SIZE_MAX;
    for (const NodeCheck& c : checks) {
      if (c.fixture != fixture) {
        if (fixture != SIZE_MAX) run += 2;
        fixture = c.fixture;
      }
      const auto slice = [&](const std::vector<CallOutcome>& all) {
        const auto begin = all.begin() + static_cast<std::ptrdiff_t>(c.first_call);
        return std::vector<CallOutcome>(begin, begin + static_cast<std::ptrdiff_t>(c.calls.size()));
      };
      const Differential d =
          compareRuns(c.calls, slice(outcomes.at(run)), slice(outcomes.at(run + 1)),
                      &fs[c.fixture].observable_globals);
      if (d.differing == 0) continue;
      const std::string where = fmt::format("{}: ${}", fs[c.fixture].name, c.verdict.function);
      if (c.verdict.verdict == Verdict::Proved) {
        out.failures.push_back(
            fmt::format("{} proved, but Node shows a difference: {}", where, d.first_difference));
      } else if (!d.only_nontermination && d.min_loop_iterations_to_differ &&
                 *d.min_loop_iterations_to_differ <= c.verdict.bound) {
        out.failures.push_back(fmt::format(
            "{} bounded ({}), but Node shows a difference within {} iterations: {}", where,
            c.verdict.bound, *d.min_loop_iterations_to_differ, d.first_difference));
      }
    }
  }

  // A refutation of a correct pipeline is a verifier bug unless Node agrees
  // with it, in which case Binaryen miscompiled: either way, say which.
  if (!replays.empty()) {
    const std::vector<ReplayResult> results = replayCounterexamples(replays);
    for (std::size_t k = 0; k < results.size(); ++k) {
      const ReplayResult& r = results[k];
      out.failures.push_back(fmt::format(
          "{}: counterexample {} -> {}{}", replay_owner[k], r.call.describe(),
          r.differs ? "Node CONFIRMS (Binaryen miscompiled?): " : "Node shows no difference: ",
          r.description));
    }
  }
  return out;
}

void printHeader() {
  std::printf("\n  %-10s %9s %7s %7s %7s %7s %9s %6s  %-27s %8s\n", "config", "changed", "proved",
              "bounded", "unknown", "refuted", "unchanged", "node", "proved/bounded/unknown/ref",
              "verify");
}

void printRow(const std::string& name, const Tally& t) {
  std::printf("  %-10s %9zu %7zu %7zu %7zu %7zu %9zu %6zu  %-27s %7.1fs\n", name.c_str(),
              t.functions, t.proved, t.bounded, t.unknown, t.refuted, t.unchanged, t.node_compared,
              t.shares().c_str(), t.seconds);
}

void report(const ConfigOutcome& o) {
  for (const auto& [reason, n] : o.unknown_reasons)
    std::printf("      unknown %3zu  %s\n", n, reason.c_str());
  for (const std::string& note : o.notes)
    std::printf("      module problem (not refuting): %s\n", note.c_str());
  for (const std::string& failure : o.failures) ADD_FAILURE() << failure;
}

// Per configuration, so that each gets its own ctest entry and time limit.
struct NamedConfig {
  std::string name;
  pipeline::PipelineConfig config;
};

std::vector<NamedConfig> configurations() {
  std::vector<NamedConfig> out;
  for (const pipeline::BuiltinConfig& b : pipeline::builtinConfigs()) {
    out.push_back({std::string(b.name), b.config});
  }
  pipeline::PipelineConfig unroll = *pipeline::builtinConfig("Oz");
  // Early: right before the first dead-code elimination, so that Oz's
  // function passes clean up after the unroller as they would in a search.
  auto at = unroll.phases.begin();
  for (auto it = unroll.phases.begin(); it != unroll.phases.end(); ++it) {
    const pipeline::Phase* phase = pipeline::findPhase(*it);
    if (phase && phase->passes.size() == 1 && phase->passes.front() == "dce") {
      at = it;
      break;
    }
  }
  unroll.phases.insert(at, "unroll");
  unroll.unroll = {pipeline::UnrollStrategy::All, 2, 64};
  out.push_back({"Oz_unroll", unroll});
  return out;
}

// What the configurations run so far in this process gave, for the summary.
std::vector<std::pair<std::string, Tally>>& ranSoFar() {
  static std::vector<std::pair<std::string, Tally>> ran;
  return ran;
}

void PrintTo(const NamedConfig& c, std::ostream* os) {
  *os << c.name;
}

class Completeness : public ::testing::TestWithParam<NamedConfig> {};

TEST_P(Completeness, NoFunctionIsRefuted) {
  const NamedConfig& c = GetParam();
  if (c.config.unrolls()) {
    try {
      (void)pipeline::applyPipeline(fixtures().front().original, c.config);
    } catch (const std::logic_error& e) {
      if (std::string(e.what()).find("not implemented") != std::string::npos) {
        GTEST_SKIP() << "the unroller is not implemented yet: " << e.what();
      }
      throw;
    }
  }
  // O and Os are the same pipeline: verify it once per process.
  static std::map<wasm::Hash128, ConfigOutcome> done;
  auto it = done.find(c.config.key());
  if (it == done.end()) it = done.emplace(c.config.key(), runConfiguration(c.name, c.config)).first;
  const ConfigOutcome& o = it->second;
  printHeader();
  printRow(c.name, o.tally);
  report(o);
  ranSoFar().emplace_back(c.name, o.tally);
}

INSTANTIATE_TEST_SUITE_P(Configurations, Completeness, ::testing::ValuesIn(configurations()),
                         [](const ::testing::TestParamInfo<NamedConfig>& param) {
                           return param.param.name;
                         });

// The shares over every configuration that ran in this process, printed
// when the program ends (run the whole program, not one ctest entry, to see
// them all in one table).
class OverallSummary : public ::testing::Environment {
 public:
  void TearDown() override {
    if (ranSoFar().size() < 2) return;
    Tally overall;
    printHeader();
    for (const auto& [name, t] : ranSoFar()) {
      printRow(name, t);
      overall.add(t);
    }
    printRow("overall", overall);
  }
};
[[maybe_unused]] ::testing::Environment* const kSummary =
    ::testing::AddGlobalTestEnvironment(new OverallSummary);

}  // namespace
}  // namespace loom::test
