#include "src/verify/semantics/environment.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "src/verify/smt/floating.hpp"

namespace loom::verify::sem {

Environment::Environment(smt::Smt& smt, const StateLayout& layout,
                         const std::vector<ValType>& params, std::uint64_t initial_pages,
                         std::uint64_t max_pages)
    : smt_(smt),
      layout_(layout),
      param_types_(params),
      memory0_(smt.fresh("mem0", smt.memorySort())),
      pages0_(smt.freshBv("pages0", 32)),
      initial_pages_(smt.bv(initial_pages, 32)),
      replayable_(smt.freshBool("replayable")) {
  smt::Context& c = smt.ctx();
  for (std::size_t i = 0; i < params.size(); ++i) {
    params_.push_back(smt.freshBv(fmt::format("arg{}", i), widthOf(params[i])));
  }
  for (const auto& g : layout.globals) {
    globals0_.push_back(smt.freshBv("global0_" + g.name, widthOf(g.type)));
  }
  for (const auto& t : layout.tables) {
    smt::Expr contents = smt.fresh("table0_" + t.name, tableSort());
    smt::Expr size = smt.freshBv("table_size0_" + t.name, 32);
    tables0_.push_back(contents);
    tables0_.push_back(size);
    tables0_.push_back(c.bvVal(0, 32));
    axioms_.push_back(smt::uge(size, c.bvVal(static_cast<uint64_t>(t.initial), 32)));
    if (t.max < 0xffffffffULL)
      axioms_.push_back(smt::ule(size, c.bvVal(static_cast<uint64_t>(t.max), 32)));
  }
  dropped0_ = smt.fresh("dropped0", c.arraySort(c.bvSort(32), c.boolSort()));
  axioms_.push_back(smt::uge(pages0_, c.bvVal(static_cast<uint64_t>(initial_pages), 32)));
  axioms_.push_back(smt::ule(pages0_, c.bvVal(static_cast<uint64_t>(max_pages), 32)));

  // The trace starts empty; the arrays' contents beyond the count are never
  // read, so one shared base for both sides keeps equal traces equal arrays.
  const smt::Sort idx = c.bvSort(32);
  trace0_.push_back(c.bvVal(0, 32));
  trace0_.push_back(smt.fresh("trace_keys", c.arraySort(idx, c.bvSort(32))));
  for (unsigned k = 0; k < layout.event_args; ++k) {
    trace0_.push_back(smt.fresh(fmt::format("trace_arg{}", k),
                                c.arraySort(idx, c.bvSort(layout.event_value_bits))));
  }
  trace0_.push_back(smt.fresh("trace_memory", c.arraySort(idx, smt.memorySort())));
  trace0_.push_back(smt.fresh("trace_pages", c.arraySort(idx, c.bvSort(32))));
  for (const auto& g : layout.globals) {
    trace0_.push_back(
        smt.fresh("trace_global_" + g.name, c.arraySort(idx, c.bvSort(widthOf(g.type)))));
  }
  for (const auto& t : layout.tables) {
    trace0_.push_back(smt.fresh("trace_table_" + t.name, c.arraySort(idx, tableSort())));
    trace0_.push_back(smt.fresh("trace_table_size_" + t.name, c.arraySort(idx, c.bvSort(32))));
  }
}

smt::Sort Environment::tableSort() const {
  smt::Context& c = smt_.ctx();
  return c.arraySort(c.bvSort(32), c.bvSort(32));
}

State Environment::initialState(std::vector<smt::Expr> locals) const {
  State s;
  smt::Context& c = smt_.ctx();
  s.v = globals0_;
  s.v.push_back(memory0_);
  s.v.push_back(pages0_);
  s.v.push_back(c.bvVal(0, 32));
  s.v.insert(s.v.end(), tables0_.begin(), tables0_.end());
  s.v.push_back(dropped0_);
  s.v.insert(s.v.end(), trace0_.begin(), trace0_.end());
  s.v.insert(s.v.end(), locals.begin(), locals.end());
  return s;
}

smt::FuncDecl& Environment::fn(const std::string& key, const smt::SortVector& domain,
                               const smt::Sort& range) {
  auto it = functions_.find(key);
  if (it == functions_.end()) {
    it = functions_.emplace(key, smt_.freshFunction(key, domain, range)).first;
  }
  return it->second;
}

smt::Expr Environment::eventResult(unsigned position, const smt::Expr& index, ValType type) {
  smt::Context& c = smt_.ctx();
  smt::SortVector d(c);
  d.push_back(c.bvSort(32));
  const unsigned bits = layout_.event_value_bits;
  smt::Expr full = fn(fmt::format("event_result{}", position), d, c.bvSort(bits))(index);
  return widthOf(type) == bits ? full : full.extract(widthOf(type) - 1, 0);
}

smt::Expr Environment::eventTrap(const smt::Expr& index) {
  smt::Context& c = smt_.ctx();
  smt::SortVector d(c);
  d.push_back(c.bvSort(32));
  return fn("event_trap", d, c.boolSort())(index);
}

smt::Expr Environment::eventMemory(const smt::Expr& index) {
  smt::Context& c = smt_.ctx();
  smt::SortVector d(c);
  d.push_back(c.bvSort(32));
  return fn("event_memory", d, smt_.memorySort())(index);
}

smt::Expr Environment::eventPages(const smt::Expr& index) {
  smt::Context& c = smt_.ctx();
  smt::SortVector d(c);
  d.push_back(c.bvSort(32));
  return fn("event_pages", d, c.bvSort(32))(index);
}

smt::Expr Environment::eventGlobal(unsigned slot, const smt::Expr& index) {
  smt::Context& c = smt_.ctx();
  smt::SortVector d(c);
  d.push_back(c.bvSort(32));
  const auto& g = layout_.globals[slot];
  return fn("event_global_" + g.name, d, c.bvSort(widthOf(g.type)))(index);
}

smt::Expr Environment::eventTable(unsigned table, const smt::Expr& index) {
  smt::Context& c = smt_.ctx();
  smt::SortVector d(c);
  d.push_back(c.bvSort(32));
  return fn("event_table_" + layout_.tables[table].name, d, tableSort())(index);
}

smt::Expr Environment::eventTableSize(unsigned table, const smt::Expr& index) {
  smt::Context& c = smt_.ctx();
  smt::SortVector d(c);
  d.push_back(c.bvSort(32));
  return fn("event_table_size_" + layout_.tables[table].name, d, c.bvSort(32))(index);
}

smt::Expr Environment::eventDropped(const smt::Expr& index) {
  smt::Context& c = smt_.ctx();
  smt::SortVector d(c);
  d.push_back(c.bvSort(32));
  return fn("event_dropped", d, c.arraySort(c.bvSort(32), c.boolSort()))(index);
}

smt::Expr Environment::tableGrowAllowed(unsigned table, const smt::Expr& index) {
  smt::Context& c = smt_.ctx();
  smt::SortVector d(c);
  d.push_back(c.bvSort(32));
  return fn("table_grow_allowed_" + layout_.tables[table].name, d, c.boolSort())(index);
}

smt::Expr Environment::refSignature(const smt::Expr& ref) {
  smt::Context& c = smt_.ctx();
  smt::SortVector d(c);
  d.push_back(c.bvSort(32));
  return fn("ref_signature", d, c.bvSort(32))(ref);
}

smt::Expr Environment::growAllowed(const smt::Expr& index) {
  smt::Context& c = smt_.ctx();
  smt::SortVector d(c);
  d.push_back(c.bvSort(32));
  return fn("grow_allowed", d, c.boolSort())(index);
}

smt::Expr Environment::nan(std::string_view, unsigned width, std::vector<smt::Expr> operands,
                           bool) {
  smt::Context& c = smt_.ctx();
  // The specification lets the NaN depend only on which operands are NaN
  // (and whether those are canonical), not on the operator: so the choice is
  // keyed by the NaN operands alone, in a canonical order. x/2 and x*0.5
  // then produce the same NaN, as every engine's hardware does.
  const unsigned operand_width = operands.empty() ? width : operands[0].sort().bvSize();
  std::vector<smt::Expr> keys;
  for (const auto& o : operands) {
    const unsigned w = o.sort().bvSize();
    const smt::Expr zero = c.bvVal(0, w);
    if (o.isNumeral()) {
      std::uint64_t bits = 0;
      o.getUint64(bits);
      const std::uint64_t exp = w == 32 ? 0x7f800000ULL : 0x7ff0000000000000ULL;
      const std::uint64_t man = w == 32 ? 0x007fffffULL : 0x000fffffffffffffULL;
      keys.push_back((bits & exp) == exp && (bits & man) != 0 ? o : zero);
    } else {
      keys.push_back(smt::ite(smt::fpIsNaN(smt::bitsToFp(o)), o, zero));
    }
  }
  // A set, not a list: x+x and x*2 have the same NaN operands.
  if (keys.size() == 2 && smt::sameTerm(keys[0], keys[1])) keys.pop_back();
  while (keys.size() < 2) keys.push_back(c.bvVal(0, operand_width));
  if (keys[1].id() < keys[0].id()) std::swap(keys[0], keys[1]);
  smt::SortVector d(c);
  d.push_back(keys[0].sort());
  d.push_back(keys[1].sort());
  smt::Expr shared =
      fn(fmt::format("nan_{}_{}", width, operand_width), d, c.bvSort(width))(keys[0], keys[1]);
  if (nan_ids_.insert(shared.id()).second) {
    nan_terms_.push_back(shared);
    nan_own_.push_back(smt_.freshBv(fmt::format("nan_site{}", nan_own_.size()), width));
  }
  const smt::Expr mask = c.bvVal(static_cast<uint64_t>(smt::quietNanMask(width)), width);
  return shared | mask;
}

smt::Expr Environment::withIndependentNaNs(const smt::Expr& e) const {
  if (nan_terms_.empty()) return e;
  smt::Context& c = smt_.ctx();
  smt::ExprVector from(c), to(c);
  for (std::size_t i = 0; i < nan_terms_.size(); ++i) {
    from.push_back(nan_terms_[i]);
    to.push_back(nan_own_[i]);
  }
  smt::Expr copy = e;
  return copy.substitute(from, to);
}

}  // namespace loom::verify::sem
