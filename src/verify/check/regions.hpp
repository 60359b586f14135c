// Checking a changed function by the parts that changed.
//
// A pass usually rewrites a few places of a function and leaves the rest
// alone. Where both bodies are the same tree except for some subtrees (or
// some runs of children of a block), each such region is checked on its own:
// the two versions of the region, put in a harness function whose
// parameters are all of the function's locals (so they start from any
// state at all), must end alike for every state: the same trap or return
// value, or the same exit (falling through, or a branch to the same
// enclosing label), with the same locals, globals, memory, tables and
// events. A region that behaves alike from every state behaves alike in
// every context, so the function is proved when all its regions are; what
// is not proved this way is checked whole as before. The harness is
// verified by the same Verifier with the same options, so the relation
// (traps, imports, NaN non-determinism) is the one every other check uses.
#pragma once

#include <binaryen-c.h>

#include <cstddef>
#include <string>
#include <vector>

#include "loom/verify/verifier.hpp"
#include "loom/wasm/module.hpp"

namespace loom::verify::check {

// One side of a region: an expression, or children [begin, end) of a block.
struct Fragment {
  BinaryenExpressionRef expr = nullptr;
  BinaryenExpressionRef block = nullptr;
  BinaryenIndex begin = 0, end = 0;

  std::size_t expressions() const;
};

// A block around a region, where the region can grow to: children [0,
// end) on each side, with the `labels` enclosing labels outside the block.
struct Enclosing {
  BinaryenExpressionRef original = nullptr, optimized = nullptr;
  BinaryenIndex original_end = 0, optimized_end = 0;
  std::size_t labels = 0;
};

struct Region {
  Fragment original, optimized;
  // Labels around the region on each side, outermost first, paired by position.
  std::vector<const char*> original_labels, optimized_labels;
  // Innermost first. What a pass did in a region often rests on what the
  // statements before it did (a local set earlier), so a region that is not
  // proved alone is tried again with those statements.
  std::vector<Enclosing> enclosing;
  // Expressions in the whole original function: a region that is (or grows
  // to) more than half of it is left to the whole check, which has the
  // context and costs about as much.
  std::size_t function_expressions = 0;

  // The region grown to the `level`-th enclosing block's statements up to it.
  Region grown(std::size_t level) const;
};

// A region's harness has this share of its function's budget.
inline constexpr int kRegionShare = 8;
// Functions smaller than this without loops or calls are checked whole at
// once: that is cheap and sure, and their regions would only add solver calls.
inline constexpr std::size_t kLargeFunction = 200;

// The regions where two bodies of the same signature and locals differ, or
// nothing if they cannot be checked region by region (other locals, more
// than `max_regions` regions, a difference at the root) or need not be (a
// small function without loops or calls, which its whole check settles
// quickly, or regions that make up more than half of the function).
std::vector<Region> differingRegions(BinaryenFunctionRef original, BinaryenFunctionRef optimized,
                                     std::size_t max_regions);

// The regions of several functions, verified together: `original` and
// `optimized` are the two modules of a step (the same function names). For
// each function, whether every one of its regions was proved.
struct RegionCheck {
  std::string function;         // name on both sides
  std::vector<Region> regions;  // from differingRegions
  bool proved = false;          // set by proveRegions
  std::string reason;           // why not, when not proved
  double solver_seconds = 0;
  std::uint64_t solver_units = 0;
};

// Each region that is not proved alone is tried again grown by up to
// `max_growth` enclosing blocks.
void proveRegions(const wasm::Module& original, const wasm::Module& optimized,
                  std::vector<RegionCheck>& checks, const VerifyOptions& options,
                  const std::shared_ptr<VerdictCache>& cache, BudgetLedger& ledger,
                  std::size_t max_growth = 3);

}  // namespace loom::verify::check
