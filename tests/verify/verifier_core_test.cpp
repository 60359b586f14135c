// Core tests of the translation validator: identity, the fixture corpus under
// every built-in pipeline, hand-made wrong and right transformations (wrong
// ones replayed in Node.js), loop induction, and the verdict cache.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <string>

#include "loom/pipeline/apply.hpp"
#include "loom/pipeline/builtins.hpp"
#include "loom/verify/verifier.hpp"
#include "loom/wasm/features.hpp"
#include "loom/wasm/loader.hpp"
#include "src/verify/check/loop_induction.hpp"
#include "support/node_runner.hpp"
#include "support/test_support.hpp"
#include "verify/verify_pair.hpp"

namespace loom::verify {
namespace {

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
      const double s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      seconds += s;
      std::map<Verdict, std::size_t> counts;
      for (const auto& f : v.functions) ++counts[f.verdict];
      for (const auto& [k, n] : counts) total[k] += n;
      fmt::print(
          "{:<14} {:<5} {:6.2f}s changed {:3} unchanged {:3} proved {:3} bounded {:3} "
          "unknown {:3} refuted {:3}{}\n",
          name, config, s, v.functions.size(), v.unchanged_functions, counts[Verdict::Proved],
          counts[Verdict::Bounded], counts[Verdict::Unknown], counts[Verdict::Refuted],
          v.module_problems.empty() ? "" : " [module problems]");
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
  fmt::print(
      "total {} changed functions: proved {:.1f}%, bounded {:.1f}%, unknown {:.1f}% in {:.1f}s\n",
      all, 100.0 * total[Verdict::Proved] / std::max<std::size_t>(all, 1),
      100.0 * total[Verdict::Bounded] / std::max<std::size_t>(all, 1),
      100.0 * total[Verdict::Unknown] / std::max<std::size_t>(all, 1), seconds);
}

// ---------------------------------------------------------------------------
// Hand-made transformations. Each case is a pair of modules in which the
// function `f` (exported as "f") differs; wrong ones must be refuted with a
// counterexample that Node.js confirms, right ones proved (or bounded).

struct Case {
  std::string name;
  std::string original;
  std::string optimized;
};

// Runs `f` of `module` in Node with the counterexample's inputs.
nlohmann::json replay(const std::filesystem::path& module, const Counterexample& cex) {
  nlohmann::json call{{"export", "f"}, {"args", nlohmann::json::array()}};
  for (const auto& a : cex.arguments) call["args"].push_back(a.value);
  const nlohmann::json cj = cex.toJson();
  if (cex.memory_pages > 0) call["memory_size_pages"] = cex.memory_pages;
  if (!cj["memory"].empty()) call["memory_writes"] = cj["memory"];
  nlohmann::json globals = nlohmann::json::object();
  for (const auto& [name, value] : cex.globals) globals[name] = value.value;
  if (!globals.empty()) call["globals"] = globals;
  nlohmann::json results = nlohmann::json::array();
  for (const auto& r : cex.import_results) {
    results.push_back(r.empty() ? nlohmann::json() : nlohmann::json(r.front().value));
  }
  call["import_results"] = results;
  return test::runInNode({{"module", module.string()}, {"calls", {call}}}).at("results").at(0);
}

void expectRealCounterexample(const Case& c, const Counterexample& cex) {
  test::TempDir dir;
  test::writeBytes(dir / "original.wasm", parseWat(c.original).writeBinary());
  test::writeBytes(dir / "optimized.wasm", parseWat(c.optimized).writeBinary());
  const nlohmann::json a = replay(dir / "original.wasm", cex);
  const nlohmann::json b = replay(dir / "optimized.wasm", cex);
  auto observable = [](const nlohmann::json& r) {
    return nlohmann::json{{"outcome", r.at("outcome")},
                          {"values", r.at("values")},
                          {"memory", r.value("memory_sha256", nlohmann::json())},
                          {"globals", r.at("globals")},
                          {"imports", r.at("imports")}};
  };
  EXPECT_NE(observable(a), observable(b))
      << c.name << ": Node sees no difference for " << cex.toJson().dump() << "\n"
      << a.dump() << "\n"
      << b.dump();
}

std::string module(const std::string& body, const std::string& extra = "") {
  return "(module " + extra + " " + body + ")";
}

const std::vector<Case>& wrongCases() {
  static const std::vector<Case> cases = {
      {"mul8 as shl2",
       module(
           R"((func $f (export "f") (param $x i32) (result i32) (i32.mul (local.get $x)
             (i32.const 8))))"),
       module(
           R"((func $f (export "f") (param $x i32) (result i32) (i32.shl (local.get $x)
             (i32.const 2))))")},
      {"div_s as shr_s",
       module(
           R"((func $f (export "f") (param $x i32) (result i32) (i32.div_s (local.get $x)
             (i32.const 2))))"),
       module(
           R"((func $f (export "f") (param $x i32) (result i32) (i32.shr_s (local.get $x)
             (i32.const 1))))")},
      {"dropped store",
       module(R"((func $f (export "f") (param $p i32) (param $v i32) (result i32)
                   (i32.store (i32.and (local.get $p) (i32.const 1020)) (local.get $v))
                     (i32.const 0)))",
              R"((memory 1) (export "memory" (memory 0)))"),
       module(R"((func $f (export "f") (param $p i32) (param $v i32) (result i32) (i32.const 0)))",
              R"((memory 1) (export "memory" (memory 0)))")},
      {"load offset changed",
       module(
           R"((func $f (export "f") (param $p i32) (result i32)
                   (i32.load offset=4 (i32.and (local.get $p) (i32.const 1020)))))",
           R"((memory 1) (export "memory" (memory 0)) (data (i32.const 8)
             "\01\02\03\04\05\06\07\08"))"),
       module(
           R"((func $f (export "f") (param $p i32) (result i32)
                   (i32.load offset=8 (i32.and (local.get $p) (i32.const 1020)))))",
           R"((memory 1) (export "memory" (memory 0)) (data (i32.const 8)
             "\01\02\03\04\05\06\07\08"))")},
      {"removed trap", module(R"((func $f (export "f") (param $a i32) (param $b i32) (result i32)
                   (drop (i32.div_u (local.get $a) (local.get $b))) (i32.const 1)))"),
       module(
           R"((func $f (export "f") (param $a i32) (param $b i32) (result i32) (i32.const 1)))")},
      {"swapped import calls",
       module(R"((func $f (export "f") (param $a i32) (result i32)
                   (call $log (local.get $a)) (call $log (i32.const 7)) (i32.const 0)))",
              R"((import "env" "log" (func $log (param i32))))"),
       module(R"((func $f (export "f") (param $a i32) (result i32)
                   (call $log (i32.const 7)) (call $log (local.get $a)) (i32.const 0)))",
              R"((import "env" "log" (func $log (param i32))))")},
      {"loop bound off by one",
       module(R"((func $f (export "f") (param $n i32) (result i32) (local $i i32) (local $s i32)
                   (local.set $n (i32.and (local.get $n) (i32.const 1023)))
                   (block $exit (loop $top
                     (br_if $exit (i32.ge_u (local.get $i) (local.get $n)))
                     (local.set $s (i32.add (local.get $s) (local.get $i)))
                     (local.set $i (i32.add (local.get $i) (i32.const 1)))
                     (br $top)))
                   (local.get $s)))"),
       module(R"((func $f (export "f") (param $n i32) (result i32) (local $i i32) (local $s i32)
                   (local.set $n (i32.and (local.get $n) (i32.const 1023)))
                   (block $exit (loop $top
                     (br_if $exit (i32.gt_u (local.get $i) (local.get $n)))
                     (local.set $s (i32.add (local.get $s) (local.get $i)))
                     (local.set $i (i32.add (local.get $i) (i32.const 1)))
                     (br $top)))
                   (local.get $s)))")},
      {"f64 add as sub",
       module(
           R"((func $f (export "f") (param $a f64) (param $b f64) (result f64) (f64.add
             (local.get $a) (local.get $b))))"),
       module(
           R"((func $f (export "f") (param $a f64) (param $b f64) (result f64) (f64.sub
             (local.get $a) (local.get $b))))")},
      {"global write changed",
       module(
           R"((func $f (export "f") (param $a i32) (result i32) (global.set $g (i32.const 1))
             (local.get $a)))",
           R"((global $g (mut i32) (i32.const 0)) (export "g" (global $g)))"),
       module(
           R"((func $f (export "f") (param $a i32) (result i32) (global.set $g (i32.const 2))
             (local.get $a)))",
           R"((global $g (mut i32) (i32.const 0)) (export "g" (global $g)))")},
  };
  return cases;
}

TEST(VerifierCore, WrongTransformationsAreRefutedWithRealCounterexamples) {
  for (const auto& c : wrongCases()) {
    const ModuleVerdict v = verifyPair(c.original, c.optimized);
    ASSERT_EQ(v.functions.size(), 1u) << c.name << "\n" << describe(v);
    const FunctionVerdict& f = v.functions.front();
    fmt::print("{:<24} {} ({:.3f}s): {}\n", c.name, verdictName(f.verdict), f.solver_seconds,
               f.reason);
    ASSERT_EQ(f.verdict, Verdict::Refuted) << c.name << "\n" << describe(v);
    ASSERT_TRUE(f.counterexample.has_value()) << c.name;
    fmt::print("    {}\n    original:  {}\n    optimized: {}\n", f.counterexample->toJson().dump(),
               f.counterexample->original_outcome, f.counterexample->optimized_outcome);
    EXPECT_EQ(v.overall(), Verdict::Refuted);
    expectRealCounterexample(c, *f.counterexample);
    // The JSON form carries everything (verdicts travel between processes).
    const FunctionVerdict back = FunctionVerdict::fromJson(f.toJson());
    EXPECT_EQ(back.toJson(), f.toJson()) << c.name;
    ASSERT_TRUE(back.counterexample.has_value());
    EXPECT_EQ(back.counterexample->arguments, f.counterexample->arguments);
    EXPECT_EQ(back.counterexample->memory, f.counterexample->memory);
    EXPECT_EQ(back.counterexample->globals, f.counterexample->globals);
    EXPECT_EQ(back.counterexample->import_results, f.counterexample->import_results);
  }
}

const char* kSumLoop =
    R"((func $f (export "f") (param $n i32) (result i32) (local $i i32) (local $s i32)
    (local.set $n (i32.and (local.get $n) (i32.const 1023)))
    (block $exit (loop $top
      (br_if $exit (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $s (i32.add (local.get $s) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $top)))
    (local.get $s)))";

struct RightCase {
  Case c;
  Verdict expected;
};

const std::vector<RightCase>& rightCases() {
  static const std::vector<RightCase> cases = {
      {{"mul8 as shl3",
        module(
            R"((func $f (export "f") (param $x i32) (result i32) (i32.mul (local.get $x)
              (i32.const 8))))"),
        module(
            R"((func $f (export "f") (param $x i32) (result i32) (i32.shl (local.get $x)
              (i32.const 3))))")},
       Verdict::Proved},
      {{"strength reductions",
        module(R"((func $f (export "f") (param $x i32) (param $y i64) (result i64)
                    (i64.add
                      (i64.extend_i32_u (i32.add (i32.div_u (local.get $x) (i32.const 8))
                                                 (i32.rem_u (local.get $x) (i32.const 16))))
                      (i64.add (i64.mul (local.get $y) (i64.const 2))
                               (i64.sub (i64.const 0) (i64.sub (i64.const 0) (local.get $y)))))))"),
        module(R"((func $f (export "f") (param $x i32) (param $y i64) (result i64)
                    (i64.add
                      (i64.extend_i32_u (i32.add (i32.shr_u (local.get $x) (i32.const 3))
                                                 (i32.and (local.get $x) (i32.const 15))))
                      (i64.add (i64.add (local.get $y) (local.get $y)) (local.get $y)))))")},
       Verdict::Proved},
      {{"f32 division by two as multiplication by a half",
        module(
            R"((func $f (export "f") (param $x f32) (result f32) (f32.div (local.get $x)
              (f32.const 2))))"),
        module(
            R"((func $f (export "f") (param $x f32) (result f32) (f32.mul (local.get $x)
              (f32.const 0.5))))")},
       Verdict::Proved},
      {{"loop with a renamed local", module(kSumLoop),
        module(R"((func $f (export "f") (param $n i32) (result i32) (local $s i32) (local $i i32)
                    (local.set $n (i32.and (local.get $n) (i32.const 1023)))
                    (block $exit (loop $top
                      (br_if $exit (i32.ge_u (local.get $i) (local.get $n)))
                      (local.set $s (i32.add (local.get $i) (local.get $s)))
                      (local.set $i (i32.add (local.get $i) (i32.const 1)))
                      (br $top)))
                    (local.get $s)))")},
       Verdict::Proved},
      {{"loop with coalesced locals (the counter reuses the parameter)", module(kSumLoop),
        module(R"((func $f (export "f") (param $n i32) (result i32) (local $i i32) (local $s i32)
                    (local.set $i (i32.and (local.get $n) (i32.const 1023)))
                    (local.set $n (i32.const 0))
                    (block $exit (loop $top
                      (br_if $exit (i32.ge_u (local.get $n) (local.get $i)))
                      (local.set $s (i32.add (local.get $s) (local.get $n)))
                      (local.set $n (i32.add (local.get $n) (i32.const 1)))
                      (br $top)))
                    (local.get $s)))")},
       Verdict::Proved},
      {{"loop-invariant code motion",
        module(R"((func $f (export "f") (param $n i32) (param $a i32) (param $b i32) (result i32)
                    (local $i i32) (local $s i32)
                    (local.set $n (i32.and (local.get $n) (i32.const 255)))
                    (block $exit (loop $top
                      (br_if $exit (i32.ge_u (local.get $i) (local.get $n)))
                      (local.set $s (i32.add (local.get $s) (i32.mul (local.get $a) (local.get
                        $b))))
                      (local.set $i (i32.add (local.get $i) (i32.const 1)))
                      (br $top)))
                    (local.get $s)))"),
        module(R"((func $f (export "f") (param $n i32) (param $a i32) (param $b i32) (result i32)
                    (local $i i32) (local $s i32) (local $t i32)
                    (local.set $n (i32.and (local.get $n) (i32.const 255)))
                    (local.set $t (i32.mul (local.get $a) (local.get $b)))
                    (block $exit (loop $top
                      (br_if $exit (i32.ge_u (local.get $i) (local.get $n)))
                      (local.set $s (i32.add (local.get $s) (local.get $t)))
                      (local.set $i (i32.add (local.get $i) (i32.const 1)))
                      (br $top)))
                    (local.get $s)))")},
       Verdict::Proved},
      {{"inlined helper",
        module(
            R"((func $sq1 (param $x i32) (result i32) (i32.add (i32.mul (local.get $x)
              (local.get $x)) (i32.const 1)))
                  (func $f (export "f") (param $x i32) (result i32)
                    (i32.add (call $sq1 (local.get $x)) (call $sq1 (i32.add (local.get $x)
                      (i32.const 1))))))"),
        module(R"((func $f (export "f") (param $x i32) (result i32) (local $y i32)
                    (local.set $y (i32.add (local.get $x) (i32.const 1)))
                    (i32.add (i32.add (i32.mul (local.get $x) (local.get $x)) (i32.const 1))
                             (i32.add (i32.mul (local.get $y) (local.get $y)) (i32.const 1)))))")},
       Verdict::Proved},
      {{"merged duplicate function",
        module(R"((func $dup1 (param $x i32) (result i32) (i32.xor (local.get $x) (i32.const 85)))
                  (func $dup2 (param $x i32) (result i32) (i32.xor (local.get $x) (i32.const 85)))
                  (func $f (export "f") (param $x i32) (result i32)
                    (i32.add (call $dup1 (local.get $x)) (call $dup2 (local.get $x)))))"),
        module(R"((func $dup1 (param $x i32) (result i32) (i32.xor (local.get $x) (i32.const 85)))
                  (func $f (export "f") (param $x i32) (result i32)
                    (i32.add (call $dup1 (local.get $x)) (call $dup1 (local.get $x)))))")},
       Verdict::Proved},
      {{"calls to an import inside a loop",
        module(R"((func $f (export "f") (param $n i32) (result i32) (local $i i32)
                    (local.set $n (i32.and (local.get $n) (i32.const 255)))
                    (block $exit (loop $top
                      (br_if $exit (i32.ge_u (local.get $i) (local.get $n)))
                      (call $log (i32.mul (local.get $i) (i32.const 4)))
                      (local.set $i (i32.add (local.get $i) (i32.const 1)))
                      (br $top)))
                    (local.get $i)))",
               R"((import "env" "log" (func $log (param i32))))"),
        module(R"((func $f (export "f") (param $n i32) (result i32) (local $i i32)
                    (local.set $n (i32.and (local.get $n) (i32.const 255)))
                    (block $exit (loop $top
                      (br_if $exit (i32.ge_u (local.get $i) (local.get $n)))
                      (call $log (i32.shl (local.get $i) (i32.const 2)))
                      (local.set $i (i32.add (local.get $i) (i32.const 1)))
                      (br $top)))
                    (local.get $i)))",
               R"((import "env" "log" (func $log (param i32))))")},
       Verdict::Proved},
      {{"loop unrolled by two", module(kSumLoop),
        module(R"((func $f (export "f") (param $n i32) (result i32) (local $i i32) (local $s i32)
                    (local.set $n (i32.and (local.get $n) (i32.const 1023)))
                    (block $exit (loop $top
                      (br_if $exit (i32.ge_u (local.get $i) (local.get $n)))
                      (local.set $s (i32.add (local.get $s) (local.get $i)))
                      (local.set $i (i32.add (local.get $i) (i32.const 1)))
                      (br_if $exit (i32.ge_u (local.get $i) (local.get $n)))
                      (local.set $s (i32.add (local.get $s) (local.get $i)))
                      (local.set $i (i32.add (local.get $i) (i32.const 1)))
                      (br $top)))
                    (local.get $s)))")},
       Verdict::Bounded},
  };
  return cases;
}

TEST(VerifierCore, RightTransformationsAreProvedOrHonestlyBounded) {
  for (const auto& rc : rightCases()) {
    const ModuleVerdict v = verifyPair(rc.c.original, rc.c.optimized);
    std::string summary;
    for (const auto& f : v.functions)
      summary += fmt::format("{} {}", verdictName(f.verdict), f.reason);
    fmt::print("{:<58} {}\n", rc.c.name, summary);
    EXPECT_TRUE(v.module_problems.empty()) << rc.c.name << "\n" << describe(v);
    const FunctionVerdict* f = nullptr;
    for (const auto& fv : v.functions) {
      if (fv.function == "f") f = &fv;
    }
    ASSERT_NE(f, nullptr) << rc.c.name << "\n" << describe(v);
    EXPECT_EQ(f->verdict, rc.expected) << rc.c.name << "\n" << describe(v);
    if (rc.expected == Verdict::Bounded) {
      EXPECT_EQ(f->bound, VerifyOptions{}.loop_bound);
    }
    EXPECT_EQ(v.overall(), rc.expected) << rc.c.name << "\n" << describe(v);
  }
}

// The simple corresponding-loop cases must be proved by induction, not by
// unrolling: the reason names the induction. (Without regions, which would
// prove the ones that change a loop's body in one place without induction.)
TEST(VerifierCore, CorrespondingLoopsAreProvedByInduction) {
  VerifyOptions whole;
  whole.by_regions = false;
  for (const auto& rc : rightCases()) {
    if (rc.c.name.find("loop") == std::string::npos || rc.expected != Verdict::Proved) continue;
    const ModuleVerdict v = verifyPair(rc.c.original, rc.c.optimized, whole);
    ASSERT_EQ(v.functions.size(), 1u) << rc.c.name;
    EXPECT_EQ(v.functions[0].verdict, Verdict::Proved) << rc.c.name;
    EXPECT_NE(v.functions[0].reason.find("induction"), std::string::npos)
        << rc.c.name << ": " << v.functions[0].reason;
  }
  // An unrolled loop does not iterate in lockstep: the honest answer is
  // Bounded, with the bound it was checked up to.
  VerifyOptions options;
  options.loop_bound = 4;
  for (const auto& rc : rightCases()) {
    if (rc.expected != Verdict::Bounded) continue;
    const ModuleVerdict v = verifyPair(rc.c.original, rc.c.optimized, options);
    ASSERT_EQ(v.functions.size(), 1u);
    EXPECT_EQ(v.functions[0].verdict, Verdict::Bounded);
    EXPECT_EQ(v.functions[0].bound, 4u);
  }
}

// coalesce-locals renumbers and merges locals: the loop's invariant pairs
// locals by where they stand in both bodies, and a merge that mixes up two
// live values is not proved.
TEST(VerifierCore, RenumberedLoopLocalsArePairedByWhereTheyStand) {
  auto sum = [](const char* tail_local, const char* result) {
    return fmt::format(
        "(module (func $f (export \"f\") (param i32) (result i32) (local i32 i32)"
        " (local.set 2 (i32.const 0)) (local.set 1 (i32.const 0))"
        " (block $out (loop $l"
        "  (br_if $out (i32.ge_u (local.get 1) (local.get 0)))"
        "  (local.set 2 (i32.add (local.get 2) (local.get 1)))"
        "  (local.set 1 (i32.add (local.get 1) (i32.const 1)))"
        "  (br $l)))"
        " (local.set {} (i32.mul (local.get 2) (i32.const 3))) (local.get {})))",
        tail_local, result);
  };
  const std::string original =
      "(module (func $f (export \"f\") (param i32) (result i32) (local i32 i32 i32)"
      " (local.set 1 (i32.const 0)) (local.set 2 (i32.const 0))"
      " (block $out (loop $l"
      "  (br_if $out (i32.ge_u (local.get 2) (local.get 0)))"
      "  (local.set 1 (i32.add (local.get 1) (local.get 2)))"
      "  (local.set 2 (i32.add (local.get 2) (i32.const 1)))"
      "  (br $l)))"
      " (local.set 3 (i32.mul (local.get 1) (i32.const 3))) (local.get 3)))";
  // Locals 1 and 2 exchanged, and 3 stored in 1 (the counter, dead by then).
  const std::string right = sum("1", "1");
  const wasm::Module a = parseWat(original);
  const wasm::Module b = parseWat(right);
  const check::LocalGuide pairs = check::correspondingLocals(BinaryenGetFunction(a.get(), "f"),
                                                             BinaryenGetFunction(b.get(), "f"));
  EXPECT_EQ(pairs.everywhere, (check::LocalPairs{{0, 0}, {1, 2}, {2, 1}, {3, 1}}));
  ASSERT_EQ(pairs.in_loop.size(), 1u);
  EXPECT_EQ(pairs.in_loop.begin()->second.met, (check::LocalPairs{{0, 0}, {1, 2}, {2, 1}}));
  VerifyOptions whole;
  whole.by_regions = false;
  const ModuleVerdict proved = verifyPair(original, right, whole);
  ASSERT_EQ(proved.functions.size(), 1u) << describeVerdict(proved);
  EXPECT_EQ(proved.functions[0].verdict, Verdict::Proved) << describeVerdict(proved);
  EXPECT_NE(proved.functions[0].reason.find("induction"), std::string::npos)
      << describeVerdict(proved);
  // The result read from the counter instead: wrong, never proved.
  const ModuleVerdict wrong = verifyPair(original, sum("2", "1"), whole);
  ASSERT_EQ(wrong.functions.size(), 1u) << describeVerdict(wrong);
  EXPECT_NE(wrong.functions[0].verdict, Verdict::Proved) << describeVerdict(wrong);
}

// ssa-nomerge splits a local reused by two loops into one local per loop.
// At each head the guide pairs what the loop reads before writing it, and
// leaves out the split local, which each loop writes before reading (dead
// at both heads); a local read after the loop is live at its head even if
// the loop never reads it. Proved by induction; reading the other loop's
// copy is never proved.
TEST(VerifierCore, SplitLocalsArePairedWhereEachLoopReadsThem) {
  auto twoLoops = [](const char* first_t, const char* second_t, const char* second_read) {
    return fmt::format(
        "(module (func $f (export \"f\") (param i32) (result i32) (local i32 i32 i32 i32 i32)"
        " (local.set 1 (i32.const 0))"
        " (block $o1 (loop $l1"
        "  (br_if $o1 (i32.ge_u (local.get 1) (local.get 0)))"
        "  (local.set {0} (i32.mul (local.get 1) (i32.const 3)))"
        "  (local.set 3 (i32.add (local.get 3) (local.get {0})))"
        "  (local.set 1 (i32.add (local.get 1) (i32.const 1)))"
        "  (br $l1)))"
        " (block $o2 (loop $l2"
        "  (br_if $o2 (i32.eqz (local.get 1)))"
        "  (local.set {1} (i32.add (local.get 1) (local.get 3)))"
        "  (local.set 3 (i32.xor (local.get 3) (local.get {2})))"
        "  (local.set 1 (i32.sub (local.get 1) (i32.const 1)))"
        "  (br $l2)))"
        " (local.get 3)))",
        first_t, second_t, second_read);
  };
  const std::string original = twoLoops("2", "2", "2");
  const std::string split = twoLoops("4", "5", "5");
  const wasm::Module a = parseWat(original);
  const wasm::Module b = parseWat(split);
  const check::LocalGuide guide = check::correspondingLocals(BinaryenGetFunction(a.get(), "f"),
                                                             BinaryenGetFunction(b.get(), "f"));
  ASSERT_EQ(guide.in_loop.size(), 2u);
  for (const auto& [loop, at] : guide.in_loop) {
    EXPECT_EQ(at.live.count(2), 0u) << "the split local is written before it is read";
    EXPECT_EQ(at.live.count(3), 1u);
    EXPECT_EQ(at.at_head.count({3, 3}), 1u);
    EXPECT_EQ(at.at_head.count({1, 1}), 1u);
    EXPECT_TRUE(at.met.count({2, 4}) || at.met.count({2, 5}));
  }
  VerifyOptions whole;
  whole.by_regions = false;
  const ModuleVerdict proved = verifyPair(original, split, whole);
  ASSERT_EQ(proved.functions.size(), 1u) << describeVerdict(proved);
  EXPECT_EQ(proved.functions[0].verdict, Verdict::Proved) << describeVerdict(proved);
  EXPECT_NE(proved.functions[0].reason.find("induction"), std::string::npos)
      << describeVerdict(proved);
  const ModuleVerdict wrong = verifyPair(original, twoLoops("4", "5", "4"), whole);
  ASSERT_EQ(wrong.functions.size(), 1u) << describeVerdict(wrong);
  EXPECT_NE(wrong.functions[0].verdict, Verdict::Proved) << describeVerdict(wrong);

  // Set before the loop and again in it, read only after it: live at the
  // head through the exit taken before the loop writes it.
  const wasm::Module exit_only = parseWat(
      "(module (func $g (export \"g\") (param i32) (result i32) (local i32)"
      " (local.set 1 (i32.const 5))"
      " (block $out (loop $l"
      "  (br_if $out (i32.eqz (local.get 0)))"
      "  (local.set 1 (i32.const 7))"
      "  (local.set 0 (i32.sub (local.get 0) (i32.const 1)))"
      "  (br $l)))"
      " (local.get 1)))");
  const BinaryenFunctionRef g = BinaryenGetFunction(exit_only.get(), "g");
  const check::LocalGuide exits = check::correspondingLocals(g, g);
  ASSERT_EQ(exits.in_loop.size(), 1u);
  const check::LoopGuide& at = exits.in_loop.begin()->second;
  EXPECT_EQ(at.live, (std::set<unsigned>{0, 1}));
  EXPECT_EQ(at.at_head, (check::LocalPairs{{0, 0}}));
}

// remove-unused-brs turns `block { br_if $skip c; loop; ... }` into
// `if (eqz c) { loop; ... }`. The joins after the two bodies list their
// paths in different orders, so a path cut at the loop's back edge (which
// has no outcome) used to show different final states and the invariant
// looked too weak. Outcomes are compared on paths that leave every loop:
// proved; a changed store in the loop is not.
TEST(VerifierCore, ALoopMovedUnderAnIfIsProvedByInduction) {
  auto fill = [](bool as_if, const char* factor) {
    const std::string loop = fmt::format(
        "(loop $fill"
        " (local.set 2 (i32.mul (local.get 1) (i32.const {})))"
        " (i32.store (i32.add (i32.shl (local.get 1) (i32.const 2)) (i32.const 64)) (local.get 2))"
        " (br_if $fill (i32.ne (local.tee 1 (i32.add (local.get 1) (i32.const 1))) (i32.const "
        "16))))"
        " (i32.store8 (i32.const 0) (i32.const 1))",
        factor);
    const std::string init =
        as_if ? "(if (i32.eqz (i32.load8_u (i32.const 0))) (then " + loop + "))"
              : "(block $skip (br_if $skip (i32.load8_u (i32.const 0))) " + loop + ")";
    return "(module (memory 1) (func $f (export \"f\") (param i32) (result i32) (local i32 i32) " +
           init +
           " (i32.load (i32.add (i32.shl (i32.and (local.get 0) (i32.const 15)) (i32.const 2))"
           " (i32.const 64)))))";
  };
  VerifyOptions whole;
  whole.by_regions = false;
  const ModuleVerdict proved = verifyPair(fill(false, "3"), fill(true, "3"), whole);
  ASSERT_EQ(proved.functions.size(), 1u) << describeVerdict(proved);
  EXPECT_EQ(proved.functions[0].verdict, Verdict::Proved) << describeVerdict(proved);
  EXPECT_NE(proved.functions[0].reason.find("induction"), std::string::npos)
      << describeVerdict(proved);
  const ModuleVerdict wrong = verifyPair(fill(false, "3"), fill(true, "5"), whole);
  ASSERT_EQ(wrong.functions.size(), 1u) << describeVerdict(wrong);
  EXPECT_NE(wrong.functions[0].verdict, Verdict::Proved) << describeVerdict(wrong);
}

// A change next to calls of module functions is first checked with the
// calls as events of their callees (each callee is verified on its own), so
// the callee's body is not executed: proved so, and said. A change to what
// a call is given is never proved that way, and the full check refutes it.
TEST(VerifierCore, ACallerIsProvedWithItsCallsAsEvents) {
  auto caller = [](const char* argument) {
    return fmt::format(
        "(module (memory 1)"
        " (func $mix (param i64) (result i64) (local i32)"
        "  (loop $l (local.set 0 (i64.rem_u (i64.mul (local.get 0) (i64.const 0x9e3779b97f4a7c15))"
        "   (i64.const 0xfffffffb)))"
        "   (local.set 1 (i32.add (local.get 1) (i32.const 1)))"
        "   (br_if $l (i32.lt_u (local.get 1) (i32.load (i32.const 64)))))"
        "  (local.get 0))"
        " (func $f (export \"f\") (param i32) (result i64)"
        "  (i64.add (call $mix {}) (call $mix (i64.const 7)))))",
        argument);
  };
  const std::string original = caller("(i64.extend_i32_u (i32.add (local.get 0) (i32.const 0)))");
  const ModuleVerdict proved = verifyPair(original, caller("(i64.extend_i32_u (local.get 0))"));
  ASSERT_EQ(proved.functions.size(), 1u) << describeVerdict(proved);
  EXPECT_EQ(proved.functions[0].verdict, Verdict::Proved) << describeVerdict(proved);
  EXPECT_NE(proved.functions[0].reason.find("calls taken as their callees' events"),
            std::string::npos)
      << describeVerdict(proved);

  const ModuleVerdict wrong =
      verifyPair(original, caller("(i64.extend_i32_u (i32.add (local.get 0) (i32.const 1)))"));
  ASSERT_EQ(wrong.functions.size(), 1u) << describeVerdict(wrong);
  EXPECT_NE(wrong.functions[0].verdict, Verdict::Proved) << describeVerdict(wrong);
}

// The same through call_indirect: the table's functions are module
// functions, each verified on its own, so the first attempt takes the
// indirect call as their events too.
TEST(VerifierCore, AnIndirectCallerIsProvedWithItsCallsAsEvents) {
  auto caller = [](const char* argument) {
    return fmt::format(
        "(module (memory 1) (type $t (func (param i64) (result i64)))"
        " (table 2 funcref) (elem (i32.const 0) $mix $mix)"
        " (func $mix (type $t) (param i64) (result i64) (local i32)"
        "  (loop $l (local.set 0 (i64.rem_u (i64.mul (local.get 0) (i64.const 0x9e3779b97f4a7c15))"
        "   (i64.const 0xfffffffb)))"
        "   (local.set 1 (i32.add (local.get 1) (i32.const 1)))"
        "   (br_if $l (i32.lt_u (local.get 1) (i32.load (i32.const 64)))))"
        "  (local.get 0))"
        " (func $f (export \"f\") (param i32) (result i64)"
        "  (call_indirect (type $t) {} (i32.and (local.get 0) (i32.const 1)))))",
        argument);
  };
  const std::string original = caller("(i64.extend_i32_u (i32.add (local.get 0) (i32.const 0)))");
  const ModuleVerdict proved = verifyPair(original, caller("(i64.extend_i32_u (local.get 0))"));
  ASSERT_EQ(proved.functions.size(), 1u) << describeVerdict(proved);
  EXPECT_EQ(proved.functions[0].verdict, Verdict::Proved) << describeVerdict(proved);
  EXPECT_NE(proved.functions[0].reason.find("calls taken as their callees' events"),
            std::string::npos)
      << describeVerdict(proved);

  const ModuleVerdict wrong =
      verifyPair(original, caller("(i64.extend_i32_u (i32.add (local.get 0) (i32.const 1)))"));
  ASSERT_EQ(wrong.functions.size(), 1u) << describeVerdict(wrong);
  EXPECT_NE(wrong.functions[0].verdict, Verdict::Proved) << describeVerdict(wrong);
}

TEST(VerifierCore, SecondVerifyOfTheSamePairHitsTheCache) {
  wasm::Module original = loadFixture("loops");
  wasm::Module optimized = pipeline::applyPipeline(original, *pipeline::builtinConfig("O"));
  auto cache = std::make_shared<VerdictCache>();
  Verifier verifier(original, {}, cache);
  const ModuleVerdict first = verifier.verify(optimized);
  ASSERT_FALSE(first.functions.empty());
  const std::uint64_t hits_before = cache->hits();
  const ModuleVerdict second = verifier.verify(optimized);
  ASSERT_EQ(first.functions.size(), second.functions.size());
  EXPECT_EQ(cache->hits() - hits_before, second.functions.size());
  for (std::size_t i = 0; i < first.functions.size(); ++i) {
    EXPECT_FALSE(first.functions[i].cached);
    EXPECT_TRUE(second.functions[i].cached);
    EXPECT_EQ(first.functions[i].function, second.functions[i].function);
    EXPECT_EQ(first.functions[i].verdict, second.functions[i].verdict);
    EXPECT_EQ(first.functions[i].reason, second.functions[i].reason);
    EXPECT_EQ(first.functions[i].bound, second.functions[i].bound);
  }
  // Another verifier sharing the cache (another worker) gets the same
  // answers, and so does one whose cache imported the exported entries.
  Verifier other(original, {}, cache);
  EXPECT_EQ(other.verify(optimized).count(Verdict::Proved), first.count(Verdict::Proved));
  auto imported = std::make_shared<VerdictCache>();
  imported->importEntries(cache->exportEntries());
  EXPECT_EQ(imported->size(), cache->size());
  Verifier third(original, {}, imported);
  for (const auto& f : third.verify(optimized).functions) EXPECT_TRUE(f.cached) << f.function;
  // Different options are a different key.
  VerifyOptions other_options;
  other_options.loop_bound = 3;
  Verifier fourth(original, other_options, cache);
  for (const auto& f : fourth.verify(optimized).functions) EXPECT_FALSE(f.cached) << f.function;
}

}  // namespace
}  // namespace loom::verify

namespace loom::verify {
namespace {

// Duplicate-function elimination points an export at another function that
// became identical only after optimization. The new target is verified
// against the export's original function as a pair of its own.
const char* kTwoExports = R"((module
  (func $inc (export "inc") (param $x i32) (result i32) (i32.add (local.get $x) (i32.const 1)))
  (func $also (export "also") (param $x i32) (result i32)
    (drop (i32.mul (local.get $x) (i32.const 7)))
    (i32.sub (local.get $x) (i32.const -1)))
  (func $twice (export "twice") (param $x i32) (result i32) (i32.add (local.get $x) (i32.const 2)))))";

TEST(VerifierCore, RetargetedExportIsProvedAsAPair) {
  const ModuleVerdict v = verifyPair(kTwoExports, R"((module
  (func $inc (export "inc") (param $x i32) (result i32) (i32.add (local.get $x) (i32.const 1)))
  (func $twice (export "twice") (param $x i32) (result i32) (i32.add (local.get $x) (i32.const 2)))
  (export "also" (func $inc))))");
  EXPECT_TRUE(v.module_problems.empty()) << describe(v);
  bool checked = false;
  for (const auto& f : v.functions) checked = checked || f.function == "export \"also\"";
  EXPECT_TRUE(checked) << describe(v);
  EXPECT_EQ(v.overall(), Verdict::Proved) << describe(v);
}

TEST(VerifierCore, WronglyRetargetedExportIsRefuted) {
  const ModuleVerdict v = verifyPair(kTwoExports, R"((module
  (func $inc (export "inc") (param $x i32) (result i32) (i32.add (local.get $x) (i32.const 1)))
  (export "also" (func $inc))
  (export "twice" (func $inc))))");
  const FunctionVerdict* twice = nullptr;
  for (const auto& f : v.functions) {
    if (f.function == "export \"twice\"") twice = &f;
  }
  ASSERT_NE(twice, nullptr) << describe(v);
  EXPECT_EQ(twice->verdict, Verdict::Refuted) << describe(v);
  ASSERT_TRUE(twice->counterexample.has_value());
  EXPECT_EQ(v.overall(), Verdict::Refuted) << describe(v);
}

}  // namespace
}  // namespace loom::verify
