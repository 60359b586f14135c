// The value types the verifier models. Floats are carried as the bit-vector
// of their IEEE bits, so every value is a bit-vector of 32 or 64 bits.
#pragma once

#include <binaryen-c.h>

#include <optional>
#include <string>
#include <vector>

namespace loom::verify::sem {

enum class ValType : unsigned char { I32, I64, F32, F64 };

inline unsigned widthOf(ValType t) {
  return t == ValType::I32 || t == ValType::F32 ? 32 : 64;
}
inline bool isFloat(ValType t) {
  return t == ValType::F32 || t == ValType::F64;
}
std::string typeName(ValType t);

// nullopt for v128, references and tuples: the verifier gives up on those.
std::optional<ValType> valTypeOf(BinaryenType t);
// Expands `none` to {} and a single type to {t}; nullopt if any part is unsupported.
std::optional<std::vector<ValType>> expandTypes(BinaryenType t);
std::string describeTypes(const std::vector<ValType>& types);

}  // namespace loom::verify::sem
