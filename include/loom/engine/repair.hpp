// Repair: a candidate whose optimized functions are not all verified can
// still be used when each unverified function gets its original body back.
// The repaired module is verified again as a whole, so repair only ever
// decides *what* to check; soundness stays with the verifier.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "loom/wasm/module.hpp"

namespace loom::engine {

struct Repair {
  std::optional<wasm::Module> module;  // absent when the functions cannot be reverted
  std::vector<std::string> reverted;   // every function that now has its original body
  // Globals added for reverted bodies: their name in the module -> in the original.
  std::map<std::string, std::string> added_globals;
  std::string why_not;  // when absent, one line
};

// Copies `candidate` and gives each function in `functions` (and whatever
// their original bodies need that the candidate dropped: callees, imports,
// immutable globals) its body from `original`. `globals` maps each original
// global to its counterpart in the candidate (verify::Verifier::pairGlobals);
// reverted bodies use the counterparts. A function whose signature changed
// (dead-argument elimination) takes its direct callers back with it, and a
// reverted body's callee whose signature changed goes back too. Gives up,
// rather than guess, when a reverted body would meet a removed mutable
// global, changed data segments or a removed table, or a function to revert
// has no original (a pass made it).
Repair revertFunctions(const wasm::Module& original, const wasm::Module& candidate,
                       const std::vector<std::string>& functions,
                       const std::map<std::string, std::string>& globals);

}  // namespace loom::engine
