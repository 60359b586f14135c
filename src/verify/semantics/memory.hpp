// Linear memory as a Z3 array from 32-bit addresses to bytes. Effective
// addresses are computed in 64 bits (zero-extended pointer plus offset), so
// an offset that carries past 4 GiB traps instead of wrapping around.
#pragma once

#include <cstdint>

#include "src/verify/smt/z3cpp.hpp"

namespace loom::verify::sem {

struct Access {
  z3::expr address;    // 64-bit effective address
  z3::expr in_bounds;  // address + bytes <= memory size in bytes
  z3::expr index;      // the low 32 bits, valid when in bounds
};

z3::expr memoryBytes(const z3::expr& pages);  // 64-bit byte size of `pages` pages
Access memoryAccess(const z3::expr& pointer, std::uint64_t offset, unsigned bytes,
                    const z3::expr& pages);
// Little-endian; `bytes` of 1, 2, 4 or 8.
z3::expr loadBytes(const z3::expr& memory, const z3::expr& index, unsigned bytes);
z3::expr storeBytes(const z3::expr& memory, const z3::expr& index, const z3::expr& value,
                    unsigned bytes);
// memory.fill and memory.copy over [dest, dest + length), as array lambdas.
z3::expr fillBytes(const z3::expr& memory, const z3::expr& dest, const z3::expr& value,
                   const z3::expr& length);
// Pages added by memory.grow are zero: bytes in [from, to) (64-bit byte
// offsets) read as 0 afterwards.
z3::expr zeroBytes(const z3::expr& memory, const z3::expr& from, const z3::expr& to);
z3::expr copyBytes(const z3::expr& memory, const z3::expr& dest, const z3::expr& source,
                   const z3::expr& length);

}  // namespace loom::verify::sem
