#include <algorithm>
#include <array>
#include <vector>

#include "loom/pipeline/phase.hpp"

namespace loom::pipeline {

namespace {

using O = PhaseOrigin;

// The vocabulary. Every single Binaryen pass has exactly one entry, so a
// pipeline has one spelling; post-inline-folding is the one composite phase.
const std::vector<Phase> kPhases = {
    // Loom's 12 phases, in Loom's order.
    {"precompute", O::Loom, "evaluate expressions whose operands are constants", {"precompute"}},
    {"constant-folding",
     O::Loom,
     "fold constants and propagate them through locals",
     {"precompute-propagate"}},
    {"strength-reduction",
     O::Loom,
     "peephole rewrites into cheaper instructions (mul by 2^k -> shl, ...)",
     {"optimize-instructions"}},
    {"cse", O::Loom, "reuse repeated pure expressions within a basic block", {"local-cse"}},
    {"inlining", O::Loom, "inline functions within the inlining size limits", {"inlining"}},
    {"post-inline-folding",
     O::Loom,
     "sink inlined arguments into their uses and fold what becomes constant",
     {"simplify-locals", "precompute-propagate", "optimize-instructions"}},
    {"code-folding", O::Loom, "merge identical code at the tails of branches", {"code-folding"}},
    {"licm", O::Loom, "hoist loop-invariant code out of loops", {"licm"}},
    {"branch-simplification",
     O::Loom,
     "remove and simplify branches (br_if to if, jump threading)",
     {"remove-unused-brs"}},
    {"dce", O::Loom, "remove unreachable code", {"dce"}},
    {"block-merging", O::Loom, "merge nested blocks and hoist code out of them", {"merge-blocks"}},
    {"vacuum", O::Loom, "remove code that has no effect (nops, dropped pure values)", {"vacuum"}},

    // The rest of Binaryen's default -O/-Os/-Oz/-O3/-O4 pipelines.
    {"duplicate-function-elimination",
     O::WasmOpt,
     "merge functions with identical bodies",
     {"duplicate-function-elimination"}},
    {"memory-packing", O::WasmOpt, "split data segments to drop runs of zeros", {"memory-packing"}},
    {"once-reduction",
     O::WasmOpt,
     "remove calls to functions that only run once",
     {"once-reduction"}},
    {"ssa-nomerge",
     O::WasmOpt,
     "give each local assignment its own local where no merge is needed",
     {"ssa-nomerge"}},
    {"flatten",
     O::WasmOpt,
     "flatten the IR into a three-address form (grows code; -O4 cleans up after it)",
     {"flatten"}},
    {"simplify-locals-notee-nostructure",
     O::WasmOpt,
     "sink locals without creating tees or block results",
     {"simplify-locals-notee-nostructure"}},
    {"remove-unused-names",
     O::WasmOpt,
     "remove block and loop labels nothing branches to",
     {"remove-unused-names"}},
    {"pick-load-signs",
     O::WasmOpt,
     "choose signed or unsigned loads by how their values are used",
     {"pick-load-signs"}},
    {"code-pushing",
     O::WasmOpt,
     "push local assignments forward past conditional exits",
     {"code-pushing"}},
    {"simplify-locals-nostructure",
     O::WasmOpt,
     "sink locals into their uses without creating block results",
     {"simplify-locals-nostructure"}},
    {"reorder-locals",
     O::WasmOpt,
     "sort locals by use count so frequent ones get small indices",
     {"reorder-locals"}},
    {"merge-locals", O::WasmOpt, "merge locals that hold copies of each other", {"merge-locals"}},
    {"coalesce-locals",
     O::WasmOpt,
     "share locals whose live ranges do not overlap",
     {"coalesce-locals"}},
    {"simplify-locals",
     O::WasmOpt,
     "sink locals into their uses, creating tees and block results",
     {"simplify-locals"}},
    {"rse", O::WasmOpt, "remove redundant local.set of a value the local already has", {"rse"}},
    {"dae-optimizing",
     O::WasmOpt,
     "remove dead and constant arguments, then optimize the changed functions",
     {"dae-optimizing"}},
    {"inlining-optimizing",
     O::WasmOpt,
     "inline, then optimize the functions that received code",
     {"inlining-optimizing"}},
    {"duplicate-import-elimination",
     O::WasmOpt,
     "merge identical function imports",
     {"duplicate-import-elimination"}},
    {"merge-similar-functions",
     O::WasmOpt,
     "merge functions that differ only in constants",
     {"merge-similar-functions"}},
    {"simplify-globals-optimizing",
     O::WasmOpt,
     "propagate constant globals, then optimize the changed functions",
     {"simplify-globals-optimizing"}},
    {"simplify-globals",
     O::WasmOpt,
     "propagate constant globals and remove unused global writes",
     {"simplify-globals"}},
    {"remove-unused-module-elements",
     O::WasmOpt,
     "remove functions, globals and segments nothing reaches",
     {"remove-unused-module-elements"}},
    {"directize",
     O::WasmOpt,
     "turn call_indirect with a known table slot into a direct call",
     {"directize"}},
    {"generate-stack-ir",
     O::WasmOpt,
     "build Stack IR, the form the binary writer emits",
     {"generate-stack-ir"}},
    {"optimize-stack-ir",
     O::WasmOpt,
     "remove local.get/set pairs the stack can carry (needs Stack IR)",
     {"optimize-stack-ir"}},

    // Other Binaryen passes worth searching.
    {"reorder-functions",
     O::Extra,
     "sort functions by call count so hot callees get short indices",
     {"reorder-functions"}},
    {"dae", O::Extra, "remove dead and constant arguments", {"dae"}},
    {"simplify-locals-notee",
     O::Extra,
     "sink locals without creating tees",
     {"simplify-locals-notee"}},
    {"simplify-locals-nonesting",
     O::Extra,
     "sink locals without nesting expressions",
     {"simplify-locals-nonesting"}},
    {"coalesce-locals-learning",
     O::Extra,
     "coalesce locals, learning a better local order (slower)",
     {"coalesce-locals-learning"}},
    {"ssa",
     O::Extra,
     "full SSA form for locals (grows code; needs cleanup passes after it)",
     {"ssa"}},
    {"untee", O::Extra, "replace local.tee with a set and a get", {"untee"}},
    {"const-hoisting", O::Extra, "hoist repeated large constants into a local", {"const-hoisting"}},
    {"avoid-reinterprets",
     O::Extra,
     "load values with the type they are used as instead of reinterpreting",
     {"avoid-reinterprets"}},
    {"remove-unused-nonfunction-module-elements",
     O::Extra,
     "remove unused globals and segments but keep functions",
     {"remove-unused-nonfunction-module-elements"}},

    // loom-evolve's own phase.
    {"unroll", O::Project, "unroll loops by the configured factor and body-size limit", {}},

    // Fault injection for the engine's tests (LOOM_TEST_PHASES=1 to enable).
    {"test-abort", O::Test, "abort the process, like a failed assertion in Binaryen", {}},
    {"test-exit", O::Test, "_Exit(1), like Binaryen's Fatal", {}},
    {"test-hang", O::Test, "never return", {}},
    {"test-oom", O::Test, "allocate memory until the allocation fails", {}},
};

}  // namespace

std::span<const Phase> allPhases() {
  return kPhases;
}

const Phase* findPhase(std::string_view name) {
  auto it =
      std::find_if(kPhases.begin(), kPhases.end(), [&](const Phase& p) { return p.name == name; });
  return it == kPhases.end() ? nullptr : &*it;
}

std::optional<std::size_t> phaseIndex(std::string_view name) {
  const Phase* phase = findPhase(name);
  if (!phase) return std::nullopt;
  return static_cast<std::size_t>(phase - kPhases.data());
}

std::span<const std::size_t> searchablePhaseIndices() {
  static const std::vector<std::size_t> indices = [] {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < kPhases.size(); ++i) {
      if (kPhases[i].origin != O::Test) out.push_back(i);
    }
    return out;
  }();
  return indices;
}

std::string_view originName(PhaseOrigin origin) {
  switch (origin) {
    case O::Loom:
      return "loom";
    case O::WasmOpt:
      return "wasm-opt";
    case O::Extra:
      return "extra";
    case O::Project:
      return "project";
    case O::Test:
      return "test";
  }
  return "?";
}

std::span<const std::string_view> loomPhaseOrder() {
  static constexpr std::array<std::string_view, 12> kOrder = {"precompute",
                                                              "constant-folding",
                                                              "strength-reduction",
                                                              "cse",
                                                              "inlining",
                                                              "post-inline-folding",
                                                              "code-folding",
                                                              "licm",
                                                              "branch-simplification",
                                                              "dce",
                                                              "block-merging",
                                                              "vacuum"};
  return kOrder;
}

}  // namespace loom::pipeline
