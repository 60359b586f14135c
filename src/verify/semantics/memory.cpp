#include "src/verify/semantics/memory.hpp"

#include <optional>

namespace loom::verify::sem {

z3::expr memoryBytes(const z3::expr& pages) {
  return z3::shl(z3::zext(pages, 32), pages.ctx().bv_val(16, 64));
}

namespace {

// An address as base + constant (base absent for a constant address), so
// that accesses at p+4 and p+8 are seen to be different bytes without a
// solver, and p+4+1 is built as p+5.
struct Affine {
  std::optional<z3::expr> base;
  std::uint32_t offset = 0;
};

Affine decompose(const z3::expr& e) {
  std::uint64_t v = 0;
  if (e.is_numeral() && Z3_get_numeral_uint64(e.ctx(), e, &v)) {
    return Affine{std::nullopt, static_cast<std::uint32_t>(v)};
  }
  if (e.is_app() && e.decl().decl_kind() == Z3_OP_BADD && e.num_args() == 2) {
    for (unsigned i = 0; i < 2; ++i) {
      const z3::expr k = e.arg(i);
      if (k.is_numeral() && Z3_get_numeral_uint64(e.ctx(), k, &v)) {
        return Affine{e.arg(1 - i), static_cast<std::uint32_t>(v)};
      }
    }
  }
  return Affine{e, 0};
}

z3::expr plus(const z3::expr& address, std::uint32_t k) {
  z3::context& c = address.ctx();
  Affine a = decompose(address);
  const std::uint32_t offset = a.offset + k;
  if (!a.base) return c.bv_val(static_cast<uint64_t>(offset), 32);
  if (offset == 0) return *a.base;
  return *a.base + c.bv_val(static_cast<uint64_t>(offset), 32);
}

enum class Alias { Same, Different, Unknown };

Alias compare(const z3::expr& a, const z3::expr& b) {
  if (z3::eq(a, b)) return Alias::Same;
  const Affine x = decompose(a);
  const Affine y = decompose(b);
  const bool same_base = (!x.base && !y.base) || (x.base && y.base && z3::eq(*x.base, *y.base));
  if (!same_base) return Alias::Unknown;
  return x.offset == y.offset ? Alias::Same : Alias::Different;
}

// select(memory, address), looking through stores to addresses that are
// certainly the same (their value) or certainly different (skipped): the
// array axioms, applied where they need no solver.
z3::expr readByte(const z3::expr& memory, const z3::expr& address) {
  z3::expr m = memory;
  for (int steps = 0; steps < 256; ++steps) {
    if (!m.is_app() || m.decl().decl_kind() != Z3_OP_STORE || m.num_args() != 3) break;
    const Alias alias = compare(address, m.arg(1));
    if (alias == Alias::Same) return m.arg(2);
    if (alias == Alias::Unknown) break;
    m = m.arg(0);
  }
  return z3::select(m, address);
}

}  // namespace

Access memoryAccess(const z3::expr& pointer, std::uint64_t offset, unsigned bytes,
                    const z3::expr& pages) {
  z3::context& c = pointer.ctx();
  z3::expr address = z3::zext(pointer, 32) + c.bv_val(static_cast<uint64_t>(offset), 64);
  z3::expr end = address + c.bv_val(bytes, 64);
  // Both terms stay below 2^34, so the 64-bit sum cannot wrap.
  z3::expr in_bounds = z3::ule(end, memoryBytes(pages));
  // In bounds, the 32-bit sum is the address; built on the pointer so that
  // accesses through one pointer with different offsets share a base.
  z3::expr index = plus(pointer, static_cast<std::uint32_t>(offset));
  return Access{address, in_bounds, index};
}

z3::expr loadBytes(const z3::expr& memory, const z3::expr& index, unsigned bytes) {
  z3::expr value = readByte(memory, index);
  for (unsigned k = 1; k < bytes; ++k) value = z3::concat(readByte(memory, plus(index, k)), value);
  return value;
}

z3::expr storeBytes(const z3::expr& memory, const z3::expr& index, const z3::expr& value,
                    unsigned bytes) {
  z3::expr m = memory;
  for (unsigned k = 0; k < bytes; ++k) {
    m = z3::store(m, plus(index, k), value.extract(8 * k + 7, 8 * k));
  }
  return m;
}

z3::expr fillBytes(const z3::expr& memory, const z3::expr& dest, const z3::expr& value,
                   const z3::expr& length) {
  z3::context& c = memory.ctx();
  z3::expr a = c.bv_const("fill_addr", 32);
  z3::expr inside = z3::ule(z3::zext(dest, 32), z3::zext(a, 32)) &&
                    z3::ult(z3::zext(a, 32), z3::zext(dest, 32) + z3::zext(length, 32));
  return z3::lambda(a, z3::ite(inside, value.extract(7, 0), z3::select(memory, a)));
}

z3::expr zeroBytes(const z3::expr& memory, const z3::expr& from, const z3::expr& to) {
  z3::context& c = memory.ctx();
  z3::expr a = c.bv_const("grown_addr", 32);
  z3::expr wide = z3::zext(a, 32);
  return z3::lambda(
      a, z3::ite(z3::ule(from, wide) && z3::ult(wide, to), c.bv_val(0, 8), z3::select(memory, a)));
}

z3::expr copyBytes(const z3::expr& memory, const z3::expr& dest, const z3::expr& source,
                   const z3::expr& length) {
  z3::context& c = memory.ctx();
  z3::expr a = c.bv_const("copy_addr", 32);
  z3::expr inside = z3::ule(z3::zext(dest, 32), z3::zext(a, 32)) &&
                    z3::ult(z3::zext(a, 32), z3::zext(dest, 32) + z3::zext(length, 32));
  return z3::lambda(
      a, z3::ite(inside, z3::select(memory, source + (a - dest)), z3::select(memory, a)));
}

}  // namespace loom::verify::sem
