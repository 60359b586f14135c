#include "src/verify/semantics/state.hpp"

#include <fmt/format.h>

#include "src/verify/smt/context.hpp"

namespace loom::verify::sem {

const char* sideName(Side s) {
  return s == Side::Original ? "original" : "optimized";
}

std::optional<unsigned> StateLayout::slot(Side side, const std::string& name) const {
  const auto& m = slot_by_name[sideIndex(side)];
  auto it = m.find(name);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

std::optional<unsigned> StateLayout::table(Side side, const std::string& name) const {
  const auto& m = table_by_name[sideIndex(side)];
  auto it = m.find(name);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

std::string StateLayout::componentName(unsigned index) const {
  if (index < globals.size()) return "global " + globals[index].name;
  if (index == memory()) return "memory";
  if (index == pages()) return "memory size";
  if (index == grows()) return "memory.grow count";
  for (unsigned t = 0; t < tables.size(); ++t) {
    if (index == tableContents(t)) return "table " + tables[t].name;
    if (index == tableSize(t)) return "size of table " + tables[t].name;
    if (index == tableGrows(t)) return "table.grow count of " + tables[t].name;
  }
  if (index == dropped()) return "dropped data segments";
  if (isTrace(index)) return "event trace";
  return fmt::format("local {}", index - localsBegin());
}

std::vector<smt::Expr> State::takeLocals(const StateLayout& l) {
  std::vector<smt::Expr> out(v.begin() + l.localsBegin(), v.end());
  v.erase(v.begin() + l.localsBegin(), v.end());
  return out;
}

void State::setLocals(const StateLayout& l, std::vector<smt::Expr> locals) {
  v.erase(v.begin() + l.localsBegin(), v.end());
  v.insert(v.end(), locals.begin(), locals.end());
}

Incoming mergeIncoming(smt::Context& c, const std::vector<Incoming>& ins, std::uint64_t* created) {
  Incoming out = ins.back();
  if (ins.size() == 1) return out;
  std::vector<smt::Expr> pcs;
  for (const auto& in : ins) pcs.push_back(in.pc);
  out.pc = smt::mkOr(c, pcs);
  auto mergeOne = [&](auto get) {
    smt::Expr acc = get(ins.back());
    for (std::size_t i = ins.size() - 1; i-- > 0;) {
      const smt::Expr& mine = get(ins[i]);
      if (smt::sameTerm(mine, acc)) continue;
      acc = smt::ite(ins[i].pc, mine, acc);
      if (created) ++*created;
    }
    return acc;
  };
  for (std::size_t k = 0; k < out.state.v.size(); ++k) {
    out.state.v[k] =
        mergeOne([k](const Incoming& in) -> const smt::Expr& { return in.state.v[k]; });
  }
  for (std::size_t k = 0; k < out.values.size(); ++k) {
    out.values[k] = mergeOne([k](const Incoming& in) -> const smt::Expr& { return in.values[k]; });
  }
  return out;
}

}  // namespace loom::verify::sem
