#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <random>

#include "loom/support/files.hpp"
#include "loom/wasm/binary_layout.hpp"
#include "loom/wasm/features.hpp"
#include "loom/wasm/hash.hpp"
#include "loom/wasm/ir.hpp"
#include "loom/wasm/loader.hpp"
#include "support/test_support.hpp"

namespace loom::wasm {
namespace {

using test::fixtureNames;
using test::fixturePath;

TEST(Loader, EveryFixtureLoadsAndValidates) {
  for (const auto& name : fixtureNames()) {
    SCOPED_TRACE(name);
    LoadedModule loaded = loadModuleFile(fixturePath(name));
    EXPECT_EQ(loaded.source.format, SourceFormat::Text);
    EXPECT_TRUE(loaded.module.validate());
    EXPECT_GT(definedFunctions(loaded.module.get()).size(), 0u);
  }
}

TEST(Loader, DetectsTheFeaturesTheCodeUses) {
  EXPECT_TRUE(loadModuleFile(fixturePath("arith")).source.features & BinaryenFeatureSignExt());
  EXPECT_TRUE(loadModuleFile(fixturePath("globals")).source.features &
              BinaryenFeatureMutableGlobals());
  EXPECT_EQ(loadModuleFile(fixturePath("crc32")).source.features, BinaryenFeatureMVP());
  EXPECT_EQ(describeFeatures(BinaryenFeatureMVP()), "mvp");
  EXPECT_EQ(describeFeatures(BinaryenFeatureSignExt() | BinaryenFeatureBulkMemory()),
            "bulk-memory,sign-ext");
}

TEST(Loader, KeepsTheTargetFeaturesSectionOfABinary) {
  test::TempDir dir;
  const auto with_section = dir / "f.wasm";
  const auto r = test::runCommand({LOOM_WASM_OPT, fixturePath("arith").string(),
                                   "--enable-sign-ext", "--enable-bulk-memory",
                                   "--emit-target-features", "-o", with_section.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  LoadedModule loaded = loadModuleFile(with_section);
  EXPECT_TRUE(loaded.source.features & BinaryenFeatureBulkMemory());
  const Bytes written = loaded.module.writeBinary();
  EXPECT_NE(readBinaryLayout(written).customSection("target_features"), nullptr);
}

// A side module in miniature: a plain module with a `dylink.0` section
// (memory info: 16 bytes, alignment 4, one table slot) spliced in first.
Bytes sideModule() {
  Bytes bytes = Module::parseTextTrusted(R"((module
    (func (export "f") (result i32) (i32.add (i32.const 1) (i32.const 2)))))")
                    .writeBinary();
  const Bytes dylink = {0x00, 15, 8, 'd', 'y', 'l', 'i', 'n', 'k', '.', '0', 1, 4, 16, 2, 1, 0};
  bytes.insert(bytes.begin() + 8, dylink.begin(), dylink.end());
  return bytes;
}

// Binaryen's module copy drops the dynamic-linking section; a side module
// without it does not load, so Module::copy() keeps it.
TEST(Module, ACopyKeepsTheDylinkSection) {
  const Module side = Module::parseBinaryTrusted(sideModule());
  const Bytes direct = side.writeBinary();
  ASSERT_NE(readBinaryLayout(direct).customSection("dylink.0"), nullptr);
  const Module copy = side.copy();
  EXPECT_EQ(copy.writeBinary(), direct);
  EXPECT_EQ(copy.copy().writeBinary(), direct);
  // A module without the section gains none.
  const Module plain = Module::parseTextTrusted("(module)");
  EXPECT_EQ(readBinaryLayout(plain.copy().writeBinary()).customSection("dylink.0"), nullptr);
}

Bytes bytesOf(const std::string& text) {
  return Bytes(text.begin(), text.end());
}

void expectOneLineError(const std::string& name, Bytes bytes, const std::string& must_contain) {
  SCOPED_TRACE(name);
  try {
    probeModule(name, std::move(bytes));
    FAIL() << "accepted bad input";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_NE(message.find(must_contain), std::string::npos) << message;
    EXPECT_LT(message.size(), 400u) << message;
  }
}

TEST(Loader, RejectsBadInputWithOneLine) {
  expectOneLineError("empty.wasm", {}, "empty");
  expectOneLineError("garbage.wasm", {0xde, 0xad, 0xbe, 0xef, 1, 2, 3}, "not a WebAssembly module");
  expectOneLineError("header.wasm", {0x00, 0x61, 0x73, 0x6d, 0x02, 0, 0, 0}, "version");
  expectOneLineError("syntax.wat", bytesOf("(module (func $f (result i32) (i32.add (i32.const 1)"),
                     "cannot read");
  expectOneLineError("illtyped.wat", bytesOf("(module (func $f (result i32) (i64.const 1)))"),
                     "does not validate");
  expectOneLineError("unknown-op.wat", bytesOf("(module (func $f (i32.frobnicate)))"),
                     "cannot read");
}

TEST(Loader, SurvivesTruncationAtEveryOffset) {
  const Bytes full = support::readFile(test::fixtureBinary("crc32"));
  // Every prefix up to 64 bytes, then a spread of offsets through the rest.
  std::vector<std::size_t> offsets;
  for (std::size_t i = 1; i < std::min<std::size_t>(64, full.size()); ++i) offsets.push_back(i);
  for (std::size_t i = 64; i < full.size(); i += std::max<std::size_t>(1, full.size() / 40))
    offsets.push_back(i);
  for (std::size_t cut : offsets) {
    Bytes prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut));
    try {
      probeModule("truncated.wasm", std::move(prefix));
      // A cut exactly at a section boundary is a valid, smaller module.
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  }
}

TEST(Loader, SurvivesRandomBytesAfterAValidHeader) {
  std::mt19937 random(42);
  for (int i = 0; i < 60; ++i) {
    Bytes bytes = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
    const int n = 1 + static_cast<int>(random() % 200);
    for (int k = 0; k < n; ++k) bytes.push_back(static_cast<std::uint8_t>(random()));
    try {
      probeModule("random.wasm", std::move(bytes));
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  }
}

TEST(Loader, ReportsFileProblems) {
  test::TempDir dir;
  EXPECT_THROW(loadModuleFile(dir / "missing.wasm"), Error);
  try {
    loadModuleFile(dir.path());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is a directory"), std::string::npos) << e.what();
  }
}

TEST(Loader, RejectsFeaturesBinaryenCannotRead) {
  // Two memories (the multi-memory proposal, which Binaryen 108 predates).
  expectOneLineError(
      "multi-memory.wasm",
      {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x05, 0x05, 0x02, 0x00, 0x01, 0x00, 0x01},
      "multi-memory.wasm");
  // A function whose body uses try_table (opcode 0x1f, the final exception
  // handling proposal) — unknown to Binaryen 108.
  expectOneLineError("try-table.wasm", {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,  // header
                                        0x01, 0x04, 0x01, 0x60, 0x00, 0x00,  // type () -> ()
                                        0x03, 0x02, 0x01, 0x00,              // one function
                                        0x0a, 0x08, 0x01, 0x06, 0x00, 0x1f, 0x40, 0x00, 0x0b, 0x0b},
                     "try-table.wasm");
}

TEST(Module, CopyWritesTheSameBytes) {
  for (const auto& name : fixtureNames()) {
    SCOPED_TRACE(name);
    LoadedModule loaded = loadModuleFile(test::fixtureBinary(name));
    Module copy = loaded.module.copy();
    EXPECT_EQ(copy.writeBinary(), loaded.module.writeBinary());
    EXPECT_EQ(copy.features(), loaded.module.features());
  }
}

TEST(Module, CopyKeepsTheTargetFeaturesSection) {
  test::TempDir dir;
  const auto path = dir / "f.wasm";
  ASSERT_EQ(test::runCommand({LOOM_WASM_OPT, fixturePath("arith").string(), "--enable-sign-ext",
                              "--emit-target-features", "-o", path.string()})
                .exit_code,
            0);
  LoadedModule loaded = loadModuleFile(path);
  const Bytes original = loaded.module.writeBinary();
  ASSERT_NE(readBinaryLayout(original).customSection("target_features"), nullptr);
  EXPECT_EQ(loaded.module.copy().writeBinary(), original);
  EXPECT_EQ(loaded.module.copy().copy().writeBinary(), original);
}

TEST(Module, CopyIsIndependentOfTheOriginal) {
  LoadedModule loaded = loadModuleFile(fixturePath("helpers"));
  const Bytes before = loaded.module.writeBinary();
  Module copy = loaded.module.copy();
  const char* passes[] = {"inlining-optimizing", "remove-unused-module-elements"};
  BinaryenModuleRunPasses(copy.get(), passes, 2);
  EXPECT_NE(copy.writeBinary(), before);
  EXPECT_EQ(loaded.module.writeBinary(), before);
}

TEST(Module, NamesSectionOnlyWhenAsked) {
  LoadedModule loaded = loadModuleFile(fixturePath("helpers"));
  EXPECT_EQ(readBinaryLayout(loaded.module.writeBinary()).customSection("name"), nullptr);
  EXPECT_NE(
      readBinaryLayout(loaded.module.writeBinary({.names_section = true})).customSection("name"),
      nullptr);
}

TEST(Module, StripDebugMatchesWasmOpt) {
  test::TempDir dir;
  const auto named = dir / "named.wasm";
  ASSERT_EQ(
      test::runCommand({LOOM_WASM_OPT, fixturePath("helpers").string(), "-g", "-o", named.string()})
          .exit_code,
      0);
  LoadOptions options;
  options.strip_debug = true;
  LoadedModule loaded = loadModuleFile(named, options);
  EXPECT_EQ(loaded.module.writeBinary(), test::runWasmOpt(named, {"--strip-debug"}));
}

TEST(BinaryLayout, FindsSectionsImportsExportsAndMemory) {
  const Bytes imports = loadModuleFile(fixturePath("imports")).module.writeBinary();
  EXPECT_GT(readBinaryLayout(imports).imported_functions, 0u);
  EXPECT_FALSE(readBinaryLayout(imports).memory.has_value());

  LoadedModule loaded = loadModuleFile(fixturePath("memory_grow"));
  const Bytes bytes = loaded.module.writeBinary();
  const BinaryLayout layout = readBinaryLayout(bytes);
  ASSERT_TRUE(layout.memory.has_value());
  EXPECT_FALSE(layout.memory->imported);
  EXPECT_EQ(layout.memory->initial_pages, 1u);
  EXPECT_EQ(layout.memory->max_pages, std::optional<std::uint64_t>(4));
  EXPECT_TRUE(std::any_of(layout.exports.begin(), layout.exports.end(), [](const Export& e) {
    return e.name == "memory" && e.kind == ExternalKind::Memory;
  }));
  std::size_t total = 8;
  for (const Section& s : layout.sections) total += s.size;
  EXPECT_EQ(total, bytes.size());
  EXPECT_GT(layout.codeSectionBytes(), 0u);
  EXPECT_LT(layout.codeSectionBytes(), bytes.size());
}

TEST(BinaryLayout, RejectsTruncatedSections) {
  const Bytes full = support::readFile(test::fixtureBinary("crc32"));
  Bytes cut(full.begin(), full.end() - 3);
  EXPECT_THROW(readBinaryLayout(cut), Error);
}

// The hash of function $f of a text module.
FunctionHash hashOfF(const char* text) {
  Module m = Module::parseTextTrusted(text);
  return hashFunction(BinaryenGetFunction(m.get(), "f"));
}

TEST(Hash, EqualForEqualBodiesAndIgnoresLabelNames) {
  const auto a = hashOfF(
      "(module (func $f (param i32) (result i32) (block $a (result i32) (drop (br_if $a (local.get "
      "0) (local.get 0))) (i32.const 1))))");
  const auto b = hashOfF(
      "(module (func $f (param i32) (result i32) (block $zz (result i32) (drop (br_if $zz "
      "(local.get 0) (local.get 0))) (i32.const 1))))");
  const auto c = hashOfF(
      "(module (func $f (param i32) (result i32) (block $a (result i32) (drop (br_if $a (local.get "
      "0) (local.get 0))) (i32.const 2))))");
  const auto d = hashOfF(
      "(module (func $f (param i64) (result i32) (block $a (result i32) (drop (br_if $a (i32.const "
      "0) (i32.const 0))) (i32.const 1))))");
  EXPECT_EQ(a.hash, b.hash);
  EXPECT_NE(a.hash, c.hash);
  EXPECT_NE(a.hash, d.hash);
  EXPECT_FALSE(a.opaque);
}

// Binaryen's reader names blocks the writer left unnamed: a name nothing
// branches to must not change the hash, nor shift the labels after it.
TEST(Hash, IgnoresLabelsNothingBranchesTo) {
  const auto unnamed = hashOfF(
      "(module (func $f (param i32) (result i32) (block (result i32) (block $b (result i32) "
      "(drop (br_if $b (local.get 0) (local.get 0))) (i32.const 1)))))");
  const auto named = hashOfF(
      "(module (func $f (param i32) (result i32) (block $x (result i32) (block $y (result i32) "
      "(drop (br_if $y (local.get 0) (local.get 0))) (i32.const 1)))))");
  // The same names, but the branch leaves the outer block: another program.
  const auto outer = hashOfF(
      "(module (func $f (param i32) (result i32) (block $x (result i32) (block $y (result i32) "
      "(drop (br_if $x (local.get 0) (local.get 0))) (i32.const 1)))))");
  EXPECT_EQ(unnamed.hash, named.hash);
  EXPECT_NE(named.hash, outer.hash);
}

FunctionHash normalizedHashOfF(const std::string& body, const char* locals = "") {
  const std::string text = "(module (memory 1) (func $g) (func $f (param i32) (result i32) " +
                           std::string(locals) + " " + body + "))";
  Module m = Module::parseTextTrusted(text);
  return hashFunctionUpToLocals(BinaryenGetFunction(m.get(), "f"));
}

// Structure that decides nothing (what remove-unused-names, merge-blocks
// and vacuum add and remove) does not change the normalized hash; structure
// that moves where a branch goes does.
TEST(Hash, UpToLocalsIgnoresStructureThatDecidesNothing) {
  // A block that is the only, or last, child of a block ends where it ends.
  const auto nested = normalizedHashOfF(
      "(block $a (result i32) (call $g) (block $b (result i32) (drop (br_if $b (i32.const 1) "
      "(local.get 0))) (drop (br_if $a (i32.const 2) (local.get 0))) (i32.const 3)))");
  const auto merged = normalizedHashOfF(
      "(block $a (result i32) (call $g) (drop (br_if $a (i32.const 1) (local.get 0))) (drop "
      "(br_if $a (i32.const 2) (local.get 0))) (i32.const 3))");
  EXPECT_EQ(nested.hash, merged.hash);
  // A block in the middle that nothing branches to only sequences.
  const auto middle = normalizedHashOfF(
      "(block (call $g) (block (call $g) (call $g)) (nop) (loop (call $g))) (local.get 0)");
  const auto flat =
      normalizedHashOfF("(call $g) (call $g) (call $g) (nop) (call $g) (local.get 0)");
  EXPECT_EQ(middle.hash, flat.hash);
  // Wrong: a branch out of a middle block skips only the rest of that block.
  const auto skips_inner = normalizedHashOfF(
      "(block $a (block $b (br_if $b (local.get 0)) (call $g)) (call $g)) (local.get 0)");
  const auto skips_outer =
      normalizedHashOfF("(block $a (br_if $a (local.get 0)) (call $g) (call $g)) (local.get 0)");
  EXPECT_NE(skips_inner.hash, skips_outer.hash);
  // Wrong: the block that ends with the middle block is targeted through it.
  const auto through_last = normalizedHashOfF(
      "(block $a (block (call $g) (block $t (br_if $t (local.get 0)) (call $g))) (call $g)) "
      "(local.get 0)");
  const auto flattened = normalizedHashOfF(
      "(block $a (call $g) (br_if $a (local.get 0)) (call $g) (call $g)) (local.get 0)");
  EXPECT_NE(through_last.hash, flattened.hash);
  // Wrong: a loop something branches to repeats; it is not its body.
  const auto loop = normalizedHashOfF("(loop $l (call $g) (br_if $l (local.get 0))) (local.get 0)");
  const auto once =
      normalizedHashOfF("(block $l (call $g) (br_if $l (local.get 0))) (local.get 0)");
  EXPECT_NE(loop.hash, once.hash);
  // Wrong: the same children in another order.
  const auto swapped =
      normalizedHashOfF("(call $g) (nop) (call $g) (call $g) (call $g) (local.get 0)");
  EXPECT_NE(flat.hash, swapped.hash);
  // The exact hash still tells the nested form from the merged one.
  Module a = Module::parseTextTrusted(
      "(module (func $f (result i32) (block $a (result i32) (block $b (result i32) (i32.const "
      "1)))))");
  Module b = Module::parseTextTrusted("(module (func $f (result i32) (i32.const 1)))");
  EXPECT_NE(hashFunction(BinaryenGetFunction(a.get(), "f")).hash,
            hashFunction(BinaryenGetFunction(b.get(), "f")).hash);
  EXPECT_EQ(hashFunctionUpToLocals(BinaryenGetFunction(a.get(), "f")).hash,
            hashFunctionUpToLocals(BinaryenGetFunction(b.get(), "f")).hash);
}

TEST(Hash, ChangesOnlyForFunctionsAPassChanged) {
  LoadedModule loaded = loadModuleFile(fixturePath("arith"));
  const auto before = hashFunctions(loaded.module.get());
  Module copy = loaded.module.copy();
  EXPECT_EQ(hashFunctions(copy.get()).size(), before.size());
  for (const auto& [name, h] : hashFunctions(copy.get()))
    EXPECT_EQ(h.hash, before.at(name).hash) << name;
  const char* passes[] = {"optimize-instructions"};
  BinaryenModuleRunPasses(copy.get(), passes, 1);
  std::size_t changed = 0;
  for (const auto& [name, h] : hashFunctions(copy.get())) changed += h.hash != before.at(name).hash;
  EXPECT_GT(changed, 0u);
  EXPECT_LT(changed, before.size());
}

TEST(Hash, HexRoundTrips) {
  const Hash128 h = hashString("loom");
  EXPECT_EQ(Hash128::fromHex(h.hex()), h);
  EXPECT_THROW(Hash128::fromHex("xyz"), Error);
  EXPECT_EQ(sha256Hex(Bytes{}), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Ir, WalkSeesEveryExpressionWithLoopDepth) {
  Module m = Module::parseTextTrusted(
      "(module (func $f (param i32) (result i32) (local i32)"
      " (loop $outer (loop $inner (local.set 1 (i32.add (local.get 1) (i32.const 1)))"
      " (br_if $inner (i32.lt_u (local.get 1) (local.get 0)))))"
      " (local.get 1)))");
  unsigned max_depth = 0;
  std::size_t count = 0;
  walk(BinaryenFunctionGetBody(BinaryenGetFunction(m.get(), "f")),
       [&](BinaryenExpressionRef e, unsigned depth) {
         ++count;
         if (kindOf(e) == ExprKind::Binary) max_depth = std::max(max_depth, depth);
         EXPECT_NE(kindOf(e), ExprKind::Invalid);
         return true;
       });
  EXPECT_EQ(max_depth, 2u);
  EXPECT_EQ(count, 13u);
}

}  // namespace
}  // namespace loom::wasm

namespace loom::wasm {
namespace {

// Binaryen 108 writes every table export with table index 0: a module with an
// externref table beside its funcref table (what wasm-bindgen emits) would
// come out exporting the wrong table. Module::writeBinary puts the right
// indices back; Node sees each export's own table.
TEST(Module, TableExportsNameTheirOwnTables) {
  Module m = Module::parseTextTrusted(R"((module
    (import "env" "imported" (table $i 3 funcref))
    (table $a 2 funcref)
    (table $b 5 externref)
    (table $c 7 externref)
    (export "tc" (table $c))
    (export "ta" (table $a))
    (export "tb" (table $b))
    (export "ti" (table $i))
    (func $f (export "f") (result i32) (table.size $b))))");
  m.setFeatures(m.features() | detectUsedFeatures(m.get()));
  ASSERT_TRUE(m.validate());
  const Bytes bytes = m.writeBinary();
  std::map<std::string, std::uint32_t> index;
  for (const Export& e : readBinaryLayout(bytes).exports) {
    if (e.kind == ExternalKind::Table) index[e.name] = e.index;
  }
  EXPECT_EQ(index,
            (std::map<std::string, std::uint32_t>{{"ti", 0}, {"ta", 1}, {"tb", 2}, {"tc", 3}}));

  loom::test::TempDir dir;
  loom::test::writeBytes(dir / "m.wasm", bytes);
  const auto r = loom::test::runCommand(
      {LOOM_NODE, "-e",
       "const i = new WebAssembly.Instance(new WebAssembly.Module(require('fs').readFileSync("
       "process.argv[1])), {env: {imported: new WebAssembly.Table({initial: 3, element: "
       "'anyfunc'})}}).exports; console.log([i.ti, i.ta, i.tb, i.tc].map(t => t.length).join())",
       (dir / "m.wasm").string()});
  EXPECT_EQ(r.out, "3,2,5,7\n") << r.err;
}

}  // namespace
}  // namespace loom::wasm
