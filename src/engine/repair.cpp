#include "loom/engine/repair.hpp"

#include <fmt/format.h>

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "loom/wasm/ir.hpp"

namespace loom::engine {

namespace {

bool isImport(BinaryenFunctionRef f) {
  return BinaryenFunctionGetBody(f) == nullptr;
}

bool isImportedGlobal(BinaryenGlobalRef g) {
  const char* module = BinaryenGlobalImportGetModule(g);
  return module && *module;
}

// What a function is besides its body and name: re-adding a function with
// the same shape keeps its signature, locals and local names.
struct FunctionShape {
  BinaryenType params;
  BinaryenType results;
  std::vector<BinaryenType> vars;
  std::vector<std::pair<BinaryenIndex, std::string>> local_names;

  static FunctionShape of(BinaryenFunctionRef f) {
    FunctionShape s{BinaryenFunctionGetParams(f), BinaryenFunctionGetResults(f), {}, {}};
    for (BinaryenIndex i = 0, n = BinaryenFunctionGetNumVars(f); i < n; ++i)
      s.vars.push_back(BinaryenFunctionGetVar(f, i));
    for (BinaryenIndex i = 0, n = BinaryenFunctionGetNumLocals(f); i < n; ++i) {
      if (BinaryenFunctionHasLocalName(f, i))
        s.local_names.emplace_back(i, BinaryenFunctionGetLocalName(f, i));
    }
    return s;
  }

  BinaryenFunctionRef add(BinaryenModuleRef module, const std::string& name,
                          BinaryenExpressionRef body) {
    BinaryenFunctionRef f = BinaryenAddFunction(module, name.c_str(), params, results, vars.data(),
                                                static_cast<BinaryenIndex>(vars.size()), body);
    for (const auto& [i, local] : local_names) BinaryenFunctionSetLocalName(f, i, local.c_str());
    return f;
  }
};

struct Reverter {
  BinaryenModuleRef original;
  BinaryenModuleRef target;
  const std::map<std::string, std::string>& globals;      // original name -> candidate name
  std::map<std::string, std::string> added_globals;       // original name -> added name
  std::optional<std::set<std::string>> read_in_original;  // globals read or exported
  std::deque<std::string> work;
  std::set<std::string> done;
  std::set<std::string> made_by_passes;  // to remove once nothing calls them
  std::string failure;

  bool fail(std::string why) {
    if (failure.empty()) failure = std::move(why);
    return false;
  }

  bool sameSignature(BinaryenFunctionRef a, BinaryenFunctionRef b) {
    return BinaryenFunctionGetParams(a) == BinaryenFunctionGetParams(b) &&
           BinaryenFunctionGetResults(a) == BinaryenFunctionGetResults(b);
  }

  // Makes sure `name`, as the original has it, can be called from a reverted body.
  bool needFunction(const char* name) {
    BinaryenFunctionRef from = BinaryenGetFunction(original, name);
    if (!from) return fail(fmt::format("function {} is not in the original", name));
    BinaryenFunctionRef here = BinaryenGetFunction(target, name);
    if (here) {
      if (isImport(from) != isImport(here))
        return fail(fmt::format("{} changed between import and definition", name));
      // A callee whose signature changed goes back too (see revert()).
      if (!sameSignature(from, here) && !done.count(name)) work.emplace_back(name);
      return true;
    }
    if (isImport(from)) {
      BinaryenAddFunctionImport(target, name, BinaryenFunctionImportGetModule(from),
                                BinaryenFunctionImportGetBase(from),
                                BinaryenFunctionGetParams(from), BinaryenFunctionGetResults(from));
      return true;
    }
    // Removed (inlined everywhere, merged as a duplicate, unused): bring back the original.
    if (!done.count(name)) work.emplace_back(name);
    return true;
  }

  // The candidate's name for original global `name`, adding an immutable
  // global the candidate dropped; empty when the body cannot use it.
  std::string needGlobal(const char* name, bool writes) {
    BinaryenGlobalRef from = BinaryenGetGlobal(original, name);
    if (!from) {
      fail(fmt::format("global {} is not in the original", name));
      return {};
    }
    if (auto paired = globals.find(name); paired != globals.end()) {
      BinaryenGlobalRef here = BinaryenGetGlobal(target, paired->second.c_str());
      if (!here || BinaryenGlobalGetType(from) != BinaryenGlobalGetType(here)) {
        fail(fmt::format("global {} changed its type", name));
        return {};
      }
      // A pairing may drop mutability only from a global that always
      // holds its initial value; a body that writes it still needs it mutable.
      if (writes && !BinaryenGlobalIsMutable(here)) {
        fail(fmt::format("global {} became immutable", name));
        return {};
      }
      return paired->second;
    }
    if ((writes || BinaryenGlobalIsMutable(from)) && !writeOnly(name)) {
      // Others may have stopped writing it: its value cannot be trusted.
      fail(fmt::format("mutable global {} was removed", name));
      return {};
    }
    if (auto added = added_globals.find(name); added != added_globals.end()) return added->second;
    // Names from a binary without a names section are positions, so the
    // candidate may use this name for another global.
    std::string fresh = name;
    while (BinaryenGetGlobal(target, fresh.c_str())) fresh += "$original";
    if (isImportedGlobal(from)) {
      BinaryenAddGlobalImport(target, fresh.c_str(), BinaryenGlobalImportGetModule(from),
                              BinaryenGlobalImportGetBase(from), BinaryenGlobalGetType(from),
                              false);
    } else {
      BinaryenAddGlobal(target, fresh.c_str(), BinaryenGlobalGetType(from),
                        BinaryenGlobalIsMutable(from),
                        BinaryenExpressionCopy(BinaryenGlobalGetInitExpr(from), target));
    }
    added_globals.emplace(name, fresh);
    return fresh;
  }

  // A private global the original only ever writes (a bump allocator's
  // start, say) holds nothing anyone sees: reverted bodies may write a copy.
  bool writeOnly(const char* name) {
    if (!read_in_original) {
      read_in_original.emplace();
      for (BinaryenIndex i = 0, n = BinaryenGetNumGlobals(original); i < n; ++i) {
        BinaryenExpressionRef init =
            BinaryenGlobalGetInitExpr(BinaryenGetGlobalByIndex(original, i));
        if (init) noteReads(init);
      }
      for (BinaryenIndex i = 0, n = BinaryenGetNumFunctions(original); i < n; ++i) {
        BinaryenExpressionRef body =
            BinaryenFunctionGetBody(BinaryenGetFunctionByIndex(original, i));
        if (body) noteReads(body);
      }
      for (BinaryenIndex i = 0, n = BinaryenGetNumExports(original); i < n; ++i) {
        BinaryenExportRef e = BinaryenGetExportByIndex(original, i);
        if (BinaryenExportGetKind(e) == BinaryenExternalGlobal())
          read_in_original->insert(BinaryenExportGetValue(e));
      }
    }
    return !isImportedGlobal(BinaryenGetGlobal(original, name)) && !read_in_original->count(name);
  }

  void noteReads(BinaryenExpressionRef root) {
    wasm::walk(root, [&](BinaryenExpressionRef e, unsigned) {
      if (wasm::kindOf(e) == wasm::ExprKind::GlobalGet)
        read_in_original->insert(BinaryenGlobalGetGetName(e));
      return true;
    });
  }

  bool needTable(const char* name) {
    for (BinaryenIndex i = 0, n = BinaryenGetNumTables(target); i < n; ++i) {
      if (std::string_view(BinaryenTableGetName(BinaryenGetTableByIndex(target, i))) == name)
        return true;
    }
    return fail(fmt::format("table {} was removed", name));
  }

  // Walks a reverted body copied into the target, pointing its global
  // accesses at the candidate's globals.
  bool adaptBody(BinaryenExpressionRef body, const std::string& function) {
    bool ok = true;
    wasm::walk(body, [&](BinaryenExpressionRef e, unsigned) {
      if (!ok) return false;
      switch (wasm::kindOf(e)) {
        case wasm::ExprKind::Call:
          ok = needFunction(BinaryenCallGetTarget(e));
          break;
        case wasm::ExprKind::RefFunc:
          ok = needFunction(BinaryenRefFuncGetFunc(e));
          break;
        case wasm::ExprKind::GlobalGet: {
          const std::string here = needGlobal(BinaryenGlobalGetGetName(e), false);
          ok = !here.empty();
          if (ok) BinaryenGlobalGetSetName(e, here.c_str());
          break;
        }
        case wasm::ExprKind::GlobalSet: {
          const std::string here = needGlobal(BinaryenGlobalSetGetName(e), true);
          ok = !here.empty();
          if (ok) BinaryenGlobalSetSetName(e, here.c_str());
          break;
        }
        case wasm::ExprKind::CallIndirect:
          ok = needTable(BinaryenCallIndirectGetTable(e));
          break;
        case wasm::ExprKind::MemoryInit:
        case wasm::ExprKind::DataDrop:
          ok = fail(fmt::format("{} uses data segments, which optimization may have renumbered",
                                function));
          break;
        case wasm::ExprKind::Try:
        case wasm::ExprKind::Throw:
        case wasm::ExprKind::Rethrow:
          ok = fail(fmt::format("{} uses exception tags", function));
          break;
        default:
          if (!wasm::isTransparent(wasm::kindOf(e)))
            ok = fail(fmt::format("{} uses GC instructions", function));
          break;
      }
      return ok;
    });
    return ok;
  }

  // Functions of the target whose bodies call `name` directly.
  std::vector<std::string> callersInTarget(const std::string& name) const {
    std::vector<std::string> callers;
    for (BinaryenIndex i = 0, n = BinaryenGetNumFunctions(target); i < n; ++i) {
      BinaryenFunctionRef f = BinaryenGetFunctionByIndex(target, i);
      BinaryenExpressionRef body = BinaryenFunctionGetBody(f);
      if (!body) continue;
      bool calls = false;
      wasm::walk(body, [&](BinaryenExpressionRef e, unsigned) {
        calls =
            calls || (wasm::kindOf(e) == wasm::ExprKind::Call && name == BinaryenCallGetTarget(e));
        return !calls;
      });
      if (calls) callers.emplace_back(BinaryenFunctionGetName(f));
    }
    return callers;
  }

  // The callers of `name`, whose signature goes back: those with an
  // original body go back too. One a pass made (merge-similar-functions'
  // shared body) has none: its own callers go back instead, and it is
  // removed at the end if nothing refers to it any more.
  void takeCallersBack(const std::string& name) {
    for (auto& caller : callersInTarget(name)) {
      if (BinaryenGetFunction(original, caller.c_str())) {
        if (!done.count(caller)) work.push_back(std::move(caller));
      } else if (made_by_passes.insert(caller).second) {
        takeCallersBack(caller);
      }
    }
  }

  bool referencedOutsideOf(const std::set<std::string>& names) const {
    for (BinaryenIndex i = 0, n = BinaryenGetNumFunctions(target); i < n; ++i) {
      BinaryenFunctionRef f = BinaryenGetFunctionByIndex(target, i);
      BinaryenExpressionRef body = BinaryenFunctionGetBody(f);
      if (!body || names.count(BinaryenFunctionGetName(f))) continue;
      bool refers = false;
      wasm::walk(body, [&](BinaryenExpressionRef e, unsigned) {
        const wasm::ExprKind k = wasm::kindOf(e);
        refers = refers || (k == wasm::ExprKind::Call && names.count(BinaryenCallGetTarget(e))) ||
                 (k == wasm::ExprKind::RefFunc && names.count(BinaryenRefFuncGetFunc(e)));
        return !refers;
      });
      if (refers) return true;
    }
    for (BinaryenIndex i = 0, n = BinaryenGetNumExports(target); i < n; ++i) {
      BinaryenExportRef e = BinaryenGetExportByIndex(target, i);
      if (BinaryenExportGetKind(e) == BinaryenExternalFunction() &&
          names.count(BinaryenExportGetValue(e)))
        return true;
    }
    for (BinaryenIndex i = 0, n = BinaryenGetNumElementSegments(target); i < n; ++i) {
      BinaryenElementSegmentRef seg = BinaryenGetElementSegmentByIndex(target, i);
      for (BinaryenIndex j = 0, m = BinaryenElementSegmentGetLength(seg); j < m; ++j) {
        if (names.count(BinaryenElementSegmentGetData(seg, j))) return true;
      }
    }
    // Not the start function: passes never make one.
    return false;
  }

  // Functions a pass made that called a function whose signature went back.
  bool removeMadeByPasses() {
    if (made_by_passes.empty()) return true;
    if (referencedOutsideOf(made_by_passes)) {
      return fail(fmt::format("{} (made by a pass) calls a function whose signature changed",
                              *made_by_passes.begin()));
    }
    for (const auto& name : made_by_passes) BinaryenRemoveFunction(target, name.c_str());
    return true;
  }

  bool revert(const std::string& name) {
    BinaryenFunctionRef from = BinaryenGetFunction(original, name.c_str());
    if (!from || isImport(from)) return fail(fmt::format("{} has no original body", name));
    if (BinaryenFunctionRef here = BinaryenGetFunction(target, name.c_str())) {
      // Dead-argument elimination changes a private function's signature
      // together with every call to it: with its original signature back,
      // its callers go back to their original bodies too.
      if (!sameSignature(from, here)) takeCallersBack(name);
      BinaryenRemoveFunction(target, name.c_str());
    }
    BinaryenFunctionRef added = FunctionShape::of(from).add(
        target, name, BinaryenExpressionCopy(BinaryenFunctionGetBody(from), target));
    return adaptBody(BinaryenFunctionGetBody(added), name);
  }

  // Binaryen appends every added function, so a reverted one moved to the end
  // of the module: every function after its old place was renumbered, and
  // calls to it took wider LEB128 indices. On zstd, keeping -Oz's 157
  // unverified functions original made the input itself 244 bytes larger.
  // Defined functions go back to the candidate's order, those the candidate
  // lacks after them in the original's order (imports are written first anyway).
  void restoreOrder(BinaryenModuleRef candidate) {
    std::vector<std::string> desired;
    std::set<std::string> placed;
    for (BinaryenModuleRef m : {candidate, original}) {
      for (BinaryenIndex i = 0, n = BinaryenGetNumFunctions(m); i < n; ++i) {
        BinaryenFunctionRef f = BinaryenGetFunctionByIndex(m, i);
        const std::string name = BinaryenFunctionGetName(f);
        BinaryenFunctionRef here = BinaryenGetFunction(target, name.c_str());
        if (isImport(f) || !here || isImport(here) || !placed.insert(name).second) continue;
        desired.push_back(name);
      }
    }
    std::vector<std::string> current;
    for (BinaryenIndex i = 0, n = BinaryenGetNumFunctions(target); i < n; ++i) {
      BinaryenFunctionRef f = BinaryenGetFunctionByIndex(target, i);
      if (!isImport(f)) current.push_back(BinaryenFunctionGetName(f));
    }
    std::size_t first_out_of_place = 0;
    while (first_out_of_place < desired.size() && first_out_of_place < current.size() &&
           desired[first_out_of_place] == current[first_out_of_place]) {
      ++first_out_of_place;
    }
    for (std::size_t k = first_out_of_place; k < desired.size(); ++k) moveToEnd(desired[k]);
  }

  // The body stays where it is (expressions live in the module's arena, not
  // in the function), so nothing is copied.
  void moveToEnd(const std::string& name) {
    BinaryenFunctionRef f = BinaryenGetFunction(target, name.c_str());
    FunctionShape shape = FunctionShape::of(f);
    BinaryenExpressionRef body = BinaryenFunctionGetBody(f);
    BinaryenRemoveFunction(target, name.c_str());
    shape.add(target, name, body);
  }
};

}  // namespace

Repair revertFunctions(const wasm::Module& original, const wasm::Module& candidate,
                       const std::vector<std::string>& functions,
                       const std::map<std::string, std::string>& globals) {
  Repair repair;
  wasm::Module copy = candidate.copy();
  Reverter r{original.get(), copy.get(), globals, {}, {}, {}, {}, {}, {}};
  for (const auto& f : functions) r.work.push_back(f);
  while (!r.work.empty()) {
    const std::string name = r.work.front();
    r.work.pop_front();
    if (!r.done.insert(name).second) continue;
    if (!r.revert(name)) {
      repair.why_not = r.failure;
      return repair;
    }
    repair.reverted.push_back(name);
  }
  if (!r.removeMadeByPasses()) {
    repair.why_not = r.failure;
    return repair;
  }
  r.restoreOrder(candidate.get());
  if (!copy.validate()) {
    repair.why_not = "the repaired module does not validate";
    return repair;
  }
  for (const auto& [original_name, added] : r.added_globals)
    repair.added_globals.emplace(added, original_name);
  repair.module = std::move(copy);
  return repair;
}

}  // namespace loom::engine
