#include "src/verify/smt/bitvector.hpp"

#include <map>
#include <optional>

namespace loom::verify::smt {

Expr bvConst(Context& c, std::uint64_t value, unsigned width) {
  return c.bvVal(value, width);
}

Expr boolToBv(const Expr& b, unsigned width) {
  Context& c = b.ctx();
  return ite(b, c.bvVal(1, width), c.bvVal(0, width));
}

Expr bvNonZero(const Expr& v) {
  return v != v.ctx().bvVal(0, v.sort().bvSize());
}

Expr countLeadingZeros(const Expr& v) {
  Context& c = v.ctx();
  const unsigned w = v.sort().bvSize();
  Expr r = c.bvVal(w, w);
  // From the lowest bit up, so the highest set bit wins the outermost ite.
  for (unsigned i = 0; i < w; ++i) {
    r = ite(v.extract(i, i) == c.bvVal(1, 1), c.bvVal(w - 1 - i, w), r);
  }
  return r;
}

Expr countTrailingZeros(const Expr& v) {
  Context& c = v.ctx();
  const unsigned w = v.sort().bvSize();
  Expr r = c.bvVal(w, w);
  for (unsigned k = w; k-- > 0;) {
    r = ite(v.extract(k, k) == c.bvVal(1, 1), c.bvVal(k, w), r);
  }
  return r;
}

Expr popCount(const Expr& v) {
  Context& c = v.ctx();
  const unsigned w = v.sort().bvSize();
  Expr sum = c.bvVal(0, w);
  for (unsigned i = 0; i < w; ++i) sum = sum + zext(v.extract(i, i), w - 1);
  return sum;
}

namespace {
Expr maskCount(const Expr& count) {
  const unsigned w = count.sort().bvSize();
  std::uint64_t v = 0;
  if (count.isNumeral() && count.getUint64(v)) {
    return count.ctx().bvVal(static_cast<uint64_t>(v & (w - 1)), w);
  }
  return count & count.ctx().bvVal(w - 1, w);
}
}  // namespace

Expr shiftLeft(const Expr& v, const Expr& count) {
  return shl(v, maskCount(count));
}
Expr shiftRightUnsigned(const Expr& v, const Expr& count) {
  return lshr(v, maskCount(count));
}
Expr shiftRightSigned(const Expr& v, const Expr& count) {
  return ashr(v, maskCount(count));
}

Expr rotateLeft(const Expr& v, const Expr& count) {
  const unsigned w = v.sort().bvSize();
  Expr k = maskCount(count);
  Expr back = maskCount(v.ctx().bvVal(w, w) - k);
  return shl(v, k) | lshr(v, back);
}

Expr rotateRight(const Expr& v, const Expr& count) {
  const unsigned w = v.sort().bvSize();
  Expr k = maskCount(count);
  Expr back = maskCount(v.ctx().bvVal(w, w) - k);
  return lshr(v, k) | shl(v, back);
}

namespace {

// A linear combination sum(coefficient * atom) + constant, modulo 2^width.
struct Linear {
  std::map<unsigned, std::pair<Expr, std::uint64_t>> terms;  // atom id -> (atom, coefficient)
  std::uint64_t constant = 0;
};

constexpr std::size_t kMaxAtoms = 12;
constexpr int kMaxDepth = 24;

std::uint64_t maskTo(unsigned w, std::uint64_t v) {
  return w >= 64 ? v : v & ((1ULL << w) - 1);
}

bool numeral(const Expr& e, std::uint64_t* v) {
  return e.isNumeral() && e.getUint64(*v);
}

void addScaled(Linear& into, const Linear& from, std::uint64_t k, unsigned w) {
  into.constant = maskTo(w, into.constant + from.constant * k);
  for (const auto& [id, term] : from.terms) {
    auto [it, inserted] = into.terms.try_emplace(id, term.first, 0);
    it->second.second = maskTo(w, it->second.second + term.second * k);
    if (it->second.second == 0) into.terms.erase(it);
  }
}

Linear linearize(const Expr& e, unsigned w, int depth) {
  Linear out;
  std::uint64_t v = 0;
  if (numeral(e, &v)) {
    out.constant = maskTo(w, v);
    return out;
  }
  if (depth < kMaxDepth && e.isApp()) {
    const Op kind = e.op();
    const unsigned n = e.numArgs();
    if (kind == Op::BvAdd) {
      for (unsigned i = 0; i < n; ++i) addScaled(out, linearize(e.arg(i), w, depth + 1), 1, w);
      return out;
    }
    if (kind == Op::BvSub && n == 2) {
      addScaled(out, linearize(e.arg(0), w, depth + 1), 1, w);
      addScaled(out, linearize(e.arg(1), w, depth + 1), maskTo(w, ~0ULL), w);
      return out;
    }
    if (kind == Op::BvNeg && n == 1) {
      addScaled(out, linearize(e.arg(0), w, depth + 1), maskTo(w, ~0ULL), w);
      return out;
    }
    if (kind == Op::BvMul && n == 2) {
      for (unsigned i = 0; i < 2; ++i) {
        if (numeral(e.arg(i), &v)) {
          addScaled(out, linearize(e.arg(1 - i), w, depth + 1), v, w);
          return out;
        }
      }
    }
    if (kind == Op::BvShl && n == 2 && numeral(e.arg(1), &v) && v < w) {
      addScaled(out, linearize(e.arg(0), w, depth + 1), 1ULL << v, w);
      return out;
    }
  }
  out.terms.emplace(e.id(), std::make_pair(e, 1));
  return out;
}

}  // namespace

Expr normalizeLinear(const Expr& e) {
  if (!e.isBv()) return e;
  const unsigned w = e.sort().bvSize();
  if (w != 32 && w != 64) return e;
  const Linear l = linearize(e, w, 0);
  if (l.terms.size() > kMaxAtoms) return e;
  Context& c = e.ctx();
  std::optional<Expr> sum;
  for (const auto& [id, term] : l.terms) {
    const auto& [atom, k] = term;
    Expr t = atom;
    if (k == maskTo(w, ~0ULL)) {
      t = -atom;
    } else if (k != 1) {
      const bool power_of_two = (k & (k - 1)) == 0;
      t = power_of_two ? shl(atom, c.bvVal(static_cast<uint64_t>(__builtin_ctzll(k)), w))
                       : atom * c.bvVal(static_cast<uint64_t>(k), w);
    }
    sum = sum ? *sum + t : t;
  }
  if (!sum) return c.bvVal(static_cast<uint64_t>(l.constant), w);
  if (l.constant != 0) return *sum + c.bvVal(static_cast<uint64_t>(l.constant), w);
  return *sum;
}

Expr signExtendLow(const Expr& v, unsigned bits) {
  const unsigned w = v.sort().bvSize();
  return sext(v.extract(bits - 1, 0), w - bits);
}

Expr resize(const Expr& v, unsigned width, bool is_signed) {
  const unsigned w = v.sort().bvSize();
  if (w == width) return v;
  if (w > width) return v.extract(width - 1, 0);
  return is_signed ? sext(v, width - w) : zext(v, width - w);
}

}  // namespace loom::verify::smt
