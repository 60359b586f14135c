// WebAssembly 2.0 in the verifier: reference types and tables, bulk memory
// with passive data segments, multi-value and SIMD. Wrong transformations of
// each are refuted with counterexamples that Node confirms; what Binaryen's
// pipelines do to the fixtures in tests/fixtures/wasm2 is proved function by
// function, and each fixture's @test vectors give the same answers in Node
// before and after.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

#include "loom/pipeline/apply.hpp"
#include "loom/pipeline/builtins.hpp"
#include "loom/verify/verifier.hpp"
#include "loom/wasm/ir.hpp"
#include "loom/wasm/loader.hpp"
#include "support/test_support.hpp"
#include "verify/replay.hpp"
#include "verify/verify_pair.hpp"

namespace loom::test {
namespace {

using verify::Verdict;

struct WrongCase {
  std::string name;
  std::string original;
  std::string optimized;
};

std::string module(const std::string& body) {
  return "(module (memory 1) (export \"memory\" (memory 0)) " + body + ")";
}

// Two tables of the same type: call_indirect through the wrong one.
const char* kTwoTables = R"(
  (type $t (func (result i32)))
  (table $a 2 funcref) (table $b 2 funcref)
  (elem (table $a) (i32.const 0) func $one $two)
  (elem (table $b) (i32.const 0) func $two $one)
  (func $one (result i32) (i32.const 1))
  (func $two (result i32) (i32.const 2))
  (func $touch (export "touch") (param $i i32)
    (table.set $a (i32.and (local.get $i) (i32.const 1)) (table.get $a (i32.const 0))))
)";

// An externref table nothing but this module writes: slots start null.
const char* kRefTable = R"(
  (table $r 4 externref)
  (export "r" (table $r))
  (func $clear (export "clear") (param $i i32)
    (table.set $r (i32.and (local.get $i) (i32.const 3)) (ref.null extern)))
)";

const char* kSegments = R"(
  (data "0123456789")
  (data "abcdefghij")
)";

std::vector<WrongCase> wrongCases() {
  return {
      {"call_indirect through the other table", module(std::string(kTwoTables) + R"(
         (func $f (export "f") (param $i i32) (result i32)
           (call_indirect $a (type $t) (i32.and (local.get $i) (i32.const 1)))))"),
       module(std::string(kTwoTables) + R"(
         (func $f (export "f") (param $i i32) (result i32)
           (call_indirect $b (type $t) (i32.and (local.get $i) (i32.const 1)))))")},
      {"ref.is_null negated", module(std::string(kRefTable) + R"(
         (func $f (export "f") (param $i i32) (result i32)
           (ref.is_null (table.get $r (i32.and (local.get $i) (i32.const 3))))))"),
       module(std::string(kRefTable) + R"(
         (func $f (export "f") (param $i i32) (result i32)
           (i32.eqz (ref.is_null (table.get $r (i32.and (local.get $i) (i32.const 3)))))))")},
      {"table.grow delta changed", module(std::string(kRefTable) + R"(
         (func $f (export "f") (param $n i32) (result i32)
           (drop (table.grow $r (ref.null extern) (i32.and (local.get $n) (i32.const 7))))
           (table.size $r)))"),
       module(std::string(kRefTable) + R"(
         (func $f (export "f") (param $n i32) (result i32)
           (drop (table.grow $r (ref.null extern) (i32.and (local.get $n) (i32.const 3))))
           (table.size $r)))")},
      {"memory.init from the wrong offset", module(std::string(kSegments) + R"(
         (func $f (export "f") (param $d i32) (result i32)
           (memory.init 0 (i32.and (local.get $d) (i32.const 255)) (i32.const 1) (i32.const 4))
           (i32.const 0)))"),
       module(std::string(kSegments) + R"(
         (func $f (export "f") (param $d i32) (result i32)
           (memory.init 0 (i32.and (local.get $d) (i32.const 255)) (i32.const 2) (i32.const 4))
           (i32.const 0)))")},
      {"memory.init from the wrong segment", module(std::string(kSegments) + R"(
         (func $f (export "f") (param $s i32) (result i32)
           (memory.init 0 (i32.const 16) (i32.and (local.get $s) (i32.const 7)) (i32.const 1))
           (i32.load8_u (i32.const 16))))"),
       module(std::string(kSegments) + R"(
         (func $f (export "f") (param $s i32) (result i32)
           (memory.init 1 (i32.const 16) (i32.and (local.get $s) (i32.const 7)) (i32.const 1))
           (i32.load8_u (i32.const 16))))")},
      {"data.drop dropped", module(std::string(kSegments) + R"(
         (func $f (export "f") (param $n i32) (result i32)
           (data.drop 1)
           (memory.init 1 (i32.const 0) (i32.const 0) (i32.and (local.get $n) (i32.const 3)))
           (i32.const 1)))"),
       module(std::string(kSegments) + R"(
         (func $f (export "f") (param $n i32) (result i32)
           (memory.init 1 (i32.const 0) (i32.const 0) (i32.and (local.get $n) (i32.const 3)))
           (i32.const 1)))")},
      {"multi-value results swapped", module(R"(
         (func $f (export "f") (param $a i32) (param $b i32) (result i32)
           (local $t (i32 i32))
           (local.set $t (tuple.make (local.get $a) (local.get $b)))
           (i32.sub (tuple.extract 0 (local.get $t)) (tuple.extract 1 (local.get $t)))))"),
       module(R"(
         (func $f (export "f") (param $a i32) (param $b i32) (result i32)
           (local $t (i32 i32))
           (local.set $t (tuple.make (local.get $a) (local.get $b)))
           (i32.sub (tuple.extract 1 (local.get $t)) (tuple.extract 0 (local.get $t)))))")},
      {"saturating add as wrapping add", module(R"(
         (func $f (export "f") (param $a i64) (param $b i64) (result i64)
           (i64x2.extract_lane 0
             (i8x16.add_sat_u (i64x2.splat (local.get $a)) (i64x2.splat (local.get $b))))))"),
       module(R"(
         (func $f (export "f") (param $a i64) (param $b i64) (result i64)
           (i64x2.extract_lane 0
             (i8x16.add (i64x2.splat (local.get $a)) (i64x2.splat (local.get $b))))))")},
      {"wrong lane", module(R"(
         (func $f (export "f") (param $a i32) (param $b i32) (result i32)
           (i32x4.extract_lane 1 (i32x4.replace_lane 1 (i32x4.splat (local.get $a))
             (local.get $b)))))"),
       module(R"(
         (func $f (export "f") (param $a i32) (param $b i32) (result i32)
           (i32x4.extract_lane 2 (i32x4.replace_lane 1 (i32x4.splat (local.get $a))
             (local.get $b)))))")},
      {"v128 store offset changed", module(R"(
         (func $f (export "f") (param $p i32) (param $x i64) (result i32)
           (v128.store (i32.and (local.get $p) (i32.const 1008)) (i64x2.splat (local.get $x)))
           (i32.const 0)))"),
       module(R"(
         (func $f (export "f") (param $p i32) (param $x i64) (result i32)
           (v128.store offset=4 (i32.and (local.get $p) (i32.const 1008))
             (i64x2.splat (local.get $x)))
           (i32.const 0)))")},
      {"f32x4.min as pmin", module(R"(
         (func $f (export "f") (param $a f32) (param $b f32) (result f32)
           (f32x4.extract_lane 0 (f32x4.min (f32x4.splat (local.get $a))
             (f32x4.splat (local.get $b))))))"),
       module(R"(
         (func $f (export "f") (param $a f32) (param $b f32) (result f32)
           (f32x4.extract_lane 0 (f32x4.pmin (f32x4.splat (local.get $a))
             (f32x4.splat (local.get $b))))))")},
  };
}

TEST(Wasm2Verifier, WrongTransformationsAreRefutedAndNodeAgrees) {
  for (const WrongCase& c : wrongCases()) {
    SCOPED_TRACE(c.name);
    const wasm::Module original = verify::parseWat(c.original);
    const wasm::Module optimized = verify::parseWat(c.optimized);
    verify::Verifier verifier(original, {});
    const verify::ModuleVerdict v = verifier.verify(optimized);
    const verify::FunctionVerdict* f = nullptr;
    for (const auto& fv : v.functions) {
      if (fv.function == "f") f = &fv;
    }
    ASSERT_NE(f, nullptr) << verify::describeVerdict(v);
    ASSERT_EQ(f->verdict, Verdict::Refuted) << verify::describeVerdict(v);
    ASSERT_TRUE(f->counterexample.has_value());
    const ReplayResult r = replayCounterexample(original, optimized, *f->counterexample);
    EXPECT_TRUE(r.replayed) << r.description;
    EXPECT_TRUE(r.differs) << "Node sees no difference: " << r.call.describe() << " -> "
                           << r.original.describe() << " / " << r.other.describe();
    fmt::print("{:<40} refuted: {}\n", c.name, f->reason);
  }
}

// The parts of a reference the verifier may not see through: refuting
// needs a replay, and Node cannot pass a v128 or a funcref, so a difference
// behind one is never claimed (never "refuted" on a guess), only not proved.
TEST(Wasm2Verifier, DifferencesNodeCannotReplayAreNotClaimed) {
  const std::string original = module(R"(
    (func $f (export "f") (param $v v128) (result i32) (i32x4.extract_lane 0 (local.get $v))))");
  const std::string optimized = module(R"(
    (func $f (export "f") (param $v v128) (result i32) (i32x4.extract_lane 1 (local.get $v))))");
  const verify::ModuleVerdict v = verify::verifyPair(original, optimized);
  ASSERT_EQ(v.functions.size(), 1u);
  EXPECT_EQ(v.functions.front().verdict, Verdict::Unknown) << verify::describeVerdict(v);
  EXPECT_NE(v.functions.front().reason.find("not confirmed"), std::string::npos)
      << v.functions.front().reason;
}

// A private table with more than 16 functions of one type whose slots
// differ between the sides: the callee is named by the reference its slot
// holds. A slot the optimizer filled with a function of another type traps
// as the empty slot did, so that is proved; two different functions
// exchanged are not.
std::string bigTableModule(const std::string& slot1, const std::string& slot2, bool fill_17) {
  std::string funcs, slots;
  for (int k = 0; k < 17; ++k) {
    funcs += fmt::format("(func $f{} (result i32) (i32.const {}))\n", k, k * 3);
    slots += k == 1 ? slot1 : k == 2 ? slot2 : fmt::format("$f{}", k);
    slots += " ";
  }
  funcs += "(func $g (param i32) (result i32) (local.get 0))\n";
  return "(module (type $v (func (result i32))) (table $t 18 18 funcref) (elem (table $t) "
         "(i32.const 0) func " +
         slots + ")\n" + (fill_17 ? "(elem (table $t) (i32.const 17) func $g)\n" : "") + funcs +
         R"((func $call (export "call") (param $i i32) (result i32)
              (call_indirect $t (type $v) (local.get $i)))))";
}

TEST(Wasm2Verifier, CallsThroughATableWhoseSlotsChangedFollowTheReferences) {
  const std::string original = bigTableModule("$f1", "$f2", false);
  const verify::ModuleVerdict filled =
      verify::verifyPair(original, bigTableModule("$f1", "$f2", true));
  ASSERT_EQ(filled.functions.size(), 1u) << verify::describeVerdict(filled);
  EXPECT_EQ(filled.functions[0].verdict, Verdict::Proved) << verify::describeVerdict(filled);
  const verify::ModuleVerdict swapped =
      verify::verifyPair(original, bigTableModule("$f2", "$f1", false));
  ASSERT_EQ(swapped.functions.size(), 1u) << verify::describeVerdict(swapped);
  EXPECT_NE(swapped.functions[0].verdict, Verdict::Proved) << verify::describeVerdict(swapped);
  EXPECT_NE(swapped.functions[0].verdict, Verdict::Bounded) << verify::describeVerdict(swapped);
}

// Reference semantics against Node on generated programs: random
// sequences of table.get/set/size, ref.func, ref.null, ref.is_null, typed
// select, funcref locals and call_indirect (null slots, out-of-bounds
// indices and a wrong signature included) over two tables. Node runs each
// program; the verifier must prove it equal to a function returning what
// Node returned (or trapping where Node trapped), and refute it against a
// function returning one more, with a counterexample Node confirms.
class RefProgram {
 public:
  explicit RefProgram(std::uint64_t seed) : rng_(seed) {}

  std::string body() {
    std::string out;
    // Every slot is written first, from nothing the tables hold: a
    // function's verdict covers every state the tables may be in on entry,
    // and Node's fresh instance is only one of them.
    for (int k = 0; k < 6; ++k) out += fmt::format("(table.set $t (i32.const {}) {})\n", k, ref(0));
    for (int k = 0; k < 4; ++k)
      out += fmt::format("(table.set $r (i32.const {}) (ref.null extern))\n", k);
    const int statements = 4 + static_cast<int>(rng_() % 8);
    for (int i = 0; i < statements; ++i) out += statement() + "\n";
    return out;
  }

 private:
  int pick(int n) { return static_cast<int>(rng_() % static_cast<std::uint64_t>(n)); }
  // Mostly in bounds, sometimes one past the end (a trap).
  int index(int size) { return pick(10) == 0 ? size : pick(size); }

  std::string ref(int depth) {
    switch (depth > 0 ? pick(6) : pick(3)) {
      case 0:
        return fmt::format("(ref.func ${})", "abcd"[pick(4)]);
      case 1:
        return "(ref.null func)";
      case 2:
        return "(local.get $fr)";
      case 3:
        return fmt::format("(table.get $t (i32.const {}))", index(6));
      case 4:
        return fmt::format("(select (result funcref) {} {} (i32.const {}))", ref(depth - 1),
                           ref(depth - 1), pick(2));
      default:
        return fmt::format("(ref.func ${})", "abc"[pick(3)]);
    }
  }

  std::string value() {
    switch (pick(5)) {
      case 0:
        return fmt::format("(ref.is_null {})", ref(1));
      case 1:
        return fmt::format("(call_indirect $t (type $v) (i32.const {}))", index(6));
      case 2:
        return "(table.size $t)";
      case 3:
        return fmt::format("(ref.is_null (table.get $r (i32.const {})))", index(4));
      default:
        return fmt::format("(i32.add (table.size $r) (ref.is_null {}))", ref(0));
    }
  }

  std::string statement() {
    switch (pick(4)) {
      case 0:
        return fmt::format("(table.set $t (i32.const {}) {})", index(6), ref(2));
      case 1:
        return fmt::format("(local.set $fr {})", ref(2));
      case 2:
        return fmt::format("(table.set $r (i32.const {}) (table.get $r (i32.const {})))", index(4),
                           index(4));
      default:
        return fmt::format("(local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 7)) {}))",
                           value());
    }
  }

  std::mt19937_64 rng_;
};

std::string refModule(const std::string& f_body) {
  return R"((module
  (type $v (func (result i32)))
  (table $t 6 6 funcref)
  (table $r 4 4 externref)
  (elem (table $t) (i32.const 0) func $a $b)
  (elem declare func $a $b $c $d)
  (func $a (result i32) (i32.const 11))
  (func $b (result i32) (i32.const 22))
  (func $c (result i32) (i32.const 33))
  (func $d (param i32) (result i32) (local.get 0))
  (func $f (export "f") (result i32) (local $acc i32) (local $fr funcref)
)" + f_body +
         "))";
}

TEST(Wasm2Differential, GeneratedReferenceProgramsAgreeWithNode) {
  constexpr int kPrograms = 40;
  TempDir dir;
  std::vector<std::string> bodies;
  std::vector<wasm::Module> programs;
  std::vector<ModuleRun> runs;
  for (int p = 0; p < kPrograms; ++p) {
    RefProgram gen(0x5eed0000u + static_cast<unsigned>(p));
    bodies.push_back(gen.body());
    programs.push_back(verify::parseWat(refModule(bodies.back() + "(local.get $acc)")));
    const auto path = dir / fmt::format("ref{}.wasm", p);
    writeBytes(path, makeRunnable(programs.back()).writeBinary());
    CallSpec call;
    call.function = "f";
    runs.push_back({path, {call}});
  }
  const auto outcomes = runBatch(runs);
  int traps = 0;
  for (int p = 0; p < kPrograms; ++p) {
    const CallOutcome& node = outcomes.at(p).at(0);
    SCOPED_TRACE(fmt::format("program {}: Node {}", p, node.describe()));
    ASSERT_TRUE(node.outcome == "return" || node.outcome == "trap") << node.describe();
    const bool trapped = node.outcome == "trap";
    traps += trapped;
    // The same statements (the tables end in the same state, which later
    // calls could observe), then Node's answer in place of the computed
    // one: equal only if the verifier computes what Node computed.
    const std::string answer = trapped ? "(unreachable)" : "(i32.const " + node.values.at(0) + ")";
    const wasm::Module same =
        verify::parseWat(refModule(bodies[p] + "(drop (local.get $acc)) " + answer));
    verify::Verifier verifier(programs[p], {});
    const verify::ModuleVerdict v = verifier.verify(same);
    for (const auto& fv : v.functions) {
      EXPECT_EQ(fv.verdict, Verdict::Proved) << fv.reason << "\n" << programs[p].writeText();
    }
    // Wrong: one more than Node's answer, or returning where Node trapped.
    const std::string wrong_text = trapped
                                       ? "(i32.const 0)"
                                       : bodies[p] + "(drop (local.get $acc)) (i32.const " +
                                             std::to_string(std::stoll(node.values[0]) + 1) + ")";
    const wasm::Module wrong = verify::parseWat(refModule(wrong_text));
    const verify::ModuleVerdict w = verifier.verify(wrong);
    ASSERT_EQ(w.functions.size(), 1u) << verify::describeVerdict(w);
    const verify::FunctionVerdict& fw = w.functions.front();
    ASSERT_EQ(fw.verdict, Verdict::Refuted) << fw.reason << "\n" << programs[p].writeText();
    ASSERT_TRUE(fw.counterexample.has_value());
    const ReplayResult r = replayCounterexample(programs[p], wrong, *fw.counterexample);
    EXPECT_TRUE(r.replayed && r.differs) << r.description;
  }
  fmt::print(
      "{} generated reference programs ({} trap in Node): each proved equal to Node's "
      "answer and refuted against a wrong one, counterexamples confirmed in Node\n",
      kPrograms, traps);
  // The generator must reach both outcomes, or half the semantics go untested.
  EXPECT_GT(traps, 3);
  EXPECT_GT(kPrograms - traps, 3);
}

struct Fixture {
  std::string name;
  wasm::Module original;
  std::vector<FixtureTest> tests;
};

std::filesystem::path wasm2Dir() {
  return fixtureDir() / "wasm2";
}

const std::vector<Fixture>& fixtures() {
  static const std::vector<Fixture> all = [] {
    std::vector<Fixture> out;
    std::vector<std::filesystem::path> paths;
    for (const auto& entry : std::filesystem::directory_iterator(wasm2Dir())) {
      if (entry.path().extension() == ".wat") paths.push_back(entry.path());
    }
    std::sort(paths.begin(), paths.end());
    for (const auto& path : paths) {
      Fixture f;
      f.name = path.stem().string();
      f.original = wasm::loadModuleFile(path).module;
      f.tests = parseFixtureTests(path);
      out.push_back(std::move(f));
    }
    return out;
  }();
  return all;
}

TEST(Wasm2Verifier, EveryFixtureComparedWithItselfPasses) {
  ASSERT_EQ(fixtures().size(), 4u);
  for (const Fixture& f : fixtures()) {
    const wasm::Module copy = f.original.copy();
    verify::Verifier verifier(f.original, {});
    const verify::ModuleVerdict v = verifier.verify(copy);
    EXPECT_TRUE(v.module_problems.empty()) << f.name << ": " << verify::describeVerdict(v);
    EXPECT_EQ(v.overall(), Verdict::Proved) << f.name << ": " << verify::describeVerdict(v);
  }
}

std::vector<ModuleRun> fixtureRuns(const wasm::Module& module, const Fixture& f,
                                   const std::filesystem::path& path) {
  writeBytes(path, makeRunnable(module).writeBinary());
  ModuleRun run{path, {}};
  for (const FixtureTest& t : f.tests) {
    CallSpec call;
    call.function = t.export_name;
    call.args = t.args;
    call.import_results = t.import_results;
    run.calls.push_back(call);
  }
  return {run};
}

struct NamedConfig {
  std::string name;
  pipeline::PipelineConfig config;
};

std::vector<NamedConfig> configurations() {
  std::vector<NamedConfig> out;
  for (const pipeline::BuiltinConfig& b : pipeline::builtinConfigs()) {
    out.push_back({std::string(b.name), b.config});
  }
  return out;
}

void PrintTo(const NamedConfig& c, std::ostream* os) {
  *os << c.name;
}

class Wasm2Completeness : public ::testing::TestWithParam<NamedConfig> {};

// Every function a built-in pipeline changes is proved; none is left
// unknown or bounded, and the module checks find nothing. Node runs the
// fixture's vectors on both sides as an independent check.
TEST_P(Wasm2Completeness, EveryChangedFunctionIsProved) {
  const NamedConfig& c = GetParam();
  TempDir dir;
  for (const Fixture& f : fixtures()) {
    SCOPED_TRACE(f.name + " under " + c.name);
    const wasm::Module optimized = pipeline::applyPipeline(f.original, c.config);
    const IsolatedVerdict iv =
        verifyInChild(f.original, optimized, {}, std::chrono::milliseconds(300'000));
    ASSERT_TRUE(iv.verdict.has_value()) << iv.failure;
    const verify::ModuleVerdict& v = *iv.verdict;
    EXPECT_TRUE(v.module_problems.empty()) << verify::describeVerdict(v);
    std::size_t proved = 0;
    for (const auto& fv : v.functions) {
      EXPECT_EQ(fv.verdict, Verdict::Proved) << fv.function << ": " << fv.reason;
      if (fv.verdict == Verdict::Proved) ++proved;
    }
    fmt::print("{:<18} {:<4} {} changed functions, {} proved ({:.1f} s)\n", f.name, c.name,
               v.functions.size(), proved, iv.seconds);

    auto a = fixtureRuns(f.original, f, dir / (f.name + ".original.wasm"));
    auto b = fixtureRuns(optimized, f, dir / (f.name + "." + c.name + ".wasm"));
    std::vector<ModuleRun> runs = {a.front(), b.front()};
    const auto outcomes = runBatch(runs);
    ASSERT_EQ(outcomes.size(), 2u);
    for (std::size_t k = 0; k < f.tests.size(); ++k) {
      EXPECT_NE(outcomes[0][k].outcome, "error") << outcomes[0][k].error;
      EXPECT_EQ(difference(outcomes[0][k], outcomes[1][k]), "") << runs[0].calls[k].describe();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Configurations, Wasm2Completeness, ::testing::ValuesIn(configurations()),
                         [](const ::testing::TestParamInfo<NamedConfig>& param) {
                           return param.param.name;
                         });

}  // namespace
}  // namespace loom::test
