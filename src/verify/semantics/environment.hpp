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
#include "src/verify/smt/z3cpp.hpp"

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
  virtual z3::expr nan(std::string_view op, unsigned width, std::vector<z3::expr> operands,
                       bool commutative) = 0;
};

class Environment : public NanSource {
 public:
  Environment(smt::Smt& smt, const StateLayout& layout, const std::vector<ValType>& params,
              std::uint64_t initial_pages, std::uint64_t max_pages);

  smt::Smt& smt() { return smt_; }
  const StateLayout& layout() const { return layout_; }

  const std::vector<z3::expr>& params() const { return params_; }
  const std::vector<ValType>& paramTypes() const { return param_types_; }
  const z3::expr& memory0() const { return memory0_; }
  const z3::expr& pages0() const { return pages0_; }
  z3::expr initialPagesValue() const { return initial_pages_; }
  const z3::expr& global0(unsigned slot) const { return globals0_[slot]; }
  void setGlobal0(unsigned slot, z3::expr value) { globals0_[slot] = std::move(value); }
  // Facts about the inputs every query assumes (memory size within limits).
  const std::vector<z3::expr>& axioms() const { return axioms_; }

  // The state at function entry, with the given locals.
  State initialState(std::vector<z3::expr> locals) const;

  // Answers of the i-th event (a call to an import, or to a module function
  // that is not executed symbolically).
  z3::expr eventResult(unsigned position, const z3::expr& index, ValType type);
  z3::expr eventTrap(const z3::expr& index);
  z3::expr eventMemory(const z3::expr& index);
  z3::expr eventPages(const z3::expr& index);
  z3::expr eventGlobal(unsigned slot, const z3::expr& index);
  z3::expr growAllowed(const z3::expr& index);

  // True in the queries that look for a counterexample Node.js can replay:
  // the host then returns the given values and changes nothing else, and
  // memory.grow succeeds exactly when the limit allows it.
  const z3::expr& replayable() const { return replayable_; }
  // Replaces every shared NaN choice by a variable of its own.
  z3::expr withIndependentNaNs(const z3::expr& e) const;

  z3::expr nan(std::string_view op, unsigned width, std::vector<z3::expr> operands,
               bool commutative) override;
  std::size_t nanSites() const { return nan_terms_.size(); }

 private:
  z3::func_decl& fn(const std::string& key, const z3::sort_vector& domain, const z3::sort& range);

  smt::Smt& smt_;
  const StateLayout& layout_;
  std::vector<ValType> param_types_;
  std::vector<z3::expr> params_;
  z3::expr memory0_;
  z3::expr pages0_;
  z3::expr initial_pages_;
  std::vector<z3::expr> globals0_;
  std::vector<z3::expr> trace0_;
  std::vector<z3::expr> axioms_;
  z3::expr replayable_;
  std::map<std::string, z3::func_decl> functions_;
  std::vector<z3::expr> nan_terms_;
  std::vector<z3::expr> nan_own_;
  std::set<unsigned> nan_ids_;
};

}  // namespace loom::verify::sem
