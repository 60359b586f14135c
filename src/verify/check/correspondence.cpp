#include "src/verify/check/correspondence.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace loom::verify::check {

using sem::Side;

Correspondence::Correspondence(const sem::ModuleInfo& original, const sem::ModuleInfo& optimized,
                               Matching matching, const GlobalOrigins& origins)
    : original_(original), optimized_(optimized), matching_(matching) {
  // Classes of identical bodies in the original: calling one member is
  // calling any other, which is what duplicate-function-elimination relies on.
  std::map<std::pair<std::uint64_t, std::uint64_t>, int> by_hash;
  for (const auto& name : original_.definedFunctions()) {
    const sem::FunctionInfo& f = *original_.function(name);
    int cls = 0;
    if (f.hash.opaque) {
      cls = static_cast<int>(class_of_.size()) + 1000000;
    } else {
      auto [it, inserted] = by_hash.try_emplace({f.hash.hash.low, f.hash.hash.high},
                                                static_cast<int>(by_hash.size()));
      cls = it->second;
    }
    class_of_[name] = cls;
  }

  if (matching_ == Matching::ByName) {
    for (const auto& name : original_.definedFunctions()) {
      const sem::FunctionInfo* o = original_.function(name);
      const sem::FunctionInfo* p = optimized_.function(name);
      if (!p || p->imported || !o->sameSignature(*p)) continue;
      pairs_.push_back(FunctionPair{name, name, name});
      counterpart_[name] = name;
    }
  } else {
    for (const auto& oe : original_.exports()) {
      if (oe.kind != wasm::ExternalKind::Function) continue;
      for (const auto& pe : optimized_.exports()) {
        if (pe.kind != wasm::ExternalKind::Function || pe.name != oe.name) continue;
        const sem::FunctionInfo* o = original_.function(oe.value);
        const sem::FunctionInfo* p = optimized_.function(pe.value);
        if (!o || !p || o->imported || p->imported || !o->sameSignature(*p)) continue;
        if (std::none_of(pairs_.begin(), pairs_.end(),
                         [&](const FunctionPair& fp) { return fp.optimized == pe.value; })) {
          pairs_.push_back(FunctionPair{oe.name, oe.value, pe.value});
          counterpart_[pe.value] = oe.value;
        }
      }
    }
    // The start functions correspond to each other, exported or not.
    const auto& os = original_.start();
    const auto& ps = optimized_.start();
    if (os && ps && !counterpart_.count(*ps)) {
      const sem::FunctionInfo* o = original_.function(*os);
      const sem::FunctionInfo* p = optimized_.function(*ps);
      if (o && p && !o->imported && !p->imported && o->sameSignature(*p)) {
        pairs_.push_back(FunctionPair{*os, *os, *ps});
        counterpart_[*ps] = *os;
      }
    }
    // So do the functions in the same slots of tables placed alike: the
    // host, or a call_indirect, reaches them by slot.
    const sem::TableInfo& ot = original_.table();
    const sem::TableInfo& pt = optimized_.table();
    if (ot.present && pt.present && ot.exact && pt.exact && ot.base == pt.base) {
      for (std::size_t i = 0; i < std::min(ot.slots.size(), pt.slots.size()); ++i) {
        if (!ot.slots[i] || !pt.slots[i] || counterpart_.count(*pt.slots[i])) continue;
        const sem::FunctionInfo* o = original_.function(*ot.slots[i]);
        const sem::FunctionInfo* p = optimized_.function(*pt.slots[i]);
        if (!o || !p || o->imported || p->imported || !o->sameSignature(*p)) continue;
        pairs_.push_back(FunctionPair{fmt::format("table slot {}", i), *ot.slots[i], *pt.slots[i]});
        counterpart_[*pt.slots[i]] = *ot.slots[i];
      }
    }
  }
  pairRetargetedExports();
  pairGlobals(origins);
  buildLayout();

  const sem::TableInfo& ot = original_.table();
  const sem::TableInfo& pt = optimized_.table();
  tables_correspond_ =
      ot.present == pt.present && ot.base == pt.base && ot.slots.size() == pt.slots.size();
  for (std::size_t i = 0; tables_correspond_ && i < ot.slots.size(); ++i) {
    if (ot.slots[i].has_value() != pt.slots[i].has_value())
      tables_correspond_ = false;
    else if (ot.slots[i] && !equivalent(*ot.slots[i], *pt.slots[i]))
      tables_correspond_ = false;
  }
}

int Correspondence::intern(const std::string& key) const {
  auto [it, inserted] = keys_.try_emplace(key, static_cast<int>(keys_.size()) + 1);
  return it->second;
}

std::optional<int> Correspondence::functionKey(Side side, const std::string& name) const {
  const sem::FunctionInfo* f = module(side).function(name);
  if (!f || f->imported) return std::nullopt;
  std::string origin = name;
  if (side == Side::Optimized) {
    auto it = counterpart_.find(name);
    if (it == counterpart_.end()) return std::nullopt;
    origin = it->second;
  }
  auto cls = class_of_.find(origin);
  if (cls == class_of_.end()) return std::nullopt;
  return intern(fmt::format("fn:{}", cls->second));
}

int Correspondence::importKey(const std::string& module, const std::string& base) const {
  return intern(fmt::format("import:{}\x1f{}", module, base));
}

int Correspondence::signatureKey(const std::vector<sem::ValType>& params,
                                 const std::vector<sem::ValType>& results) const {
  return intern("indirect:" + sem::describeTypes(params) + "->" + sem::describeTypes(results));
}

int Correspondence::referenceKey(Side side, const std::string& name) const {
  const sem::FunctionInfo* f = module(side).function(name);
  if (f && f->imported) return importKey(f->import_module, f->import_base);
  if (auto key = functionKey(side, name)) return *key;
  return intern(fmt::format("ref:{}:{}", sem::sideIndex(side), name));
}

bool Correspondence::equivalent(const std::string& o, const std::string& p) const {
  const sem::FunctionInfo* of = original_.function(o);
  const sem::FunctionInfo* pf = optimized_.function(p);
  if (!of || !pf) return false;
  if (of->imported || pf->imported) {
    return of->imported && pf->imported && of->import_module == pf->import_module &&
           of->import_base == pf->import_base;
  }
  auto ko = functionKey(Side::Original, o);
  auto kp = functionKey(Side::Optimized, p);
  return ko && kp && *ko == *kp && of->sameSignature(*pf);
}

void Correspondence::pairRetargetedExports() {
  for (const auto& oe : original_.exports()) {
    if (oe.kind != wasm::ExternalKind::Function) continue;
    for (const auto& pe : optimized_.exports()) {
      if (pe.kind != wasm::ExternalKind::Function || pe.name != oe.name) continue;
      if (equivalent(oe.value, pe.value)) continue;
      const sem::FunctionInfo* o = original_.function(oe.value);
      const sem::FunctionInfo* p = optimized_.function(pe.value);
      if (!o || !p || o->imported || p->imported || !o->sameSignature(*p)) continue;
      const bool paired = std::any_of(pairs_.begin(), pairs_.end(), [&](const FunctionPair& fp) {
        return fp.original == oe.value && fp.optimized == pe.value;
      });
      if (paired) continue;
      pairs_.push_back(FunctionPair{fmt::format("export \"{}\"", oe.name), oe.value, pe.value});
      retargeted_.insert({oe.value, pe.value});
    }
  }
}

bool Correspondence::checkedAsPair(const std::string& original,
                                   const std::string& optimized) const {
  return retargeted_.count({original, optimized}) > 0;
}

namespace {

// Binaryen names a global it read without a name by its position:
// "global$<index>" from a binary, "<index>" from text. Such a name says where
// the global was, not which one it is.
bool positionalName(const std::string& name) {
  constexpr std::string_view prefix = "global$";
  const std::size_t digits = name.compare(0, prefix.size(), prefix) == 0 ? prefix.size() : 0;
  return name.size() > digits && name.find_first_not_of("0123456789", digits) == std::string::npos;
}

// Whether optimized global `p` can be original global `o`: what the module
// checks then demand (same type, import and exports, same initial value),
// with mutability dropped only from a private global that is never changed.
// Exports are part of the pairing because they name a global for good: among
// many zero-initialized globals, the exported one is known by its export.
bool couldBe(const sem::GlobalInfo& o, const sem::GlobalInfo& p) {
  if (o.type != p.type || o.imported != p.imported || o.import_module != p.import_module ||
      o.import_base != p.import_base || o.export_names != p.export_names) {
    return false;
  }
  if (o.is_mutable != p.is_mutable && !Correspondence::globalsChangeMutability(o, p)) return false;
  if (!o.imported &&
      (o.init_bits != p.init_bits || o.init_global.has_value() != p.init_global.has_value()))
    return false;
  if (!positionalName(o.name) && !positionalName(p.name) && o.name != p.name) return false;
  return true;
}

}  // namespace

bool Correspondence::globalsChangeMutability(const sem::GlobalInfo& o, const sem::GlobalInfo& p) {
  return o.is_mutable && !p.is_mutable && o.effectively_constant && !o.exported && !o.imported;
}

void Correspondence::pairGlobals(const GlobalOrigins& origins) {
  if (!origins.empty()) {
    aligned_globals_ = true;
    for (const auto& [p, o] : origins) {
      const sem::GlobalInfo* og = original_.global(o);
      const sem::GlobalInfo* pg = optimized_.global(p);
      if (og && pg && couldBe(*og, *pg) && !global_to_optimized_.count(o)) {
        global_to_optimized_[o] = p;
        global_to_original_[p] = o;
      }
    }
    return;
  }
  const auto& og = original_.globalOrder();
  const auto& pg = optimized_.globalOrder();
  const bool names_correspond = std::all_of(pg.begin(), pg.end(), [&](const std::string& name) {
    return !positionalName(name) && original_.global(name) != nullptr;
  });
  if (names_correspond) return;
  // Passes remove globals and never reorder them: the pairing is the longest
  // common subsequence of the two lists under couldBe. Any pairing is sound
  // (initial values are checked, and every function is verified under it);
  // this one makes the most of them correspond.
  const std::size_t n = og.size(), m = pg.size();
  std::vector<std::vector<unsigned>> best(n + 1, std::vector<unsigned>(m + 1, 0));
  for (std::size_t i = n; i-- > 0;) {
    for (std::size_t j = m; j-- > 0;) {
      best[i][j] = std::max(best[i + 1][j], best[i][j + 1]);
      if (couldBe(*original_.global(og[i]), *optimized_.global(pg[j])))
        best[i][j] = std::max(best[i][j], best[i + 1][j + 1] + 1);
    }
  }
  aligned_globals_ = true;
  guessed_globals_ = true;
  std::size_t i = 0, j = 0;
  while (i < n && j < m) {
    if (couldBe(*original_.global(og[i]), *optimized_.global(pg[j])) &&
        best[i][j] == best[i + 1][j + 1] + 1) {
      global_to_optimized_[og[i]] = pg[j];
      global_to_original_[pg[j]] = og[i];
      ++i;
      ++j;
    } else if (best[i + 1][j] >= best[i][j + 1]) {
      ++i;
    } else {
      ++j;
    }
  }
}

std::string Correspondence::optimizedGlobal(const std::string& original_name) const {
  if (!aligned_globals_) return original_name;
  auto it = global_to_optimized_.find(original_name);
  return it == global_to_optimized_.end() ? std::string() : it->second;
}

std::string Correspondence::originalGlobal(const std::string& optimized_name) const {
  if (!aligned_globals_) return optimized_name;
  auto it = global_to_original_.find(optimized_name);
  return it == global_to_original_.end() ? std::string() : it->second;
}

void Correspondence::buildLayout() {
  auto addGlobals = [&](const sem::ModuleInfo& m, Side side) {
    for (const auto& name : m.globalOrder()) {
      const sem::GlobalInfo& g = *m.global(name);
      if (!g.type) continue;
      unsigned slot = 0;
      auto existing =
          layout_.slot(Side::Original, side == Side::Optimized ? originalGlobal(name) : name);
      const bool frozen = existing && layout_.globals[*existing].is_mutable &&
                          layout_.globals[*existing].constant && !g.is_mutable;
      if (side == Side::Optimized && existing && layout_.globals[*existing].type == *g.type &&
          (layout_.globals[*existing].is_mutable == g.is_mutable || frozen)) {
        slot = *existing;
      } else {
        slot = static_cast<unsigned>(layout_.globals.size());
        sem::GlobalSlot s;
        s.name = name;
        s.type = *g.type;
        s.is_mutable = g.is_mutable;
        s.constant = !g.is_mutable || g.effectively_constant;
        layout_.globals.push_back(s);
      }
      sem::GlobalSlot& s = layout_.globals[slot];
      s.present[sem::sideIndex(side)] = true;
      layout_.slot_by_name[sem::sideIndex(side)][name] = slot;
      if (g.imported || g.exported) s.host_visible = true;
      if (g.is_mutable && !g.effectively_constant) s.constant = false;
    }
  };
  addGlobals(original_, Side::Original);
  addGlobals(optimized_, Side::Optimized);
  // Effectively constant only if both sides agree on the value.
  for (auto& s : layout_.globals) {
    if (!s.is_mutable || !s.constant || !s.present[0] || !s.present[1]) continue;
    const sem::GlobalInfo* o = original_.global(s.name);
    const sem::GlobalInfo* p = optimized_.global(optimizedGlobal(s.name));
    if (!p || o->init_bits != p->init_bits) s.constant = false;
  }
  unsigned args = 1;
  unsigned results = 1;
  auto isV128 = [](sem::ValType t) { return t == sem::ValType::V128; };
  for (const auto* m : {&original_, &optimized_}) {
    for (const auto& [name, f] : m->functions()) {
      args = std::max<unsigned>(args, static_cast<unsigned>(f.params.size()) + 1);
      results = std::max<unsigned>(results, static_cast<unsigned>(f.results.size()));
      if (std::any_of(f.params.begin(), f.params.end(), isV128) ||
          std::any_of(f.results.begin(), f.results.end(), isV128)) {
        layout_.event_value_bits = 128;
      }
    }
  }
  layout_.event_args = args;
  layout_.event_results = results;
  for (Side side : {Side::Original, Side::Optimized}) {
    for (const sem::TableInfo& t : module(side).tables()) {
      auto [it, added] = layout_.table_by_name[0].try_emplace(t.name, layout_.tables.size());
      if (added) {
        layout_.table_by_name[1][t.name] = it->second;
        sem::TableSlot slot;
        slot.name = t.name;
        slot.fixed = true;
        slot.initial = t.initial;
        slot.max = t.max.value_or(0xffffffffu);
        layout_.tables.push_back(slot);
      }
      sem::TableSlot& slot = layout_.tables[it->second];
      slot.present[sem::sideIndex(side)] = true;
      slot.host_visible = slot.host_visible || t.imported || t.exported;
      slot.fixed = slot.fixed && t.fixed();
      slot.initial = std::min(slot.initial, t.initial);
      slot.max = std::max<std::uint64_t>(slot.max, t.max.value_or(0xffffffffu));
    }
  }
  layout_.data_segments_alike = original_.dataSegments() == optimized_.dataSegments();
  layout_.data_segments =
      layout_.data_segments_alike ? static_cast<unsigned>(original_.dataSegments().size()) : 0;
  layout_.memory_host_visible = original_.memoryVisibleToHost() || optimized_.memoryVisibleToHost();
  layout_.max_pages = original_.memory().max_pages;
}

sem::CallPlan Resolver::direct(Side side, const std::string& callee, unsigned depth) {
  sem::CallPlan plan;
  const sem::FunctionInfo* f = c_.module(side).function(callee);
  if (!f) {
    plan.reason = "unsupported: call to unknown function " + callee;
    return plan;
  }
  if (f->imported) {
    plan.kind = sem::CallPlan::Kind::Event;
    plan.key = c_.importKey(f->import_module, f->import_base);
    return plan;
  }
  const bool abstracted =
      !abstract_[sem::sideIndex(side)].empty() && abstract_[sem::sideIndex(side)] == callee;
  if (depth < inline_depth_ && !abstracted) {
    plan.kind = sem::CallPlan::Kind::Inline;
    plan.callee = f;
    return plan;
  }
  if (auto key = c_.functionKey(side, callee)) {
    plan.kind = sem::CallPlan::Kind::Event;
    plan.key = *key;
    plan.internal = true;
    return plan;
  }
  plan.reason = fmt::format(
      "call depth: {} function {} is not executed beyond inline depth {} and has no verified "
      "counterpart",
      sem::sideName(side), callee, inline_depth_);
  return plan;
}

std::uint32_t Resolver::functionRef(Side side, const std::string& name) {
  return static_cast<std::uint32_t>(c_.referenceKey(side, name));
}

std::uint32_t Resolver::signatureOf(const std::vector<sem::ValType>& params,
                                    const std::vector<sem::ValType>& results) {
  return static_cast<std::uint32_t>(c_.signatureKey(params, results));
}

std::optional<int> Resolver::indirectKey(Side, const std::vector<sem::ValType>& params,
                                         const std::vector<sem::ValType>& results) {
  if (!c_.tablesCorrespond()) return std::nullopt;
  return c_.signatureKey(params, results);
}

}  // namespace loom::verify::check
