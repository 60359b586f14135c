#include "src/verify/smt/bitvector.hpp"

#include <map>
#include <optional>

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
  std::uint64_t v = 0;
  if (count.is_numeral() && Z3_get_numeral_uint64(count.ctx(), count, &v)) {
    return count.ctx().bv_val(static_cast<uint64_t>(v & (w - 1)), w);
  }
  return count & count.ctx().bv_val(w - 1, w);
}
}  // namespace

z3::expr shiftLeft(const z3::expr& v, const z3::expr& count) {
  return z3::shl(v, maskCount(count));
}
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

namespace {

// A linear combination sum(coefficient * atom) + constant, modulo 2^width.
struct Linear {
  std::map<unsigned, std::pair<z3::expr, std::uint64_t>> terms;  // atom id -> (atom, coefficient)
  std::uint64_t constant = 0;
};

constexpr std::size_t kMaxAtoms = 12;
constexpr int kMaxDepth = 24;

std::uint64_t maskTo(unsigned w, std::uint64_t v) {
  return w >= 64 ? v : v & ((1ULL << w) - 1);
}

bool numeral(const z3::expr& e, std::uint64_t* v) {
  return e.is_numeral() && Z3_get_numeral_uint64(e.ctx(), e, v);
}

void addScaled(Linear& into, const Linear& from, std::uint64_t k, unsigned w) {
  into.constant = maskTo(w, into.constant + from.constant * k);
  for (const auto& [id, term] : from.terms) {
    auto [it, inserted] = into.terms.try_emplace(id, term.first, 0);
    it->second.second = maskTo(w, it->second.second + term.second * k);
    if (it->second.second == 0) into.terms.erase(it);
  }
}

Linear linearize(const z3::expr& e, unsigned w, int depth) {
  Linear out;
  std::uint64_t v = 0;
  if (numeral(e, &v)) {
    out.constant = maskTo(w, v);
    return out;
  }
  if (depth < kMaxDepth && e.is_app()) {
    const Z3_decl_kind kind = e.decl().decl_kind();
    const unsigned n = e.num_args();
    if (kind == Z3_OP_BADD) {
      for (unsigned i = 0; i < n; ++i) addScaled(out, linearize(e.arg(i), w, depth + 1), 1, w);
      return out;
    }
    if (kind == Z3_OP_BSUB && n == 2) {
      addScaled(out, linearize(e.arg(0), w, depth + 1), 1, w);
      addScaled(out, linearize(e.arg(1), w, depth + 1), maskTo(w, ~0ULL), w);
      return out;
    }
    if (kind == Z3_OP_BNEG && n == 1) {
      addScaled(out, linearize(e.arg(0), w, depth + 1), maskTo(w, ~0ULL), w);
      return out;
    }
    if (kind == Z3_OP_BMUL && n == 2) {
      for (unsigned i = 0; i < 2; ++i) {
        if (numeral(e.arg(i), &v)) {
          addScaled(out, linearize(e.arg(1 - i), w, depth + 1), v, w);
          return out;
        }
      }
    }
    if (kind == Z3_OP_BSHL && n == 2 && numeral(e.arg(1), &v) && v < w) {
      addScaled(out, linearize(e.arg(0), w, depth + 1), 1ULL << v, w);
      return out;
    }
  }
  out.terms.emplace(e.id(), std::make_pair(e, 1));
  return out;
}

}  // namespace

z3::expr normalizeLinear(const z3::expr& e) {
  if (!e.is_bv()) return e;
  const unsigned w = e.get_sort().bv_size();
  if (w != 32 && w != 64) return e;
  const Linear l = linearize(e, w, 0);
  if (l.terms.size() > kMaxAtoms) return e;
  z3::context& c = e.ctx();
  std::optional<z3::expr> sum;
  for (const auto& [id, term] : l.terms) {
    const auto& [atom, k] = term;
    z3::expr t = atom;
    if (k == maskTo(w, ~0ULL)) {
      t = -atom;
    } else if (k != 1) {
      const bool power_of_two = (k & (k - 1)) == 0;
      t = power_of_two ? z3::shl(atom, c.bv_val(static_cast<uint64_t>(__builtin_ctzll(k)), w))
                       : atom * c.bv_val(static_cast<uint64_t>(k), w);
    }
    sum = sum ? *sum + t : t;
  }
  if (!sum) return c.bv_val(static_cast<uint64_t>(l.constant), w);
  if (l.constant != 0) return *sum + c.bv_val(static_cast<uint64_t>(l.constant), w);
  return *sum;
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
