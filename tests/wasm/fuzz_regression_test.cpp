// Inputs the fuzzers (fuzz/, scripts/fuzz, docs/fuzzing.md) found, each run
// through the same path as its fuzzer, plus the exact outcome of each finding.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "loom/support/files.hpp"
#include "loom/wasm/binary_layout.hpp"
#include "loom/wasm/loader.hpp"
#include "support/test_support.hpp"

namespace loom::wasm {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> regressionInputs(const std::string& kind) {
  std::vector<fs::path> out;
  const fs::path dir = test::sourceDir() / "tests" / "fuzz_regressions" / kind;
  if (!fs::is_directory(dir)) return out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() != ".md") out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void expectOneLine(const std::string& message) {
  EXPECT_FALSE(message.empty());
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

// What fuzz/load_module_fuzzer.cpp checks, for one input.
void loadLikeTheFuzzer(const Bytes& bytes) {
  try {
    const BinaryLayout layout = readBinaryLayout(bytes);
    for (const Section& s : layout.sections) {
      EXPECT_LE(s.offset + s.size, bytes.size());
      EXPECT_EQ(s.payload_offset + s.payload_size, s.offset + s.size);
    }
  } catch (const Error& e) {
    expectOneLine(e.what());
  }
  LoadOptions options;
  options.strip_debug = (bytes.size() & 1) != 0;
  ModuleSource source;
  try {
    source = probeModule("fuzz.wasm", bytes, options);
  } catch (const Error& e) {
    expectOneLine(e.what());
    EXPECT_EQ(std::string(e.what()).find("Sanitizer"), std::string::npos) << e.what();
    return;
  }
  Module module = instantiate(source);
  ASSERT_TRUE(module);
  EXPECT_EQ(module.features(), source.features);
  const Bytes written = module.writeBinary();
  EXPECT_NO_THROW(readBinaryLayout(written));
}

TEST(FuzzRegression, LoaderInputsGiveAModuleOrOneLine) {
  const auto inputs = regressionInputs("loader");
  ASSERT_FALSE(inputs.empty());
  for (const fs::path& input : inputs) {
    SCOPED_TRACE(input.filename().string());
    loadLikeTheFuzzer(support::readFile(input));
  }
}

Bytes header() {
  return {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
}

// A memory section with one memory of the given flags whose initial size is
// the given LEB128 bytes.
Bytes withMemory(std::uint8_t flags, const Bytes& leb) {
  Bytes out = header();
  Bytes payload = {0x01, flags};
  payload.insert(payload.end(), leb.begin(), leb.end());
  out.push_back(0x05);
  out.push_back(static_cast<std::uint8_t>(payload.size()));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

void expectLayoutError(const Bytes& bytes, const std::string& must_contain) {
  try {
    readBinaryLayout(bytes);
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(must_contain), std::string::npos) << e.what();
  }
}

// Finding 1 (memory64-leb-11-bytes.wasm): an 11-byte LEB128 for a 64-bit
// memory limit was read, shifting a 64-bit value by 70 (undefined behaviour,
// reported by UBSan); the reader allowed one byte more than any N-bit LEB128
// can take.
TEST(FuzzRegression, LebLongerThanItsWidthIsMalformed) {
  const Bytes eleven(10, 0x80);
  Bytes eleven_bytes = eleven;
  eleven_bytes.push_back(0x00);
  expectLayoutError(withMemory(0x04, eleven_bytes), "LEB128 value too long");
  expectLayoutError(support::readFile(test::sourceDir() /
                                      "tests/fuzz_regressions/loader/memory64-leb-11-bytes.wasm"),
                    "LEB128 value too long");
  // 32-bit limits: at most 5 bytes, and the fifth holds only 4 bits.
  expectLayoutError(withMemory(0x00, {0x80, 0x80, 0x80, 0x80, 0x80, 0x00}),
                    "LEB128 value too long");
  expectLayoutError(withMemory(0x00, {0xff, 0xff, 0xff, 0xff, 0x1f}), "LEB128 value too large");

  // The widest valid encodings are still read.
  EXPECT_EQ(
      readBinaryLayout(withMemory(0x00, {0xff, 0xff, 0xff, 0xff, 0x0f})).memory->initial_pages,
      0xffffffffu);
  EXPECT_EQ(
      readBinaryLayout(withMemory(0x00, {0x81, 0x80, 0x80, 0x80, 0x00})).memory->initial_pages, 1u);
  Bytes max64(9, 0xff);
  max64.push_back(0x01);
  const BinaryLayout wide = readBinaryLayout(withMemory(0x04, max64));
  ASSERT_TRUE(wide.memory);
  EXPECT_TRUE(wide.memory->memory64);
  EXPECT_EQ(wide.memory->initial_pages, ~std::uint64_t{0});
  Bytes too_big64(9, 0xff);
  too_big64.push_back(0x03);
  expectLayoutError(withMemory(0x04, too_big64), "LEB128 value too large");
}

// Finding 3 (crc32-bad-debug-section-crashes-writer.wasm): crc32 whose
// target_features section was renamed ".debug_features". It parses and
// validates, but Binaryen's DWARF code reads uninitialised memory on it when
// the module is written (valgrind: dumpDebugLoc) and usually dies with SEGV.
// The probe only parsed and validated, so the crash came later, in the
// loading process (`loom-evolve verify X X` died with signal 11). The probe
// now also writes the module in its child, which turns the crash into a
// one-line error whenever it happens there; since it depends on stack
// garbage, it need not happen (it does not in this test program), so only
// the message is checked. With strip_debug, which the probe applies before
// writing, the module loads and writes whatever the garbage.
TEST(FuzzRegression, ModuleBinaryenCannotWriteGivesOneLineOrLoadsStripped) {
  const Bytes bytes = support::readFile(
      test::sourceDir() /
      "tests/fuzz_regressions/loader/crc32-bad-debug-section-crashes-writer.wasm");
  try {
    probeModule("bad-debug.wasm", bytes);
  } catch (const Error& e) {
    const std::string message = e.what();
    expectOneLine(message);
    EXPECT_NE(message.find("Binaryen stopped"), std::string::npos) << message;
    EXPECT_NE(message.find("--strip-debug"), std::string::npos) << message;
  }
  LoadOptions strip;
  strip.strip_debug = true;
  const ModuleSource source = probeModule("bad-debug.wasm", bytes, strip);
  const Module module = instantiate(source);
  EXPECT_FALSE(readBinaryLayout(module.writeBinary()).hasDebugSections());
}

// Finding 2 (tests/fuzz_regressions/verifier/licm-roundtrip-global-name):
// Module::copy() goes through Binaryen's ModuleUtils::copyModule, which does
// not carry a global's "explicit name" flag, and Binaryen 108 writes only
// explicit global names into the names section. So a copy written with names
// and decoded again calls $base "global$0", while the module it was copied
// from keeps "base" — and the verifier, which matches globals by name, sees
// two different globals (a spurious refutation; see docs/fuzzing.md).
// Not fixed yet: enable this test with the fix.
TEST(FuzzRegression, DISABLED_CopyKeepsGlobalNamesWhenWritten) {
  const LoadedModule loaded = loadModuleFile(test::fixturePath("licm"));
  const auto globalZeroAfterWriting = [](const Module& m) {
    const Module decoded = Module::parseBinaryTrusted(m.writeBinary({.names_section = true}));
    return std::string(BinaryenGlobalGetName(BinaryenGetGlobalByIndex(decoded.get(), 0)));
  };
  EXPECT_EQ(globalZeroAfterWriting(loaded.module), "base");
  EXPECT_EQ(globalZeroAfterWriting(loaded.module.copy()), "base");
}

}  // namespace
}  // namespace loom::wasm
