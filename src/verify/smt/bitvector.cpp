#include "src/verify/smt/bitvector.hpp"

namespace loom::verify::smt {

z3::expr bvConst(z3::context& c, std::uint64_t value, unsigned width) {
  return c.bv_val(value, width);
}

z3::expr boolToBv(const z3::expr& b, unsigned width) {
  z3::context& c = b.ctx();
  return z3::ite(b, c.bv_val(1, width), c.bv_val(0, width));
}

z3::expr bvNonZero(const z3::expr& v) {
  return v != v.ctx().bv_val(0, v.get_sort().bv_size());
}

z3::expr countLeadingZeros(const z3::expr& v) {
  z3::context& c = v.ctx();
  const unsigned w = v.get_sort().bv_size();
  z3::expr r = c.bv_val(w, w);
  // From the lowest bit up, so the highest set bit wins the outermost ite.
  for (unsigned i = 0; i < w; ++i) {
    r = z3::ite(v.extract(i, i) == c.bv_val(1, 1), c.bv_val(w - 1 - i, w), r);
  }
  return r;
}

z3::expr countTrailingZeros(const z3::expr& v) {
  z3::context& c = v.ctx();
  const unsigned w = v.get_sort().bv_size();
  z3::expr r = c.bv_val(w, w);
  for (unsigned k = w; k-- > 0;) {
    r = z3::ite(v.extract(k, k) == c.bv_val(1, 1), c.bv_val(k, w), r);
  }
  return r;
}

z3::expr popCount(const z3::expr& v) {
  z3::context& c = v.ctx();
  const unsigned w = v.get_sort().bv_size();
  z3::expr sum = c.bv_val(0, w);
  for (unsigned i = 0; i < w; ++i) sum = sum + z3::zext(v.extract(i, i), w - 1);
  return sum;
}

namespace {
z3::expr maskCount(const z3::expr& count) {
  const unsigned w = count.get_sort().bv_size();
  return count & count.ctx().bv_val(w - 1, w);
}
}  // namespace

z3::expr shiftLeft(const z3::expr& v, const z3::expr& count) { return z3::shl(v, maskCount(count)); }
z3::expr shiftRightUnsigned(const z3::expr& v, const z3::expr& count) {
  return z3::lshr(v, maskCount(count));
}
z3::expr shiftRightSigned(const z3::expr& v, const z3::expr& count) {
  return z3::ashr(v, maskCount(count));
}

z3::expr rotateLeft(const z3::expr& v, const z3::expr& count) {
  const unsigned w = v.get_sort().bv_size();
  z3::expr k = maskCount(count);
  z3::expr back = maskCount(v.ctx().bv_val(w, w) - k);
  return z3::shl(v, k) | z3::lshr(v, back);
}

z3::expr rotateRight(const z3::expr& v, const z3::expr& count) {
  const unsigned w = v.get_sort().bv_size();
  z3::expr k = maskCount(count);
  z3::expr back = maskCount(v.ctx().bv_val(w, w) - k);
  return z3::lshr(v, k) | z3::shl(v, back);
}

z3::expr signExtendLow(const z3::expr& v, unsigned bits) {
  const unsigned w = v.get_sort().bv_size();
  return z3::sext(v.extract(bits - 1, 0), w - bits);
}

z3::expr resize(const z3::expr& v, unsigned width, bool is_signed) {
  const unsigned w = v.get_sort().bv_size();
  if (w == width) return v;
  if (w > width) return v.extract(width - 1, 0);
  return is_signed ? z3::sext(v, width - w) : z3::zext(v, width - w);
}

}  // namespace loom::verify::smt
