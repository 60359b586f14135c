#include "src/verify/semantics/module_info.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "loom/wasm/ir.hpp"

namespace loom::verify::sem {

std::string typeName(ValType t) {
  switch (t) {
    case ValType::I32:
      return "i32";
    case ValType::I64:
      return "i64";
    case ValType::F32:
      return "f32";
    case ValType::F64:
      return "f64";
    case ValType::V128:
      return "v128";
    case ValType::FuncRef:
      return "funcref";
    case ValType::ExternRef:
      return "externref";
    case ValType::Tuple:
      break;
  }
  return "tuple";
}

std::optional<ValType> valTypeOf(BinaryenType t) {
  if (t == BinaryenTypeInt32()) return ValType::I32;
  if (t == BinaryenTypeInt64()) return ValType::I64;
  if (t == BinaryenTypeFloat32()) return ValType::F32;
  if (t == BinaryenTypeFloat64()) return ValType::F64;
  if (t == BinaryenTypeVec128()) return ValType::V128;
  if (t == BinaryenTypeFuncref()) return ValType::FuncRef;
  if (t == BinaryenTypeExternref()) return ValType::ExternRef;
  return std::nullopt;
}

std::optional<std::vector<ValType>> expandTypes(BinaryenType t) {
  std::vector<ValType> out;
  if (t == BinaryenTypeNone()) return out;
  const std::uint32_t arity = BinaryenTypeArity(t);
  std::vector<BinaryenType> parts(arity);
  BinaryenTypeExpand(t, parts.data());
  for (BinaryenType p : parts) {
    auto v = valTypeOf(p);
    if (!v) return std::nullopt;
    out.push_back(*v);
  }
  return out;
}

std::string describeTypes(const std::vector<ValType>& types) {
  std::string out = "(";
  for (std::size_t i = 0; i < types.size(); ++i) {
    if (i) out += ",";
    out += typeName(types[i]);
  }
  return out + ")";
}

namespace {

// Little reader for the one section binary_layout does not decode: data.
class ByteReader {
 public:
  ByteReader(const wasm::Bytes& bytes, std::size_t pos, std::size_t end)
      : bytes_(bytes), pos_(pos), end_(end) {}
  bool ok() const { return ok_; }
  std::uint8_t byte() {
    if (pos_ >= end_) {
      ok_ = false;
      return 0;
    }
    return bytes_[pos_++];
  }
  std::uint64_t uleb() {
    std::uint64_t v = 0;
    for (unsigned shift = 0; shift < 64 && ok_; shift += 7) {
      const std::uint8_t b = byte();
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    ok_ = false;
    return 0;
  }
  std::int64_t sleb() {
    std::int64_t v = 0;
    unsigned shift = 0;
    std::uint8_t b = 0;
    do {
      b = byte();
      if (!ok_) return 0;
      v |= static_cast<std::int64_t>(b & 0x7f) << shift;
      shift += 7;
    } while ((b & 0x80) && shift < 64);
    if (shift < 64 && (b & 0x40)) v |= -(static_cast<std::int64_t>(1) << shift);
    return v;
  }
  std::size_t position() const { return pos_; }
  void skip(std::size_t n) {
    if (n > end_ - pos_) {
      ok_ = false;
      return;
    }
    pos_ += n;
  }

 private:
  const wasm::Bytes& bytes_;
  std::size_t pos_, end_;
  bool ok_ = true;
};

// Returns the constant of an offset expression, or nullopt (global.get, ...).
struct OffsetExpr {
  std::optional<std::uint64_t> value;   // the offset, relative to `global` if set
  std::optional<std::uint64_t> global;  // global.get of this global index
};

OffsetExpr readOffsetExpr(ByteReader& r) {
  OffsetExpr offset;
  const std::uint8_t op = r.byte();
  if (op == 0x41) {
    offset.value = static_cast<std::uint32_t>(r.sleb());
  } else if (op == 0x42) {
    offset.value = static_cast<std::uint64_t>(r.sleb());
  } else if (op == 0x23) {
    offset.global = r.uleb();
    offset.value = 0;
  } else {
    // Extended constant expressions: skip to the end marker.
    while (r.ok() && r.byte() != 0x0b) {
    }
    return {};
  }
  if (r.byte() != 0x0b) {
    while (r.ok() && r.byte() != 0x0b) {
    }
    return {};
  }
  return offset;
}

std::optional<std::uint64_t> constBits(BinaryenExpressionRef e) {
  if (!e || wasm::kindOf(e) != wasm::ExprKind::Const) return std::nullopt;
  const BinaryenType t = BinaryenExpressionGetType(e);
  if (t == BinaryenTypeInt32()) return static_cast<std::uint32_t>(BinaryenConstGetValueI32(e));
  if (t == BinaryenTypeInt64()) return static_cast<std::uint64_t>(BinaryenConstGetValueI64(e));
  if (t == BinaryenTypeFloat32()) {
    const float f = BinaryenConstGetValueF32(e);
    std::uint32_t bits = 0;
    std::memcpy(&bits, &f, sizeof bits);
    return bits;
  }
  if (t == BinaryenTypeFloat64()) {
    const double d = BinaryenConstGetValueF64(e);
    std::uint64_t bits = 0;
    std::memcpy(&bits, &d, sizeof bits);
    return bits;
  }
  return std::nullopt;
}

const char* orEmpty(const char* s) {
  return s ? s : "";
}

}  // namespace

ModuleInfo::ModuleInfo(const wasm::Module& module) : ref_(module.get()) {
  readFunctions();
  readGlobals();
  readTables();
  readExports();
  readLayout(module.writeBinary());
  computeConstantGlobals();
  computeEffects();
  computeContextHash();
}

const FunctionInfo* ModuleInfo::function(const std::string& name) const {
  auto it = functions_.find(name);
  return it == functions_.end() ? nullptr : &it->second;
}

const GlobalInfo* ModuleInfo::global(const std::string& name) const {
  auto it = globals_.find(name);
  return it == globals_.end() ? nullptr : &it->second;
}

bool ModuleInfo::isExportedFunction(const std::string& name) const {
  return std::any_of(exports_.begin(), exports_.end(), [&](const ExportInfo& e) {
    return e.kind == wasm::ExternalKind::Function && e.value == name;
  });
}

bool ModuleInfo::isInTable(const std::string& name) const {
  return std::any_of(tables_.begin(), tables_.end(), [&](const TableInfo& t) {
    return std::any_of(t.slots.begin(), t.slots.end(),
                       [&](const auto& slot) { return slot && *slot == name; });
  });
}

const TableInfo* ModuleInfo::table(const std::string& name) const {
  for (const auto& t : tables_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

bool ModuleInfo::globalVisibleToHost(const std::string& name) const {
  const GlobalInfo* g = global(name);
  return g && (g->imported || g->exported);
}

void ModuleInfo::readFunctions() {
  auto hashes = wasm::hashFunctions(ref_);
  for (BinaryenIndex i = 0, n = BinaryenGetNumFunctions(ref_); i < n; ++i) {
    BinaryenFunctionRef f = BinaryenGetFunctionByIndex(ref_, i);
    FunctionInfo info;
    info.name = BinaryenFunctionGetName(f);
    info.ref = f;
    info.params_type = BinaryenFunctionGetParams(f);
    info.results_type = BinaryenFunctionGetResults(f);
    auto params = expandTypes(info.params_type);
    auto results = expandTypes(info.results_type);
    info.signature_supported = params && results;
    if (params) info.params = *params;
    if (results) info.results = *results;
    BinaryenExpressionRef body = BinaryenFunctionGetBody(f);
    info.imported = body == nullptr;
    if (info.imported) {
      info.import_module = orEmpty(BinaryenFunctionImportGetModule(f));
      info.import_base = orEmpty(BinaryenFunctionImportGetBase(f));
      imported_functions_.push_back(info.name);
    } else {
      defined_.push_back(info.name);
      info.hash = hashes.at(info.name);
      info.locals = info.params;
      for (ValType p : info.params) info.local_bits.push_back(widthOf(p));
      info.locals_supported = params.has_value();
      for (BinaryenIndex v = 0, nv = BinaryenFunctionGetNumVars(f); v < nv; ++v) {
        const BinaryenType type = BinaryenFunctionGetVar(f, v);
        auto t = valTypeOf(type);
        if (t) {
          info.locals.push_back(*t);
          info.local_bits.push_back(widthOf(*t));
          continue;
        }
        auto parts = BinaryenTypeArity(type) > 1 ? expandTypes(type) : std::nullopt;
        if (!parts) {
          info.locals_supported = false;
          break;
        }
        info.locals.push_back(ValType::Tuple);
        info.local_bits.push_back(widthOf(*parts));
      }
      std::set<std::string> callees;
      wasm::walk(body, [&](BinaryenExpressionRef e, unsigned) {
        switch (wasm::kindOf(e)) {
          case wasm::ExprKind::Call:
            callees.insert(BinaryenCallGetTarget(e));
            break;
          case wasm::ExprKind::CallIndirect:
          case wasm::ExprKind::CallRef:
            info.calls_indirect = true;
            break;
          case wasm::ExprKind::Store:
          case wasm::ExprKind::MemoryFill:
          case wasm::ExprKind::MemoryCopy:
          case wasm::ExprKind::MemoryInit:
          case wasm::ExprKind::AtomicRMW:
          case wasm::ExprKind::AtomicCmpxchg:
          case wasm::ExprKind::SIMDLoadStoreLane:
            info.local_effects.writes_memory = true;
            break;
          case wasm::ExprKind::MemoryGrow:
            info.local_effects.writes_memory = true;
            info.local_effects.grows_memory = true;
            break;
          case wasm::ExprKind::TableSet:
            info.local_effects.writes_tables = true;
            tables_written_.insert(BinaryenTableSetGetTable(e));
            break;
          case wasm::ExprKind::TableGrow:
            info.local_effects.writes_tables = true;
            tables_written_.insert(BinaryenTableGrowGetTable(e));
            break;
          case wasm::ExprKind::DataDrop:
            info.local_effects.drops_segments = true;
            break;
          case wasm::ExprKind::RefFunc:
            referenced_.insert(BinaryenRefFuncGetFunc(e));
            break;
          case wasm::ExprKind::GlobalSet:
            info.local_effects.globals_written.insert(BinaryenGlobalSetGetName(e));
            info.globals_used.insert(BinaryenGlobalSetGetName(e));
            break;
          case wasm::ExprKind::GlobalGet:
            info.globals_used.insert(BinaryenGlobalGetGetName(e));
            break;
          default:
            if (!wasm::isTransparent(wasm::kindOf(e))) {
              info.local_effects.writes_memory = true;
              info.local_effects.writes_all_globals = true;
              info.local_effects.writes_tables = true;
            }
            break;
        }
        return true;
      });
      info.direct_callees.assign(callees.begin(), callees.end());
      if (!callees.empty() || info.calls_indirect) info.local_effects.calls = true;
      if (info.calls_indirect) {
        info.local_effects.writes_memory = true;
        info.local_effects.grows_memory = true;
        info.local_effects.writes_all_globals = true;
        info.local_effects.writes_tables = true;
        info.local_effects.drops_segments = true;
      }
    }
    functions_.emplace(info.name, std::move(info));
  }
}

void ModuleInfo::readGlobals() {
  for (BinaryenIndex i = 0, n = BinaryenGetNumGlobals(ref_); i < n; ++i) {
    BinaryenGlobalRef g = BinaryenGetGlobalByIndex(ref_, i);
    GlobalInfo info;
    info.name = BinaryenGlobalGetName(g);
    info.type = valTypeOf(BinaryenGlobalGetType(g));
    info.is_mutable = BinaryenGlobalIsMutable(g);
    BinaryenExpressionRef init = BinaryenGlobalGetInitExpr(g);
    info.imported = init == nullptr;
    if (info.imported) {
      info.import_module = orEmpty(BinaryenGlobalImportGetModule(g));
      info.import_base = orEmpty(BinaryenGlobalImportGetBase(g));
    } else if (auto bits = constBits(init)) {
      info.init_bits = bits;
    } else if (wasm::kindOf(init) == wasm::ExprKind::GlobalGet) {
      info.init_global = BinaryenGlobalGetGetName(init);
    }
    global_order_.push_back(info.name);
    globals_.emplace(info.name, std::move(info));
  }
}

void ModuleInfo::readExports() {
  for (BinaryenIndex i = 0, n = BinaryenGetNumExports(ref_); i < n; ++i) {
    BinaryenExportRef e = BinaryenGetExportByIndex(ref_, i);
    ExportInfo info;
    info.name = BinaryenExportGetName(e);
    info.value = BinaryenExportGetValue(e);
    const BinaryenExternalKind kind = BinaryenExportGetKind(e);
    if (kind == BinaryenExternalFunction())
      info.kind = wasm::ExternalKind::Function;
    else if (kind == BinaryenExternalTable())
      info.kind = wasm::ExternalKind::Table;
    else if (kind == BinaryenExternalMemory())
      info.kind = wasm::ExternalKind::Memory;
    else if (kind == BinaryenExternalGlobal())
      info.kind = wasm::ExternalKind::Global;
    else
      info.kind = wasm::ExternalKind::Tag;
    if (info.kind == wasm::ExternalKind::Global) {
      auto it = globals_.find(info.value);
      if (it != globals_.end()) {
        it->second.exported = true;
        it->second.export_names.push_back(info.name);
      }
    }
    if (info.kind == wasm::ExternalKind::Memory) memory_.exported = true;
    if (info.kind == wasm::ExternalKind::Table) {
      for (auto& t : tables_) {
        if (t.name == info.value) t.exported = true;
      }
    }
    exports_.push_back(std::move(info));
  }
}

void ModuleInfo::readLayout(const wasm::Bytes& binary) {
  const wasm::BinaryLayout layout = wasm::readBinaryLayout(binary);
  layout_imports_ = layout.imports;
  if (const wasm::Section* dylink = layout.dylinkSection()) {
    dylink_ =
        wasm::Bytes(binary.begin() + static_cast<std::ptrdiff_t>(dylink->offset),
                    binary.begin() + static_cast<std::ptrdiff_t>(dylink->offset + dylink->size));
  }
  for (auto& t : tables_) {
    BinaryenTableRef ref = BinaryenGetTable(ref_, t.name.c_str());
    const char* from = ref ? BinaryenTableImportGetModule(ref) : nullptr;
    if (from && *from) t.imported = true;
  }
  if (layout.memory) {
    memory_.present = true;
    memory_.imported = layout.memory->imported;
    memory_.shared = layout.memory->shared;
    memory_.memory64 = layout.memory->memory64;
    memory_.initial_pages = layout.memory->initial_pages;
    memory_.declared_max = layout.memory->max_pages;
    memory_.max_pages = std::min<std::uint64_t>(layout.memory->max_pages.value_or(65536), 65536);
  }
  if (layout.start_function) {
    // Binaryen writes imported functions first, then defined ones, each in module order.
    std::vector<std::string> index_space = imported_functions_;
    index_space.insert(index_space.end(), defined_.begin(), defined_.end());
    if (*layout.start_function < index_space.size()) start_ = index_space[*layout.start_function];
  }
  // Global indices in the binary: imported globals first, as Binaryen writes them.
  std::vector<std::string> imported_globals;
  for (const auto& name : global_order_) {
    if (globals_.at(name).imported) imported_globals.push_back(name);
  }
  for (const auto& section : layout.sections) {
    if (section.id != 11) continue;
    ByteReader r(binary, section.payload_offset, section.payload_offset + section.payload_size);
    const std::uint64_t count = r.uleb();
    memory_.segment_count = count;
    for (std::uint64_t s = 0; s < count && r.ok(); ++s) {
      const std::uint64_t flags = r.uleb();
      std::optional<std::uint64_t> offset;
      if (flags == 1) {
        memory_.passive_segments = true;
      } else {
        if (flags == 2) r.uleb();
        const OffsetExpr at = readOffsetExpr(r);
        offset = at.value;
        const std::string base = at.global && *at.global < imported_globals.size()
                                     ? importedConstantName(imported_globals[*at.global])
                                     : std::string();
        if (s == 0) memory_.segment_base = base;
        if (!offset || base != memory_.segment_base || (at.global && base.empty()))
          memory_.segments_exact = false;
      }
      const std::uint64_t size = r.uleb();
      const std::size_t data = r.position();
      r.skip(size);
      if (!r.ok()) break;
      DataSegmentInfo segment;
      segment.passive = flags == 1;
      segment.bytes.assign(binary.begin() + static_cast<std::ptrdiff_t>(data),
                           binary.begin() + static_cast<std::ptrdiff_t>(data + size));
      data_segments_.push_back(std::move(segment));
      if (!offset) continue;
      if (*offset + size > (std::uint64_t{1} << 32)) {
        memory_.segments_exact = false;
        continue;
      }
      for (std::uint64_t k = 0; k < size; ++k) {
        memory_.segment_bytes[static_cast<std::uint32_t>(*offset + k)] = binary[data + k];
      }
    }
    if (!r.ok()) memory_.segments_exact = false;
  }
}

std::string ModuleInfo::importedConstantName(const std::string& global) const {
  const auto it = globals_.find(global);
  if (it == globals_.end() || !it->second.imported || it->second.is_mutable) return "";
  return it->second.import_module + "." + it->second.import_base;
}

void ModuleInfo::readTables() {
  for (BinaryenIndex i = 0, n = BinaryenGetNumElementSegments(ref_); i < n; ++i) {
    BinaryenElementSegmentRef seg = BinaryenGetElementSegmentByIndex(ref_, i);
    for (BinaryenIndex k = 0, length = BinaryenElementSegmentGetLength(seg); k < length; ++k) {
      if (const char* f = BinaryenElementSegmentGetData(seg, k)) referenced_.insert(f);
    }
  }
  const BinaryenIndex count = BinaryenGetNumTables(ref_);
  for (BinaryenIndex index = 0; index < count; ++index) {
    BinaryenTableRef t = BinaryenGetTableByIndex(ref_, index);
    TableInfo table;
    table.present = true;
    table.table_count = count;
    table.name = BinaryenTableGetName(t);
    table.initial = BinaryenTableGetInitial(t);
    const BinaryenIndex max = BinaryenTableGetMax(t);
    if (max != 0xffffffffu) table.max = max;
    table.written = tables_written_.count(table.name) > 0;
    table.slots.assign(table.initial, std::nullopt);
    bool first = true;
    for (BinaryenIndex i = 0, n = BinaryenGetNumElementSegments(ref_); i < n; ++i) {
      BinaryenElementSegmentRef seg = BinaryenGetElementSegmentByIndex(ref_, i);
      // Passive and declarative segments only declare references: Binaryen
      // 108 has no table.init, so they never reach a table.
      if (BinaryenElementSegmentIsPassive(seg)) continue;
      const char* owner = BinaryenElementSegmentGetTable(seg);
      if (!owner || table.name != owner) continue;
      BinaryenExpressionRef at = BinaryenElementSegmentGetOffset(seg);
      std::optional<std::uint64_t> offset = constBits(at);
      std::string base;
      if (!offset && at && wasm::kindOf(at) == wasm::ExprKind::GlobalGet) {
        base = importedConstantName(BinaryenGlobalGetGetName(at));
        if (!base.empty()) offset = 0;
      }
      if (first) table.base = base;
      first = false;
      const BinaryenIndex length = BinaryenElementSegmentGetLength(seg);
      if (!offset || base != table.base || (base.empty() && *offset + length > table.initial)) {
        table.exact = false;
        continue;
      }
      // Relative slots of a relocatable table: the host grows it to fit.
      if (*offset + length > table.slots.size()) table.slots.resize(*offset + length);
      for (BinaryenIndex k = 0; k < length; ++k) {
        const char* name = BinaryenElementSegmentGetData(seg, k);
        table.slots[*offset + k] = name ? std::optional<std::string>(name) : std::nullopt;
      }
    }
    tables_.push_back(std::move(table));
  }
}

void ModuleInfo::computeConstantGlobals() {
  // A private mutable global whose every write stores its initializer holds
  // that value forever; optimizers (simplify-globals) rely on exactly this.
  std::map<std::string, bool> only_init_written;
  for (auto& [name, g] : globals_) {
    if (g.is_mutable && !g.imported && !g.exported && g.init_bits) only_init_written[name] = true;
  }
  for (const auto& fname : defined_) {
    wasm::walk(functions_.at(fname).body(), [&](BinaryenExpressionRef e, unsigned) {
      if (wasm::kindOf(e) != wasm::ExprKind::GlobalSet) return true;
      auto it = only_init_written.find(BinaryenGlobalSetGetName(e));
      if (it == only_init_written.end()) return true;
      auto bits = constBits(BinaryenGlobalSetGetValue(e));
      if (!bits || *bits != *globals_.at(it->first).init_bits) it->second = false;
      return true;
    });
  }
  for (const auto& [name, ok] : only_init_written) globals_.at(name).effectively_constant = ok;
}

void ModuleInfo::computeEffects() {
  host_effects_.writes_memory = true;
  host_effects_.grows_memory = true;
  host_effects_.calls = true;
  host_effects_.writes_all_globals = true;
  host_effects_.writes_tables = true;
  for (const auto& name : defined_) transitive_effects_[name] = functions_.at(name).local_effects;
  // Least fixpoint over the call graph; a handful of rounds in practice.
  for (bool changed = true; changed;) {
    changed = false;
    for (const auto& name : defined_) {
      EffectSummary& mine = transitive_effects_[name];
      for (const auto& callee : functions_.at(name).direct_callees) {
        const FunctionInfo* f = function(callee);
        const EffectSummary& theirs =
            (!f || f->imported) ? host_effects_ : transitive_effects_[callee];
        auto merge = [&](bool& a, bool b) {
          if (b && !a) {
            a = true;
            changed = true;
          }
        };
        merge(mine.writes_memory, theirs.writes_memory);
        merge(mine.grows_memory, theirs.grows_memory);
        merge(mine.calls, theirs.calls);
        merge(mine.writes_all_globals, theirs.writes_all_globals);
        merge(mine.writes_tables, theirs.writes_tables);
        merge(mine.drops_segments, theirs.drops_segments);
        for (const auto& g : theirs.globals_written) {
          if (mine.globals_written.insert(g).second) changed = true;
        }
      }
    }
  }
}

const EffectSummary& ModuleInfo::effects(const std::string& name) const {
  auto it = transitive_effects_.find(name);
  return it == transitive_effects_.end() ? host_effects_ : it->second;
}

void ModuleInfo::computeContextHash() {
  std::string s = "ctx2|";
  s += fmt::format("mem {} {} {} {} {} {} {}|", memory_.present, memory_.imported, memory_.exported,
                   memory_.initial_pages, memory_.max_pages, memory_.segments_exact,
                   memory_.passive_segments);
  s += "base " + memory_.segment_base + "|";
  for (const auto& [addr, byte] : memory_.segment_bytes) s += fmt::format("{}:{},", addr, byte);
  for (const auto& t : tables_) {
    s += fmt::format("|table {} {} {} {} {} {} {} {}|", t.name, t.base, t.imported, t.exported,
                     t.initial, t.max.value_or(0), t.exact, t.written);
    for (const auto& slot : t.slots) s += slot.value_or("-") + ",";
  }
  s += "|refs";
  for (const auto& f : referenced_) s += " " + f;
  for (const auto& d : data_segments_) {
    s += fmt::format("|data {} {}:", d.passive, d.bytes.size());
    s += wasm::hashBytes(d.bytes).hex();
  }
  for (const auto& name : global_order_) {
    const GlobalInfo& g = globals_.at(name);
    s += fmt::format("|g {} {} {} {} {} {} {} {} {}", name, g.type ? typeName(*g.type) : "?",
                     g.is_mutable, g.imported, g.import_module + "." + g.import_base, g.exported,
                     g.init_bits.value_or(0), g.init_global.value_or(""), g.effectively_constant);
  }
  for (const auto& name : imported_functions_) {
    const FunctionInfo& f = functions_.at(name);
    s += fmt::format("|i {} {}.{} {}->{}", name, f.import_module, f.import_base,
                     describeTypes(f.params), describeTypes(f.results));
  }
  for (const auto& e : exports_) {
    s += fmt::format("|e {} {} {}", e.name, static_cast<int>(e.kind), e.value);
  }
  s += "|start " + start_.value_or("");
  context_hash_ = wasm::hashString(s);
}

}  // namespace loom::verify::sem
