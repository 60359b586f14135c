#include "loom/engine/repair.hpp"

#include <fmt/format.h>

#include <deque>
#include <set>

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

struct Reverter {
  BinaryenModuleRef original;
  BinaryenModuleRef target;
  std::deque<std::string> work;
  std::set<std::string> done;
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
      if (!sameSignature(from, here)) return fail(fmt::format("the signature of {} changed", name));
      if (isImport(from) != isImport(here))
        return fail(fmt::format("{} changed between import and definition", name));
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

  bool needGlobal(const char* name, bool writes) {
    BinaryenGlobalRef from = BinaryenGetGlobal(original, name);
    if (!from) return fail(fmt::format("global {} is not in the original", name));
    BinaryenGlobalRef here = BinaryenGetGlobal(target, name);
    if (here) {
      if (BinaryenGlobalGetType(from) != BinaryenGlobalGetType(here) ||
          BinaryenGlobalIsMutable(from) != BinaryenGlobalIsMutable(here)) {
        return fail(fmt::format("global {} changed its type or mutability", name));
      }
      return true;
    }
    if (writes || BinaryenGlobalIsMutable(from)) {
      // Others may have stopped writing it: its value cannot be trusted.
      return fail(fmt::format("mutable global {} was removed", name));
    }
    if (isImportedGlobal(from)) {
      BinaryenAddGlobalImport(target, name, BinaryenGlobalImportGetModule(from),
                              BinaryenGlobalImportGetBase(from), BinaryenGlobalGetType(from),
                              false);
    } else {
      BinaryenAddGlobal(target, name, BinaryenGlobalGetType(from), false,
                        BinaryenExpressionCopy(BinaryenGlobalGetInitExpr(from), target));
    }
    return true;
  }

  bool needTable(const char* name) {
    for (BinaryenIndex i = 0, n = BinaryenGetNumTables(target); i < n; ++i) {
      if (std::string_view(BinaryenTableGetName(BinaryenGetTableByIndex(target, i))) == name)
        return true;
    }
    return fail(fmt::format("table {} was removed", name));
  }

  bool checkBody(BinaryenExpressionRef body, const std::string& function) {
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
        case wasm::ExprKind::GlobalGet:
          ok = needGlobal(BinaryenGlobalGetGetName(e), false);
          break;
        case wasm::ExprKind::GlobalSet:
          ok = needGlobal(BinaryenGlobalSetGetName(e), true);
          break;
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

  bool revert(const std::string& name) {
    BinaryenFunctionRef from = BinaryenGetFunction(original, name.c_str());
    if (!from || isImport(from)) return fail(fmt::format("{} has no original body", name));
    if (BinaryenFunctionRef here = BinaryenGetFunction(target, name.c_str())) {
      if (!sameSignature(from, here)) return fail(fmt::format("the signature of {} changed", name));
      BinaryenRemoveFunction(target, name.c_str());
    }
    std::vector<BinaryenType> vars;
    for (BinaryenIndex i = 0, n = BinaryenFunctionGetNumVars(from); i < n; ++i)
      vars.push_back(BinaryenFunctionGetVar(from, i));
    BinaryenAddFunction(target, name.c_str(), BinaryenFunctionGetParams(from),
                        BinaryenFunctionGetResults(from), vars.data(),
                        static_cast<BinaryenIndex>(vars.size()),
                        BinaryenExpressionCopy(BinaryenFunctionGetBody(from), target));
    return checkBody(BinaryenFunctionGetBody(from), name);
  }
};

}  // namespace

Repair revertFunctions(const wasm::Module& original, const wasm::Module& candidate,
                       const std::vector<std::string>& functions) {
  Repair repair;
  wasm::Module copy = candidate.copy();
  Reverter r{original.get(), copy.get(), {}, {}, {}};
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
  if (!copy.validate()) {
    repair.why_not = "the repaired module does not validate";
    return repair;
  }
  repair.module = std::move(copy);
  return repair;
}

}  // namespace loom::engine
