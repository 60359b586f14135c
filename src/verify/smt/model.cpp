#include "src/verify/smt/model.hpp"

#include <fmt/format.h>

namespace loom::verify::smt {

std::optional<std::uint64_t> ModelReader::bits(const Expr& e) const {
  Expr v = eval(e);
  if (v.isBool()) return v.isTrue() ? 1 : 0;
  if (!v.isNumeral()) return std::nullopt;
  std::uint64_t out = 0;
  if (!v.getUint64(out)) return std::nullopt;
  return out;
}

std::uint64_t ModelReader::bitsOr(const Expr& e, std::uint64_t fallback) const {
  return bits(e).value_or(fallback);
}

bool ModelReader::truth(const Expr& e) const {
  return eval(e).isTrue();
}

std::string formatValue(const std::string& type, std::uint64_t bits) {
  if (type == "i32")
    return std::to_string(static_cast<std::int32_t>(static_cast<std::uint32_t>(bits)));
  if (type == "i64") return std::to_string(static_cast<std::int64_t>(bits));
  if (type == "f32") return fmt::format("bits:0x{:08x}", static_cast<std::uint32_t>(bits));
  return fmt::format("bits:0x{:016x}", bits);
}

}  // namespace loom::verify::smt
