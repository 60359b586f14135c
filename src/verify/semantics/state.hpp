// The symbolic machine state of one side: globals, linear memory, memory
// size, the number of memory.grow executed, the trace of observable events,
// and the locals of the current frame. Stored as one flat vector so that
// merging at join points, havocking at loop heads and comparing the two
// sides are the same loop over components.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "src/verify/semantics/types.hpp"
#include "src/verify/smt/expr.hpp"

namespace loom::verify::sem {

enum class Side : unsigned char { Original = 0, Optimized = 1 };
inline int sideIndex(Side s) {
  return static_cast<int>(s);
}
const char* sideName(Side s);

// One global of the pair of modules. Globals are matched by name; a global
// present on one side only is never compared.
struct GlobalSlot {
  std::string name;
  ValType type = ValType::I32;
  bool is_mutable = false;
  bool constant = false;  // immutable, or effectively constant on both sides
  bool present[2] = {false, false};
  bool host_visible = false;  // imported or exported: the host reads and writes it
  bool compared() const { return present[0] && present[1] && is_mutable && !constant; }
};

// One table of the pair of modules, matched by name like globals. Its
// contents are an array from slot to reference identity (0 is null).
struct TableSlot {
  std::string name;
  bool present[2] = {false, false};
  bool host_visible = false;  // imported or exported: the host reads and writes it
  bool fixed = false;         // on both sides, contents are the segments' image forever
  std::uint32_t initial = 0;
  std::uint64_t max = 0xffffffffULL;
  bool compared() const { return present[0] && present[1] && !fixed; }
};

// What both sides' states look like. Fixed per pair of modules.
struct StateLayout {
  std::vector<GlobalSlot> globals;
  std::map<std::string, unsigned> slot_by_name[2];
  std::vector<TableSlot> tables;
  std::map<std::string, unsigned> table_by_name[2];
  // Passive data segments are tracked (their drop state, as one bit each)
  // only when both modules have the same data segments; otherwise
  // memory.init and data.drop are not modelled.
  bool data_segments_alike = true;
  unsigned data_segments = 0;
  unsigned event_args = 0;     // widest argument list of any event
  unsigned event_results = 0;  // most results of any event
  // Width of the trace's argument slots and of event results: 128 when
  // either module has v128 values, else 64 (narrower terms, faster queries).
  unsigned event_value_bits = 64;
  bool memory_host_visible = false;
  std::uint64_t max_pages = 65536;

  std::optional<unsigned> slot(Side side, const std::string& name) const;
  std::optional<unsigned> table(Side side, const std::string& name) const;

  // Component indices in State::v.
  unsigned memory() const { return static_cast<unsigned>(globals.size()); }
  unsigned pages() const { return memory() + 1; }
  unsigned grows() const { return memory() + 2; }
  unsigned tableContents(unsigned t) const { return grows() + 1 + 3 * t; }
  unsigned tableSize(unsigned t) const { return tableContents(t) + 1; }
  unsigned tableGrows(unsigned t) const { return tableContents(t) + 2; }
  // Bit k set: data segment k is dropped (a bit-vector of data_segments
  // bits, or of one unused bit when there are none).
  unsigned dropped() const { return tableContents(static_cast<unsigned>(tables.size())); }
  unsigned traceCount() const { return dropped() + 1; }
  unsigned traceKeys() const { return traceCount() + 1; }
  unsigned traceArg(unsigned k) const { return traceCount() + 2 + k; }
  unsigned traceMemory() const { return traceArg(event_args); }
  unsigned tracePages() const { return traceMemory() + 1; }
  unsigned traceGlobal(unsigned slot) const { return tracePages() + 1 + slot; }
  // A table's contents and size as the callee of each event saw them.
  unsigned traceTable(unsigned t) const {
    return traceGlobal(static_cast<unsigned>(globals.size())) + 2 * t;
  }
  unsigned traceTableSize(unsigned t) const { return traceTable(t) + 1; }
  unsigned localsBegin() const { return traceTable(static_cast<unsigned>(tables.size())); }
  bool isTrace(unsigned index) const { return index >= traceCount() && index < localsBegin(); }
  std::string componentName(unsigned index) const;
};

struct State {
  std::vector<smt::Expr> v;

  smt::Expr& at(unsigned i) { return v[i]; }
  const smt::Expr& at(unsigned i) const { return v[i]; }
  smt::Expr& global(unsigned slot) { return v[slot]; }
  smt::Expr& memory(const StateLayout& l) { return v[l.memory()]; }
  smt::Expr& pages(const StateLayout& l) { return v[l.pages()]; }
  smt::Expr& local(const StateLayout& l, unsigned i) { return v[l.localsBegin() + i]; }
  unsigned numLocals(const StateLayout& l) const {
    return static_cast<unsigned>(v.size()) - l.localsBegin();
  }
  std::vector<smt::Expr> takeLocals(const StateLayout& l);
  void setLocals(const StateLayout& l, std::vector<smt::Expr> locals);
};

// A state reached under a path condition, with the value it carries (the
// value of a branch, of a block's fallthrough, of a return).
struct Incoming {
  smt::Expr pc;
  State state;
  std::vector<smt::Expr> values;
};

// Merges mutually exclusive incoming states with if-then-else per component;
// components equal on every path stay as they are. Returns the disjunction
// of the path conditions. `charge` counts the terms created.
Incoming mergeIncoming(smt::Context& c, const std::vector<Incoming>& ins, std::uint64_t* created);

}  // namespace loom::verify::sem
