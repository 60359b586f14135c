// How the functions and globals of the original and the optimized module
// correspond, and what may therefore be assumed about a call.
//
// Functions are matched by name: the engine verifies a copy of the parsed
// input after passes, and Binaryen keeps names. A function present on both
// sides with the same signature is verified on its own, so a call to it may
// be abstracted as an event both sides share. Functions whose signature
// changed or that exist on one side only are internal: reached only through
// their callers, whose verification executes them symbolically. Modules read
// from two separate binaries without a names section have index-based names
// that need not correspond; then only exports are matched (by export name).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "loom/verify/verifier.hpp"
#include "src/verify/semantics/executor.hpp"
#include "src/verify/semantics/module_info.hpp"
#include "src/verify/semantics/state.hpp"

namespace loom::verify::check {

enum class Matching { ByName, ByExport };

struct FunctionPair {
  std::string label;     // reported name
  std::string original;  // function names in each module
  std::string optimized;
};

class Correspondence {
 public:
  Correspondence(const sem::ModuleInfo& original, const sem::ModuleInfo& optimized,
                 Matching matching, const GlobalOrigins& origins = {});

  const sem::ModuleInfo& module(sem::Side side) const {
    return side == sem::Side::Original ? original_ : optimized_;
  }
  const sem::ModuleInfo& original() const { return original_; }
  const sem::ModuleInfo& optimized() const { return optimized_; }
  Matching matching() const { return matching_; }

  // The pairs verified standalone, in the original module's order.
  const std::vector<FunctionPair>& pairs() const { return pairs_; }

  // Equal keys mean "equivalent function": for the original side the class of
  // bodies identical in the original; for the optimized side the class of
  // its verified counterpart. nullopt: nothing may be assumed about it.
  std::optional<int> functionKey(sem::Side side, const std::string& name) const;
  int importKey(const std::string& module, const std::string& base) const;
  int signatureKey(const std::vector<sem::ValType>& params,
                   const std::vector<sem::ValType>& results) const;
  // A funcref's identity: the function's class key when it has a verified
  // counterpart (so equivalent functions are equal references), the
  // import's key for an import, else a key of its own on this side.
  int referenceKey(sem::Side side, const std::string& name) const;

  // Whether the optimized function `p` can stand in for original function `o`
  // (same function under correspondence, or a body-identical twin of it).
  bool equivalent(const std::string& o, const std::string& p) const;

  // An export the optimizer pointed at another function (duplicate-function
  // elimination merging exported functions that became identical only after
  // optimization): the new target is verified against the original target as
  // one more pair, labelled `export "NAME"`, and the export is judged by it.
  bool checkedAsPair(const std::string& original, const std::string& optimized) const;

  // Globals correspond by the origins the caller knows, else by name. When
  // names do not say which global is which (a binary without global names,
  // where Binaryen calls them "global$N" by position, and passes remove
  // some), they are aligned in order: the longest common subsequence of
  // globals that agree in type, import, exports and initial value. Empty: no
  // counterpart.
  std::string optimizedGlobal(const std::string& original_name) const;
  std::string originalGlobal(const std::string& optimized_name) const;
  // Whether globals were paired other than by equal names.
  bool globalsRenamed() const { return aligned_globals_; }
  // Whether the pairing of this slot's global is only a guess from the order
  // of unnamed globals: then a difference in it does not show that the
  // modules differ (the guess may have paired the wrong ones).
  bool guessedPairing(const sem::GlobalSlot& slot) const {
    return guessed_globals_ && !slot.host_visible;
  }
  // A private mutable global nobody changes may become immutable (simplify-globals).
  static bool globalsChangeMutability(const sem::GlobalInfo& original,
                                      const sem::GlobalInfo& optimized);

  const sem::StateLayout& layout() const { return layout_; }
  // Table slots that hold equivalent functions on both sides: only then may
  // indirect calls through an unresolved table be abstracted as events.
  bool tablesCorrespond() const { return tables_correspond_; }

 private:
  int intern(const std::string& key) const;
  void pairRetargetedExports();
  void pairGlobals(const GlobalOrigins& origins);
  void buildLayout();

  const sem::ModuleInfo& original_;
  const sem::ModuleInfo& optimized_;
  Matching matching_;
  std::vector<FunctionPair> pairs_;
  std::map<std::string, int> class_of_;             // original function -> class
  std::map<std::string, std::string> counterpart_;  // optimized -> original (verified pair)
  mutable std::map<std::string, int> keys_;
  sem::StateLayout layout_;
  // (original, optimized) targets of retargeted exports, verified as pairs.
  std::set<std::pair<std::string, std::string>> retargeted_;
  // Only globals whose names differ (see optimizedGlobal).
  std::map<std::string, std::string> global_to_optimized_, global_to_original_;
  bool aligned_globals_ = false;
  bool guessed_globals_ = false;
  bool tables_correspond_ = false;
};

// Decides, call by call, between symbolic execution and an event.
class Resolver : public sem::CallResolver {
 public:
  Resolver(const Correspondence& correspondence, unsigned inline_depth)
      : c_(correspondence), inline_depth_(inline_depth) {}
  // Calls to these functions (original, optimized) are never executed.
  void abstractCalls(std::string original, std::string optimized) {
    abstract_[0] = std::move(original);
    abstract_[1] = std::move(optimized);
  }
  sem::CallPlan direct(sem::Side side, const std::string& callee, unsigned depth) override;
  std::optional<int> indirectKey(sem::Side side, const std::vector<sem::ValType>& params,
                                 const std::vector<sem::ValType>& results) override;
  std::uint32_t functionRef(sem::Side side, const std::string& name) override;
  std::uint32_t signatureOf(const std::vector<sem::ValType>& params,
                            const std::vector<sem::ValType>& results) override;

 private:
  const Correspondence& c_;
  unsigned inline_depth_;
  std::string abstract_[2];
};

}  // namespace loom::verify::check
