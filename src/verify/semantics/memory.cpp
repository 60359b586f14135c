#include "src/verify/semantics/memory.hpp"

#include <optional>

namespace loom::verify::sem {

smt::Expr memoryBytes(const smt::Expr& pages) {
  return smt::shl(smt::zext(pages, 32), pages.ctx().bvVal(16, 64));
}

namespace {

// An address as base + constant (base absent for a constant address), so
// that accesses at p+4 and p+8 are seen to be different bytes without a
// solver, and p+4+1 is built as p+5.
struct Affine {
  std::optional<smt::Expr> base;
  std::uint32_t offset = 0;
};

Affine decompose(const smt::Expr& e) {
  std::uint64_t v = 0;
  if (e.isNumeral() && e.getUint64(v)) {
    return Affine{std::nullopt, static_cast<std::uint32_t>(v)};
  }
  if (e.isApp() && e.op() == smt::Op::BvAdd && e.numArgs() == 2) {
    for (unsigned i = 0; i < 2; ++i) {
      const smt::Expr k = e.arg(i);
      if (k.isNumeral() && k.getUint64(v)) {
        return Affine{e.arg(1 - i), static_cast<std::uint32_t>(v)};
      }
    }
  }
  return Affine{e, 0};
}

smt::Expr plus(const smt::Expr& address, std::uint32_t k) {
  smt::Context& c = address.ctx();
  Affine a = decompose(address);
  const std::uint32_t offset = a.offset + k;
  if (!a.base) return c.bvVal(static_cast<uint64_t>(offset), 32);
  if (offset == 0) return *a.base;
  return *a.base + c.bvVal(static_cast<uint64_t>(offset), 32);
}

enum class Alias { Same, Different, Unknown };

Alias compare(const smt::Expr& a, const smt::Expr& b) {
  if (smt::sameTerm(a, b)) return Alias::Same;
  const Affine x = decompose(a);
  const Affine y = decompose(b);
  const bool same_base =
      (!x.base && !y.base) || (x.base && y.base && smt::sameTerm(*x.base, *y.base));
  if (!same_base) return Alias::Unknown;
  return x.offset == y.offset ? Alias::Same : Alias::Different;
}

// select(memory, address), looking through stores to addresses that are
// certainly the same (their value) or certainly different (skipped): the
// array axioms, applied where they need no solver.
smt::Expr readByte(const smt::Expr& memory, const smt::Expr& address) {
  smt::Expr m = memory;
  for (int steps = 0; steps < 256; ++steps) {
    if (!m.isApp() || m.op() != smt::Op::Store || m.numArgs() != 3) break;
    const Alias alias = compare(address, m.arg(1));
    if (alias == Alias::Same) return m.arg(2);
    if (alias == Alias::Unknown) break;
    m = m.arg(0);
  }
  return smt::select(m, address);
}

}  // namespace

Access memoryAccess(const smt::Expr& pointer, std::uint64_t offset, unsigned bytes,
                    const smt::Expr& pages) {
  smt::Context& c = pointer.ctx();
  smt::Expr address = smt::zext(pointer, 32) + c.bvVal(static_cast<uint64_t>(offset), 64);
  smt::Expr end = address + c.bvVal(bytes, 64);
  // Both terms stay below 2^34, so the 64-bit sum cannot wrap.
  smt::Expr in_bounds = smt::ule(end, memoryBytes(pages));
  // In bounds, the 32-bit sum is the address; built on the pointer so that
  // accesses through one pointer with different offsets share a base.
  smt::Expr index = plus(pointer, static_cast<std::uint32_t>(offset));
  return Access{address, in_bounds, index};
}

smt::Expr loadBytes(const smt::Expr& memory, const smt::Expr& index, unsigned bytes) {
  smt::Expr value = readByte(memory, index);
  for (unsigned k = 1; k < bytes; ++k) value = smt::concat(readByte(memory, plus(index, k)), value);
  return value;
}

smt::Expr storeBytes(const smt::Expr& memory, const smt::Expr& index, const smt::Expr& value,
                     unsigned bytes) {
  smt::Expr m = memory;
  for (unsigned k = 0; k < bytes; ++k) {
    m = smt::store(m, plus(index, k), value.extract(8 * k + 7, 8 * k));
  }
  return m;
}

smt::Expr fillBytes(const smt::Expr& memory, const smt::Expr& dest, const smt::Expr& value,
                    const smt::Expr& length) {
  smt::Context& c = memory.ctx();
  smt::Expr a = c.bvConst("fill_addr", 32);
  smt::Expr inside = smt::ule(smt::zext(dest, 32), smt::zext(a, 32)) &&
                     smt::ult(smt::zext(a, 32), smt::zext(dest, 32) + smt::zext(length, 32));
  return smt::lambda(a, smt::ite(inside, value.extract(7, 0), smt::select(memory, a)));
}

smt::Expr zeroBytes(const smt::Expr& memory, const smt::Expr& from, const smt::Expr& to) {
  smt::Context& c = memory.ctx();
  smt::Expr a = c.bvConst("grown_addr", 32);
  smt::Expr wide = smt::zext(a, 32);
  return smt::lambda(a, smt::ite(smt::ule(from, wide) && smt::ult(wide, to), c.bvVal(0, 8),
                                 smt::select(memory, a)));
}

smt::Expr copyBytes(const smt::Expr& memory, const smt::Expr& dest, const smt::Expr& source,
                    const smt::Expr& length) {
  smt::Context& c = memory.ctx();
  smt::Expr a = c.bvConst("copy_addr", 32);
  smt::Expr inside = smt::ule(smt::zext(dest, 32), smt::zext(a, 32)) &&
                     smt::ult(smt::zext(a, 32), smt::zext(dest, 32) + smt::zext(length, 32));
  return smt::lambda(
      a, smt::ite(inside, smt::select(memory, source + (a - dest)), smt::select(memory, a)));
}

smt::Expr fillRange(const smt::Expr& array, const smt::Expr& dest, const smt::Expr& value,
                    const smt::Expr& length) {
  smt::Context& c = array.ctx();
  smt::Expr a = c.bvConst("fill_index", 32);
  smt::Expr inside = smt::ule(smt::zext(dest, 32), smt::zext(a, 32)) &&
                     smt::ult(smt::zext(a, 32), smt::zext(dest, 32) + smt::zext(length, 32));
  return smt::lambda(a, smt::ite(inside, value, smt::select(array, a)));
}

smt::Expr copyRange(const smt::Expr& array, const smt::Expr& dest, const smt::Expr& source,
                    const smt::Expr& from, const smt::Expr& length) {
  smt::Context& c = array.ctx();
  smt::Expr a = c.bvConst("copy_index", 32);
  smt::Expr inside = smt::ule(smt::zext(dest, 32), smt::zext(a, 32)) &&
                     smt::ult(smt::zext(a, 32), smt::zext(dest, 32) + smt::zext(length, 32));
  return smt::lambda(
      a, smt::ite(inside, smt::select(source, from + (a - dest)), smt::select(array, a)));
}

}  // namespace loom::verify::sem
