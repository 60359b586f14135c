#include "src/verify/check/loop_induction.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>

#include "loom/wasm/ir.hpp"
#include "src/verify/smt/model.hpp"

namespace loom::verify::check {

namespace {

struct Candidate {
  std::size_t loop = 0;
  std::vector<std::pair<unsigned, unsigned>> components;  // (original index, optimized index)
  bool mandatory = false;
  std::string name;
  smt::Expr on_entry;  // holds when both sides enter the loop
  smt::Expr on_back;   // holds when both sides take the back edge
};

smt::Expr holds(smt::Context& c, const Candidate& cand, const sem::State& a, const sem::State& b) {
  std::vector<smt::Expr> eqs;
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
  std::vector<std::size_t> members;                   // candidate indices
  std::vector<std::pair<bool, unsigned>> components;  // (optimized side?, index)
  std::optional<smt::Expr> outer;                     // the one earlier value, if any
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
    // A candidate with several components (the trace) is one unit.
    for (std::size_t i = 0; i < cands.size(); ++i) {
      if (!alive[i] || cands[i].loop != k) continue;
      const unsigned first = cands[i].components.front().first;
      for (auto [x, y] : cands[i].components) {
        uf.unite(x, n + y);
        uf.unite(x, first);
      }
    }
    std::map<std::size_t, ClassPlan> by_root;
    std::map<std::size_t, std::map<unsigned, smt::Expr>> outer;
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
smt::Expr assumedInvariant(smt::Context& c, const std::vector<Candidate>& cands,
                           const std::vector<std::vector<ClassPlan>>& plans,
                           const std::vector<sem::LoopInstance>& lo,
                           const std::vector<sem::LoopInstance>& lp) {
  std::vector<smt::Expr> out;
  for (std::size_t k = 0; k < lo.size(); ++k) {
    const sem::LoopInstance& a = lo[k];
    const sem::LoopInstance& b = lp[k];
    const smt::Expr entry_both = smt::mkAnd(c, {a.entry_pc, b.entry_pc});
    for (const ClassPlan& plan : plans[k]) {
      if (!plan.guarded) {
        for (std::size_t i : plan.members) out.push_back(holds(c, cands[i], a.head, b.head));
        continue;
      }
      std::vector<smt::Expr> at_entry{entry_both}, at_head;
      for (std::size_t i : plan.members) {
        at_entry.push_back(holds(c, cands[i], a.entry, b.entry));
        at_head.push_back(holds(c, cands[i], a.head, b.head));
      }
      out.push_back(smt::implies(smt::mkAnd(c, at_entry), smt::mkAnd(c, at_head)));
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
  Sampler(smt::Context& c, const std::vector<smt::Expr>& roots) : c_(c), rng_(0x10057ULL) {
    constants_ = smt::uninterpretedConstants(roots);
  }

  void setDeadline(std::chrono::steady_clock::time_point t) { deadline_ = t; }

  // One sample; nullopt if it violates an assumption, cannot be evaluated or
  // reaches the deadline.
  std::optional<std::vector<bool>> run(
      const std::vector<smt::Expr>& assumptions, const std::vector<Candidate>& cands,
      const std::vector<bool>& alive, const std::vector<std::vector<ClassPlan>>& plans,
      const std::vector<sem::LoopInstance>& lo, const std::vector<sem::LoopInstance>& lp,
      const sem::Environment& env, bool entry_phase, int iterations = 0) {
    try {
      return sample(assumptions, cands, alive, plans, lo, lp, env, entry_phase, iterations);
    } catch (const OutOfTime&) {
      return std::nullopt;
    }
  }

 private:
  // Thrown by evaluate() past the deadline: one sample of a loop with
  // hundreds of components makes thousands of evaluations, each substituting
  // and simplifying large terms (c-lz4's -Oz output: 70 s in one function
  // when the deadline was checked between samples only).
  struct OutOfTime {};

  std::optional<std::vector<bool>> sample(
      const std::vector<smt::Expr>& assumptions, const std::vector<Candidate>& cands,
      const std::vector<bool>& alive, const std::vector<std::vector<ClassPlan>>& plans,
      const std::vector<sem::LoopInstance>& lo, const std::vector<sem::LoopInstance>& lp,
      const sem::Environment& env, bool entry_phase, int iterations) {
    std::map<unsigned, smt::Expr> values;
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
      // Inputs the axioms pin down get a value that satisfies them.
      if (smt::sameTerm(k, env.pages0())) {
        values.emplace(k.id(), env.initialPagesValue());
      } else {
        values.emplace(k.id(), randomValue(k.sort()));
      }
    }
    if (iterations > 0) return iterate(assumptions, cands, alive, lo, lp, values, iterations);
    // Heads in loop order, so an inner head sees its outer loop's sample.
    // Equal components get equal values: a component fixed before the loop
    // passes its value on, guarded classes start from their entry values.
    for (std::size_t k = 0; k < lo.size(); ++k) {
      const sem::LoopInstance* side[2] = {&lo[k], &lp[k]};
      std::map<std::pair<int, unsigned>, smt::Expr> assigned;
      auto value_of = [&](int s, unsigned i) -> std::optional<smt::Expr> {
        const sem::LoopInstance& l = *side[s];
        if (!l.havocked[i]) return evaluate(l.head.at(i), values);
        auto it = assigned.find({s, i});
        if (it == assigned.end()) return std::nullopt;
        return it->second;
      };
      auto assign = [&](int s, unsigned i, const smt::Expr& v) {
        const sem::LoopInstance& l = *side[s];
        if (!l.havocked[i] || assigned.count({s, i})) return;
        assigned.emplace(std::make_pair(s, i), v);
        values.insert_or_assign(l.head.at(i).id(), v);
      };
      for (const ClassPlan& plan : plans[k]) {
        if (!plan.guarded) continue;
        for (auto [optimized, index] : plan.components) {
          const int s = optimized ? 1 : 0;
          assign(s, index, evaluate(side[s]->entry.at(index), values));
        }
      }
      for (int pass = 0; pass < 2; ++pass) {
        for (std::size_t i = 0; i < cands.size(); ++i) {
          if (!alive[i] || cands[i].loop != k) continue;
          for (auto [x, y] : cands[i].components) {
            auto vx = value_of(0, x);
            auto vy = value_of(1, y);
            if (vx && !vy) assign(1, y, *vx);
            if (vy && !vx) assign(0, x, *vy);
            if (!vx && !vy && pass == 1) {
              const smt::Expr v = randomValue(side[0]->head.at(x).sort());
              assign(0, x, v);
              assign(1, y, v);
            }
          }
        }
      }
      for (int s = 0; s < 2; ++s) {
        const sem::LoopInstance& l = *side[s];
        for (unsigned i = 0; i < l.head.v.size(); ++i) {
          if (l.havocked[i]) assign(s, i, randomValue(l.head.at(i).sort()));
        }
      }
    }
    for (const auto& a : assumptions) {
      if (!evaluate(a, values).isTrue()) return std::nullopt;
    }
    std::vector<bool> broken(cands.size(), false);
    for (std::size_t i = 0; i < cands.size(); ++i) {
      if (!alive[i]) continue;
      smt::Expr v = evaluate(entry_phase ? cands[i].on_entry : cands[i].on_back, values);
      if (v.isFalse()) broken[i] = true;
    }
    return broken;
  }

  // Real executions instead of arbitrary head states: a loop starts from
  // its entry state, inner loops run until they exit, and the loop moves on
  // to its back-edge state while it takes the back edge. Every head state
  // visited is one a real execution reaches and, as long as every
  // preservation obligation evaluated so far held, one that satisfies the
  // assumed invariant (the assumptions are evaluated again to be sure), so
  // what such a state breaks is really broken.
  std::optional<std::vector<bool>> iterate(const std::vector<smt::Expr>& assumptions,
                                           const std::vector<Candidate>& cands,
                                           const std::vector<bool>& alive,
                                           const std::vector<sem::LoopInstance>& lo,
                                           const std::vector<sem::LoopInstance>& lp,
                                           std::map<unsigned, smt::Expr>& values, int iterations) {
    std::vector<bool> broken(cands.size(), false);
    bool found = false;
    bool valid = true;
    std::function<void(std::size_t)> simulate = [&](std::size_t k) {
      auto set_heads = [&](bool back) {
        std::map<unsigned, smt::Expr> next;
        for (const sem::LoopInstance* l : {&lo[k], &lp[k]}) {
          for (unsigned i = 0; i < l->head.v.size(); ++i) {
            if (!l->havocked[i]) continue;
            const smt::Expr& source = back ? l->back->at(i) : l->entry.at(i);
            next.emplace(l->head.at(i).id(), evaluate(source, values));
          }
        }
        for (auto& [id, v] : next) values.insert_or_assign(id, v);
      };
      set_heads(false);
      for (int it = 0; it < iterations && !found && valid; ++it) {
        if (std::chrono::steady_clock::now() > deadline_) {
          valid = false;
          return;
        }
        for (std::size_t child = k + 1; child < lo.size(); ++child) {
          if (lo[child].parent == static_cast<int>(k)) simulate(child);
          if (found || !valid) return;
        }
        const bool back_o = evaluate(lo[k].back_pc, values).isTrue();
        const bool back_p = evaluate(lp[k].back_pc, values).isTrue();
        if (!back_o || !back_p || !lo[k].back || !lp[k].back) return;
        // Components once each, not whole obligations per candidate: the
        // candidates of a loop share every component of its back state.
        std::map<std::pair<int, unsigned>, smt::Expr> memo;
        auto component = [&](int s, unsigned i) {
          auto found_it = memo.find({s, i});
          if (found_it != memo.end()) return found_it->second;
          const sem::State& back = s == 0 ? *lo[k].back : *lp[k].back;
          return memo.emplace(std::make_pair(s, i), evaluate(back.at(i), values)).first->second;
        };
        for (std::size_t i = 0; i < cands.size(); ++i) {
          if (!alive[i] || cands[i].loop != k) continue;
          for (auto [x, y] : cands[i].components) {
            const smt::Expr a = component(0, x);
            const smt::Expr b = component(1, y);
            if (a.isNumeral() && b.isNumeral() && !smt::sameTerm(a, b)) broken[i] = found = true;
          }
        }
        if (found) {
          for (const auto& a : assumptions) {
            if (!evaluate(a, values).isTrue()) valid = false;
          }
          return;
        }
        set_heads(true);
      }
    };
    for (std::size_t k = 0; k < lo.size() && !found && valid; ++k) {
      if (lo[k].parent < 0) simulate(k);
    }
    if (!valid) return std::nullopt;
    return broken;
  }

  smt::Expr evaluate(const smt::Expr& e, const std::map<unsigned, smt::Expr>& values) {
    if (std::chrono::steady_clock::now() > deadline_) throw OutOfTime{};
    smt::ExprVector from(c_), to(c_);
    for (const auto& k : constants_) {
      auto it = values.find(k.id());
      if (it == values.end()) continue;
      from.push_back(k);
      to.push_back(it->second);
    }
    smt::Expr copy = e;
    return copy.substitute(from, to).simplify();
  }

  smt::Expr randomValue(const smt::Sort& s) {
    if (s.isBool()) return c_.boolVal(rng_() & 1);
    if (s.isBv()) {
      const unsigned w = s.bvSize();
      const std::uint64_t mask = w >= 64 ? ~0ULL : ((1ULL << w) - 1);
      static const std::uint64_t kSpecial[] = {0, 1, 2, 3, 7, 8, 100, ~0ULL, 0x80000000ULL};
      const std::uint64_t pick = rng_() % 4;
      std::uint64_t v = pick == 0   ? kSpecial[rng_() % std::size(kSpecial)]
                        : pick == 1 ? rng_() % 64
                                    : rng_();
      return c_.bvVal(static_cast<uint64_t>(v & mask), w);
    }
    if (s.isArray()) return smt::constArray(s.arrayDomain(), randomValue(s.arrayRange()));
    return c_.boolVal(false);
  }

  smt::Context& c_;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  std::mt19937_64 rng_;
  std::vector<smt::Expr> constants_;
};

}  // namespace

namespace {

// Candidate equalities for corresponding loops: every pair of same-typed
// components of which at least one is changed by the loop.
std::vector<Candidate> candidates(smt::Context& c, const Encoding& enc,
                                  const sem::StateLayout& layout) {
  std::vector<Candidate> cands;
  const auto& lo = enc.original->loops;
  const auto& lp = enc.optimized->loops;
  for (std::size_t k = 0; k < lo.size(); ++k) {
    const sem::LoopInstance& a = lo[k];
    const sem::LoopInstance& b = lp[k];
    auto add = [&](std::vector<std::pair<unsigned, unsigned>> comps, bool mandatory,
                   std::string name) {
      cands.push_back(Candidate{k, std::move(comps), mandatory, std::move(name), c.boolVal(true),
                                c.boolVal(true)});
    };
    const unsigned base = layout.localsBegin();
    for (unsigned i = 0; i < a.local_types.size(); ++i) {
      for (unsigned j = 0; j < b.local_types.size(); ++j) {
        if (a.local_types[i] != b.local_types[j]) continue;
        if (!smt::sameTerm(a.head.at(base + i).sort(), b.head.at(base + j).sort())) continue;
        if (!a.havocked[base + i] && !b.havocked[base + j]) continue;
        add({{base + i, base + j}}, false, fmt::format("local {} = local {}", i, j));
      }
    }
    for (unsigned slot = 0; slot < layout.globals.size(); ++slot) {
      if (!layout.globals[slot].compared() || !(a.havocked[slot] || b.havocked[slot])) continue;
      add({{slot, slot}}, false, "global " + layout.globals[slot].name);
    }
    for (unsigned i = layout.memory(); i < layout.traceCount(); ++i) {
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
  }
  return cands;
}

// Equalities between two havocked components only constrain fresh
// variables, so they can be built into the encoding: the optimized side
// reuses the original side's head variable (see SharedHeads).
SharedHeads sharedHeads(const std::vector<Candidate>& cands, const std::vector<bool>& alive,
                        const Encoding& enc) {
  SharedHeads shared;
  const auto& lo = enc.original->loops;
  const auto& lp = enc.optimized->loops;
  for (std::size_t k = 0; k < lo.size(); ++k) {
    const std::size_t n = lo[k].head.v.size();
    UnionFind uf(n + lp[k].head.v.size());
    for (std::size_t i = 0; i < cands.size(); ++i) {
      if (!alive[i] || cands[i].loop != k) continue;
      for (auto [x, y] : cands[i].components) {
        if (lo[k].havocked[x] && lp[k].havocked[y]) uf.unite(n + y, x);
      }
    }
    std::map<std::size_t, unsigned> original_of_class;
    for (unsigned x = 0; x < n; ++x) {
      if (lo[k].havocked[x]) original_of_class.try_emplace(uf.find(x), x);
    }
    for (unsigned y = 0; y < lp[k].head.v.size(); ++y) {
      if (!lp[k].havocked[y]) continue;
      auto it = original_of_class.find(uf.find(n + y));
      if (it != original_of_class.end()) shared[{static_cast<int>(k), y}] = it->second;
    }
  }
  return shared;
}

void setObligations(smt::Context& c, std::vector<Candidate>& cands, const Encoding& enc) {
  const auto& lo = enc.original->loops;
  const auto& lp = enc.optimized->loops;
  for (auto& cand : cands) {
    const sem::LoopInstance& a = lo[cand.loop];
    const sem::LoopInstance& b = lp[cand.loop];
    cand.on_entry =
        smt::implies(smt::mkAnd(c, {a.entry_pc, b.entry_pc}), holds(c, cand, a.entry, b.entry));
    cand.on_back = c.boolVal(true);
    if (a.back && b.back) {
      cand.on_back =
          smt::implies(smt::mkAnd(c, {a.back_pc, b.back_pc}), holds(c, cand, *a.back, *b.back));
    }
  }
}

bool sameLoopStructure(const Encoding& enc) {
  const auto& lo = enc.original->loops;
  const auto& lp = enc.optimized->loops;
  if (lo.size() != lp.size()) return false;
  for (std::size_t k = 0; k < lo.size(); ++k) {
    if (lo[k].parent != lp[k].parent) return false;
  }
  return true;
}

std::vector<smt::Expr> lockstepOf(const Encoding& enc) {
  std::vector<smt::Expr> out;
  for (std::size_t k = 0; k < enc.original->loops.size(); ++k) {
    out.push_back(enc.original->loops[k].entry_pc == enc.optimized->loops[k].entry_pc);
    out.push_back(enc.original->loops[k].back_pc == enc.optimized->loops[k].back_pc);
  }
  return out;
}

}  // namespace

namespace {

// Houdini from the candidates in `alive`, then the outcome under what is left.
InductionOutcome houdini(smt::Smt& smt, const Encoder& encode, const Encoding& first,
                         std::vector<Candidate>& cands, std::vector<bool> alive,
                         double* solver_seconds) {
  InductionOutcome out;
  smt::Context& c = smt.ctx();
  out.loops = static_cast<unsigned>(first.original->loops.size());

  // Each round re-encodes both sides with the current pure equalities built
  // in, then runs Houdini on it: drop candidates a sample or a model
  // violates until the rest is inductive. Entry obligations are settled
  // first, outer loops before inner ones, so that by the time preservation
  // is checked every guarded class of the assumed invariant holds on entry
  // and the guard cannot make a good candidate look broken.
  std::unique_ptr<Encoding> owned;
  const Encoding* enc = &first;
  SharedHeads shared_now;
  auto reencode = [&]() -> bool {
    SharedHeads shared = sharedHeads(cands, alive, first);
    if (shared == shared_now && enc) return true;
    owned = encode(shared);
    enc = owned.get();
    shared_now = std::move(shared);
    return sameLoopStructure(*enc) && enc->original->loops.size() == first.original->loops.size();
  };
  auto has_violated_ancestor = [&](std::size_t loop, const std::set<std::size_t>& loops) {
    const auto& lo = first.original->loops;
    for (int p = lo[loop].parent; p >= 0; p = lo[static_cast<std::size_t>(p)].parent) {
      if (loops.count(static_cast<std::size_t>(p))) return true;
    }
    return false;
  };
  auto fail = [&](std::string reason) {
    out.reason = std::move(reason);
    return out;
  };

  double sampling_seconds = 0;
  for (bool entry_phase = true;;) {
    ++out.rounds;
    if (!reencode()) return fail("loop structure changed when re-encoded");
    setObligations(c, cands, *enc);
    const auto& lo = enc->original->loops;
    const auto& lp = enc->optimized->loops;
    const auto plans = planInvariant(cands, alive, lo, lp);
    const smt::Expr assumed = assumedInvariant(c, cands, plans, lo, lp);
    smt::Solver solver(smt);
    for (const auto& a : enc->env->axioms()) solver.add(a);
    solver.add(assumed);

    // Samples first; Z3 only when they refute nothing.
    std::vector<bool> sampled_broken(cands.size(), false);
    bool sampled = false;
    const auto sample_start = std::chrono::steady_clock::now();
    {
      std::vector<smt::Expr> roots = solver.assertions();
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
      // Sampling is a shortcut, not a cost: it stops after a small share of
      // what is left of the budget.
      const double cap = std::min(
          {0.1, 0.1 * smt.budget().remainingShare(), std::max(0.0, 0.4 - sampling_seconds)});
      sampler.setDeadline(sample_start + std::chrono::microseconds(static_cast<long>(cap * 1e6)));
      for (int k = 0; k < 16 && !sampled; ++k) {
        if (std::chrono::duration<double>(std::chrono::steady_clock::now() - sample_start).count() >
            cap) {
          break;
        }
        const int iterations = !entry_phase && k < 8 ? 6 : 0;
        auto broken = sampler.run(solver.assertions(), cands, alive, plans, lo, lp, *enc->env,
                                  entry_phase, iterations);
        if (!broken) continue;
        for (std::size_t i = 0; i < cands.size(); ++i) {
          if ((*broken)[i]) {
            sampled_broken[i] = true;
            sampled = true;
          }
        }
      }
    }
    sampling_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - sample_start).count();
    std::optional<smt::ModelReader> model;
    if (!sampled) {
      // One query per loop, outer loops first, up to the first that finds a
      // broken candidate: a query over all loops at once bit-blasts every
      // loop's iteration together, and is often far harder than the sum of
      // its parts (a loop over memory next to one doing arithmetic).
      smt::CheckResult r = smt::CheckResult::Unsat;
      for (std::size_t k = 0; k < lo.size() && r == smt::CheckResult::Unsat; ++k) {
        std::vector<smt::Expr> broken;
        for (std::size_t i = 0; i < cands.size(); ++i) {
          const smt::Expr& holds_here = entry_phase ? cands[i].on_entry : cands[i].on_back;
          if (alive[i] && cands[i].loop == k && !smt::isTrue(holds_here))
            broken.push_back(smt::mkNot(holds_here));
        }
        if (broken.empty()) continue;
        solver.push();
        solver.add(smt::mkOr(c, broken));
        r = solver.check();
        if (r == smt::CheckResult::Sat) model.emplace(solver.model());
        solver.pop();
      }
      *solver_seconds += solver.seconds();
      if (r == smt::CheckResult::Unknown) {
        out.result = InductionOutcome::Result::Unknown;
        return fail("solver " + solver.lastReason() + " while inferring loop invariants");
      }
      if (r == smt::CheckResult::Unsat) {
        if (!entry_phase) break;
        entry_phase = false;
        continue;
      }
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
    if (blamed.empty()) return fail("invariant inference did not converge");
    for (std::size_t i : blamed) {
      if (cands[i].mandatory && optional_violated) continue;
      alive[i] = false;
      if (cands[i].mandatory) {
        return fail(fmt::format("the {} at loop {} is not preserved in lockstep", cands[i].name,
                                cands[i].loop));
      }
    }
    entry_phase = true;
  }
  for (bool a : alive) out.invariants += a ? 1 : 0;

  // The invariant is inductive; now the outcomes, with the loops in lockstep.
  if (!reencode()) return fail("loop structure changed when re-encoded");
  setObligations(c, cands, *enc);
  const auto& lo = enc->original->loops;
  const auto& lp = enc->optimized->loops;
  const std::vector<smt::Expr> lockstep = lockstepOf(*enc);
  smt::Solver solver(smt);
  for (const auto& a : enc->env->axioms()) solver.add(a);
  solver.add(assumedInvariant(c, cands, planInvariant(cands, alive, lo, lp), lo, lp));
  // Outcomes count only on paths that leave every loop: every terminating
  // execution, from the last visit of each head on, is one of them. A path
  // cut at a back edge has no outcome, and the joins that make the final
  // state give it whatever the last joined path had, which two bodies
  // ordered differently (block and br_if against if) do not share.
  std::vector<smt::Expr> leaves_every_loop;
  for (std::size_t k = 0; k < lo.size(); ++k) {
    leaves_every_loop.push_back(smt::mkNot(lo[k].back_pc));
    leaves_every_loop.push_back(smt::mkNot(lp[k].back_pc));
  }
  solver.add(!smt::mkAnd(c, lockstep) || (smt::mkAnd(c, leaves_every_loop) && enc->differs));
  const smt::CheckResult r = solver.check();
  *solver_seconds += solver.seconds();
  if (r == smt::CheckResult::Unsat) {
    out.result = InductionOutcome::Result::Proved;
    return out;
  }
  if (r == smt::CheckResult::Unknown) {
    out.result = InductionOutcome::Result::Unknown;
    return fail("solver " + solver.lastReason() + " under the inferred loop invariants");
  }
  smt::ModelReader m(solver.model());
  return fail(m.truth(smt::mkAnd(c, lockstep))
                  ? "the inferred loop invariants are too weak to show equal outcomes"
                  : "the loops do not iterate in lockstep");
}

}  // namespace

namespace {

// Which locals one loop of the original reads before writing them, in step
// with the optimized body to pair them. A write counts as done only where
// nothing can skip it, so a read it cannot vouch for is taken as a read of
// the head's value. Getting this wrong costs a proof attempt, never
// soundness: Houdini checks whatever it is given.
class HeadReads {
 public:
  explicit HeadReads(LoopGuide& out) : out_(out) {}

  void scan(BinaryenExpressionRef loop_a, BinaryenExpressionRef loop_b) {
    std::set<unsigned> written;
    walk(BinaryenLoopGetBody(loop_a), loop_b ? BinaryenLoopGetBody(loop_b) : nullptr, written);
  }

 private:
  void walk(BinaryenExpressionRef a, BinaryenExpressionRef b, std::set<unsigned>& written) {
    if (!a) return;
    if (b && wasm::kindOf(a) != wasm::kindOf(b)) b = nullptr;
    switch (wasm::kindOf(a)) {
      case wasm::ExprKind::LocalGet: {
        const unsigned local = BinaryenLocalGetGetIndex(a);
        if (written.count(local)) return;
        if (b) {
          out_.at_head.emplace(local, BinaryenLocalGetGetIndex(b));
        } else {
          out_.unsure.insert(local);
        }
        return;
      }
      case wasm::ExprKind::LocalSet:
        walk(BinaryenLocalSetGetValue(a), b ? BinaryenLocalSetGetValue(b) : nullptr, written);
        written.insert(BinaryenLocalSetGetIndex(a));
        return;
      case wasm::ExprKind::Block: {
        // A branch to a named block skips the rest of it.
        std::set<unsigned> inside = written;
        std::set<unsigned>& w = BinaryenBlockGetName(a) ? inside : written;
        const BinaryenIndex n = BinaryenBlockGetNumChildren(a);
        const bool lined_up = b && BinaryenBlockGetNumChildren(b) == n;
        for (BinaryenIndex i = 0; i < n; ++i)
          walk(BinaryenBlockGetChildAt(a, i), lined_up ? BinaryenBlockGetChildAt(b, i) : nullptr,
               w);
        return;
      }
      case wasm::ExprKind::If: {
        walk(BinaryenIfGetCondition(a), b ? BinaryenIfGetCondition(b) : nullptr, written);
        const bool has_else = BinaryenIfGetIfFalse(a) != nullptr;
        const bool lined_up = b && (BinaryenIfGetIfFalse(b) != nullptr) == has_else;
        std::set<unsigned> then_w = written, else_w = written;
        walk(BinaryenIfGetIfTrue(a), lined_up ? BinaryenIfGetIfTrue(b) : nullptr, then_w);
        walk(BinaryenIfGetIfFalse(a), lined_up ? BinaryenIfGetIfFalse(b) : nullptr, else_w);
        if (!has_else) return;
        for (unsigned local : then_w) {
          if (else_w.count(local)) written.insert(local);
        }
        return;
      }
      default:
        break;
    }
    // Operands are all evaluated, in order. Inside an inner loop or a kind
    // the C API cannot see into, what is written is not trusted afterwards.
    const auto ca = wasm::childrenOf(a);
    const auto cb = b ? wasm::childrenOf(b) : std::vector<BinaryenExpressionRef>{};
    const bool lined_up = ca.size() == cb.size();
    const bool trusted =
        wasm::isTransparent(wasm::kindOf(a)) && wasm::kindOf(a) != wasm::ExprKind::Loop;
    std::set<unsigned> inside = written;
    std::set<unsigned>& w = trusted ? written : inside;
    for (std::size_t i = 0; i < ca.size(); ++i) walk(ca[i], lined_up ? cb[i] : nullptr, w);
  }

  LoopGuide& out_;
};

// The locals live at each loop head of a function: read on some path from
// the head before being written, the paths that leave the loop included.
// Backward over the structured body; a loop's head is its own fixpoint.
class HeadLiveness {
 public:
  using Live = std::set<unsigned>;

  explicit HeadLiveness(BinaryenFunctionRef f) {
    const BinaryenIndex n =
        BinaryenTypeArity(BinaryenFunctionGetParams(f)) + BinaryenFunctionGetNumVars(f);
    for (unsigned i = 0; i < n; ++i) all_.insert(i);
    live(BinaryenFunctionGetBody(f), {});
  }

  std::map<BinaryenExpressionRef, Live> at_head;

 private:
  Live target(const char* name) const {
    const auto it = name ? labels_.find(name) : labels_.end();
    return it == labels_.end() ? all_ : it->second;
  }

  // A label's live set for the extent of `body`, then the one it shadowed.
  template <class Body>
  Live withLabel(const char* name, const Live& at_label, Body body) {
    if (!name) return body();
    std::optional<Live> shadowed;
    if (auto it = labels_.find(name); it != labels_.end()) shadowed = it->second;
    labels_[name] = at_label;
    Live out = body();
    if (shadowed) {
      labels_[name] = *shadowed;
    } else {
      labels_.erase(name);
    }
    return out;
  }

  Live live(BinaryenExpressionRef e, Live after) {
    if (!e) return after;
    switch (wasm::kindOf(e)) {
      case wasm::ExprKind::LocalGet:
        after.insert(BinaryenLocalGetGetIndex(e));
        return after;
      case wasm::ExprKind::LocalSet:
        after.erase(BinaryenLocalSetGetIndex(e));
        return live(BinaryenLocalSetGetValue(e), std::move(after));
      case wasm::ExprKind::Block:
        return withLabel(BinaryenBlockGetName(e), after, [&] {
          Live cur = after;
          for (BinaryenIndex i = BinaryenBlockGetNumChildren(e); i-- > 0;)
            cur = live(BinaryenBlockGetChildAt(e, i), std::move(cur));
          return cur;
        });
      case wasm::ExprKind::Loop: {
        Live head;
        for (;;) {
          Live next = withLabel(BinaryenLoopGetName(e), head,
                                [&] { return live(BinaryenLoopGetBody(e), after); });
          if (next == head) break;
          head = std::move(next);  // grows each round: a fixpoint within the locals
        }
        at_head[e] = head;
        return head;
      }
      case wasm::ExprKind::If: {
        Live arms = live(BinaryenIfGetIfTrue(e), after);
        const Live other = BinaryenIfGetIfFalse(e) ? live(BinaryenIfGetIfFalse(e), after) : after;
        arms.insert(other.begin(), other.end());
        return live(BinaryenIfGetCondition(e), std::move(arms));
      }
      case wasm::ExprKind::Break: {
        Live out = target(BinaryenBreakGetName(e));
        if (BinaryenBreakGetCondition(e)) out.insert(after.begin(), after.end());
        out = live(BinaryenBreakGetCondition(e), std::move(out));
        return live(BinaryenBreakGetValue(e), std::move(out));
      }
      case wasm::ExprKind::Switch: {
        Live out = target(BinaryenSwitchGetDefaultName(e));
        for (BinaryenIndex i = 0, n = BinaryenSwitchGetNumNames(e); i < n; ++i) {
          const Live t = target(BinaryenSwitchGetNameAt(e, i));
          out.insert(t.begin(), t.end());
        }
        out = live(BinaryenSwitchGetCondition(e), std::move(out));
        return live(BinaryenSwitchGetValue(e), std::move(out));
      }
      case wasm::ExprKind::Return:
      case wasm::ExprKind::Unreachable:
        after.clear();
        break;
      case wasm::ExprKind::Try:
      case wasm::ExprKind::Throw:
      case wasm::ExprKind::Rethrow:
        after = all_;  // control may go to a handler anywhere
        break;
      default:
        if (!wasm::isTransparent(wasm::kindOf(e))) after = all_;
        break;
    }
    const auto children = wasm::childrenOf(e);
    for (auto it = children.rbegin(); it != children.rend(); ++it)
      after = live(*it, std::move(after));
    return after;
  }

  Live all_;
  std::map<std::string, Live> labels_;
};

}  // namespace

LocalGuide correspondingLocals(BinaryenFunctionRef original, BinaryenFunctionRef optimized) {
  LocalGuide out;
  struct Item {
    BinaryenExpressionRef a, b;
    std::vector<BinaryenExpressionRef> loops;  // the original's loops around a
  };
  std::vector<Item> work = {
      {BinaryenFunctionGetBody(original), BinaryenFunctionGetBody(optimized), {}}};
  auto met = [&](const std::vector<BinaryenExpressionRef>& loops, unsigned i, unsigned j) {
    out.everywhere.emplace(i, j);
    for (BinaryenExpressionRef loop : loops) out.in_loop[loop].met.emplace(i, j);
  };
  while (!work.empty()) {
    Item item = std::move(work.back());
    work.pop_back();
    const auto [a, b] = std::pair{item.a, item.b};
    if (!a || !b || wasm::kindOf(a) != wasm::kindOf(b)) continue;
    if (wasm::kindOf(a) == wasm::ExprKind::LocalGet)
      met(item.loops, BinaryenLocalGetGetIndex(a), BinaryenLocalGetGetIndex(b));
    if (wasm::kindOf(a) == wasm::ExprKind::LocalSet)
      met(item.loops, BinaryenLocalSetGetIndex(a), BinaryenLocalSetGetIndex(b));
    if (wasm::kindOf(a) == wasm::ExprKind::Loop) {
      item.loops.push_back(a);
      HeadReads(out.in_loop[a]).scan(a, b);
    }
    const auto ca = wasm::childrenOf(a);
    const auto cb = wasm::childrenOf(b);
    for (std::size_t i = 0; i < std::min(ca.size(), cb.size()); ++i)
      work.push_back({ca[i], cb[i], item.loops});
  }
  HeadLiveness liveness(original);
  for (auto& [loop, guide] : out.in_loop) {
    const auto it = liveness.at_head.find(loop);
    if (it != liveness.at_head.end()) guide.live = it->second;
  }
  return out;
}

InductionOutcome proveByInduction(smt::Smt& smt, const Encoder& encode, const Encoding& first,
                                  const sem::StateLayout& layout, double* solver_seconds,
                                  const LocalGuide& guide) {
  if (!sameLoopStructure(first)) {
    InductionOutcome out;
    out.loops = static_cast<unsigned>(first.original->loops.size());
    out.reason = first.original->loops.size() != first.optimized->loops.size()
                     ? fmt::format("loop structures differ ({} loops against {})",
                                   first.original->loops.size(), first.optimized->loops.size())
                     : "loop nesting differs";
    return out;
  }
  std::vector<Candidate> cands = candidates(smt.ctx(), first, layout);
  // A pass mostly leaves each local where it was (or renumbers it, which
  // `guide` says), so the invariant that every component equals its
  // counterpart is tried first: with far fewer candidates every query is
  // smaller, and on large loops that is often what lets Houdini finish at
  // all. All pairs are tried after it.
  const auto& loops = first.original->loops;
  std::vector<const LoopGuide*> guide_at(loops.size(), nullptr);
  for (std::size_t k = 0; k < loops.size(); ++k) {
    // Only the checked function's own loops are in the guide; an inlined
    // callee's locals are its own.
    const auto it = guide.in_loop.find(loops[k].expr);
    if (loops[k].depth == 0 && it != guide.in_loop.end()) guide_at[k] = &it->second;
  }
  auto firsts = [](const LocalPairs& pairs) {
    std::set<unsigned> out;
    for (const auto& [i, j] : pairs) out.insert(i);
    return out;
  };
  const std::set<unsigned> met_anywhere = firsts(guide.everywhere);
  std::vector<std::set<unsigned>> met_in(loops.size()), read_at_head(loops.size());
  for (std::size_t k = 0; k < loops.size(); ++k) {
    if (!guide_at[k]) continue;
    met_in[k] = firsts(guide_at[k]->met);
    read_at_head[k] = firsts(guide_at[k]->at_head);
  }
  // Whether local a of the original may equal local b of the optimized at
  // loop k's head, as far as the guide knows.
  auto paired = [&](std::size_t k, unsigned a, unsigned b) {
    if (loops[k].depth > 0) return a == b;
    const LoopGuide* g = guide_at[k];
    if (!g) return met_anywhere.count(a) ? guide.everywhere.count({a, b}) > 0 : a == b;
    if (!g->live.count(a)) return false;  // dead at the head
    if (read_at_head[k].count(a) && !g->unsure.count(a)) return g->at_head.count({a, b}) > 0;
    // Live only through the loop's exits, or read where the bodies differ.
    return met_anywhere.count(a) ? guide.everywhere.count({a, b}) > 0 : a == b;
  };
  const unsigned base = layout.localsBegin();
  std::vector<bool> identity(cands.size());
  for (std::size_t i = 0; i < cands.size(); ++i) {
    identity[i] =
        std::all_of(cands[i].components.begin(), cands[i].components.end(), [&](const auto& xy) {
          if (xy.first < base || xy.second < base) return xy.first == xy.second;
          return paired(cands[i].loop, xy.first - base, xy.second - base);
        });
  }
  unsigned rounds = 0;
  if (std::find(identity.begin(), identity.end(), false) != identity.end()) {
    InductionOutcome first_try = houdini(smt, encode, first, cands, identity, solver_seconds);
    if (first_try.result == InductionOutcome::Result::Proved) return first_try;
    rounds = first_try.rounds;
  }
  InductionOutcome out =
      houdini(smt, encode, first, cands, std::vector<bool>(cands.size(), true), solver_seconds);
  out.rounds += rounds;
  return out;
}

}  // namespace loom::verify::check
