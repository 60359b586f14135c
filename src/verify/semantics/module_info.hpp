// Module-level facts the semantics needs, read once per module: functions
// and their signatures, globals, the memory and its initial image, the
// table, exports and the start function. Binaryen 108's C API has no
// getters for memory limits, memory imports or the start function, so those
// come from the module's own binary (loom/wasm/binary_layout.hpp).
#pragma once

#include <binaryen-c.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "loom/wasm/binary_layout.hpp"
#include "loom/wasm/hash.hpp"
#include "loom/wasm/module.hpp"
#include "src/verify/semantics/types.hpp"

namespace loom::verify::sem {

// What a function body may do to state shared with its caller, including
// through everything it calls (a fixpoint over direct calls).
struct EffectSummary {
  bool writes_memory = false;  // stores, grows, bulk memory
  bool grows_memory = false;
  bool calls = false;               // any call at all: events may be appended
  bool writes_all_globals = false;  // calls something whose effects are unknown
  bool writes_tables = false;       // table.set, table.grow
  bool drops_segments = false;      // data.drop
  std::set<std::string> globals_written;
};

struct FunctionInfo {
  std::string name;
  BinaryenFunctionRef ref = nullptr;
  bool imported = false;
  std::string import_module, import_base;
  BinaryenType params_type = 0, results_type = 0;
  bool signature_supported = false;
  std::vector<ValType> params, results;
  bool locals_supported = false;
  std::vector<ValType> locals;  // params first, then vars
  std::vector<unsigned> local_bits;
  wasm::FunctionHash hash;
  std::vector<std::string> direct_callees;
  std::set<std::string> globals_used;  // read or written by this body
  bool calls_indirect = false;
  EffectSummary local_effects;  // of this body alone

  BinaryenExpressionRef body() const { return ref ? BinaryenFunctionGetBody(ref) : nullptr; }
  bool sameSignature(const FunctionInfo& other) const {
    return params_type == other.params_type && results_type == other.results_type;
  }
};

struct GlobalInfo {
  std::string name;
  std::optional<ValType> type;
  bool is_mutable = false;
  bool imported = false;
  std::string import_module, import_base;
  bool exported = false;
  std::vector<std::string> export_names;   // in export order
  std::optional<std::uint64_t> init_bits;  // a constant initializer
  std::optional<std::string> init_global;  // (global.get $other)
  // Mutable, private, and every write stores its initial value: reads can
  // only ever see the initializer.
  bool effectively_constant = false;
};

struct MemoryInfo {
  bool present = false;
  bool imported = false;
  bool exported = false;
  bool shared = false;
  bool memory64 = false;
  std::uint64_t initial_pages = 0;
  std::optional<std::uint64_t> declared_max;
  std::uint64_t max_pages = 65536;  // declared max, or the wasm32 limit
  // Bytes written by active segments at instantiation, later segments
  // overriding earlier ones; exact only when every offset is a constant.
  std::map<std::uint32_t, std::uint8_t> segment_bytes;
  // Relocatable modules (Emscripten side modules, tree-sitter grammars) place
  // every segment at an imported immutable global (`env.__memory_base`):
  // then addresses above are relative to it, and this names the import.
  std::string segment_base;
  bool segments_exact = true;
  bool passive_segments = false;
  std::size_t segment_count = 0;
};

struct TableInfo {
  bool present = false;
  bool imported = false;
  bool exported = false;
  std::string name;
  std::uint32_t initial = 0;
  std::optional<std::uint32_t> max;
  std::vector<std::optional<std::string>> slots;  // function names, from active segments
  // As MemoryInfo::segment_base: slots relative to an imported global.
  std::string base;
  bool exact = true;  // one kind of offset, in range if constant
  // Some function of the module writes it (table.set, table.grow); the
  // host may write an imported or exported table too.
  bool written = false;
  std::size_t table_count = 0;
  // Its contents are always the active segments' image: call_indirect can
  // then be resolved statically.
  bool fixed() const {
    return present && exact && base.empty() && !written && !imported && !exported;
  }
};

// A data segment as memory.init reads it. Active segments count as dropped
// once the module is instantiated (WebAssembly 2.0).
struct DataSegmentInfo {
  bool passive = false;
  std::vector<std::uint8_t> bytes;
  bool operator==(const DataSegmentInfo&) const = default;
};

struct ExportInfo {
  std::string name;
  wasm::ExternalKind kind = wasm::ExternalKind::Function;
  std::string value;  // internal name
};

class ModuleInfo {
 public:
  explicit ModuleInfo(const wasm::Module& module);

  BinaryenModuleRef ref() const { return ref_; }
  const FunctionInfo* function(const std::string& name) const;
  const GlobalInfo* global(const std::string& name) const;
  const std::vector<std::string>& definedFunctions() const { return defined_; }
  const std::vector<std::string>& importedFunctions() const { return imported_functions_; }
  const std::vector<std::string>& globalOrder() const { return global_order_; }
  const std::map<std::string, FunctionInfo>& functions() const { return functions_; }
  const std::map<std::string, GlobalInfo>& globals() const { return globals_; }
  const MemoryInfo& memory() const { return memory_; }
  // The first table (what call_indirect without a table name means), and all of them.
  const TableInfo& table() const { return tables_.empty() ? no_table_ : tables_.front(); }
  const TableInfo* table(const std::string& name) const;
  const std::vector<TableInfo>& tables() const { return tables_; }
  const std::vector<DataSegmentInfo>& dataSegments() const { return data_segments_; }
  const std::vector<ExportInfo>& exports() const { return exports_; }
  const std::vector<wasm::Import>& layoutImports() const { return layout_imports_; }
  const std::optional<std::string>& start() const { return start_; }
  // The dynamic-linking custom section (`dylink.0`, or the older `dylink`) a
  // side module needs to be loaded at all; absent in other modules.
  const std::optional<wasm::Bytes>& dylink() const { return dylink_; }

  bool isExportedFunction(const std::string& name) const;
  // Functions a reference can name: in an element segment, or taken by ref.func.
  const std::set<std::string>& referencedFunctions() const { return referenced_; }
  bool isInTable(const std::string& name) const;
  // Memory the host can read and write during an import call.
  bool memoryVisibleToHost() const {
    return memory_.present && (memory_.imported || memory_.exported);
  }
  bool globalVisibleToHost(const std::string& name) const;

  // Transitive effects of calling `name` (imports: everything the host may do).
  const EffectSummary& effects(const std::string& name) const;
  // Of a callee nothing is known about (call_indirect): everything.
  const EffectSummary& unknownEffects() const { return host_effects_; }

  // Fingerprint of everything but the function bodies that an encoding reads.
  const wasm::Hash128& contextHash() const { return context_hash_; }

 private:
  void readFunctions();
  void readGlobals();
  void readExports();
  void readLayout(const wasm::Bytes& binary);
  void readTables();
  // "module.field" of an imported immutable global ("" for any other global):
  // what a relocatable segment's offset names.
  std::string importedConstantName(const std::string& global) const;
  void computeConstantGlobals();
  void computeEffects();
  void computeContextHash();

  BinaryenModuleRef ref_ = nullptr;
  std::map<std::string, FunctionInfo> functions_;
  std::vector<std::string> defined_;
  std::vector<std::string> imported_functions_;
  std::map<std::string, GlobalInfo> globals_;
  std::vector<std::string> global_order_;
  MemoryInfo memory_;
  std::vector<TableInfo> tables_;
  TableInfo no_table_;
  std::vector<DataSegmentInfo> data_segments_;
  std::set<std::string> tables_written_;
  std::set<std::string> referenced_;
  std::vector<ExportInfo> exports_;
  std::vector<wasm::Import> layout_imports_;
  std::optional<std::string> start_;
  std::optional<wasm::Bytes> dylink_;
  std::map<std::string, EffectSummary> transitive_effects_;
  EffectSummary host_effects_;
  wasm::Hash128 context_hash_;
};

}  // namespace loom::verify::sem
