#include "src/verify/smt/model.hpp"

#include <fmt/format.h>

namespace loom::verify::smt {

std::optional<std::uint64_t> ModelReader::bits(const z3::expr& e) const {
  z3::expr v = eval(e);
  if (v.is_bool()) return v.is_true() ? 1 : 0;
  if (!v.is_numeral()) return std::nullopt;
  std::uint64_t out = 0;
  if (!Z3_get_numeral_uint64(v.ctx(), v, &out)) return std::nullopt;
  return out;
}

std::uint64_t ModelReader::bitsOr(const z3::expr& e, std::uint64_t fallback) const {
  return bits(e).value_or(fallback);
}

bool ModelReader::truth(const z3::expr& e) const {
  return eval(e).is_true();
}

std::string formatValue(const std::string& type, std::uint64_t bits) {
  if (type == "i32")
    return std::to_string(static_cast<std::int32_t>(static_cast<std::uint32_t>(bits)));
  if (type == "i64") return std::to_string(static_cast<std::int64_t>(bits));
  if (type == "f32") return fmt::format("bits:0x{:08x}", static_cast<std::uint32_t>(bits));
  return fmt::format("bits:0x{:016x}", bits);
}

}  // namespace loom::verify::smt
