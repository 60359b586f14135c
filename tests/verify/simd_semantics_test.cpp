// The verifier's SIMD semantics (src/verify/semantics/simd.hpp) against
// Node.js: every modelled operator, on edge-case and random operands, is
// evaluated by our formulas (numerals simplified by Z3) and by V8 running a
// module that performs the same instruction, in one Node process. v128
// values cross the JS boundary as i64 halves.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "loom/wasm/module.hpp"
#include "src/verify/semantics/simd.hpp"
#include "src/verify/smt/expr.hpp"
#include "support/node_runner.hpp"
#include "support/test_support.hpp"

namespace loom::test {
namespace {

namespace smt = verify::smt;
namespace sem = verify::sem;
using smt::Expr;

// Every NaN an operation produces is the canonical quiet NaN: Node's NaNs
// are only compared as NaNs.
class FixedNans : public sem::NanSource {
 public:
  Expr nan(std::string_view, unsigned width, std::vector<Expr> operands, bool) override {
    smt::Context& c = operands.at(0).ctx();
    return width == 32 ? c.bvVal(std::uint64_t{0x7fc00000}, 32)
                       : c.bvVal(std::uint64_t{0x7ff8000000000000}, 64);
  }
};

struct V128 {
  std::uint64_t lo = 0, hi = 0;
  bool operator==(const V128&) const = default;
};

std::string hex(const V128& v) {
  return fmt::format("0x{:016x}{:016x}", v.hi, v.lo);
}

Expr vecExpr(smt::Context& c, const V128& v) {
  return smt::concat(c.bvVal(v.hi, 64), c.bvVal(v.lo, 64));
}

std::optional<V128> evalVec(const Expr& e) {
  Expr s = e.simplify();
  const unsigned w = s.sort().bvSize();
  V128 out;
  Expr lo = (w > 64 ? s.extract(63, 0) : smt::zext(s, 64 - w)).simplify();
  if (!lo.getUint64(out.lo)) return std::nullopt;
  if (w > 64 && !s.extract(127, 64).simplify().getUint64(out.hi)) return std::nullopt;
  return out;
}

std::uint64_t laneOf(const V128& v, unsigned bits, unsigned lane) {
  const unsigned bit = lane * bits;
  const std::uint64_t word = bit < 64 ? v.lo : v.hi;
  const std::uint64_t shifted = word >> (bit % 64);
  return bits == 64 ? shifted : shifted & ((1ULL << bits) - 1);
}

bool isNaNBits(std::uint64_t v, unsigned bits) {
  if (bits == 32) return (v & 0x7f800000ULL) == 0x7f800000ULL && (v & 0x7fffffULL) != 0;
  return (v & 0x7ff0000000000000ULL) == 0x7ff0000000000000ULL && (v & 0xfffffffffffffULL) != 0;
}

// Equal, except that with nan_bits a lane that is NaN on both sides matches.
bool matches(const V128& ours, const V128& node, unsigned nan_bits) {
  if (nan_bits == 0) return ours == node;
  for (unsigned i = 0; i < 128 / nan_bits; ++i) {
    const std::uint64_t a = laneOf(ours, nan_bits, i), b = laneOf(node, nan_bits, i);
    if (isNaNBits(a, nan_bits) || isNaNBits(b, nan_bits)) {
      if (!(isNaNBits(a, nan_bits) && isNaNBits(b, nan_bits))) return false;
    } else if (a != b) {
      return false;
    }
  }
  return true;
}

std::uint32_t f32Bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
std::uint64_t f64Bits(double d) {
  std::uint64_t u;
  std::memcpy(&u, &d, 8);
  return u;
}

enum class LaneKind { I8, I16, I32, I64, F32, F64, Mixed };

unsigned laneBits(LaneKind k) {
  switch (k) {
    case LaneKind::I8:
    case LaneKind::Mixed:
      return 8;
    case LaneKind::I16:
      return 16;
    case LaneKind::I32:
    case LaneKind::F32:
      return 32;
    default:
      return 64;
  }
}

std::vector<std::uint64_t> pool(LaneKind k) {
  switch (k) {
    case LaneKind::I8:
    case LaneKind::Mixed:
      return {0, 1, 0xff, 0x80, 0x7f, 0x55, 0xaa, 0xfe, 0x40, 0x81, 15, 16, 17, 31, 32};
    case LaneKind::I16:
      return {0,      1,      0xffff, 0x8000, 0x7fff, 0x8001, 0xff80,
              0x007f, 0x0080, 0xff7f, 0x00ff, 0x0100, 0x4000, 0xc000};
    case LaneKind::I32:
      return {0,          1,          0xffffffff, 0x80000000, 0x7fffffff, 0x8001,     0xffff8000,
              0x00007fff, 0xffff7fff, 0x00010000, 0x0000ffff, 0x80000001, 0x12345678, 0xfffffffe};
    case LaneKind::I64:
      return {0,
              1,
              ~0ULL,
              0x8000000000000000ULL,
              0x7fffffffffffffffULL,
              0x00000000ffffffffULL,
              0xffffffff00000000ULL,
              0x0000000080000000ULL,
              0xffffffff80000000ULL,
              0x123456789abcdef0ULL};
    case LaneKind::F32:
      return {f32Bits(0.0f), f32Bits(-0.0f),  0x7f800000,        0xff800000,      0x7fc00000,
              0xffc00000,    0x7f800001,      0x7fa12345,        0x00000001,      0x807fffff,
              0x00800000,    f32Bits(1.0f),   f32Bits(-1.0f),    f32Bits(0.5f),   f32Bits(-0.5f),
              f32Bits(1.5f), f32Bits(2.5f),   f32Bits(-2.5f),    f32Bits(-0.99f), f32Bits(3.4e38f),
              0x4effffff,    0x4f000000,      0xcf000000,        0xcf000001,      0x4f7fffff,
              0x4f800000,    f32Bits(1e-40f), f32Bits(123456.7f)};
    case LaneKind::F64:
      return {f64Bits(0.0),
              f64Bits(-0.0),
              0x7ff0000000000000ULL,
              0xfff0000000000000ULL,
              0x7ff8000000000000ULL,
              0xfff8000000000000ULL,
              0x7ff0000000000001ULL,
              0x7ff4000000000abcULL,
              1,
              0x800fffffffffffffULL,
              0x0010000000000000ULL,
              f64Bits(1.0),
              f64Bits(-1.0),
              f64Bits(0.5),
              f64Bits(2.5),
              f64Bits(-3.5),
              f64Bits(-0.99),
              f64Bits(1.7e308),
              f64Bits(2147483647.0),
              f64Bits(2147483647.9),
              f64Bits(2147483648.0),
              f64Bits(-2147483648.0),
              f64Bits(-2147483648.9),
              f64Bits(-2147483649.0),
              f64Bits(4294967295.0),
              f64Bits(4294967295.9),
              f64Bits(4294967296.0),
              f64Bits(3.4028235677973366e38),
              f64Bits(3.4028235e38 * 1.0000001),
              f64Bits(1e-310),
              f64Bits(1.401298464324817e-45),
              f64Bits(0.1)};
  }
  return {};
}

V128 setLane(V128 v, unsigned bits, unsigned lane, std::uint64_t x) {
  const unsigned bit = lane * bits;
  std::uint64_t& word = bit < 64 ? v.lo : v.hi;
  const std::uint64_t mask = bits == 64 ? ~0ULL : ((1ULL << bits) - 1);
  word = (word & ~(mask << (bit % 64))) | ((x & mask) << (bit % 64));
  return v;
}

// Vectors for an operand: all zeros, all ones, all lanes the pool's third
// and fourth entries, then lanes drawn from the edge-case pool or random bits.
std::vector<V128> operands(LaneKind k, std::mt19937_64& rng, unsigned count) {
  const std::vector<std::uint64_t> p = pool(k);
  const unsigned bits = laneBits(k);
  std::vector<V128> out{{0, 0}, {~0ULL, ~0ULL}, {}, {}};
  for (unsigned lane = 0; lane < 128 / bits; ++lane) {
    out[2] = setLane(out[2], bits, lane, p[3]);  // the lane minimum (or -inf)
    out[3] = setLane(out[3], bits, lane, p[4]);  // the lane maximum (or a NaN)
  }
  while (out.size() < count) {
    V128 v;
    for (unsigned lane = 0; lane < 128 / bits; ++lane) {
      const bool random = k == LaneKind::Mixed || rng() % 4 == 0;
      v = setLane(v, bits, lane, random ? rng() : p[rng() % p.size()]);
    }
    out.push_back(v);
  }
  return out;
}

// The lane kind of an operator's v128 input, from its name: the shape after
// the dot if it names one (i32x4.trunc_sat_f32x4_s reads f32x4), else the
// result's shape.
LaneKind inputKind(const std::string& name) {
  const std::string op = name.substr(name.find('.') + 1);
  for (const auto& [shape, kind] :
       std::vector<std::pair<std::string, LaneKind>>{{"f32x4", LaneKind::F32},
                                                     {"f64x2", LaneKind::F64},
                                                     {"i8x16", LaneKind::I8},
                                                     {"i16x8", LaneKind::I16},
                                                     {"i32x4", LaneKind::I32}}) {
    if (op.find(shape) != std::string::npos) return kind;
  }
  const std::string shape = name.substr(0, name.find('.'));
  if (shape == "i8x16") return LaneKind::I8;
  if (shape == "i16x8") return LaneKind::I16;
  if (shape == "i32x4") return LaneKind::I32;
  if (shape == "i64x2") return LaneKind::I64;
  if (shape == "f32x4") return LaneKind::F32;
  if (shape == "f64x2") return LaneKind::F64;
  return LaneKind::Mixed;
}

// Lane width at which float results are compared as "both NaN", 0 for
// bit-exact operators.
unsigned nanLaneBits(const std::string& name) {
  const std::string shape = name.substr(0, name.find('.'));
  const std::string op = name.substr(name.find('.') + 1);
  static const std::vector<std::string> arithmetic = {"add",
                                                      "sub",
                                                      "mul",
                                                      "div",
                                                      "min",
                                                      "max",
                                                      "sqrt",
                                                      "ceil",
                                                      "floor",
                                                      "trunc",
                                                      "nearest",
                                                      "demote_f64x2_zero",
                                                      "promote_low_f32x4"};
  if (shape != "f32x4" && shape != "f64x2") return 0;
  for (const auto& a : arithmetic) {
    if (op == a) return shape == "f32x4" ? 32 : 64;
  }
  return 0;
}

// The wat of the scalar operand an operator takes (splat, replace_lane) from
// the i64 parameter $a0.
std::string scalarOperand(const std::string& name) {
  const std::string shape = name.substr(0, name.find('.'));
  if (shape == "i64x2") return "(local.get $a0)";
  if (shape == "f64x2") return "(f64.reinterpret_i64 (local.get $a0))";
  if (shape == "f32x4") return "(f32.reinterpret_i32 (i32.wrap_i64 (local.get $a0)))";
  return "(i32.wrap_i64 (local.get $a0))";
}

// One operator instance: the wat expression (of type `result`), and ours.
struct Case {
  std::string label;
  std::string wat;
  std::string result;  // "v128", "i32", "i64", "f32", "f64"
  LaneKind a_kind = LaneKind::Mixed, b_kind = LaneKind::Mixed;
  unsigned nan_bits = 0;
  bool scalar_a = false;  // $a0 is a scalar operand (splat, replace_lane, load)
  bool shift = false;     // $s is a shift count
  // Our result for operands a, b, c (v128), scalar s (i64 bits of $a0), count (i32).
  std::function<std::optional<Expr>(const Expr&, const Expr&, const Expr&, const Expr&,
                                    const Expr&)>
      ours;
  bool expect_mismatch = false;  // a deliberately wrong semantics
};

std::string wrapResult(const std::string& result, const std::string& e) {
  if (result == "v128") return e;
  if (result == "i32") return "(i32x4.replace_lane 0 (v128.const i64x2 0 0) " + e + ")";
  if (result == "i64") return "(i64x2.replace_lane 0 (v128.const i64x2 0 0) " + e + ")";
  if (result == "f32") return "(f32x4.replace_lane 0 (v128.const i64x2 0 0) " + e + ")";
  return "(f64x2.replace_lane 0 (v128.const i64x2 0 0) " + e + ")";
}

std::string functionWat(unsigned index, const Case& c) {
  return fmt::format(
      "(func $f{0} (export \"f{0}\") (param $a0 i64) (param $a1 i64) (param $b0 i64)"
      " (param $b1 i64) (param $c0 i64) (param $c1 i64) (param $s i32) (param $sel i32)"
      " (result i64) (local $a v128) (local $b v128) (local $c v128) (local $r v128)\n"
      "  (local.set $a (i64x2.replace_lane 1 (i64x2.replace_lane 0 (v128.const i64x2 0 0)"
      " (local.get $a0)) (local.get $a1)))\n"
      "  (local.set $b (i64x2.replace_lane 1 (i64x2.replace_lane 0 (v128.const i64x2 0 0)"
      " (local.get $b0)) (local.get $b1)))\n"
      "  (local.set $c (i64x2.replace_lane 1 (i64x2.replace_lane 0 (v128.const i64x2 0 0)"
      " (local.get $c0)) (local.get $c1)))\n"
      "  (i64.store (i32.const 0) (local.get $a0))\n"
      "  (local.set $r {1})\n"
      "  (select (i64x2.extract_lane 1 (local.get $r)) (i64x2.extract_lane 0 (local.get $r))"
      " (local.get $sel)))\n",
      index, wrapResult(c.result, c.wat));
}

std::string resultOf(const std::string& name) {
  const std::string op = name.substr(name.find('.') + 1);
  if (op == "any_true" || op == "all_true" || op == "bitmask") return "i32";
  return "v128";
}

std::vector<Case> buildCases(FixedNans& nans) {
  std::vector<Case> cases;
  // Unary and binary operators: every operator number the tables name.
  for (BinaryenOp op = 0; op < 400; ++op) {
    const std::string name = sem::simdOpName(sem::SimdOpClass::Unary, op);
    if (name.find(' ') != std::string::npos || sem::simdIsRelaxed(sem::SimdOpClass::Unary, op)) {
      continue;
    }
    Case c;
    c.label = name;
    c.result = resultOf(name);
    c.nan_bits = nanLaneBits(name);
    c.a_kind = inputKind(name);
    if (name.ends_with(".splat")) {
      c.scalar_a = true;
      c.wat = fmt::format("({} {})", name, scalarOperand(name));
      const std::string shape = name.substr(0, name.find('.'));
      const unsigned w = shape == "i64x2" || shape == "f64x2" ? 64 : 32;
      c.ours = [op, w, &nans](const Expr&, const Expr&, const Expr&, const Expr& s,
                              const Expr&) -> std::optional<Expr> {
        auto r = sem::applySimdUnary(op, w == 64 ? s : s.extract(31, 0), nans);
        return r ? std::optional<Expr>(r->value) : std::nullopt;
      };
    } else {
      c.wat = fmt::format("({} (local.get $a))", name);
      c.ours = [op, &nans](const Expr& a, const Expr&, const Expr&, const Expr&,
                           const Expr&) -> std::optional<Expr> {
        auto r = sem::applySimdUnary(op, a, nans);
        return r ? std::optional<Expr>(r->value) : std::nullopt;
      };
    }
    cases.push_back(std::move(c));
  }
  for (BinaryenOp op = 0; op < 400; ++op) {
    const std::string name = sem::simdOpName(sem::SimdOpClass::Binary, op);
    if (name.find(' ') != std::string::npos || sem::simdIsRelaxed(sem::SimdOpClass::Binary, op)) {
      continue;
    }
    Case c;
    c.label = name;
    c.result = "v128";
    c.nan_bits = nanLaneBits(name);
    c.a_kind = c.b_kind = inputKind(name);
    if (name == "i8x16.swizzle") c.b_kind = LaneKind::I8;
    c.wat = fmt::format("({} (local.get $a) (local.get $b))", name);
    c.ours = [op, &nans](const Expr& a, const Expr& b, const Expr&, const Expr&,
                         const Expr&) -> std::optional<Expr> {
      auto r = sem::applySimdBinary(op, a, b, nans);
      return r ? std::optional<Expr>(r->value) : std::nullopt;
    };
    cases.push_back(std::move(c));
  }
  // Shifts.
  for (BinaryenOp op = 0; op < 64; ++op) {
    const std::string name = sem::simdOpName(sem::SimdOpClass::Shift, op);
    if (name.find(' ') != std::string::npos) continue;
    Case c;
    c.label = name;
    c.result = "v128";
    c.a_kind = inputKind(name);
    c.shift = true;
    c.wat = fmt::format("({} (local.get $a) (local.get $s))", name);
    c.ours = [op](const Expr& a, const Expr&, const Expr&, const Expr&, const Expr& n) {
      return sem::simdShift(op, a, n);
    };
    cases.push_back(std::move(c));
  }
  // Lanes: every lane of every extract and replace.
  for (BinaryenOp op = 0; op < 64; ++op) {
    const std::string name = sem::simdOpName(sem::SimdOpClass::Extract, op);
    if (name.find(' ') != std::string::npos) continue;
    const std::string shape = name.substr(0, name.find('.'));
    const unsigned lanes = shape == "i8x16"                       ? 16
                           : shape == "i16x8"                     ? 8
                           : shape == "i64x2" || shape == "f64x2" ? 2
                                                                  : 4;
    for (unsigned lane = 0; lane < lanes; ++lane) {
      Case c;
      c.label = fmt::format("{} {}", name, lane);
      c.result = shape == "i64x2"   ? "i64"
                 : shape == "f32x4" ? "f32"
                 : shape == "f64x2" ? "f64"
                                    : "i32";
      c.a_kind = inputKind(name);
      c.wat = fmt::format("({} {} (local.get $a))", name, lane);
      c.ours = [op, lane](const Expr& a, const Expr&, const Expr&, const Expr&, const Expr&) {
        return sem::simdExtract(op, a, lane);
      };
      cases.push_back(std::move(c));
    }
  }
  for (BinaryenOp op = 0; op < 64; ++op) {
    const std::string name = sem::simdOpName(sem::SimdOpClass::Replace, op);
    if (name.find(' ') != std::string::npos) continue;
    const std::string shape = name.substr(0, name.find('.'));
    const unsigned lanes = shape == "i8x16"                       ? 16
                           : shape == "i16x8"                     ? 8
                           : shape == "i64x2" || shape == "f64x2" ? 2
                                                                  : 4;
    const unsigned w = shape == "i64x2" || shape == "f64x2" ? 64 : 32;
    for (unsigned lane = 0; lane < lanes; ++lane) {
      Case c;
      c.label = fmt::format("{} {}", name, lane);
      c.result = "v128";
      c.a_kind = c.b_kind = inputKind(name);
      c.scalar_a = true;
      c.wat = fmt::format("({} {} (local.get $b) {})", name, lane, scalarOperand(name));
      c.ours = [op, lane, w](const Expr&, const Expr& b, const Expr&, const Expr& s, const Expr&) {
        return sem::simdReplace(op, b, lane, w == 64 ? s : s.extract(31, 0));
      };
      cases.push_back(std::move(c));
    }
  }
  // Shuffles: a few fixed and random masks.
  std::mt19937_64 rng(7);
  std::vector<std::array<std::uint8_t, 16>> masks;
  std::array<std::uint8_t, 16> m{};
  for (unsigned i = 0; i < 16; ++i) m[i] = static_cast<std::uint8_t>(i);
  masks.push_back(m);
  for (unsigned i = 0; i < 16; ++i) m[i] = static_cast<std::uint8_t>(31 - i);
  masks.push_back(m);
  for (int k = 0; k < 4; ++k) {
    for (auto& x : m) x = static_cast<std::uint8_t>(rng() % 32);
    masks.push_back(m);
  }
  for (const auto& mask : masks) {
    Case c;
    std::string imm;
    for (auto x : mask) imm += fmt::format(" {}", x);
    c.label = "i8x16.shuffle" + imm;
    c.result = "v128";
    c.wat = fmt::format("(i8x16.shuffle{} (local.get $a) (local.get $b))", imm);
    c.ours = [mask](const Expr& a, const Expr& b, const Expr&, const Expr&, const Expr&) {
      return std::optional<Expr>(sem::simdShuffle(a, b, mask.data()));
    };
    cases.push_back(std::move(c));
  }
  // Bitselect.
  {
    Case c;
    c.label = "v128.bitselect";
    c.result = "v128";
    c.wat = "(v128.bitselect (local.get $a) (local.get $b) (local.get $c))";
    c.ours = [&nans](const Expr& a, const Expr& b, const Expr& cc, const Expr&,
                     const Expr&) -> std::optional<Expr> {
      auto r = sem::simdTernary(BinaryenBitselectVec128(), a, b, cc, nans);
      return r ? std::optional<Expr>(r->value) : std::nullopt;
    };
    cases.push_back(std::move(c));
  }
  // Loads: $a0 is stored at address 0 first.
  for (BinaryenOp op = 0; op < 64; ++op) {
    const std::string name = sem::simdOpName(sem::SimdOpClass::Load, op);
    if (name.find(' ') != std::string::npos) continue;
    Case c;
    c.label = name;
    c.result = "v128";
    c.scalar_a = true;
    c.a_kind = LaneKind::I8;
    c.wat = fmt::format("({} (i32.const 0))", name);
    c.ours = [op](const Expr&, const Expr&, const Expr&, const Expr& s,
                  const Expr&) -> std::optional<Expr> {
      auto bytes = sem::simdLoadBytes(op);
      if (!bytes) return std::nullopt;
      return sem::simdLoadValue(op, s.extract(*bytes * 8 - 1, 0));
    };
    cases.push_back(std::move(c));
  }

  // Deliberately wrong semantics, which Node must refute on these inputs.
  auto wrongBinary = [&](const std::string& node_op, BinaryenOp ours_op) {
    Case c;
    c.label = "WRONG " + node_op;
    c.result = "v128";
    c.a_kind = c.b_kind = inputKind(node_op);
    c.nan_bits = nanLaneBits(node_op);
    c.wat = fmt::format("({} (local.get $a) (local.get $b))", node_op);
    c.ours = [ours_op, &nans](const Expr& a, const Expr& b, const Expr&, const Expr&,
                              const Expr&) -> std::optional<Expr> {
      return sem::applySimdBinary(ours_op, a, b, nans)->value;
    };
    c.expect_mismatch = true;
    cases.push_back(std::move(c));
  };
  wrongBinary("i8x16.add_sat_s", BinaryenAddVecI8x16());
  wrongBinary("i16x8.sub_sat_u", BinaryenSubVecI16x8());
  wrongBinary("f32x4.pmin", BinaryenMinVecF32x4());
  wrongBinary("f64x2.max", BinaryenPMaxVecF64x2());
  wrongBinary("i8x16.narrow_i16x8_u", BinaryenNarrowSVecI16x8ToVecI8x16());
  wrongBinary("i32x4.lt_u", BinaryenLtSVecI32x4());
  {
    // Swizzle with indices taken modulo 16.
    Case c;
    c.label = "WRONG i8x16.swizzle (index mod 16)";
    c.result = "v128";
    c.b_kind = LaneKind::I8;
    c.wat = "(i8x16.swizzle (local.get $a) (local.get $b))";
    c.ours = [](const Expr& a, const Expr& b, const Expr&, const Expr&, const Expr&) {
      smt::Context& ctx = a.ctx();
      Expr low = b & smt::concat(ctx.bvVal(std::uint64_t{0x0f0f0f0f0f0f0f0fULL}, 64),
                                 ctx.bvVal(std::uint64_t{0x0f0f0f0f0f0f0f0fULL}, 64));
      FixedNans n;
      return std::optional<Expr>(sem::applySimdBinary(BinaryenSwizzleVecI8x16(), a, low, n)->value);
    };
    c.expect_mismatch = true;
    cases.push_back(std::move(c));
  }
  {
    // Shift counts not taken modulo the lane width.
    Case c;
    c.label = "WRONG i8x16.shl (no modulo)";
    c.result = "v128";
    c.shift = true;
    c.wat = "(i8x16.shl (local.get $a) (local.get $s))";
    c.ours = [](const Expr& a, const Expr&, const Expr&, const Expr&, const Expr& n) {
      std::vector<Expr> lanes;
      Expr count = n;
      Expr r = smt::shl(a.extract(7, 0),
                        smt::ite(smt::ugt(count, 7), a.ctx().bvVal(8u, 8), count.extract(7, 0)));
      for (unsigned i = 1; i < 16; ++i) {
        r = smt::concat(
            smt::shl(a.extract(8 * i + 7, 8 * i),
                     smt::ite(smt::ugt(count, 7), a.ctx().bvVal(8u, 8), count.extract(7, 0))),
            r);
      }
      return std::optional<Expr>(r);
    };
    c.expect_mismatch = true;
    cases.push_back(std::move(c));
  }
  return cases;
}

struct Input {
  V128 a, b, c;
  std::uint32_t s = 0;
};

std::string u64(std::uint64_t v) {
  return std::to_string(v);
}

TEST(SimdSemantics, AgreesWithNode) {
  const auto start = std::chrono::steady_clock::now();
  FixedNans nans;
  smt::Context ctx;
  std::vector<Case> cases = buildCases(nans);
  ASSERT_GT(cases.size(), 200u);

  std::string wat = "(module (memory 1)\n";
  for (unsigned i = 0; i < cases.size(); ++i) wat += functionWat(i, cases[i]);
  wat += ")";
  wasm::Module module = wasm::Module::parseTextTrusted(wat);
  module.setFeatures(BinaryenFeatureAll());
  ASSERT_TRUE(module.validate());
  TempDir dir;
  writeBytes(dir / "simd.wasm", module.writeBinary());

  std::mt19937_64 rng(2026);
  const std::vector<std::uint32_t> counts = {0,  1,  7,  8,  9,  15, 16,          17,
                                             31, 32, 33, 63, 64, 65, 0xffffffffU, 0x80000000U};
  constexpr unsigned kInputs = 32;
  struct Pending {
    unsigned case_index;
    Input input;
    V128 ours;
  };
  std::vector<Pending> pending;
  nlohmann::json calls = nlohmann::json::array();
  unsigned unmodelled = 0;
  for (unsigned i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    std::vector<V128> as = operands(
        c.scalar_a && c.a_kind == LaneKind::Mixed ? LaneKind::I64 : c.a_kind, rng, kInputs);
    std::vector<V128> bs = operands(c.b_kind, rng, kInputs);
    std::vector<V128> cs = operands(LaneKind::Mixed, rng, kInputs);
    if (c.scalar_a) {
      // Scalars in the low half; for f32 splats/replaces the pool's f32 bits.
      for (auto& v : as) v.hi = 0;
    }
    for (unsigned k = 0; k < kInputs; ++k) {
      // The fixed vectors meet themselves (min * min saturates q15mulr),
      // the random ones each other.
      Input in{as[k], bs[k < 4 ? k : (k + 1) % kInputs], cs[k], counts[k % counts.size()]};
      if (k >= counts.size()) in.s = static_cast<std::uint32_t>(rng());
      Expr a = vecExpr(ctx, in.a), b = vecExpr(ctx, in.b), cc = vecExpr(ctx, in.c);
      Expr s = ctx.bvVal(in.a.lo, 64), n = ctx.bvVal(in.s, 32);
      std::optional<Expr> r = c.ours(a, b, cc, s, n);
      if (!r) {
        ADD_FAILURE() << c.label << ": not modelled";
        ++unmodelled;
        break;
      }
      std::optional<V128> v = evalVec(*r);
      ASSERT_TRUE(v.has_value()) << c.label << ": did not simplify to a numeral";
      pending.push_back({i, in, *v});
      for (int sel = 0; sel < 2; ++sel) {
        calls.push_back({{"export", fmt::format("f{}", i)},
                         {"args",
                          {u64(in.a.lo), u64(in.a.hi), u64(in.b.lo), u64(in.b.hi), u64(in.c.lo),
                           u64(in.c.hi), std::to_string(in.s), std::to_string(sel)}}});
      }
    }
  }
  const auto ours_done = std::chrono::steady_clock::now();
  nlohmann::json reply = runInNode({{"module", (dir / "simd.wasm").string()},
                                    {"calls", calls},
                                    {"fresh_instance_per_call", false},
                                    {"dump_memory", "none"}});
  const auto& results = reply.at("results");
  ASSERT_EQ(results.size(), calls.size());

  std::map<unsigned, unsigned> mismatches;  // case -> count
  unsigned reported = 0;
  for (std::size_t p = 0; p < pending.size(); ++p) {
    const Pending& pd = pending[p];
    const Case& c = cases[pd.case_index];
    const auto& lo = results[2 * p];
    const auto& hi = results[2 * p + 1];
    ASSERT_EQ(lo.at("outcome"), "return") << c.label << ": " << lo.dump();
    V128 node{static_cast<std::uint64_t>(std::stoll(lo.at("values")[0].get<std::string>())),
              static_cast<std::uint64_t>(std::stoll(hi.at("values")[0].get<std::string>()))};
    if (c.result != "v128") node.hi = 0;
    if (!matches(pd.ours, node, c.nan_bits)) {
      ++mismatches[pd.case_index];
      if (!c.expect_mismatch && reported++ < 40) {
        ADD_FAILURE() << c.label << " a=" << hex(pd.input.a) << " b=" << hex(pd.input.b)
                      << " c=" << hex(pd.input.c) << " s=" << pd.input.s
                      << ": ours=" << hex(pd.ours) << " node=" << hex(node);
      }
    }
  }
  unsigned wrong = 0;
  for (unsigned i = 0; i < cases.size(); ++i) {
    if (!cases[i].expect_mismatch) continue;
    ++wrong;
    EXPECT_GT(mismatches[i], 0u) << cases[i].label << " was not refuted by Node";
  }
  EXPECT_GE(wrong, 8u);
  EXPECT_EQ(unmodelled, 0u);
  const auto end = std::chrono::steady_clock::now();
  using ms = std::chrono::milliseconds;
  std::printf("simd: %zu cases, %zu evaluations; ours %lld ms, node %lld ms\n", cases.size(),
              pending.size(),
              static_cast<long long>(std::chrono::duration_cast<ms>(ours_done - start).count()),
              static_cast<long long>(std::chrono::duration_cast<ms>(end - ours_done).count()));
}

// Binaryen 108 has no C API names for relaxed SIMD; simd.cpp numbers them
// after the last named operator of each class. The parser is the authority.
TEST(SimdSemantics, RelaxedOperatorsAreNamedAndUnmodelled) {
  const std::vector<std::pair<std::string, int>> ops = {{"i32x4.relaxed_trunc_f32x4_s", 1},
                                                        {"i32x4.relaxed_trunc_f32x4_u", 1},
                                                        {"i32x4.relaxed_trunc_f64x2_s_zero", 1},
                                                        {"i32x4.relaxed_trunc_f64x2_u_zero", 1},
                                                        {"i8x16.relaxed_swizzle", 2},
                                                        {"f32x4.relaxed_min", 2},
                                                        {"f32x4.relaxed_max", 2},
                                                        {"f64x2.relaxed_min", 2},
                                                        {"f64x2.relaxed_max", 2},
                                                        {"i16x8.relaxed_q15mulr_s", 2},
                                                        {"i16x8.dot_i8x16_i7x16_s", 2},
                                                        {"i16x8.dot_i8x16_i7x16_u", 2},
                                                        {"f32x4.relaxed_fma", 3},
                                                        {"f32x4.relaxed_fms", 3},
                                                        {"f64x2.relaxed_fma", 3},
                                                        {"f64x2.relaxed_fms", 3},
                                                        {"i8x16.laneselect", 3},
                                                        {"i16x8.laneselect", 3},
                                                        {"i32x4.laneselect", 3},
                                                        {"i64x2.laneselect", 3},
                                                        {"i32x4.dot_i8x16_i7x16_add_s", 3},
                                                        {"i32x4.dot_i8x16_i7x16_add_u", 3}};
  std::string wat = "(module\n";
  for (std::size_t i = 0; i < ops.size(); ++i) {
    std::string args = " (local.get 0)";
    for (int k = 1; k < ops[i].second; ++k) args += fmt::format(" (local.get {})", k);
    wat += fmt::format("(func $r{} (param v128 v128 v128) (result v128) ({}{}))\n", i, ops[i].first,
                       args);
  }
  wat += ")";
  wasm::Module module = wasm::Module::parseTextTrusted(wat);
  FixedNans nans;
  smt::Context ctx;
  Expr v = ctx.bvConst("v", 128);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    BinaryenExpressionRef body = BinaryenFunctionGetBody(
        BinaryenGetFunctionByIndex(module.get(), static_cast<BinaryenIndex>(i)));
    const BinaryenExpressionId id = BinaryenExpressionGetId(body);
    SCOPED_TRACE(ops[i].first);
    if (ops[i].second == 1) {
      ASSERT_EQ(id, BinaryenUnaryId());
      const BinaryenOp op = BinaryenUnaryGetOp(body);
      EXPECT_EQ(sem::simdOpName(sem::SimdOpClass::Unary, op), ops[i].first);
      EXPECT_TRUE(sem::simdIsRelaxed(sem::SimdOpClass::Unary, op));
      EXPECT_FALSE(sem::applySimdUnary(op, v, nans).has_value());
    } else if (ops[i].second == 2) {
      ASSERT_EQ(id, BinaryenBinaryId());
      const BinaryenOp op = BinaryenBinaryGetOp(body);
      EXPECT_EQ(sem::simdOpName(sem::SimdOpClass::Binary, op), ops[i].first);
      EXPECT_TRUE(sem::simdIsRelaxed(sem::SimdOpClass::Binary, op));
      EXPECT_FALSE(sem::applySimdBinary(op, v, v, nans).has_value());
    } else {
      ASSERT_EQ(id, BinaryenSIMDTernaryId());
      const BinaryenOp op = BinaryenSIMDTernaryGetOp(body);
      EXPECT_EQ(sem::simdOpName(sem::SimdOpClass::Ternary, op), ops[i].first);
      EXPECT_TRUE(sem::simdIsRelaxed(sem::SimdOpClass::Ternary, op));
      EXPECT_FALSE(sem::simdTernary(op, v, v, v, nans).has_value());
    }
  }
}

// Every SIMD operator of Binaryen 108's C API has a name and a meaning
// (counts per class from binaryen-c.h), and load/store lane metadata.
TEST(SimdSemantics, EveryOperatorIsModelled) {
  auto count = [](sem::SimdOpClass cls) {
    unsigned n = 0;
    for (BinaryenOp op = 0; op < 400; ++op) {
      const std::string name = sem::simdOpName(cls, op);
      if (name.find(' ') == std::string::npos && !sem::simdIsRelaxed(cls, op)) ++n;
    }
    return n;
  };
  EXPECT_EQ(count(sem::SimdOpClass::Extract), 8u);
  EXPECT_EQ(count(sem::SimdOpClass::Replace), 6u);
  EXPECT_EQ(count(sem::SimdOpClass::Shift), 12u);
  EXPECT_EQ(count(sem::SimdOpClass::Load), 12u);
  EXPECT_EQ(count(sem::SimdOpClass::LoadStoreLane), 8u);
  EXPECT_EQ(count(sem::SimdOpClass::Ternary), 1u);
  EXPECT_EQ(count(sem::SimdOpClass::Unary), 65u);
  EXPECT_EQ(count(sem::SimdOpClass::Binary), 120u);
  EXPECT_EQ(sem::simdLaneBytes(BinaryenLoad16LaneVec128()), 2u);
  EXPECT_EQ(sem::simdLaneBytes(BinaryenStore64LaneVec128()), 8u);
  EXPECT_TRUE(sem::simdLaneIsStore(BinaryenStore8LaneVec128()));
  EXPECT_FALSE(sem::simdLaneIsStore(BinaryenLoad8LaneVec128()));
  EXPECT_EQ(sem::simdLoadBytes(BinaryenLoad16x4SVec128()), 8u);
  EXPECT_EQ(sem::simdLoadBytes(BinaryenLoad32ZeroVec128()), 4u);
  // The scalar entry points fall back to SIMD.
  EXPECT_EQ(sem::unaryName(BinaryenBitmaskVecI16x8()), "i16x8.bitmask");
  EXPECT_EQ(sem::binaryName(BinaryenAddSatSVecI8x16()), "i8x16.add_sat_s");
  FixedNans nans;
  smt::Context ctx;
  Expr v = ctx.bvConst("v", 128);
  EXPECT_TRUE(sem::applyBinary(BinaryenAddVecI8x16(), v, v, nans).has_value());
  EXPECT_TRUE(sem::applyUnary(BinaryenAnyTrueVec128(), v, nans).has_value());
  // No SIMD operator number is also a scalar one: the scalar tables, which
  // applyUnary/applyBinary consult first, never shadow a SIMD operator.
  for (BinaryenOp op = 0; op < 400; ++op) {
    const std::string u = sem::simdOpName(sem::SimdOpClass::Unary, op);
    if (u.find(' ') == std::string::npos) {
      EXPECT_EQ(sem::unaryName(op), u);
    }
    const std::string b = sem::simdOpName(sem::SimdOpClass::Binary, op);
    if (b.find(' ') == std::string::npos) {
      EXPECT_EQ(sem::binaryName(op), b);
    }
  }
  // Commutative operators give one term for both operand orders.
  Expr w = ctx.bvConst("w", 128);
  for (BinaryenOp op : {BinaryenAddVecI8x16(), BinaryenMinUVecI16x8(), BinaryenEqVecI32x4(),
                        BinaryenAndVec128(), BinaryenAddVecF32x4()}) {
    EXPECT_TRUE(smt::sameTerm(sem::applySimdBinary(op, v, w, nans)->value,
                              sem::applySimdBinary(op, w, v, nans)->value))
        << sem::simdOpName(sem::SimdOpClass::Binary, op);
  }
}

// On symbolic operands every operator builds a term of its result's width:
// v128 (128 bits) except any_true/all_true/bitmask (i32); splats take the
// scalar's width (i32/f32: 32, i64/f64: 64).
TEST(SimdSemantics, SymbolicOperandsAndResultWidths) {
  FixedNans nans;
  smt::Context ctx;
  Expr v = ctx.bvConst("v", 128), w = ctx.bvConst("w", 128), x = ctx.bvConst("x", 128);
  for (BinaryenOp op = 0; op < 400; ++op) {
    const std::string name = sem::simdOpName(sem::SimdOpClass::Unary, op);
    if (name.find(' ') != std::string::npos || sem::simdIsRelaxed(sem::SimdOpClass::Unary, op)) {
      continue;
    }
    SCOPED_TRACE(name);
    Expr operand = v;
    if (name.ends_with(".splat")) {
      operand = ctx.bvConst("s", name.starts_with("i64") || name.starts_with("f64") ? 64 : 32);
    }
    auto r = sem::applySimdUnary(op, operand, nans);
    ASSERT_TRUE(r.has_value());
    EXPECT_FALSE(r->trap.has_value());
    EXPECT_EQ(r->value.bvSize(), resultOf(name) == "i32" ? 32u : 128u);
  }
  for (BinaryenOp op = 0; op < 400; ++op) {
    const std::string name = sem::simdOpName(sem::SimdOpClass::Binary, op);
    if (name.find(' ') != std::string::npos || sem::simdIsRelaxed(sem::SimdOpClass::Binary, op)) {
      continue;
    }
    SCOPED_TRACE(name);
    auto r = sem::applySimdBinary(op, v, w, nans);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->value.bvSize(), 128u);
  }
  EXPECT_EQ(sem::simdExtract(BinaryenExtractLaneSVecI8x16(), v, 15)->bvSize(), 32u);
  EXPECT_EQ(sem::simdExtract(BinaryenExtractLaneVecI64x2(), v, 1)->bvSize(), 64u);
  EXPECT_EQ(sem::simdExtract(BinaryenExtractLaneVecF32x4(), v, 3)->bvSize(), 32u);
  EXPECT_FALSE(sem::simdExtract(BinaryenExtractLaneVecF32x4(), v, 4).has_value());
  EXPECT_EQ(sem::simdReplace(BinaryenReplaceLaneVecI8x16(), v, 3, ctx.bvConst("i", 32))->bvSize(),
            128u);
  EXPECT_EQ(sem::simdShift(BinaryenShrSVecI64x2(), v, ctx.bvConst("n", 32))->bvSize(), 128u);
  EXPECT_EQ(sem::simdTernary(BinaryenBitselectVec128(), v, w, x, nans)->value.bvSize(), 128u);
  EXPECT_EQ(sem::simdLoadValue(BinaryenLoad8SplatVec128(), ctx.bvConst("b", 8))->bvSize(), 128u);
  EXPECT_FALSE(sem::simdLoadValue(BinaryenLoad8SplatVec128(), ctx.bvConst("h", 16)).has_value());
  EXPECT_EQ(sem::simdLaneSet(v, 16, 7, ctx.bvConst("l", 16)).bvSize(), 128u);
  EXPECT_EQ(sem::simdLaneGet(v, 64, 1).bvSize(), 64u);
}

}  // namespace
}  // namespace loom::test
