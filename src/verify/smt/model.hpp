// Reading concrete values out of a Z3 model (with model completion, so that
// symbols the model leaves free still get a definite value).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "src/verify/smt/expr.hpp"

namespace loom::verify::smt {

class ModelReader {
 public:
  explicit ModelReader(Model model) : model_(std::move(model)) {}

  Expr eval(const Expr& e) const { return model_.eval(e, true); }
  // Bit-vectors of up to 64 bits; nullopt if the model does not give a numeral.
  std::optional<std::uint64_t> bits(const Expr& e) const;
  std::uint64_t bitsOr(const Expr& e, std::uint64_t fallback) const;
  bool truth(const Expr& e) const;
  const Model& model() const { return model_; }

 private:
  Model model_;
};

// "i32"/"i64" values as signed decimal, "f32"/"f64" as "bits:0x..." (the
// syntax scripts/wasm-run.mjs reads).
std::string formatValue(const std::string& type, std::uint64_t bits);

}  // namespace loom::verify::smt
