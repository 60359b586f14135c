// The value types the verifier models. Every value is a bit-vector: floats
// carry their IEEE bits, a v128 its 128 bits (lane 0 in the low bits, as in
// memory), and a reference an identity of 32 bits where 0 is null. A
// funcref's identity is the function's number in the pair's shared function
// numbering (by name), so the same function has the same identity on both
// sides; an externref's is whatever the host passed. A tuple (multi-value)
// is the concatenation of its parts, the first part in the high bits.
#pragma once

#include <binaryen-c.h>

#include <optional>
#include <string>
#include <vector>

namespace loom::verify::sem {

// Tuple only types a local (Binaryen's multi-value lowering keeps tuples in
// locals); its width is the function's to say (FunctionInfo::local_bits).
enum class ValType : unsigned char { I32, I64, F32, F64, V128, FuncRef, ExternRef, Tuple };

inline unsigned widthOf(ValType t) {
  switch (t) {
    case ValType::I64:
    case ValType::F64:
      return 64;
    case ValType::V128:
      return 128;
    case ValType::Tuple:
      return 0;
    default:
      return 32;
  }
}
inline unsigned widthOf(const std::vector<ValType>& tuple) {
  unsigned w = 0;
  for (ValType t : tuple) w += widthOf(t);
  return w;
}
inline bool isFloat(ValType t) {
  return t == ValType::F32 || t == ValType::F64;
}
inline bool isRef(ValType t) {
  return t == ValType::FuncRef || t == ValType::ExternRef;
}
std::string typeName(ValType t);

// nullopt for tuples and for the types of proposals after 2.0 (GC
// references, exceptions' exnref, strings): the verifier gives up on those.
std::optional<ValType> valTypeOf(BinaryenType t);
// Expands `none` to {} and a single type to {t}; nullopt if any part is unsupported.
std::optional<std::vector<ValType>> expandTypes(BinaryenType t);
std::string describeTypes(const std::vector<ValType>& types);

}  // namespace loom::verify::sem
