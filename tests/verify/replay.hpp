// Running modules in Node (an engine independent of Binaryen and Z3) to get
// ground truth for the verifier's verdicts: differential execution of an
// original and a changed module, and replay of a verifier counterexample.
//
// Both work on "runnable" copies: every function and global exported under a
// stable name, and every loop instrumented to count its iterations and to
// burn fuel, so that a mutant that never terminates still comes back.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "loom/verify/verifier.hpp"
#include "loom/wasm/module.hpp"
#include "verify/mutants.hpp"

namespace loom::test {

std::string functionExport(std::string_view function);  // "__fn_" + internal name
std::string globalExport(std::string_view global);      // "__gl_" + internal name
inline constexpr std::string_view kFuelGlobal = "__loom_fuel";
inline constexpr std::string_view kLoopMaxGlobal = "__loom_loop_max";
// Import calls logged per call; a mutant that never terminates can make
// millions, more than a JSON reply can hold.
inline constexpr unsigned kImportLogLimit = 1000;

struct RunnableOptions {
  // Loop iterations plus function calls one call may run before it is cut
  // off. The fixtures need far less (the campaign test checks that no
  // original call runs out when called through its export); fuel burnt by
  // mutants that never terminate is what the Node runs spend most time on.
  std::uint32_t fuel = 300'000;
};

// A copy of `module` that Node can drive and observe: defined functions
// exported as __fn_<name>, globals as __gl_<name> (mutable-globals enabled
// for that), the memory as "memory"; each loop entry counts its iterations
// (the most any entry ran is left in __loom_loop_max); every loop iteration
// and every function entry burns one unit of __loom_fuel, and the call traps
// when it runs out.
wasm::Module makeRunnable(const wasm::Module& module, const RunnableOptions& options = {});

// One call, with the names of the module it is made for (internal names).
struct CallSpec {
  std::string function;
  std::vector<std::string> args;  // runner syntax
  nlohmann::json import_results = nlohmann::json::array();
  std::map<std::string, std::string> globals;  // global -> initial value
  std::optional<std::uint64_t> memory_pages;
  std::vector<std::pair<std::uint32_t, std::string>> memory_writes;  // address, hex bytes

  std::string describe() const;  // "f(1, 2) imports=[..] globals={..}"
};

struct CallOutcome {
  // "return", "trap", "fuel" (the call ran out of fuel: treated as "does not
  // terminate"), or "error" (the runner refused the call, see `error`).
  std::string outcome;
  std::vector<std::string> values;
  std::string trap;  // the engine's message; trap kinds are not compared
  std::string memory_sha256;
  std::int64_t memory_pages = -1;                    // -1: no memory
  std::map<std::string, std::string> globals;        // internal name -> value after the call
  nlohmann::json imports = nlohmann::json::array();  // the first kImportLogLimit calls
  std::int64_t import_calls = 0;                     // all of them
  std::uint32_t loop_iterations = 0;                 // most iterations any loop entry ran
  std::int64_t fuel_left = -1;                       // fuel remaining after the call
  std::string error;

  std::string describe() const;  // "returns 7", "traps (unreachable)", ...
};

struct ModuleRun {
  std::filesystem::path runnable;  // written by makeRunnable(...).writeBinary()
  std::vector<CallSpec> calls;
};

// Runs every call of every module in one Node process (scripts/wasm-run.mjs
// batch mode), a fresh instance per call. A module the runner rejects gives
// outcome "error" for each of its calls.
std::vector<std::vector<CallOutcome>> runBatch(const std::vector<ModuleRun>& runs);

// Globals whose value can matter to anyone: exported, or read by a function.
std::set<std::string> observableGlobals(const wasm::Module& module);

// How `a` and `b` differ, or "" when they agree. Values compare exactly
// except that any NaN equals any NaN; trap messages are not compared;
// globals are compared when present on both sides and in `globals` (all
// when null).
std::string difference(const CallOutcome& a, const CallOutcome& b,
                       const std::set<std::string>* globals = nullptr);

struct ReplayResult {
  bool replayed = false;  // both modules ran the counterexample's call
  bool differs = false;
  std::string description;  // the difference, or why there was no replay
  CallSpec call;
  CallOutcome original;
  CallOutcome other;
  std::vector<std::string> notes;  // parts of the counterexample Node could not set up exactly
};

// Sets up the counterexample's state (arguments, memory size and bytes,
// globals, import results in call order) in runnable copies of both modules,
// runs its function in Node and compares what happens.
ReplayResult replayCounterexample(const wasm::Module& original, const wasm::Module& other,
                                  const verify::Counterexample& counterexample);

// Many replays in one Node process; each module is made runnable once.
struct ReplayJob {
  const wasm::Module* original;
  const wasm::Module* other;
  verify::Counterexample counterexample;
};
std::vector<ReplayResult> replayCounterexamples(const std::vector<ReplayJob>& jobs);

// `;; @test NAME ARGS... [| imports V...] => RESULT` lines of a fixture.
struct FixtureTest {
  std::string export_name;
  std::vector<std::string> args;
  nlohmann::json import_results = nlohmann::json::array();
};
std::vector<FixtureTest> parseFixtureTests(const std::filesystem::path& wat);

// Inputs for comparing two versions of `function` (internal name): edge
// values (0, ±1, INT_MIN, INT_MAX, small loop counts, the function's own
// constants ±1, memory addresses the fixtures use), the fixture's @test
// vectors for the exports of this function, varied import results when the
// module imports functions, and some calls with other initial globals.
// Deterministic; at most `max_calls`.
std::vector<CallSpec> differentialCalls(const wasm::Module& module, std::string_view function,
                                        const std::vector<FixtureTest>& tests,
                                        unsigned max_calls = 96);

// What is known of a function after differential execution of two modules.
struct Differential {
  unsigned calls = 0;
  unsigned differing = 0;
  bool only_nontermination = false;  // every difference involves running out of fuel
  // Over the differing calls that terminated on both sides: the fewest
  // iterations the worst loop entry needed (max of both sides); nothing
  // when no terminating call differs.
  std::optional<std::uint32_t> min_loop_iterations_to_differ;
  // Over all calls that terminated on both sides (differing or not): the
  // fewest iterations the worst loop entry needed. Above a Bounded verdict's
  // bound, that verdict covered none of the inputs tried.
  std::optional<std::uint32_t> min_loop_iterations;
  std::string first_difference;     // call and difference, for reports
  std::optional<CallSpec> witness;  // the call behind min_loop_iterations_to_differ
};

Differential compareRuns(const std::vector<CallSpec>& calls, const std::vector<CallOutcome>& a,
                         const std::vector<CallOutcome>& b, const std::set<std::string>* globals);

// Verification in a forked child with a wall-clock deadline. The verifier's
// own budget bounds its solver calls, but a test must also survive an
// encoding that runs away, a hang or a crash, and report it as such.
struct IsolatedVerdict {
  std::optional<verify::ModuleVerdict> verdict;  // none: see `failure`
  std::string failure;  // "killed at the 30s deadline", "signal 11 (...)", ...
  double seconds = 0;   // wall time of the verification (or until killed)
  // The verdicts cross the process boundary as JSON, read by the test's own
  // parser; the verifier's FunctionVerdict::fromJson is checked on the side
  // (worker processes share verdicts that way): what went wrong, if anything.
  std::string round_trip_error;
};
IsolatedVerdict verifyInChild(const wasm::Module& original, const wasm::Module& optimized,
                              const verify::VerifyOptions& options,
                              std::chrono::milliseconds deadline);

// How many threads may call verifyInChild at once: LOOM_TEST_JOBS, else up
// to two. Under AddressSanitizer, one: GCC 12's ASan allocator has no fork
// handler, so a child forked while another thread holds the allocator's lock
// waits for it forever (seen as a verification "killed at the deadline").
unsigned forkingJobs();

// Every fixture's mutants, each run in Node against its original: the
// ground truth the soundness test holds the verifier to. Computed once per
// process and stride (it takes a while) and shared by the tests that need it.
struct MutantRun {
  Mutant mutant;
  std::vector<CallSpec> calls;
  Differential differential;
};

struct FixtureMutants {
  std::string fixture;
  wasm::Module original;
  std::set<std::string> observable_globals;
  std::vector<MutantRun> mutants;
  std::vector<CallSpec> original_calls;  // every function's inputs, on the original
  std::vector<CallOutcome> original_outcomes;
  double node_seconds = 0;
};

struct MutationCampaign {
  std::vector<FixtureMutants> fixtures;
  std::size_t mutants = 0;
  std::size_t behaviour_changing = 0;
  double node_seconds = 0;
  double generation_seconds = 0;
};

// Sites per (function, operator) the campaign keeps (see MutantOptions).
inline constexpr unsigned kCampaignSitesPerOperator = 1;

// `stride` keeps every stride-th mutant (in generation order over all
// fixtures), for runs that cannot afford them all.
const MutationCampaign& mutationCampaign(unsigned stride = 1);

// The fixtures in tests/fixtures/wasm2 ("wasm2/externref_table", ...): the
// WebAssembly 2.0 instructions, which the other fixtures do not use. Their
// campaign keeps every mutant, with more sites per operator, since the
// fixtures are few and small.
std::vector<std::string> wasm2FixtureNames();
inline constexpr unsigned kWasm2CampaignSitesPerOperator = 2;
const MutationCampaign& wasm2MutationCampaign();

}  // namespace loom::test
