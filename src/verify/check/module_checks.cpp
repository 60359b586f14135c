#include "src/verify/check/module_checks.hpp"

#include <fmt/format.h>

#include <set>

namespace loom::verify::check {

namespace {

using sem::Side;

const char* kindName(wasm::ExternalKind k) {
  switch (k) {
    case wasm::ExternalKind::Function:
      return "function";
    case wasm::ExternalKind::Table:
      return "table";
    case wasm::ExternalKind::Memory:
      return "memory";
    case wasm::ExternalKind::Global:
      return "global";
    case wasm::ExternalKind::Tag:
      break;
  }
  return "tag";
}

std::string importId(const wasm::Import& i) {
  return fmt::format("{}.{} ({})", i.module, i.field, kindName(i.kind));
}

void checkImports(const Correspondence& c, ModuleProblems& out) {
  const auto& o = c.original();
  const auto& p = c.optimized();
  // Removing an unused import is fine: the optimized module asks the host for
  // less. Adding one, or changing a signature, is not.
  std::set<std::string> original_imports;
  for (const auto& i : o.layoutImports()) original_imports.insert(importId(i));
  for (const auto& i : p.layoutImports()) {
    if (!original_imports.count(importId(i))) {
      out.add(fmt::format("import {} is new in the optimized module", importId(i)), true);
    }
  }
  std::map<std::string, const sem::FunctionInfo*> by_field;
  for (const auto& name : o.importedFunctions()) {
    const auto* f = o.function(name);
    by_field[f->import_module + "." + f->import_base] = f;
  }
  for (const auto& name : p.importedFunctions()) {
    const auto* f = p.function(name);
    auto it = by_field.find(f->import_module + "." + f->import_base);
    if (it != by_field.end() && !it->second->sameSignature(*f)) {
      out.add(fmt::format("imported function {}.{} changed its signature", f->import_module,
                          f->import_base),
              true);
    }
  }
}

void checkExports(const Correspondence& c, ModuleProblems& out) {
  const auto& o = c.original();
  const auto& p = c.optimized();
  std::map<std::string, const sem::ExportInfo*> pe;
  for (const auto& e : p.exports()) pe[e.name] = &e;
  std::set<std::string> seen;
  for (const auto& e : o.exports()) {
    seen.insert(e.name);
    auto it = pe.find(e.name);
    if (it == pe.end()) {
      out.add(fmt::format("export \"{}\" is missing from the optimized module", e.name), true);
      continue;
    }
    const sem::ExportInfo& q = *it->second;
    if (q.kind != e.kind) {
      out.add(fmt::format("export \"{}\" changed from {} to {}", e.name, kindName(e.kind),
                          kindName(q.kind)),
              true);
      continue;
    }
    if (e.kind == wasm::ExternalKind::Function) {
      const auto* of = o.function(e.value);
      const auto* qf = p.function(q.value);
      if (!of || !qf || !of->sameSignature(*qf)) {
        out.add(fmt::format("exported function \"{}\" changed its signature", e.name), true);
      } else if (!c.equivalent(e.value, q.value) && !c.checkedAsPair(e.value, q.value)) {
        out.add(fmt::format("export \"{}\" now refers to {}, which has no verified counterpart "
                            "of {}",
                            e.name, q.value, e.value),
                false);
      }
    } else if (e.kind == wasm::ExternalKind::Global) {
      if (c.matching() == Matching::ByName && c.optimizedGlobal(e.value) != q.value) {
        out.add(fmt::format("export \"{}\" now refers to global {} instead of {}", e.name, q.value,
                            e.value),
                false);
      }
    }
  }
  for (const auto& e : p.exports()) {
    if (!seen.count(e.name)) {
      out.add(fmt::format("export \"{}\" is new in the optimized module", e.name), true);
    }
  }
}

void checkStart(const Correspondence& c, ModuleProblems& out) {
  const auto& os = c.original().start();
  const auto& ps = c.optimized().start();
  if (os.has_value() != ps.has_value()) {
    out.add(os ? "the start function was removed" : "a start function was added", true);
  } else if (os && !c.equivalent(*os, *ps)) {
    out.add(fmt::format("start function {} has no verified counterpart in {}", *os, *ps), false);
  }
}

void checkDylink(const Correspondence& c, ModuleProblems& out) {
  const auto& o = c.original().dylink();
  const auto& p = c.optimized().dylink();
  if (o && !p) {
    out.add(
        "the dynamic-linking section (dylink.0) was dropped: the module no longer loads as a "
        "side module",
        true);
  } else if (!o && p) {
    out.add("a dynamic-linking section (dylink.0) was added", true);
  } else if (o && *o != *p) {
    out.add("the dynamic-linking section (dylink.0) changed", false);
  }
}

void checkTable(const Correspondence& c, const sem::TableInfo* ot, const sem::TableInfo* pt,
                ModuleProblems& out) {
  const std::string name = ot ? ot->name : pt->name;
  const bool visible =
      (ot && (ot->imported || ot->exported)) || (pt && (pt->imported || pt->exported));
  // A private table is only observable through the functions that use it,
  // which every function verdict executes against its own module's table.
  if (!visible) return;
  if (!ot || !pt || ot->imported != pt->imported || ot->exported != pt->exported) {
    out.add(fmt::format("table {} changed between imported, exported, private and absent", name),
            true);
    return;
  }
  if (!ot->exact || !pt->exact) {
    out.add(
        fmt::format("table {}: element segments with non-constant offsets are not compared", name),
        false);
    return;
  }
  if (ot->base != pt->base) {
    out.add(fmt::format("element segments of table {} moved from base {} to {}", name,
                        ot->base.empty() ? "0" : ot->base, pt->base.empty() ? "0" : pt->base),
            false);
    return;
  }
  if (ot->initial != pt->initial || ot->max != pt->max) {
    out.add(fmt::format("limits of table {} changed ({} -> {} initial slots)", name, ot->initial,
                        pt->initial),
            true);
  }
  // A relocatable table's segments may end at different lengths.
  for (std::size_t i = 0; i < std::max(ot->slots.size(), pt->slots.size()); ++i) {
    const auto a = i < ot->slots.size() ? ot->slots[i] : std::nullopt;
    const auto b = i < pt->slots.size() ? pt->slots[i] : std::nullopt;
    if (a.has_value() != b.has_value()) {
      out.add(fmt::format("slot {} of table {} changed from {} to {}", i, name, a.value_or("null"),
                          b.value_or("null")),
              true);
    } else if (a && !c.equivalent(*a, *b)) {
      out.add(fmt::format("slot {} of table {} holds {}, not a verified counterpart of {}", i, name,
                          *b, *a),
              false);
    }
  }
}

void checkTables(const Correspondence& c, ModuleProblems& out) {
  for (const auto& ot : c.original().tables())
    checkTable(c, &ot, c.optimized().table(ot.name), out);
  for (const auto& pt : c.optimized().tables()) {
    if (!c.original().table(pt.name)) checkTable(c, nullptr, &pt, out);
  }
}

void checkMemory(const Correspondence& c, ModuleProblems& out) {
  const auto& om = c.original().memory();
  const auto& pm = c.optimized().memory();
  if (om.present != pm.present) {
    out.add(om.present ? "the memory was removed" : "a memory was added",
            om.imported || om.exported || pm.exported);
    return;
  }
  if (!om.present) return;
  if (om.initial_pages != pm.initial_pages || om.declared_max != pm.declared_max ||
      om.shared != pm.shared || om.memory64 != pm.memory64 || om.imported != pm.imported ||
      om.exported != pm.exported) {
    out.add("memory limits, sharing or import/export changed", true);
  }
  if (!om.segments_exact || !pm.segments_exact) {
    out.add("data segments with non-constant offsets are not compared", false);
    return;
  }
  // Passive segments are read by memory.init, which the function verdicts
  // model only when the segments are the same on both sides.
  if ((om.passive_segments || pm.passive_segments) && !c.layout().data_segments_alike) {
    out.add("passive data segments changed", false);
  }
  if (om.segment_base != pm.segment_base) {
    out.add(fmt::format("data segments moved from base {} to {}",
                        om.segment_base.empty() ? "0" : om.segment_base,
                        pm.segment_base.empty() ? "0" : pm.segment_base),
            false);
    return;
  }
  if (om.imported) {
    // Unwritten bytes of an imported memory are the host's, so the segments
    // must write exactly the same bytes, zeros included.
    if (om.segment_bytes != pm.segment_bytes) {
      out.add("data segments of the imported memory write different bytes", true);
    }
    return;
  }
  auto oi = initialImage(om);
  auto pi = initialImage(pm);
  if (oi != pi) {
    std::set<std::uint32_t> differing;
    for (const auto& [addr, byte] : oi) {
      auto it = pi.find(addr);
      if (it == pi.end() || it->second != byte) differing.insert(addr);
    }
    for (const auto& [addr, byte] : pi) {
      auto it = oi.find(addr);
      if (it == oi.end() || it->second != byte) differing.insert(addr);
    }
    out.add(fmt::format("initial memory differs in {} bytes (first at address {})",
                        differing.size(), *differing.begin()),
            true);
  }
}

void checkGlobals(const Correspondence& c, ModuleProblems& out) {
  const auto& o = c.original();
  const auto& p = c.optimized();
  for (const auto& name : o.globalOrder()) {
    const sem::GlobalInfo& g = *o.global(name);
    const sem::GlobalInfo* q = p.global(c.optimizedGlobal(name));
    if (!g.type)
      out.add(fmt::format("global {} has a type the verifier does not model", name), false);
    if (!q) {
      if (g.exported || g.imported) {
        out.add(fmt::format("global {} is exported or imported but was removed", name), true);
      }
      continue;  // a private global nobody reads in the optimized module
    }
    if (g.type != q->type ||
        (g.is_mutable != q->is_mutable && !Correspondence::globalsChangeMutability(g, *q))) {
      out.add(fmt::format("global {} changed its type or mutability", name),
              g.exported || q->exported);
      continue;
    }
    if (g.imported != q->imported || g.import_module != q->import_module ||
        g.import_base != q->import_base) {
      out.add(fmt::format("global {} changed its import", name), true);
      continue;
    }
    const std::optional<std::string> init_global =
        g.init_global ? std::optional<std::string>(c.optimizedGlobal(*g.init_global))
                      : std::nullopt;
    if (!g.imported && (g.init_bits != q->init_bits || init_global != q->init_global)) {
      out.add(fmt::format("global {} has a different initial value", name), true);
    }
  }
  for (const auto& name : p.globalOrder()) {
    if (!o.global(c.originalGlobal(name)) && p.global(name)->exported) {
      out.add(fmt::format("global {} is new and exported", name), true);
    }
  }
}

void checkInternalFunctions(const Correspondence& c, ModuleProblems& out) {
  if (c.matching() != Matching::ByName) return;
  const auto& o = c.original();
  const auto& p = c.optimized();
  for (const auto& name : p.definedFunctions()) {
    const auto* of = o.function(name);
    const auto* pf = p.function(name);
    if (of && !of->imported && of->sameSignature(*pf)) continue;
    // An internal function is only verified through its callers; nothing
    // else may reach it.
    if (p.isExportedFunction(name) || (p.start() && *p.start() == name)) {
      out.add(fmt::format("function {} is new or changed its signature but is exported or the "
                          "start function",
                          name),
              false);
    }
  }
}

}  // namespace

std::map<std::uint32_t, std::uint8_t> initialImage(const sem::MemoryInfo& memory) {
  std::map<std::uint32_t, std::uint8_t> image;
  for (const auto& [addr, byte] : memory.segment_bytes) {
    if (byte != 0) image[addr] = byte;
  }
  return image;
}

ModuleProblems checkModules(const Correspondence& c) {
  ModuleProblems out;
  checkImports(c, out);
  checkExports(c, out);
  checkStart(c, out);
  checkTables(c, out);
  checkDylink(c, out);
  checkMemory(c, out);
  checkGlobals(c, out);
  checkInternalFunctions(c, out);
  return out;
}

}  // namespace loom::verify::check
