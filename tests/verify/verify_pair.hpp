// Verifying one hand-written module against another, for the verifier tests.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "loom/verify/verifier.hpp"
#include "loom/wasm/features.hpp"
#include "loom/wasm/module.hpp"

namespace loom::verify {

// A text module with the features its code uses; it must validate.
inline wasm::Module parseWat(const std::string& text) {
  wasm::Module m = wasm::Module::parseTextTrusted(text);
  m.setFeatures(m.features() | wasm::detectUsedFeatures(m.get()));
  EXPECT_TRUE(m.validate()) << text;
  return m;
}

inline ModuleVerdict verifyPair(const std::string& original_wat, const std::string& optimized_wat,
                                VerifyOptions options = {}) {
  const wasm::Module original = parseWat(original_wat);
  const wasm::Module optimized = parseWat(optimized_wat);
  Verifier verifier(original, options);
  return verifier.verify(optimized);
}

// Module problems and per-function verdicts in one line, for failure messages.
inline std::string describeVerdict(const ModuleVerdict& v) {
  std::string s;
  for (const auto& p : v.module_problems) s += p + "; ";
  for (const auto& f : v.functions)
    s += f.function + ": " + std::string(verdictName(f.verdict)) + " " + f.reason + "; ";
  return s;
}

}  // namespace loom::verify
