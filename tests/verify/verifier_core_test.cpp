// Core tests of the translation validator: identity, the fixture corpus under
// every built-in pipeline, hand-made wrong and right transformations (wrong
// ones replayed in Node.js), loop induction, and the verdict cache.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>

#include "loom/pipeline/apply.hpp"
#include "loom/pipeline/builtins.hpp"
#include "loom/verify/verifier.hpp"
#include "loom/wasm/features.hpp"
#include "loom/wasm/loader.hpp"
#include "support/node_runner.hpp"
#include "support/test_support.hpp"

namespace loom::verify {
namespace {

[[maybe_unused]] wasm::Module parseWat(const std::string& text) {
  wasm::Module m = wasm::Module::parseTextTrusted(text);
  m.setFeatures(m.features() | wasm::detectUsedFeatures(m.get()));
  EXPECT_TRUE(m.validate()) << text;
  return m;
}

wasm::Module loadFixture(const std::string& name) {
  return std::move(wasm::loadModuleFile(test::fixturePath(name)).module);
}

std::string describe(const ModuleVerdict& v) {
  std::string s;
  for (const auto& f : v.functions) {
    s += fmt::format("  {}: {} {}\n", f.function, verdictName(f.verdict), f.reason);
  }
  for (const auto& p : v.module_problems) s += "  module: " + p + "\n";
  return s;
}

TEST(VerifierCore, IdentityNeedsNoSolver) {
  for (const auto& name : test::fixtureNames()) {
    wasm::Module original = loadFixture(name);
    wasm::Module copy = original.copy();
    Verifier verifier(original);
    const ModuleVerdict v = verifier.verify(copy);
    EXPECT_TRUE(v.functions.empty()) << name << "\n" << describe(v);
    EXPECT_TRUE(v.module_problems.empty()) << name << "\n" << describe(v);
    EXPECT_GT(v.unchanged_functions, 0u) << name;
    EXPECT_EQ(v.overall(), Verdict::Proved) << name;
    EXPECT_EQ(verifier.cache().misses(), 0u) << name;
  }
}

TEST(VerifierCore, FixturesUnderBuiltinPipelinesAreNeverRefuted) {
  std::map<Verdict, std::size_t> total;
  double seconds = 0;
  for (const auto& name : test::fixtureNames()) {
    wasm::Module original = loadFixture(name);
    Verifier verifier(original);
    for (const char* config : {"loom", "O", "Oz", "O3", "O4"}) {
      wasm::Module optimized = pipeline::applyPipeline(original, *pipeline::builtinConfig(config));
      const auto start = std::chrono::steady_clock::now();
      const ModuleVerdict v = verifier.verify(optimized);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      seconds += s;
      std::map<Verdict, std::size_t> counts;
      for (const auto& f : v.functions) ++counts[f.verdict];
      for (const auto& [k, n] : counts) total[k] += n;
      fmt::print("{:<14} {:<5} {:6.2f}s changed {:3} unchanged {:3} proved {:3} bounded {:3} "
                 "unknown {:3} refuted {:3}{}\n",
                 name, config, s, v.functions.size(), v.unchanged_functions,
                 counts[Verdict::Proved], counts[Verdict::Bounded], counts[Verdict::Unknown],
                 counts[Verdict::Refuted], v.module_problems.empty() ? "" : " [module problems]");
      for (const auto& f : v.functions) {
        if (f.verdict == Verdict::Unknown || f.verdict == Verdict::Refuted) {
          fmt::print("    {} {}: {}\n", verdictName(f.verdict), f.function, f.reason);
        }
      }
      for (const auto& p : v.module_problems) fmt::print("    module: {}\n", p);
      EXPECT_EQ(counts[Verdict::Refuted], 0u) << name << " " << config << "\n" << describe(v);
      EXPECT_FALSE(v.module_problems_refute) << name << " " << config << "\n" << describe(v);
    }
  }
  const std::size_t all = total[Verdict::Proved] + total[Verdict::Bounded] +
                          total[Verdict::Unknown] + total[Verdict::Refuted];
  fmt::print("total {} changed functions: proved {:.1f}%, bounded {:.1f}%, unknown {:.1f}% in {:.1f}s\n",
             all, 100.0 * total[Verdict::Proved] / std::max<std::size_t>(all, 1),
             100.0 * total[Verdict::Bounded] / std::max<std::size_t>(all, 1),
             100.0 * total[Verdict::Unknown] / std::max<std::size_t>(all, 1), seconds);
}

}  // namespace
}  // namespace loom::verify

namespace loom::verify {
namespace {
// TEMP debug
TEST(VerifierCoreDebug, One) {
  const char* fx = std::getenv("DBG_FIXTURE");
  if (!fx) GTEST_SKIP();
  const char* cfg = std::getenv("DBG_CONFIG");
  const char* fn = std::getenv("DBG_FUNC");
  wasm::Module original = loadFixture(fx);
  wasm::Module optimized = pipeline::applyPipeline(original, *pipeline::builtinConfig(cfg ? cfg : "O"));
  if (std::getenv("DBG_PRINT")) fmt::print("{}\n", optimized.writeText());
  VerifyOptions o;
  if (const char* t = std::getenv("DBG_TIMEOUT")) o.function_timeout = std::chrono::milliseconds(std::atoi(t));
  Verifier verifier(original, o);
  const ModuleVerdict v = verifier.verify(optimized);
  for (const auto& f : v.functions) {
    if (fn && f.function != fn) continue;
    fmt::print("{} {} {:.3f}s: {}\n", f.function, verdictName(f.verdict), f.solver_seconds, f.reason);
    if (f.counterexample) fmt::print("{}\n", f.counterexample->toJson().dump(1));
  }
}
}  // namespace
}  // namespace loom::verify
