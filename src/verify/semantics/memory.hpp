// Linear memory as a Z3 array from 32-bit addresses to bytes. Effective
// addresses are computed in 64 bits (zero-extended pointer plus offset), so
// an offset that carries past 4 GiB traps instead of wrapping around.
#pragma once

#include <cstdint>

#include "src/verify/smt/expr.hpp"

namespace loom::verify::sem {

struct Access {
  smt::Expr address;    // 64-bit effective address
  smt::Expr in_bounds;  // address + bytes <= memory size in bytes
  smt::Expr index;      // the low 32 bits, valid when in bounds
};

smt::Expr memoryBytes(const smt::Expr& pages);  // 64-bit byte size of `pages` pages
Access memoryAccess(const smt::Expr& pointer, std::uint64_t offset, unsigned bytes,
                    const smt::Expr& pages);
// Little-endian; `bytes` of 1, 2, 4 or 8.
smt::Expr loadBytes(const smt::Expr& memory, const smt::Expr& index, unsigned bytes);
smt::Expr storeBytes(const smt::Expr& memory, const smt::Expr& index, const smt::Expr& value,
                     unsigned bytes);
// memory.fill and memory.copy over [dest, dest + length), as array lambdas.
smt::Expr fillBytes(const smt::Expr& memory, const smt::Expr& dest, const smt::Expr& value,
                    const smt::Expr& length);
// Pages added by memory.grow are zero: bytes in [from, to) (64-bit byte
// offsets) read as 0 afterwards.
smt::Expr zeroBytes(const smt::Expr& memory, const smt::Expr& from, const smt::Expr& to);
smt::Expr copyBytes(const smt::Expr& memory, const smt::Expr& dest, const smt::Expr& source,
                    const smt::Expr& length);
// Any array over 32-bit indices (memory, a table): [dest, dest + length)
// set to `value`, or read from `source` starting at `from`.
smt::Expr fillRange(const smt::Expr& array, const smt::Expr& dest, const smt::Expr& value,
                    const smt::Expr& length);
smt::Expr copyRange(const smt::Expr& array, const smt::Expr& dest, const smt::Expr& source,
                    const smt::Expr& from, const smt::Expr& length);

}  // namespace loom::verify::sem
