// Soundness evidence for the verifier: every mutant that Node shows to behave
// differently from its original must be refuted (with a counterexample that
// replays in Node) or left unknown, never proved; bounded only when the
// difference needs more loop iterations than the bound.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include "loom/verify/verifier.hpp"
#include "support/test_support.hpp"
#include "verify/mutants.hpp"
#include "verify/replay.hpp"

namespace loom::test {
namespace {

using verify::Verdict;

// The printed text of one function, for failure reports.
std::string functionText(const wasm::Module& module, const std::string& name) {
  const std::string text = module.writeText();
  std::size_t at = std::string::npos;
  for (const char* end : {" ", "\n", ")"}) {
    at = text.find("(func $" + name + end);
    if (at != std::string::npos) break;
  }
  if (at == std::string::npos) return "(function not found)";
  int depth = 0;
  for (std::size_t i = at; i < text.size(); ++i) {
    if (text[i] == '(') ++depth;
    if (text[i] == ')' && --depth == 0) return text.substr(at, i - at + 1);
  }
  return text.substr(at);
}

std::string reasonClass(const std::string& reason) {
  std::string r = reason.substr(0, std::min(reason.find(':'), reason.find('(')));
  while (!r.empty() && r.back() == ' ') r.pop_back();
  if (r.size() > 60) r = r.substr(0, 60) + "...";
  return r.empty() ? "(no reason)" : r;
}

// A mutant changes one function, but the verifier's safety nets are wall
// clock, and under CI (two test programs at once on 2 cores) matmul's
// mutants took just over 30 s: a deadline for runaways, not a speed test.
constexpr std::chrono::seconds kDeadline{90};
constexpr unsigned kDefaultStride = 2;

unsigned envOr(const char* name, unsigned fallback) {
  const char* value = std::getenv(name);
  return value && *value ? static_cast<unsigned>(std::strtoul(value, nullptr, 10)) : fallback;
}

struct Row {
  const FixtureMutants* fixture = nullptr;
  const MutantRun* run = nullptr;
  std::optional<verify::FunctionVerdict> verdict;  // none: the verifier saw no change
  std::vector<std::string> module_problems;
  bool module_refutes = false;
  double seconds = 0;
  std::optional<ReplayResult> replay;
  std::string failure;           // the verifier did not deliver a verdict (killed, crashed)
  std::string round_trip_error;  // FunctionVerdict::fromJson(toJson()) lost something
  std::string bug;               // why this row is a soundness failure
};

std::string verdictText(const Row& r) {
  if (!r.verdict) return "unchanged";
  return std::string(verify::verdictName(r.verdict->verdict));
}

struct Tally {
  std::size_t total = 0, changing = 0, refuted = 0, unknown = 0, bounded = 0, proved = 0,
              no_verdict = 0;
};

struct Judgement {
  Tally all;
  std::map<std::string, Tally> per_operator;
};

// Verifies every mutant of the campaign (in forked children), replays every
// counterexample in Node, and fails the test for each row that breaks
// soundness: a behaviour-changing mutant proved, a counterexample that
// does not replay, a bound Node sees through.
Judgement judgeCampaign(const MutationCampaign& campaign, unsigned stride,
                        const verify::VerifyOptions& options) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();

  std::vector<Row> rows;
  for (const FixtureMutants& f : campaign.fixtures) {
    for (const MutantRun& m : f.mutants) {
      Row row;
      row.fixture = &f;
      row.run = &m;
      rows.push_back(std::move(row));
    }
  }

  // Verification in forked children (see verifyInChild), two at a time:
  // a runaway verification is killed at the deadline and reported.
  std::atomic<std::size_t> next{0}, done{0};
  std::mutex print_mutex;
  auto worker = [&] {
    for (std::size_t i; (i = next++) < rows.size();) {
      Row& row = rows[i];
      IsolatedVerdict iv =
          verifyInChild(row.fixture->original, row.run->mutant.module, options, kDeadline);
      row.seconds = iv.seconds;
      row.round_trip_error = iv.round_trip_error;
      if (!iv.verdict) {
        row.failure = iv.failure;
      } else {
        row.module_problems = iv.verdict->module_problems;
        row.module_refutes = iv.verdict->module_problems_refute;
        for (verify::FunctionVerdict& fv : iv.verdict->functions) {
          if (fv.function == row.run->mutant.id.function) row.verdict = std::move(fv);
        }
      }
      // Progress on stderr: a run takes minutes, and a hang should show where.
      if (const std::size_t d = ++done; d % 100 == 0 || d == rows.size()) {
        std::lock_guard lock(print_mutex);
        std::fprintf(stderr, "  [soundness] %zu/%zu verified, %.0fs\n", d, rows.size(),
                     std::chrono::duration<double>(Clock::now() - start).count());
      }
    }
  };
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < forkingJobs(); ++t) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();
  const double verify_seconds = std::chrono::duration<double>(Clock::now() - start).count();

  // Every counterexample replayed in Node, one process per fixture.
  std::size_t replayed = 0, confirmed = 0;
  for (const FixtureMutants& f : campaign.fixtures) {
    std::vector<ReplayJob> replay_jobs;
    std::vector<Row*> owners;
    for (Row& row : rows) {
      if (row.fixture != &f || !row.verdict || row.verdict->verdict != Verdict::Refuted) continue;
      if (!row.verdict->counterexample) continue;
      replay_jobs.push_back({&f.original, &row.run->mutant.module, *row.verdict->counterexample});
      owners.push_back(&row);
    }
    if (replay_jobs.empty()) continue;
    std::vector<ReplayResult> results = replayCounterexamples(replay_jobs);
    for (std::size_t k = 0; k < results.size(); ++k) {
      if (results[k].replayed) ++replayed;
      if (results[k].differs) ++confirmed;
      owners[k]->replay = std::move(results[k]);
    }
  }

  // Judge every row.
  Tally all, changing_only;
  std::map<std::string, Tally> per_operator;
  std::map<std::string, std::size_t> unknown_reasons, unknown_reasons_changing;
  std::size_t likely_equivalent = 0, refuted_not_seen_by_node = 0, bounded_allowed = 0;
  std::size_t bounded_vacuous = 0;  // every Node input ran some loop past the bound
  std::size_t module_refutations = 0;
  double slowest = 0;
  std::string slowest_name;
  for (Row& row : rows) {
    const MutantRun& m = *row.run;
    const Differential& d = m.differential;
    const bool differs = d.differing > 0;
    Tally& op = per_operator[std::string(operatorName(m.mutant.id.op))];
    for (Tally* t : {&all, &op}) {
      ++t->total;
      if (differs) ++t->changing;
    }
    if (row.seconds > slowest) {
      slowest = row.seconds;
      slowest_name = m.mutant.id.name();
    }
    if (row.module_refutes) ++module_refutations;
    auto count = [&](std::size_t Tally::*field) {
      ++(all.*field);
      ++(op.*field);
      if (differs) ++(changing_only.*field);
    };
    if (!row.failure.empty()) {
      // Not a soundness failure, but a broken promise all the same.
      count(&Tally::no_verdict);
      row.bug = "no verdict: " + row.failure;
      continue;
    }
    const Verdict v = row.verdict ? row.verdict->verdict : Verdict::Proved;
    switch (v) {
      case Verdict::Refuted:
        count(&Tally::refuted);
        break;
      case Verdict::Unknown:
        count(&Tally::unknown);
        break;
      case Verdict::Bounded:
        count(&Tally::bounded);
        break;
      case Verdict::Proved:
        count(&Tally::proved);
        break;
    }
    if (v == Verdict::Unknown) {
      ++unknown_reasons[reasonClass(row.verdict->reason)];
      if (differs) ++unknown_reasons_changing[reasonClass(row.verdict->reason)];
    }

    if (v == Verdict::Refuted) {
      if (!row.verdict->counterexample) {
        row.bug = "refuted without a counterexample";
      } else if (!row.replay || !row.replay->replayed) {
        row.bug =
            "counterexample cannot be replayed: " + (row.replay ? row.replay->description : "?");
      } else if (!row.replay->differs) {
        row.bug = "counterexample does not replay: " + row.replay->description;
      } else if (!differs) {
        ++refuted_not_seen_by_node;
      }
      continue;
    }
    if (!differs) {
      if (v == Verdict::Proved || v == Verdict::Bounded) ++likely_equivalent;
      continue;
    }
    if (v == Verdict::Proved) {
      row.bug = row.verdict
                    ? "proved, but Node shows a difference"
                    : "verifier reports the function unchanged, but Node shows a difference";
    } else if (v == Verdict::Bounded) {
      const unsigned bound = row.verdict->bound;
      if (d.min_loop_iterations && *d.min_loop_iterations > bound) ++bounded_vacuous;
      if (d.only_nontermination) {
        ++bounded_allowed;  // the difference needs a loop that never stops
      } else if (!d.min_loop_iterations_to_differ) {
        row.bug = "bounded, and the loop counts of the differing input are unknown";
      } else if (*d.min_loop_iterations_to_differ <= bound) {
        row.bug = fmt::format(
            "bounded with bound {}, but Node shows a difference within {} iterations per loop "
            "entry "
            "({})",
            bound, *d.min_loop_iterations_to_differ, d.witness ? d.witness->describe() : "?");
      } else {
        ++bounded_allowed;
      }
    }
  }

  // The table.
  std::printf(
      "\n  Soundness over %zu mutants (stride %u) of %zu fixtures, %lldms per function "
      "(verify %.1fs on %u processes, node %.1fs)\n",
      all.total, stride, campaign.fixtures.size(),
      static_cast<long long>(options.function_timeout.count()), verify_seconds, forkingJobs(),
      campaign.node_seconds);
  std::printf("  %-22s %6s %9s %8s %8s %8s %7s %8s\n", "operator", "total", "changing", "refuted",
              "unknown", "bounded", "proved", "no-verd.");
  for (const auto& [name, t] : per_operator) {
    std::printf("  %-22s %6zu %9zu %8zu %8zu %8zu %7zu %8zu\n", name.c_str(), t.total, t.changing,
                t.refuted, t.unknown, t.bounded, t.proved, t.no_verdict);
  }
  std::printf("  %-22s %6zu %9zu %8zu %8zu %8zu %7zu %8zu\n", "all", all.total, all.changing,
              all.refuted, all.unknown, all.bounded, all.proved, all.no_verdict);
  std::printf(
      "  behaviour-changing (Node): %zu -> refuted %zu, unknown %zu, bounded %zu (%zu allowed), "
      "proved %zu, "
      "no verdict %zu\n",
      all.changing, changing_only.refuted, changing_only.unknown, changing_only.bounded,
      bounded_allowed, changing_only.proved, changing_only.no_verdict);
  std::printf(
      "  bounded verdicts on behaviour-changing mutants whose bound no Node input stayed within: "
      "%zu\n",
      bounded_vacuous);
  std::printf(
      "  not distinguished by Node: %zu -> proved/bounded (likely equivalent) %zu, refuted %zu\n",
      all.total - all.changing, likely_equivalent, refuted_not_seen_by_node);
  std::printf("  counterexamples: %zu refuted, %zu replayed, %zu confirmed in Node\n", all.refuted,
              replayed, confirmed);
  std::printf("  module-level refutations: %zu; slowest mutant %.2fs (%s)\n", module_refutations,
              slowest, slowest_name.c_str());
  std::map<std::string, std::pair<std::size_t, double>> per_fixture;
  for (const Row& row : rows) {
    auto& [n, seconds] = per_fixture[row.fixture->fixture];
    ++n;
    seconds += row.seconds;
  }
  std::string times;
  for (const auto& [name, t] : per_fixture)
    times += fmt::format(" {} {}/{:.0f}s", name, t.first, t.second);
  std::printf("  verify time per fixture (mutants/seconds):%s\n", times.c_str());
  for (const auto& [reason, n] : unknown_reasons) {
    std::printf("  unknown: %4zu (%zu behaviour-changing)  %s\n", n,
                unknown_reasons_changing[reason], reason.c_str());
  }

  std::size_t bugs = 0;
  for (const Row& row : rows) {
    if (row.bug.empty()) continue;
    ++bugs;
    const MutantRun& m = *row.run;
    ADD_FAILURE() << m.mutant.id.name() << " (" << m.mutant.id.description << "): " << row.bug
                  << "\n  verdict: " << verdictText(row)
                  << (row.verdict ? " — " + row.verdict->reason : std::string()) << "\n  node: "
                  << (m.differential.first_difference.empty() ? "no difference"
                                                              : m.differential.first_difference)
                  << (row.replay ? "\n  replay: " + row.replay->call.describe() + " -> " +
                                       row.replay->description
                                 : std::string())
                  << "\n  original:\n"
                  << functionText(row.fixture->original, m.mutant.id.function) << "\n  mutant:\n"
                  << functionText(m.mutant.module, m.mutant.id.function);
  }
  std::printf("  soundness failures: %zu\n", bugs);

  // Per-mutant rows for a closer look (timings, reasons) when asked for.
  if (const char* csv = std::getenv("LOOM_SOUNDNESS_CSV")) {
    std::FILE* out = std::fopen(csv, "w");
    if (out) {
      std::fprintf(out, "mutant\tdescription\tnode_differs\tverdict\tseconds\treason\n");
      for (const Row& row : rows) {
        std::string reason =
            row.failure.empty() ? (row.verdict ? row.verdict->reason : "") : row.failure;
        std::replace(reason.begin(), reason.end(), '\t', ' ');
        std::fprintf(out, "%s\t%s\t%d\t%s\t%.3f\t%s\n", row.run->mutant.id.name().c_str(),
                     row.run->mutant.id.description.c_str(), row.run->differential.differing > 0,
                     row.failure.empty() ? verdictText(row).c_str() : "no-verdict", row.seconds,
                     reason.c_str());
      }
      std::fclose(out);
    }
  }

  // Worker processes share verdicts as JSON; one example is enough.
  std::size_t round_trips = 0;
  const Row* example = nullptr;
  for (const Row& row : rows) {
    if (row.round_trip_error.empty()) continue;
    ++round_trips;
    if (!example) example = &row;
  }
  if (example) {
    ADD_FAILURE() << round_trips
                  << " verdicts do not survive FunctionVerdict::fromJson(toJson()), e.g. "
                  << example->run->mutant.id.name() << ": " << example->round_trip_error;
  }
  EXPECT_EQ(changing_only.proved, 0u);
  return {all, per_operator};
}

TEST(Soundness, MutantsThatChangeBehaviourAreNeverProved) {
  // The full campaign takes the verifier a quarter of an hour on two cores;
  // by default every second mutant (LOOM_SOUNDNESS_STRIDE=1 runs them all)
  // with a 1 s budget per function (LOOM_SOUNDNESS_TIMEOUT_MS): a shorter
  // budget turns some verdicts into unknowns, which cannot hide a proof.
  const unsigned stride = std::max(1u, envOr("LOOM_SOUNDNESS_STRIDE", kDefaultStride));
  verify::VerifyOptions options;
  options.function_timeout = std::chrono::milliseconds(envOr("LOOM_SOUNDNESS_TIMEOUT_MS", 1000));
  const Judgement j = judgeCampaign(mutationCampaign(stride), stride, options);
  EXPECT_GE(j.all.changing, 300u);
}

// The same judgement over the WebAssembly 2.0 fixtures, every mutant: tables
// swapped, lanes moved, segments exchanged, data.drop removed, ref.is_null
// negated, tuple elements exchanged, saturating SIMD made wrapping. Each of
// those operators must change behaviour somewhere and be refuted there with
// a counterexample Node confirms.
TEST(Soundness, Wasm2MutantsThatChangeBehaviourAreNeverProved) {
  verify::VerifyOptions options;
  options.function_timeout = std::chrono::milliseconds(envOr("LOOM_SOUNDNESS_TIMEOUT_MS", 1000));
  const Judgement j = judgeCampaign(wasm2MutationCampaign(), 1, options);
  EXPECT_GE(j.all.changing, 60u);
  for (MutationOperator op : kWasm2MutationOperators) {
    const std::string name(operatorName(op));
    const auto it = j.per_operator.find(name);
    ASSERT_NE(it, j.per_operator.end()) << name << " applies nowhere in tests/fixtures/wasm2";
    EXPECT_GT(it->second.changing, 0u) << name << " never changes behaviour in Node";
    EXPECT_GT(it->second.refuted, 0u) << name << " is never refuted";
  }
}

}  // namespace
}  // namespace loom::test
