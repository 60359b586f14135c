#include "src/verify/check/counterexample.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "src/verify/check/module_checks.hpp"
#include "src/verify/smt/floating.hpp"
#include "src/verify/smt/model.hpp"

namespace loom::verify::check {

namespace {

using sem::Side;

// Node allocates real memory for the pages a replay asks for.
constexpr std::uint64_t kReplayPageCap = 1024;

struct Context {
  smt::Smt& smt;
  smt::Context& c;
  const Encoding& enc;
  const Correspondence& corr;
  const FunctionPair& pair;
  const sem::StateLayout& layout;
  const sem::MemoryInfo& memory;
};

// The module's initial byte at `address`. An if-then-else chain rather than
// a constant array: equalities between arrays built from constant arrays
// leave Z3's array theory incomplete ("unknown").
std::optional<smt::Expr> imageByte(Context& x, const smt::Expr& address) {
  const auto image = initialImage(x.memory);
  if (image.size() > 65536) return std::nullopt;
  smt::Expr byte = x.c.bvVal(0, 8);
  for (auto it = image.rbegin(); it != image.rend(); ++it) {
    byte = smt::ite(address == x.c.bvVal(it->first, 32), x.c.bvVal(it->second, 8), byte);
  }
  return byte;
}

std::vector<smt::Expr> loadedBytes(Context& x) {
  std::vector<smt::Expr> out;
  for (const auto* s : {&*x.enc.original, &*x.enc.optimized}) {
    for (const auto& load : s->loads) {
      for (unsigned k = 0; k < load.bytes; ++k) {
        out.push_back(load.address.extract(31, 0) + x.c.bvVal(k, 32));
      }
    }
  }
  return out;
}

smt::Expr isNaNBits(const smt::Expr& bits) {
  return smt::fpIsNaN(smt::bitsToFp(bits));
}

smt::Expr canonicalNaN(smt::Context& c, unsigned width) {
  return c.bvVal(static_cast<uint64_t>(smt::quietNanMask(width)), width);
}

// Float values that cross the JavaScript boundary lose NaN payloads.
smt::Expr jsSafeFloat(smt::Context& c, const smt::Expr& bits, bool allow_nan) {
  const unsigned w = bits.sort().bvSize();
  if (!allow_nan) return !isNaNBits(bits);
  return smt::implies(isNaNBits(bits), bits == canonicalNaN(c, w));
}

std::vector<const sem::SideOutcome*> sides(const Encoding& enc) {
  return {&*enc.original, &*enc.optimized};
}

// A fresh instance, as a replay starts from: no data segment is dropped
// and every table slot the executions read holds its segments' image.
std::vector<smt::Expr> freshInstance(Context& x) {
  std::vector<smt::Expr> out;
  const sem::Environment& env = *x.enc.env;
  for (unsigned k = 0; k < x.layout.data_segments; ++k) {
    out.push_back(smt::mkNot(smt::select(env.dropped0(), x.c.bvVal(k, 32))));
  }
  for (unsigned t = 0; t < x.layout.tables.size(); ++t) {
    const sem::TableSlot& slot = x.layout.tables[t];
    if (slot.fixed) continue;  // read from the segments' image, never from the state
    const sem::TableInfo* info[2] = {x.corr.original().table(slot.name),
                                     x.corr.optimized().table(slot.name)};
    // The entry contents as an if-then-else chain over the slots, per side
    // (constant arrays would leave the array theory incomplete).
    std::vector<std::vector<std::uint32_t>> images;
    bool known = true;
    for (Side side : {Side::Original, Side::Optimized}) {
      const sem::TableInfo* ti = info[sem::sideIndex(side)];
      if (!ti) continue;
      if (ti->imported || !ti->exact || !ti->base.empty()) {
        known = false;
        continue;
      }
      std::vector<std::uint32_t> image(ti->slots.size(), 0);
      for (std::size_t k = 0; k < ti->slots.size(); ++k) {
        if (ti->slots[k])
          image[k] = static_cast<std::uint32_t>(x.corr.referenceKey(side, *ti->slots[k]));
      }
      images.push_back(std::move(image));
      out.push_back(env.tableSize0(t) == x.c.bvVal(ti->initial, 32));
    }
    // The two instances must start from one table for a replay to mean anything.
    if (!known || (images.size() == 2 && images[0] != images[1])) {
      bool read = false;
      for (const auto* s : sides(x.enc)) {
        for (const auto& r : s->table_reads) read = read || r.table == t;
      }
      if (read) out.push_back(x.c.boolVal(false));
      continue;
    }
    if (images.empty()) continue;
    for (const auto* s : sides(x.enc)) {
      for (const auto& r : s->table_reads) {
        if (r.table != t) continue;
        smt::Expr value = x.c.bvVal(0, 32);
        for (std::size_t k = images[0].size(); k-- > 0;) {
          if (images[0][k] == 0) continue;
          value = smt::ite(r.index == x.c.bvVal(k, 32), x.c.bvVal(images[0][k], 32), value);
        }
        out.push_back(smt::select(env.table0(t), r.index) == value);
      }
    }
  }
  return out;
}

std::vector<smt::Expr> replayConstraints(Context& x, int tier) {
  std::vector<smt::Expr> out;
  const sem::Environment& env = *x.enc.env;
  out.push_back(env.replayable());
  std::vector<smt::Expr> visible;
  for (const auto& part : x.enc.parts) {
    if (part.replayable) visible.push_back(part.differs);
  }
  out.push_back(smt::mkOr(x.c, visible));
  out.push_back(x.enc.within_bound);
  for (const auto* s : sides(x.enc)) out.push_back(smt::mkNot(s->abstracted));
  const bool allow_nan = tier > 0;
  // scripts/wasm-run.mjs passes and returns numbers only: a v128 or a
  // reference crossing the boundary, or a host call with several results,
  // cannot be replayed, so nothing is refuted through them.
  auto numeric = [](const std::vector<sem::ValType>& types) {
    return std::all_of(types.begin(), types.end(), [](sem::ValType t) {
      return t != sem::ValType::V128 && !sem::isRef(t) && t != sem::ValType::Tuple;
    });
  };
  bool crosses = !numeric(env.paramTypes());
  for (Side side : {Side::Original, Side::Optimized}) {
    const sem::FunctionInfo* f =
        x.corr.module(side).function(side == Side::Original ? x.pair.original : x.pair.optimized);
    if (f && !numeric(f->results)) crosses = true;
  }
  for (const auto* s : sides(x.enc)) {
    for (const auto& ev : s->events) {
      if (ev.internal) continue;
      if (!numeric(ev.arg_types) || !numeric(ev.result_types) || ev.result_types.size() > 1)
        out.push_back(smt::mkNot(ev.pc));
    }
  }
  if (crosses) out.push_back(x.c.boolVal(false));
  for (auto& e : freshInstance(x)) out.push_back(std::move(e));
  for (std::size_t i = 0; i < env.params().size(); ++i) {
    if (sem::isFloat(env.paramTypes()[i]))
      out.push_back(jsSafeFloat(x.c, env.params()[i], allow_nan));
  }
  for (unsigned slot = 0; slot < x.layout.globals.size(); ++slot) {
    const auto& g = x.layout.globals[slot];
    if (!g.constant && sem::isFloat(g.type))
      out.push_back(jsSafeFloat(x.c, env.global0(slot), allow_nan));
    // A global paired only by a guess from the order of unnamed globals: any
    // other value of it may be reachable on one side only, so the replay
    // starts where both sides certainly agree, from its initial value.
    if (!g.constant && x.corr.guessedPairing(g)) {
      const sem::GlobalInfo* info =
          g.present[0] ? x.corr.original().global(g.name) : x.corr.optimized().global(g.name);
      if (info && info->init_bits) {
        out.push_back(env.global0(slot) ==
                      x.c.bvVal(static_cast<uint64_t>(*info->init_bits), sem::widthOf(g.type)));
      }
    }
  }
  for (const auto* s : sides(x.enc)) {
    for (const auto& ev : s->events) {
      if (ev.internal || ev.result_types.empty() || !sem::isFloat(ev.result_types[0])) continue;
      smt::Expr r = const_cast<sem::Environment&>(env).eventResult(0, ev.index, ev.result_types[0]);
      out.push_back(smt::implies(ev.pc, jsSafeFloat(x.c, r, allow_nan)));
    }
  }
  if (x.memory.present) {
    const std::uint64_t cap = std::min<std::uint64_t>(x.memory.max_pages, kReplayPageCap);
    if (tier == 0) {
      out.push_back(env.pages0() == x.c.bvVal(static_cast<uint64_t>(x.memory.initial_pages), 32));
    } else {
      out.push_back(smt::ule(env.pages0(), x.c.bvVal(static_cast<uint64_t>(cap), 32)));
    }
    for (const auto* s : sides(x.enc)) {
      for (const auto& g : s->grows) {
        out.push_back(smt::implies(
            g.pc && g.succeeded, smt::ule(g.new_pages, x.c.bvVal(static_cast<uint64_t>(cap), 32))));
      }
    }
    // Bytes nobody reads are whatever the data segments put there. The only
    // unread byte a difference can show is the one final memories are
    // compared at.
    bool unbounded = false;
    for (const auto* s : sides(x.enc)) unbounded = unbounded || s->unbounded_reads;
    const smt::Expr& w = x.enc.memory_witness;
    if (auto initial = imageByte(x, w); initial && !unbounded) {
      std::vector<smt::Expr> unread;
      for (const auto& a : loadedBytes(x)) unread.push_back(w != a);
      out.push_back(
          smt::implies(smt::mkAnd(x.c, unread), smt::select(env.memory0(), w) == *initial));
    }
  }
  return out;
}

struct ObservedEvent {
  std::string callee;
  std::vector<std::string> args;
  std::vector<sem::ValType> result_types;
  bool internal = false;
};

std::map<std::uint64_t, ObservedEvent> observedEvents(const smt::ModelReader& m,
                                                      const sem::SideOutcome& s) {
  std::map<std::uint64_t, ObservedEvent> out;
  for (const auto& ev : s.events) {
    if (!m.truth(ev.pc)) continue;
    ObservedEvent o;
    o.callee = ev.callee;
    o.internal = ev.internal;
    o.result_types = ev.result_types;
    for (std::size_t k = 0; k < ev.args.size(); ++k) {
      o.args.push_back(smt::formatValue(sem::typeName(ev.arg_types[k]), m.bitsOr(ev.args[k], 0)));
    }
    out[m.bitsOr(ev.index, 0)] = std::move(o);
  }
  return out;
}

std::string describe(Context& x, const smt::ModelReader& m, Side side) {
  const sem::SideOutcome& s = x.enc.side(side);
  const sem::FunctionInfo& f =
      *x.corr.module(side).function(side == Side::Original ? x.pair.original : x.pair.optimized);
  std::string text;
  if (m.truth(s.returned)) {
    text = "returns";
    for (std::size_t k = 0; k < s.results.size(); ++k) {
      const std::string t = sem::typeName(f.results[k]);
      text += fmt::format(" {} {}", t, smt::formatValue(t, m.bitsOr(s.results[k], 0)));
    }
  } else if (m.truth(s.trapped)) {
    text = "traps";
  } else {
    text = "runs past the loop bound";
  }
  const std::uint64_t count = m.bitsOr(s.final_state.at(x.layout.traceCount()), 0);
  if (count > 0) {
    auto events = observedEvents(m, s);
    std::vector<std::string> calls;
    for (const auto& [index, ev] : events) {
      if (index >= count || calls.size() >= 6) continue;
      calls.push_back(fmt::format("{}({})", ev.callee, fmt::join(ev.args, ", ")));
    }
    text += fmt::format(" after calling {}", fmt::join(calls, ", "));
  }
  for (const auto& part : x.enc.parts) {
    if (!m.truth(part.differs)) continue;
    if (part.what == "memory") {
      const std::uint64_t w = m.bitsOr(x.enc.memory_witness, 0);
      const smt::Expr byte = smt::select(s.final_state.at(x.layout.memory()), x.enc.memory_witness);
      text += fmt::format(", leaving byte 0x{:02x} at address {}", m.bitsOr(byte, 0), w);
    } else if (part.what.rfind("global ", 0) == 0) {
      auto slot = x.layout.slot(side, part.what.substr(7));
      if (slot) {
        const std::string t = sem::typeName(x.layout.globals[*slot].type);
        text += fmt::format(", leaving {} = {}", part.what,
                            smt::formatValue(t, m.bitsOr(s.final_state.at(*slot), 0)));
      }
    } else if (part.what == "memory size") {
      text += fmt::format(", leaving {} pages", m.bitsOr(s.final_state.at(x.layout.pages()), 0));
    }
  }
  return text;
}

Counterexample build(Context& x, const smt::ModelReader& m, std::size_t* import_count) {
  const sem::Environment& env = *x.enc.env;
  Counterexample cex;
  cex.function = x.pair.label;
  for (std::size_t i = 0; i < env.params().size(); ++i) {
    const std::string t = sem::typeName(env.paramTypes()[i]);
    cex.arguments.push_back(TypedValue{t, smt::formatValue(t, m.bitsOr(env.params()[i], 0))});
  }
  if (x.memory.present) {
    cex.memory_pages = m.bitsOr(env.pages0(), x.memory.initial_pages);
    const auto image = initialImage(x.memory);
    const std::uint64_t size = cex.memory_pages * 65536;
    for (const auto* s : sides(x.enc)) {
      for (const auto& load : s->loads) {
        const std::uint64_t a = m.bitsOr(load.address, ~0ULL);
        if (a + load.bytes > size) continue;
        for (unsigned k = 0; k < load.bytes; ++k) {
          const auto addr = static_cast<std::uint32_t>(a + k);
          const auto byte = static_cast<std::uint8_t>(
              m.bitsOr(smt::select(env.memory0(), x.c.bvVal(addr, 32)), 0));
          auto it = image.find(addr);
          const std::uint8_t initial = it == image.end() ? 0 : it->second;
          if (byte != initial) cex.memory[addr] = byte;
        }
      }
    }
  }
  for (unsigned slot = 0; slot < x.layout.globals.size(); ++slot) {
    const auto& g = x.layout.globals[slot];
    if (g.constant || !g.is_mutable || !g.present[0]) continue;
    const std::string t = sem::typeName(g.type);
    cex.globals[g.name] = TypedValue{t, smt::formatValue(t, m.bitsOr(env.global0(slot), 0))};
  }
  std::uint64_t count = 0;
  std::map<std::uint64_t, ObservedEvent> events;
  for (Side side : {Side::Original, Side::Optimized}) {
    const sem::SideOutcome& s = x.enc.side(side);
    count = std::max(count, m.bitsOr(s.final_state.at(x.layout.traceCount()), 0));
    for (auto& [index, ev] : observedEvents(m, s)) events.try_emplace(index, ev);
  }
  for (std::uint64_t i = 0; i < count; ++i) {
    std::vector<TypedValue> results;
    auto it = events.find(i);
    if (it != events.end() && !it->second.result_types.empty()) {
      const sem::ValType rt = it->second.result_types[0];
      const std::string t = sem::typeName(rt);
      smt::Expr r = const_cast<sem::Environment&>(env).eventResult(0, x.c.bvVal(i, 32), rt);
      results.push_back(TypedValue{t, smt::formatValue(t, m.bitsOr(r, 0))});
    }
    cex.import_results.push_back(std::move(results));
  }
  *import_count = count;
  cex.original_outcome = describe(x, m, Side::Original);
  cex.optimized_outcome = describe(x, m, Side::Optimized);
  return cex;
}

std::uint64_t parseBits(const TypedValue& v) {
  if (v.value.rfind("bits:", 0) == 0) return std::stoull(v.value.substr(5), nullptr, 16);
  if (v.type == "i32") return static_cast<std::uint32_t>(std::stoll(v.value));
  return static_cast<std::uint64_t>(std::stoll(v.value));
}

// With every replayed input fixed, can any NaN choice make the sides agree?
smt::CheckResult confirm(Context& x, smt::Solver& solver, const Counterexample& cex,
                         std::size_t import_count, const smt::ModelReader& model) {
  const auto witness = static_cast<std::uint32_t>(model.bitsOr(x.enc.memory_witness, 0));
  sem::Environment& env = *x.enc.env;
  std::vector<smt::Expr> fixed{env.replayable()};
  for (auto& e : freshInstance(x)) fixed.push_back(std::move(e));
  for (std::size_t i = 0; i < env.params().size(); ++i) {
    fixed.push_back(env.params()[i] == x.c.bvVal(static_cast<uint64_t>(parseBits(cex.arguments[i])),
                                                 sem::widthOf(env.paramTypes()[i])));
  }
  if (x.memory.present) {
    // Memory is pinned where the executions read it and where final
    // memories are compared (at the model's witness address).
    fixed.push_back(env.pages0() == x.c.bvVal(static_cast<uint64_t>(cex.memory_pages), 32));
    fixed.push_back(x.enc.memory_witness == x.c.bvVal(static_cast<uint64_t>(witness), 32));
    std::vector<std::uint32_t> addresses{witness};
    for (const auto& a : loadedBytes(x)) {
      addresses.push_back(static_cast<std::uint32_t>(model.bitsOr(a, 0)));
    }
    for (std::uint32_t addr : addresses) {
      const smt::Expr a = x.c.bvVal(addr, 32);
      std::optional<smt::Expr> byte;
      if (auto it = cex.memory.find(addr); it != cex.memory.end()) {
        byte = x.c.bvVal(it->second, 8);
      } else {
        byte = imageByte(x, a);
      }
      if (byte) fixed.push_back(smt::select(env.memory0(), a) == byte->simplify());
    }
  }
  for (unsigned slot = 0; slot < x.layout.globals.size(); ++slot) {
    const auto& g = x.layout.globals[slot];
    if (g.constant) continue;
    std::optional<std::uint64_t> value;
    if (auto it = cex.globals.find(g.name); it != cex.globals.end() && g.present[0]) {
      value = parseBits(it->second);
    } else {
      const sem::GlobalInfo* info =
          g.present[0] ? x.corr.original().global(g.name) : x.corr.optimized().global(g.name);
      if (info) value = info->init_bits;
    }
    if (value) {
      fixed.push_back(env.global0(slot) ==
                      x.c.bvVal(static_cast<uint64_t>(*value), sem::widthOf(g.type)));
    }
  }
  std::size_t sites = 0;
  for (const auto* s : sides(x.enc)) sites = std::max(sites, s->events.size());
  for (std::size_t i = 0; i < std::max(sites, import_count); ++i) {
    smt::Expr r = env.eventResult(0, x.c.bvVal(static_cast<uint64_t>(i), 32), sem::ValType::I64);
    std::uint64_t v = 0;
    if (i < cex.import_results.size() && !cex.import_results[i].empty()) {
      v = parseBits(cex.import_results[i][0]);
      if (cex.import_results[i][0].type == "i32") {
        // The replay passes an i32; only the low half is ever read.
        r = r.extract(31, 0);
        fixed.push_back(r == x.c.bvVal(static_cast<uint64_t>(v), 32));
        continue;
      }
      if (cex.import_results[i][0].type == "f32") {
        r = r.extract(31, 0);
        fixed.push_back(r == x.c.bvVal(static_cast<uint64_t>(v), 32));
        continue;
      }
    }
    fixed.push_back(r == x.c.bvVal(static_cast<uint64_t>(v), 64));
  }
  std::vector<smt::Expr> same;
  for (const auto& part : x.enc.parts) {
    if (part.replayable) same.push_back(smt::mkNot(part.differs));
  }
  std::vector<smt::Expr> escape{smt::mkAnd(x.c, same), smt::mkNot(x.enc.within_bound)};
  for (const auto* s : sides(x.enc)) escape.push_back(s->abstracted);

  solver.push();
  solver.add(smt::mkAnd(x.c, fixed));
  solver.add(env.withIndependentNaNs(smt::mkOr(x.c, escape)));
  const smt::CheckResult r = solver.check();
  solver.pop();
  return r;
}

}  // namespace

Refutation refute(smt::Smt& smt, smt::Solver& solver, const Encoding& enc,
                  const Correspondence& corr, const FunctionPair& pair) {
  Context x{smt, smt.ctx(), enc, corr, pair, corr.layout(), corr.original().memory()};
  Refutation out;
  if (corr.original().start() || corr.optimized().start()) {
    out.reason = "the module has a start function, so a fresh instance's state is not known";
    return out;
  }
  std::string last = "no replayable input shows the difference";
  for (int tier = 0; tier < 2; ++tier) {
    solver.push();
    for (const auto& e : replayConstraints(x, tier)) solver.add(e);
    const smt::CheckResult r = solver.check();
    if (r != smt::CheckResult::Sat) {
      solver.pop();
      if (r == smt::CheckResult::Unknown) last = "solver " + solver.lastReason() + " on replay";
      continue;
    }
    smt::ModelReader m(solver.model());
    solver.pop();
    std::size_t import_count = 0;
    Counterexample cex = build(x, m, &import_count);
    std::vector<std::string> what;
    for (const auto& part : enc.parts) {
      if (m.truth(part.differs) && std::find(what.begin(), what.end(), part.what) == what.end()) {
        what.push_back(part.what);
      }
    }
    const smt::CheckResult confirmed = confirm(x, solver, cex, import_count, m);
    if (confirmed == smt::CheckResult::Unsat) {
      out.reason = fmt::format("{} differ{}", fmt::join(what, ", "), what.size() == 1 ? "s" : "");
      out.counterexample = std::move(cex);
      return out;
    }
    last = confirmed == smt::CheckResult::Unknown
               ? "solver " + solver.lastReason() + " confirming the counterexample"
               : "the difference depends on NaN payloads or on calls not executed symbolically";
  }
  out.reason = last;
  return out;
}

}  // namespace loom::verify::check
