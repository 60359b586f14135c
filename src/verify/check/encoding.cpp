#include "src/verify/check/encoding.hpp"

#include <fmt/format.h>

namespace loom::verify::check {

using sem::Side;

namespace {

// Immutable and effectively constant globals start at their initializer;
// everything else is an arbitrary value shared by both sides.
void initialGlobals(sem::Environment& env, const Correspondence& c) {
  const sem::StateLayout& layout = c.layout();
  smt::Context& ctx = env.smt().ctx();
  for (unsigned slot = 0; slot < layout.globals.size(); ++slot) {
    const sem::GlobalSlot& s = layout.globals[slot];
    if (!s.constant) continue;
    const sem::GlobalInfo* g =
        s.present[0] ? c.original().global(s.name) : c.optimized().global(s.name);
    if (!g || g->imported) continue;
    if (g->init_bits) {
      env.setGlobal0(slot, ctx.bvVal(static_cast<uint64_t>(*g->init_bits), sem::widthOf(s.type)));
    } else if (g->init_global) {
      auto other = layout.slot(s.present[0] ? Side::Original : Side::Optimized, *g->init_global);
      if (other) env.setGlobal0(slot, env.global0(*other));
    }
  }
}

}  // namespace

std::unique_ptr<Encoding> encodePair(smt::Smt& smt, const Correspondence& c,
                                     const FunctionPair& pair, const sem::ExecOptions& options,
                                     const SharedHeads& shared) {
  smt::Context& ctx = smt.ctx();
  const sem::FunctionInfo& of = *c.original().function(pair.original);
  const sem::FunctionInfo& pf = *c.optimized().function(pair.optimized);
  const sem::MemoryInfo& mem = c.original().memory();

  auto enc = std::unique_ptr<Encoding>(
      new Encoding{std::make_unique<sem::Environment>(smt, c.layout(), of.params, mem.initial_pages,
                                                      mem.present ? mem.max_pages : 0),
                   std::nullopt,
                   std::nullopt,
                   {},
                   smt.freshBv("witness", 32),
                   ctx.boolVal(true),
                   ctx.boolVal(false)});
  initialGlobals(*enc->env, c);

  Resolver resolver(c, options.inline_depth);
  if (options.abstract_recursion) resolver.abstractCalls(pair.original, pair.optimized);
  {
    sem::Executor ex(*enc->env, c.original(), Side::Original, resolver, options);
    enc->original = ex.run(of, enc->env->params());
  }
  {
    sem::ExecOptions p_options = options;
    if (!shared.empty()) {
      const auto& loops = enc->original->loops;
      p_options.head_value = [&](int loop, unsigned component) -> std::optional<smt::Expr> {
        auto it = shared.find({loop, component});
        if (it == shared.end() || static_cast<std::size_t>(loop) >= loops.size())
          return std::nullopt;
        const sem::LoopInstance& l = loops[static_cast<std::size_t>(loop)];
        if (it->second >= l.head.v.size() || !l.havocked[it->second]) return std::nullopt;
        return l.head.at(it->second);
      };
    }
    sem::Executor ex(*enc->env, c.optimized(), Side::Optimized, resolver, p_options);
    enc->optimized = ex.run(pf, enc->env->params());
  }

  const sem::SideOutcome& o = *enc->original;
  const sem::SideOutcome& p = *enc->optimized;
  const sem::StateLayout& layout = c.layout();
  auto add = [&](std::string what, smt::Expr differs, bool replayable = true) {
    if (!differs.isFalse()) {
      enc->parts.push_back(DiffPart{std::move(what), std::move(differs), replayable});
    }
  };
  add("outcome", o.returned != p.returned);
  for (std::size_t k = 0; k < std::min(o.results.size(), p.results.size()); ++k) {
    add("result", o.returned && p.returned && o.results[k] != p.results[k]);
  }
  const sem::State& so = o.final_state;
  const sem::State& sp = p.final_state;
  if (!smt::sameTerm(so.at(layout.memory()), sp.at(layout.memory()))) {
    add("memory", smt::select(so.at(layout.memory()), enc->memory_witness) !=
                      smt::select(sp.at(layout.memory()), enc->memory_witness));
  }
  if (!smt::sameTerm(so.at(layout.pages()), sp.at(layout.pages()))) {
    add("memory size", so.at(layout.pages()) != sp.at(layout.pages()));
  }
  // Tables and drop flags are compared like memory, at the one free index.
  for (unsigned t = 0; t < layout.tables.size(); ++t) {
    if (!layout.tables[t].compared()) continue;
    const unsigned contents = layout.tableContents(t), size = layout.tableSize(t);
    if (!smt::sameTerm(so.at(contents), sp.at(contents))) {
      add("table " + layout.tables[t].name,
          smt::select(so.at(contents), enc->memory_witness) !=
              smt::select(sp.at(contents), enc->memory_witness),
          false);
    }
    if (!smt::sameTerm(so.at(size), sp.at(size))) {
      add("size of table " + layout.tables[t].name, so.at(size) != sp.at(size), false);
    }
  }
  if (!smt::sameTerm(so.at(layout.dropped()), sp.at(layout.dropped()))) {
    add("dropped data segments",
        smt::select(so.at(layout.dropped()), enc->memory_witness) !=
            smt::select(sp.at(layout.dropped()), enc->memory_witness),
        false);
  }
  for (unsigned slot = 0; slot < layout.globals.size(); ++slot) {
    if (!layout.globals[slot].compared()) continue;
    if (smt::sameTerm(so.at(slot), sp.at(slot))) continue;
    add("global " + layout.globals[slot].name, so.at(slot) != sp.at(slot),
        !c.guessedPairing(layout.globals[slot]));
  }
  std::vector<smt::Expr> calls_differ, state_differs;
  for (unsigned i = layout.traceCount(); i < layout.localsBegin(); ++i) {
    if (smt::sameTerm(so.at(i), sp.at(i))) continue;
    const bool call_itself = i < layout.traceMemory();  // count, callee, arguments
    (call_itself ? calls_differ : state_differs).push_back(so.at(i) != sp.at(i));
  }
  add("calls", smt::mkOr(ctx, calls_differ));
  add("state at calls", smt::mkOr(ctx, state_differs), false);

  enc->within_bound = smt::mkAnd(ctx, {smt::mkNot(o.exceeded), smt::mkNot(p.exceeded)});
  std::vector<smt::Expr> any;
  for (const auto& part : enc->parts) any.push_back(part.differs);
  enc->differs = smt::mkAnd(ctx, {enc->within_bound, smt::mkOr(ctx, any)});
  return enc;
}

}  // namespace loom::verify::check
