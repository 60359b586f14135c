// Structural hashes of function bodies: equal hashes mean "this function did
// not change", which lets caches and the verifier skip it.
#pragma once

#include <binaryen-c.h>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <unordered_map>

namespace loom::wasm {

struct Hash128 {
  std::uint64_t low = 0;
  std::uint64_t high = 0;
  friend bool operator==(const Hash128&, const Hash128&) = default;
  friend auto operator<=>(const Hash128&, const Hash128&) = default;
  std::string hex() const;
  static Hash128 fromHex(std::string_view hex);  // throws wasm::Error
};

struct Hash128Hasher {
  std::size_t operator()(const Hash128& h) const {
    return static_cast<std::size_t>(h.low ^ (h.high * 0x9e3779b97f4a7c15ULL));
  }
};

struct FunctionHash {
  Hash128 hash;
  // The body holds an expression class the C API cannot look into, so the
  // hash does not capture all of it; such a function never counts as unchanged.
  bool opaque = false;
  std::uint64_t expressions = 0;  // body size, to do the cheap work first
};

// Covers the signature, the local types and the body. Label names are
// replaced by their order of definition, so renaming labels keeps the hash.
FunctionHash hashFunction(BinaryenFunctionRef function);

// The same, with every global named as `rename` says: how a body compares
// with another module's under a pairing of their globals.
using GlobalRename = std::function<std::string(std::string_view)>;
FunctionHash hashFunction(BinaryenFunctionRef function, const GlobalRename& rename);

// The same up to a renaming of the function's vars (its non-parameter
// locals): equal hashes mean the bodies differ at most by a one-to-one,
// type-preserving renaming of vars, which changes nothing a caller can see
// (what reorder-locals and coalesce-locals often do and nothing else).
FunctionHash hashFunctionUpToLocals(BinaryenFunctionRef function,
                                    const GlobalRename* rename = nullptr);

// Hash of one expression tree, to compare parts of two functions: labels it
// defines are numbered in order of definition, labels it only branches to
// get the number `outer` gives them (their pairing between the functions).
using OuterLabels = std::function<std::uint64_t(const char*)>;
Hash128 hashExpression(BinaryenExpressionRef expr, const OuterLabels& outer);
// The same for the expression alone, without its children.
Hash128 hashExpressionNode(BinaryenExpressionRef expr, const OuterLabels& outer);

// Name -> hash for every defined function.
std::unordered_map<std::string, FunctionHash> hashFunctions(BinaryenModuleRef module);

Hash128 hashBytes(std::span<const std::uint8_t> bytes);
Hash128 hashString(std::string_view text);

// SHA-256 hex digest, as sha256sum prints it.
std::string sha256Hex(std::span<const std::uint8_t> bytes);

}  // namespace loom::wasm
