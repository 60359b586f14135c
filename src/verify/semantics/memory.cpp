#include "src/verify/semantics/memory.hpp"

namespace loom::verify::sem {

z3::expr memoryBytes(const z3::expr& pages) {
  return z3::shl(z3::zext(pages, 32), pages.ctx().bv_val(16, 64));
}

Access memoryAccess(const z3::expr& pointer, std::uint64_t offset, unsigned bytes,
                    const z3::expr& pages) {
  z3::context& c = pointer.ctx();
  z3::expr address = z3::zext(pointer, 32) + c.bv_val(static_cast<uint64_t>(offset), 64);
  z3::expr end = address + c.bv_val(bytes, 64);
  // Both terms stay below 2^34, so the 64-bit sum cannot wrap.
  z3::expr in_bounds = z3::ule(end, memoryBytes(pages));
  return Access{address, in_bounds, address.extract(31, 0)};
}

z3::expr loadBytes(const z3::expr& memory, const z3::expr& index, unsigned bytes) {
  z3::context& c = memory.ctx();
  z3::expr value = z3::select(memory, index);
  for (unsigned k = 1; k < bytes; ++k) {
    value = z3::concat(z3::select(memory, index + c.bv_val(k, 32)), value);
  }
  return value;
}

z3::expr storeBytes(const z3::expr& memory, const z3::expr& index, const z3::expr& value,
                    unsigned bytes) {
  z3::context& c = memory.ctx();
  z3::expr m = memory;
  for (unsigned k = 0; k < bytes; ++k) {
    m = z3::store(m, index + c.bv_val(k, 32), value.extract(8 * k + 7, 8 * k));
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
  return z3::lambda(a, z3::ite(z3::ule(from, wide) && z3::ult(wide, to), c.bv_val(0, 8),
                               z3::select(memory, a)));
}

z3::expr copyBytes(const z3::expr& memory, const z3::expr& dest, const z3::expr& source,
                   const z3::expr& length) {
  z3::context& c = memory.ctx();
  z3::expr a = c.bv_const("copy_addr", 32);
  z3::expr inside = z3::ule(z3::zext(dest, 32), z3::zext(a, 32)) &&
                    z3::ult(z3::zext(a, 32), z3::zext(dest, 32) + z3::zext(length, 32));
  return z3::lambda(a, z3::ite(inside, z3::select(memory, source + (a - dest)),
                               z3::select(memory, a)));
}

}  // namespace loom::verify::sem
