#include "src/verify/check/loop_induction.hpp"

#include <fmt/format.h>
#include <cstdio>
#include <cstdlib>

#include <map>
#include <set>

#include "src/verify/smt/model.hpp"

namespace loom::verify::check {

namespace {

struct Candidate {
  std::size_t loop = 0;
  std::vector<std::pair<unsigned, unsigned>> components;  // (original index, optimized index)
  bool mandatory = false;
  std::string name;
  z3::expr on_entry;  // holds when both sides enter the loop
  z3::expr on_back;   // holds when both sides take the back edge
};

z3::expr holds(z3::context& c, const Candidate& cand, const sem::State& a, const sem::State& b) {
  std::vector<z3::expr> eqs;
  for (auto [i, j] : cand.components) eqs.push_back(a.at(i) == b.at(j));
  return smt::mkAnd(c, eqs);
}

struct UnionFind {
  std::vector<std::size_t> parent;
  explicit UnionFind(std::size_t n) : parent(n) {
    for (std::size_t i = 0; i < n; ++i) parent[i] = i;
  }
  std::size_t find(std::size_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  }
  void unite(std::size_t a, std::size_t b) { parent[find(a)] = find(b); }
};

// The invariant assumed at the loop heads for the candidates in `alive`.
//
// Assuming equalities at a head must never constrain values from before the
// loop: if it did, a real execution could fall outside the encoding and an
// obligation would hold vacuously. Equalities only constrain the havocked
// head variables as long as no class of equal components holds two
// different values from before the loop; such classes are assumed outright,
// which lets Z3 substitute them away before bit-blasting. A class that does
// connect two earlier values is assumed only when both sides reached the
// loop with all of its equalities holding on entry.
z3::expr assumedInvariant(z3::context& c, const std::vector<Candidate>& cands,
                          const std::vector<bool>& alive, const std::vector<sem::LoopInstance>& lo,
                          const std::vector<sem::LoopInstance>& lp) {
  std::vector<z3::expr> out;
  for (std::size_t k = 0; k < lo.size(); ++k) {
    const sem::LoopInstance& a = lo[k];
    const sem::LoopInstance& b = lp[k];
    const std::size_t n = a.head.v.size();
    UnionFind uf(n + b.head.v.size());
    std::vector<std::size_t> members;
    for (std::size_t i = 0; i < cands.size(); ++i) {
      if (!alive[i] || cands[i].loop != k) continue;
      members.push_back(i);
      for (auto [x, y] : cands[i].components) uf.unite(x, n + y);
    }
    std::map<std::size_t, std::set<unsigned>> outer_terms;
    for (std::size_t i : members) {
      for (auto [x, y] : cands[i].components) {
        auto& terms = outer_terms[uf.find(x)];
        if (!a.havocked[x]) terms.insert(a.head.at(x).id());
        if (!b.havocked[y]) terms.insert(b.head.at(y).id());
      }
    }
    const z3::expr entry_both = smt::mkAnd(c, {a.entry_pc, b.entry_pc});
    std::map<std::size_t, std::vector<std::size_t>> guarded;
    for (std::size_t i : members) {
      const std::size_t root = uf.find(cands[i].components.front().first);
      if (outer_terms[root].size() <= 1) {
        out.push_back(holds(c, cands[i], a.head, b.head));
      } else {
        guarded[root].push_back(i);
      }
    }
    for (const auto& [root, group] : guarded) {
      std::vector<z3::expr> at_entry{entry_both}, at_head;
      for (std::size_t i : group) {
        at_entry.push_back(holds(c, cands[i], a.entry, b.entry));
        at_head.push_back(holds(c, cands[i], a.head, b.head));
      }
      out.push_back(z3::implies(smt::mkAnd(c, at_entry), smt::mkAnd(c, at_head)));
    }
  }
  return smt::mkAnd(c, out);
}

}  // namespace

InductionOutcome proveByInduction(smt::Smt& smt, smt::Solver& solver, const Encoding& enc,
                                  const sem::StateLayout& layout) {
  InductionOutcome out;
  z3::context& c = smt.ctx();
  const auto& lo = enc.original->loops;
  const auto& lp = enc.optimized->loops;
  out.loops = static_cast<unsigned>(lo.size());
  if (lo.size() != lp.size()) {
    out.reason = fmt::format("loop structures differ ({} loops against {})", lo.size(), lp.size());
    return out;
  }
  for (std::size_t k = 0; k < lo.size(); ++k) {
    if (lo[k].parent != lp[k].parent) {
      out.reason = "loop nesting differs";
      return out;
    }
  }

  std::vector<Candidate> cands;
  std::vector<z3::expr> lockstep;
  for (std::size_t k = 0; k < lo.size(); ++k) {
    const sem::LoopInstance& a = lo[k];
    const sem::LoopInstance& b = lp[k];
    const z3::expr entry_both = smt::mkAnd(c, {a.entry_pc, b.entry_pc});
    const z3::expr back_both = smt::mkAnd(c, {a.back_pc, b.back_pc});
    auto add = [&](std::vector<std::pair<unsigned, unsigned>> comps, bool mandatory,
                   std::string name) {
      Candidate cand{k, std::move(comps), mandatory, std::move(name), c.bool_val(true),
                     c.bool_val(true)};
      cand.on_entry = z3::implies(entry_both, holds(c, cand, a.entry, b.entry));
      if (a.back && b.back) cand.on_back = z3::implies(back_both, holds(c, cand, *a.back, *b.back));
      cands.push_back(std::move(cand));
    };
    const unsigned base = layout.localsBegin();
    for (unsigned i = 0; i < a.local_types.size(); ++i) {
      for (unsigned j = 0; j < b.local_types.size(); ++j) {
        if (a.local_types[i] != b.local_types[j]) continue;
        if (!a.havocked[base + i] && !b.havocked[base + j]) continue;
        add({{base + i, base + j}}, false, fmt::format("local {} = local {}", i, j));
      }
    }
    for (unsigned slot = 0; slot < layout.globals.size(); ++slot) {
      if (!layout.globals[slot].compared() || !(a.havocked[slot] || b.havocked[slot])) continue;
      add({{slot, slot}}, false, "global " + layout.globals[slot].name);
    }
    for (unsigned i : {layout.memory(), layout.pages(), layout.grows()}) {
      if (a.havocked[i] || b.havocked[i]) add({{i, i}}, false, layout.componentName(i));
    }
    std::vector<std::pair<unsigned, unsigned>> trace;
    bool trace_havocked = false;
    for (unsigned i = layout.traceCount(); i < layout.localsBegin(); ++i) {
      trace.push_back({i, i});
      trace_havocked = trace_havocked || a.havocked[i] || b.havocked[i];
    }
    // Events inside a loop are observable even if the loop never ends, so
    // equal traces at every head visit are required, not just hoped for.
    if (trace_havocked) add(trace, true, "event trace");
    lockstep.push_back(a.entry_pc == b.entry_pc);
    lockstep.push_back(a.back_pc == b.back_pc);
  }

  // Houdini: drop candidates a model violates until the rest is inductive.
  // Entry obligations are settled first, outer loops before inner ones, so
  // that by the time preservation is checked every guarded class of the
  // assumed invariant holds on entry and the guard cannot make a good
  // candidate look broken.
  std::vector<bool> alive(cands.size(), true);
  auto has_violated_ancestor = [&](std::size_t loop, const std::set<std::size_t>& loops) {
    for (int p = lo[loop].parent; p >= 0; p = lo[static_cast<std::size_t>(p)].parent) {
      if (loops.count(static_cast<std::size_t>(p))) return true;
    }
    return false;
  };
  for (bool entry_phase = true;;) {
    ++out.rounds;
    solver.push();
    solver.add(assumedInvariant(c, cands, alive, lo, lp));
    std::vector<z3::expr> broken;
    for (std::size_t i = 0; i < cands.size(); ++i) {
      if (alive[i]) broken.push_back(smt::mkNot(entry_phase ? cands[i].on_entry : cands[i].on_back));
    }
    solver.add(smt::mkOr(c, broken));
    const smt::CheckResult r = solver.check();
    if (r == smt::CheckResult::Unknown) {
      solver.pop();
      out.result = InductionOutcome::Result::Unknown;
      out.reason = "solver " + solver.lastReason() + " while inferring loop invariants";
      return out;
    }
    if (r == smt::CheckResult::Unsat) {
      solver.pop();
      if (!entry_phase) break;
      entry_phase = false;
      continue;
    }
    smt::ModelReader m(solver.model());
    solver.pop();
    std::vector<std::size_t> violated;
    std::set<std::size_t> violated_loops;
    for (std::size_t i = 0; i < cands.size(); ++i) {
      if (!alive[i] || m.truth(entry_phase ? cands[i].on_entry : cands[i].on_back)) continue;
      violated.push_back(i);
      violated_loops.insert(cands[i].loop);
    }
    bool optional_violated = false;
    std::vector<std::size_t> blamed;
    for (std::size_t i : violated) {
      if (entry_phase && has_violated_ancestor(cands[i].loop, violated_loops)) continue;
      blamed.push_back(i);
      optional_violated = optional_violated || !cands[i].mandatory;
    }
    if (blamed.empty()) {
      out.reason = "invariant inference did not converge";
      return out;
    }
    for (std::size_t i : blamed) {
      if (cands[i].mandatory && optional_violated) continue;
      alive[i] = false;
      if (cands[i].mandatory) {
        out.reason = fmt::format("the {} at loop {} is not preserved in lockstep", cands[i].name,
                                 cands[i].loop);
        return out;
      }
    }
    entry_phase = true;
  }
  for (bool a : alive) out.invariants += a ? 1 : 0;

  solver.push();
  solver.add(assumedInvariant(c, cands, alive, lo, lp));
  solver.add(!smt::mkAnd(c, lockstep) || enc.differs);
  const smt::CheckResult r = solver.check();
  if (r == smt::CheckResult::Unsat) {
    solver.pop();
    out.result = InductionOutcome::Result::Proved;
    return out;
  }
  if (r == smt::CheckResult::Unknown) {
    out.result = InductionOutcome::Result::Unknown;
    out.reason = "solver " + solver.lastReason() + " under the inferred loop invariants";
  } else {
    smt::ModelReader m(solver.model());
    if (std::getenv("LOOM_VERIFY_TRACE")) {
      for (std::size_t i = 0; i < cands.size(); ++i) if (alive[i]) std::fprintf(stderr, "  inv loop %zu: %s\n", cands[i].loop, cands[i].name.c_str());
      for (std::size_t k = 0; k < lockstep.size(); ++k) std::fprintf(stderr, "  lockstep %zu: %d\n", k, m.truth(lockstep[k]));
      for (const auto& part : enc.parts) std::fprintf(stderr, "  part %s: %d\n", part.what.c_str(), m.truth(part.differs));
      for (std::size_t k = 0; k < lo.size(); ++k) std::fprintf(stderr, "  loop %zu entry %d %d back %d %d\n", k, m.truth(lo[k].entry_pc), m.truth(lp[k].entry_pc), m.truth(lo[k].back_pc), m.truth(lp[k].back_pc));
    }
    out.reason = m.truth(smt::mkAnd(c, lockstep))
                     ? "the inferred loop invariants are too weak to show equal outcomes"
                     : "the loops do not iterate in lockstep";
  }
  solver.pop();
  return out;
}

}  // namespace loom::verify::check
