#include "src/verify/check/loop_induction.hpp"

#include <fmt/format.h>
#include <cstdio>
#include <cstdlib>

#include <map>
#include <optional>
#include <random>
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

// Which equalities of the assumed invariant form classes of equal
// components, and whether a class is assumed outright or only under its
// entry guard (see assumedInvariant).
struct ClassPlan {
  std::vector<std::size_t> members;                      // candidate indices
  std::vector<std::pair<bool, unsigned>> components;      // (optimized side?, index)
  std::optional<z3::expr> outer;                          // the one earlier value, if any
  bool guarded = false;
};

std::vector<std::vector<ClassPlan>> planInvariant(const std::vector<Candidate>& cands,
                                                  const std::vector<bool>& alive,
                                                  const std::vector<sem::LoopInstance>& lo,
                                                  const std::vector<sem::LoopInstance>& lp) {
  std::vector<std::vector<ClassPlan>> plans(lo.size());
  for (std::size_t k = 0; k < lo.size(); ++k) {
    const sem::LoopInstance& a = lo[k];
    const sem::LoopInstance& b = lp[k];
    const std::size_t n = a.head.v.size();
    UnionFind uf(n + b.head.v.size());
    for (std::size_t i = 0; i < cands.size(); ++i) {
      if (!alive[i] || cands[i].loop != k) continue;
      for (auto [x, y] : cands[i].components) uf.unite(x, n + y);
    }
    std::map<std::size_t, ClassPlan> by_root;
    std::map<std::size_t, std::map<unsigned, z3::expr>> outer;
    for (std::size_t i = 0; i < cands.size(); ++i) {
      if (!alive[i] || cands[i].loop != k) continue;
      const std::size_t root = uf.find(cands[i].components.front().first);
      ClassPlan& plan = by_root[root];
      plan.members.push_back(i);
      for (auto [x, y] : cands[i].components) {
        plan.components.push_back({false, x});
        plan.components.push_back({true, y});
        if (!a.havocked[x]) outer[root].emplace(a.head.at(x).id(), a.head.at(x));
        if (!b.havocked[y]) outer[root].emplace(b.head.at(y).id(), b.head.at(y));
      }
    }
    for (auto& [root, plan] : by_root) {
      const auto& terms = outer[root];
      plan.guarded = terms.size() > 1;
      if (terms.size() == 1) plan.outer = terms.begin()->second;
      plans[k].push_back(std::move(plan));
    }
  }
  return plans;
}

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
                          const std::vector<std::vector<ClassPlan>>& plans,
                          const std::vector<sem::LoopInstance>& lo,
                          const std::vector<sem::LoopInstance>& lp) {
  std::vector<z3::expr> out;
  for (std::size_t k = 0; k < lo.size(); ++k) {
    const sem::LoopInstance& a = lo[k];
    const sem::LoopInstance& b = lp[k];
    const z3::expr entry_both = smt::mkAnd(c, {a.entry_pc, b.entry_pc});
    for (const ClassPlan& plan : plans[k]) {
      if (!plan.guarded) {
        for (std::size_t i : plan.members) out.push_back(holds(c, cands[i], a.head, b.head));
        continue;
      }
      std::vector<z3::expr> at_entry{entry_both}, at_head;
      for (std::size_t i : plan.members) {
        at_entry.push_back(holds(c, cands[i], a.entry, b.entry));
        at_head.push_back(holds(c, cands[i], a.head, b.head));
      }
      out.push_back(z3::implies(smt::mkAnd(c, at_entry), smt::mkAnd(c, at_head)));
    }
  }
  return smt::mkAnd(c, out);
}

// Concrete evaluation instead of a solver call: free constants get sample
// values, havocked heads values that satisfy the assumed invariant, and a
// candidate whose preservation evaluates to false is refuted exactly as a
// model from Z3 would refute it (the sample is checked against every
// assumption first). Cheap where Z3 is not: a loop doing floating-point
// division makes every solver call bit-blast the divider.
class Sampler {
 public:
  Sampler(z3::context& c, const std::vector<z3::expr>& roots) : c_(c), rng_(0x10057ULL) {
    std::vector<Z3_ast> stack;
    for (const auto& r : roots) stack.push_back(r);
    std::set<unsigned> seen;
    while (!stack.empty()) {
      Z3_ast a = stack.back();
      stack.pop_back();
      if (!seen.insert(Z3_get_ast_id(c_, a)).second) continue;
      if (Z3_get_ast_kind(c_, a) != Z3_APP_AST) continue;
      Z3_app app = Z3_to_app(c_, a);
      const unsigned n = Z3_get_app_num_args(c_, app);
      Z3_func_decl d = Z3_get_app_decl(c_, app);
      if (n == 0 && Z3_get_decl_kind(c_, d) == Z3_OP_UNINTERPRETED) {
        constants_.push_back(z3::expr(c_, a));
      }
      for (unsigned i = 0; i < n; ++i) stack.push_back(Z3_get_app_arg(c_, app, i));
    }
  }

  // One sample; nullopt if it violates an assumption or cannot be evaluated.
  std::optional<std::vector<bool>> run(const std::vector<z3::expr>& assumptions,
                                       const std::vector<Candidate>& cands,
                                       const std::vector<bool>& alive,
                                       const std::vector<std::vector<ClassPlan>>& plans,
                                       const std::vector<sem::LoopInstance>& lo,
                                       const std::vector<sem::LoopInstance>& lp,
                                       const z3::expr& robust, bool entry_phase) {
    std::map<unsigned, z3::expr> values;
    std::set<unsigned> heads;
    for (const auto* loops : {&lo, &lp}) {
      for (const auto& l : *loops) {
        for (std::size_t i = 0; i < l.head.v.size(); ++i) {
          if (l.havocked[i]) heads.insert(l.head.v[i].id());
        }
      }
    }
    for (const auto& k : constants_) {
      if (heads.count(k.id())) continue;
      values.emplace(k.id(), z3::eq(k, robust) ? c_.bool_val(false) : randomValue(k.get_sort()));
    }
    // Heads in loop order, so an inner head sees its outer loop's sample.
    for (std::size_t k = 0; k < lo.size(); ++k) {
      const sem::LoopInstance* side[2] = {&lo[k], &lp[k]};
      std::set<std::pair<bool, unsigned>> planned;
      for (const ClassPlan& plan : plans[k]) {
        std::optional<z3::expr> value;
        if (plan.outer) value = evaluate(*plan.outer, values);
        for (auto [optimized, index] : plan.components) {
          planned.insert({optimized, index});
          const sem::LoopInstance& l = *side[optimized ? 1 : 0];
          if (!l.havocked[index]) continue;
          z3::expr v = plan.guarded ? evaluate(l.entry.at(index), values)
                                    : value ? *value : (value = randomValue(l.head.at(index).get_sort()), *value);
          values.insert_or_assign(l.head.at(index).id(), v);
        }
      }
      for (int s = 0; s < 2; ++s) {
        const sem::LoopInstance& l = *side[s];
        for (unsigned i = 0; i < l.head.v.size(); ++i) {
          if (!l.havocked[i] || planned.count({s == 1, i})) continue;
          values.insert_or_assign(l.head.at(i).id(), randomValue(l.head.at(i).get_sort()));
        }
      }
    }
    for (const auto& a : assumptions) {
      if (!evaluate(a, values).is_true()) return std::nullopt;
    }
    std::vector<bool> broken(cands.size(), false);
    for (std::size_t i = 0; i < cands.size(); ++i) {
      if (!alive[i]) continue;
      z3::expr v = evaluate(entry_phase ? cands[i].on_entry : cands[i].on_back, values);
      if (v.is_false()) broken[i] = true;
    }
    return broken;
  }

 private:
  z3::expr evaluate(const z3::expr& e, const std::map<unsigned, z3::expr>& values) {
    z3::expr_vector from(c_), to(c_);
    for (const auto& k : constants_) {
      auto it = values.find(k.id());
      if (it == values.end()) continue;
      from.push_back(k);
      to.push_back(it->second);
    }
    z3::expr copy = e;
    return copy.substitute(from, to).simplify();
  }

  z3::expr randomValue(const z3::sort& s) {
    if (s.is_bool()) return c_.bool_val(rng_() & 1);
    if (s.is_bv()) {
      const unsigned w = s.bv_size();
      const std::uint64_t mask = w >= 64 ? ~0ULL : ((1ULL << w) - 1);
      static const std::uint64_t kSpecial[] = {0, 1, 2, 3, 7, 8, 100, ~0ULL, 0x80000000ULL};
      const std::uint64_t pick = rng_() % 4;
      std::uint64_t v = pick == 0   ? kSpecial[rng_() % std::size(kSpecial)]
                        : pick == 1 ? rng_() % 64
                                    : rng_();
      return c_.bv_val(static_cast<uint64_t>(v & mask), w);
    }
    if (s.is_array()) return z3::const_array(s.array_domain(), randomValue(s.array_range()));
    return c_.bool_val(false);
  }

  z3::context& c_;
  std::mt19937_64 rng_;
  std::vector<z3::expr> constants_;
};

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
  std::vector<z3::expr> roots = solver.assertions();
  for (const auto& cand : cands) {
    roots.push_back(cand.on_entry);
    roots.push_back(cand.on_back);
  }
  for (const auto* loops : {&lo, &lp}) {
    for (const auto& l : *loops) {
      roots.insert(roots.end(), l.entry.v.begin(), l.entry.v.end());
      roots.insert(roots.end(), l.head.v.begin(), l.head.v.end());
    }
  }
  Sampler sampler(c, roots);
  const z3::expr robust = enc.env->robust();

  for (bool entry_phase = true;;) {
    ++out.rounds;
    const auto plans = planInvariant(cands, alive, lo, lp);
    const z3::expr assumed = assumedInvariant(c, cands, plans, lo, lp);

    // Samples first; Z3 only when they refute nothing.
    std::vector<bool> sampled_broken(cands.size(), false);
    bool sampled = false;
    {
      std::vector<z3::expr> assumptions = solver.assertions();
      assumptions.push_back(assumed);
      for (int k = 0; k < 12 && !sampled; ++k) {
        auto broken = sampler.run(assumptions, cands, alive, plans, lo, lp, robust, entry_phase);
        if (!broken) continue;
        for (std::size_t i = 0; i < cands.size(); ++i) {
          if ((*broken)[i]) {
            sampled_broken[i] = true;
            sampled = true;
          }
        }
      }
    }
    std::optional<smt::ModelReader> model;
    if (std::getenv("LOOM_VERIFY_TRACE")) {
      std::fprintf(stderr, "  round %u %s sampled=%d alive:", out.rounds, entry_phase ? "entry" : "back", sampled);
      for (std::size_t i = 0; i < cands.size(); ++i) if (alive[i]) std::fprintf(stderr, " [%zu:%s%s]", cands[i].loop, cands[i].name.c_str(), sampled_broken[i] ? "!" : "");
      std::fprintf(stderr, "\n");
    }
    if (!sampled) {
      solver.push();
      solver.add(assumed);
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
      model.emplace(solver.model());
      solver.pop();
    }
    auto is_broken = [&](std::size_t i) {
      if (sampled) return static_cast<bool>(sampled_broken[i]);
      return !model->truth(entry_phase ? cands[i].on_entry : cands[i].on_back);
    };
    std::vector<std::size_t> violated;
    std::set<std::size_t> violated_loops;
    for (std::size_t i = 0; i < cands.size(); ++i) {
      if (!alive[i] || !is_broken(i)) continue;
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
  solver.add(assumedInvariant(c, cands, planInvariant(cands, alive, lo, lp), lo, lp));
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
