// Everything both sides share: the inputs of the function (arguments,
// initial memory, memory size, globals) and the answers of the outside
// world (what the i-th event returns and does, whether the i-th memory.grow
// is allowed to succeed, which NaN an arithmetic operation produces).
// Sharing these by position is what lets two executions that make the same
// requests in the same order see the same answers.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "src/verify/semantics/state.hpp"
#include "src/verify/smt/context.hpp"
#include "src/verify/smt/expr.hpp"

namespace loom::verify::sem {

// NaN results of arithmetic are non-deterministic in WebAssembly. An
// operation's NaN is a function of the operator and its operands (sorted for
// commutative operators), shared by both sides, with the quiet bit forced:
// every NaN the specification allows has it. withIndependentNaNs gives each
// distinct choice NaN bits of its own instead, which is how a difference is
// shown not to depend on the NaN an engine happens to pick.
class NanSource {
 public:
  virtual ~NanSource() = default;
  virtual smt::Expr nan(std::string_view op, unsigned width, std::vector<smt::Expr> operands,
                        bool commutative) = 0;
};

class Environment : public NanSource {
 public:
  Environment(smt::Smt& smt, const StateLayout& layout, const std::vector<ValType>& params,
              std::uint64_t initial_pages, std::uint64_t max_pages);

  smt::Smt& smt() { return smt_; }
  const StateLayout& layout() const { return layout_; }

  const std::vector<smt::Expr>& params() const { return params_; }
  const std::vector<ValType>& paramTypes() const { return param_types_; }
  const smt::Expr& memory0() const { return memory0_; }
  const smt::Expr& pages0() const { return pages0_; }
  smt::Expr initialPagesValue() const { return initial_pages_; }
  const smt::Expr& global0(unsigned slot) const { return globals0_[slot]; }
  // Each table's contents and size at entry, and the data segments' drop flags.
  const smt::Expr& table0(unsigned table) const { return tables0_[3 * table]; }
  const smt::Expr& tableSize0(unsigned table) const { return tables0_[3 * table + 1]; }
  const smt::Expr& dropped0() const { return dropped0_; }
  void setGlobal0(unsigned slot, smt::Expr value) { globals0_[slot] = std::move(value); }
  // Facts about the inputs every query assumes (memory size within limits).
  const std::vector<smt::Expr>& axioms() const { return axioms_; }

  // The state at function entry, with the given locals.
  State initialState(std::vector<smt::Expr> locals) const;

  // Answers of the i-th event (a call to an import, or to a module function
  // that is not executed symbolically).
  smt::Expr eventResult(unsigned position, const smt::Expr& index, ValType type);
  smt::Expr eventTrap(const smt::Expr& index);
  smt::Expr eventMemory(const smt::Expr& index);
  smt::Expr eventPages(const smt::Expr& index);
  smt::Expr eventGlobal(unsigned slot, const smt::Expr& index);
  smt::Expr growAllowed(const smt::Expr& index);
  // Tables: what an event leaves in table `table`, whether its i-th
  // table.grow may succeed, and which data segments an event leaves dropped.
  smt::Expr eventTable(unsigned table, const smt::Expr& index);
  smt::Expr eventTableSize(unsigned table, const smt::Expr& index);
  smt::Expr eventDropped(const smt::Expr& index);
  smt::Expr tableGrowAllowed(unsigned table, const smt::Expr& index);
  // The signature key of the function a non-null funcref identity denotes.
  // Equal identities denote equivalent functions on both sides, so one
  // shared function is exact enough: call_indirect traps when it differs
  // from the expected signature.
  smt::Expr refSignature(const smt::Expr& ref);
  smt::Sort tableSort() const;

  // True in the queries that look for a counterexample Node.js can replay:
  // the host then returns the given values and changes nothing else, and
  // memory.grow succeeds exactly when the limit allows it.
  const smt::Expr& replayable() const { return replayable_; }
  // Replaces every shared NaN choice by a variable of its own.
  smt::Expr withIndependentNaNs(const smt::Expr& e) const;

  smt::Expr nan(std::string_view op, unsigned width, std::vector<smt::Expr> operands,
                bool commutative) override;
  std::size_t nanSites() const { return nan_terms_.size(); }

 private:
  smt::FuncDecl& fn(const std::string& key, const smt::SortVector& domain, const smt::Sort& range);

  smt::Smt& smt_;
  const StateLayout& layout_;
  std::vector<ValType> param_types_;
  std::vector<smt::Expr> params_;
  smt::Expr memory0_;
  smt::Expr pages0_;
  smt::Expr initial_pages_;
  std::vector<smt::Expr> globals0_;
  std::vector<smt::Expr> trace0_;
  std::vector<smt::Expr> tables0_;  // contents, size, grow count per table
  smt::Expr dropped0_;
  std::vector<smt::Expr> axioms_;
  smt::Expr replayable_;
  std::map<std::string, smt::FuncDecl> functions_;
  std::vector<smt::Expr> nan_terms_;
  std::vector<smt::Expr> nan_own_;
  std::set<unsigned> nan_ids_;
};

}  // namespace loom::verify::sem
