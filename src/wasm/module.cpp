#include "loom/wasm/module.hpp"

#include <cstdlib>
#include <map>
#include <mutex>
#include <utility>

#include "loom/wasm/binary_layout.hpp"
#include "loom/wasm/binaryen_globals.hpp"

// libbinaryen.so exports this C++ function (no header is shipped for it). It
// copies everything but Module::hasFeaturesSection, which decides whether the
// writer emits a target_features section; Module::copy() restores it by
// appending the section Binaryen would have written (always the last one).
namespace wasm {
class Module;
namespace ModuleUtils {
void copyModule(const Module& in, Module& out);
}  // namespace ModuleUtils
}  // namespace wasm

namespace loom::wasm {

std::mutex& binaryenGlobalsMutex() {
  static std::mutex mutex;
  return mutex;
}

namespace {

struct WrittenBuffer {
  BinaryenModuleAllocateAndWriteResult result{};
  ~WrittenBuffer() {
    std::free(result.binary);
    std::free(result.sourceMap);
  }
};

void appendUleb(Bytes& out, std::uint64_t value) {
  do {
    std::uint8_t byte = value & 0x7f;
    value >>= 7;
    if (value) byte |= 0x80;
    out.push_back(byte);
  } while (value);
}

// Binaryen 108 writes every table export with table index 0, so a module
// with an externref table beside its funcref table (wasm-bindgen's output)
// comes out exporting the wrong table. The export section is rewritten with
// each exported table's real index: imported tables first, then defined
// ones, each in module order, as Binaryen numbers them everywhere else.
void fixTableExports(BinaryenModuleRef ref, Bytes& bytes) {
  const BinaryenIndex tables = BinaryenGetNumTables(ref);
  if (tables < 2) return;
  std::map<std::string, std::uint32_t> index_of;
  for (bool imported : {true, false}) {
    for (BinaryenIndex i = 0; i < tables; ++i) {
      BinaryenTableRef t = BinaryenGetTableByIndex(ref, i);
      const char* module = BinaryenTableImportGetModule(t);
      if ((module && *module) != imported) continue;
      index_of.emplace(BinaryenTableGetName(t), static_cast<std::uint32_t>(index_of.size()));
    }
  }
  const BinaryLayout layout = readBinaryLayout(bytes);
  const BinaryenIndex count = BinaryenGetNumExports(ref);
  if (layout.exports.size() != count) return;
  Bytes payload;
  appendUleb(payload, count);
  for (BinaryenIndex i = 0; i < count; ++i) {
    BinaryenExportRef e = BinaryenGetExportByIndex(ref, i);
    const Export& written = layout.exports[i];
    if (written.name != BinaryenExportGetName(e)) return;  // not the order assumed: leave it
    std::uint32_t index = written.index;
    if (written.kind == ExternalKind::Table) {
      auto it = index_of.find(BinaryenExportGetValue(e));
      if (it == index_of.end()) return;
      index = it->second;
    }
    appendUleb(payload, written.name.size());
    payload.insert(payload.end(), written.name.begin(), written.name.end());
    payload.push_back(static_cast<std::uint8_t>(written.kind));
    appendUleb(payload, index);
  }
  for (const Section& section : layout.sections) {
    if (section.id != 7) continue;
    Bytes replacement{7};
    appendUleb(replacement, payload.size());
    replacement.insert(replacement.end(), payload.begin(), payload.end());
    const auto at = bytes.begin() + static_cast<std::ptrdiff_t>(section.offset);
    bytes.erase(at, at + static_cast<std::ptrdiff_t>(section.size));
    bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(section.offset), replacement.begin(),
                 replacement.end());
    return;
  }
}

Bytes writeWith(BinaryenModuleRef ref, bool names) {
  WrittenBuffer buffer;
  {
    std::lock_guard lock(binaryenGlobalsMutex());
    const bool before = BinaryenGetDebugInfo();
    BinaryenSetDebugInfo(names);
    buffer.result = BinaryenModuleAllocateAndWrite(ref, nullptr);
    BinaryenSetDebugInfo(before);
  }
  const auto* data = static_cast<const std::uint8_t*>(buffer.result.binary);
  Bytes bytes(data, data + buffer.result.binaryBytes);
  fixTableExports(ref, bytes);
  return bytes;
}

// The exact target_features section Binaryen writes for `features`: made by
// letting Binaryen round-trip an empty module that declares them.
Bytes featuresSectionFor(BinaryenFeatures features) {
  static std::mutex mutex;
  static std::map<BinaryenFeatures, Bytes> cache;
  std::lock_guard lock(mutex);
  if (auto it = cache.find(features); it != cache.end()) return it->second;

  static const std::pair<BinaryenFeatures (*)(), const char*> kNames[] = {
      {BinaryenFeatureAtomics, "atomics"},
      {BinaryenFeatureMutableGlobals, "mutable-globals"},
      {BinaryenFeatureNontrappingFPToInt, "nontrapping-fptoint"},
      {BinaryenFeatureSIMD128, "simd128"},
      {BinaryenFeatureBulkMemory, "bulk-memory"},
      {BinaryenFeatureSignExt, "sign-ext"},
      {BinaryenFeatureExceptionHandling, "exception-handling"},
      {BinaryenFeatureTailCall, "tail-call"},
      {BinaryenFeatureReferenceTypes, "reference-types"},
      {BinaryenFeatureMultivalue, "multivalue"},
      {BinaryenFeatureGC, "gc"},
      {BinaryenFeatureMemory64, "memory64"},
      {BinaryenFeatureTypedFunctionReferences, "typed-function-references"},
      {BinaryenFeatureRelaxedSIMD, "relaxed-simd"},
      {BinaryenFeatureExtendedConst, "extended-const"},
  };
  Bytes payload;
  payload.reserve(512);  // also keeps GCC 12 -O3 from a false stringop-overflow warning
  auto putString = [&](std::string_view s) {
    payload.push_back(static_cast<std::uint8_t>(s.size()));
    payload.insert(payload.end(), s.begin(), s.end());
  };
  putString("target_features");
  std::vector<const char*> enabled;
  for (auto [flag, name] : kNames) {
    if (features & flag()) enabled.push_back(name);
  }
  payload.push_back(static_cast<std::uint8_t>(enabled.size()));
  for (const char* name : enabled) {
    payload.push_back('+');
    putString(name);
  }
  Bytes binary = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x00};
  binary.push_back(static_cast<std::uint8_t>(payload.size()));
  binary.insert(binary.end(), payload.begin(), payload.end());

  std::vector<char> input(binary.begin(), binary.end());
  BinaryenModuleRef ref = BinaryenModuleRead(input.data(), input.size());
  Bytes written = writeWith(ref, false);
  BinaryenModuleDispose(ref);

  Bytes section;
  const BinaryLayout layout = readBinaryLayout(written);
  if (const Section* s = layout.customSection("target_features")) {
    section.assign(written.begin() + static_cast<std::ptrdiff_t>(s->offset),
                   written.begin() + static_cast<std::ptrdiff_t>(s->offset + s->size));
  }
  return cache.emplace(features, std::move(section)).first->second;
}

}  // namespace

Module::~Module() {
  if (ref_) BinaryenModuleDispose(ref_);
}

Module::Module(Module&& other) noexcept
    : ref_(std::exchange(other.ref_, nullptr)),
      features_section_(std::move(other.features_section_)),
      writes_own_features_section_(other.writes_own_features_section_),
      dylink_section_(std::move(other.dylink_section_)),
      writes_own_dylink_section_(other.writes_own_dylink_section_) {}

Module& Module::operator=(Module&& other) noexcept {
  if (this != &other) {
    if (ref_) BinaryenModuleDispose(ref_);
    ref_ = std::exchange(other.ref_, nullptr);
    features_section_ = std::move(other.features_section_);
    writes_own_features_section_ = other.writes_own_features_section_;
    dylink_section_ = std::move(other.dylink_section_);
    writes_own_dylink_section_ = other.writes_own_dylink_section_;
  }
  return *this;
}

Module Module::parseBinaryTrusted(std::span<const std::uint8_t> bytes) {
  std::vector<char> input(bytes.begin(), bytes.end());
  Module module(BinaryenModuleRead(input.data(), input.size()));
  const BinaryLayout layout = readBinaryLayout(bytes);
  module.writes_own_features_section_ = layout.customSection("target_features") != nullptr;
  if (const Section* dylink = layout.dylinkSection()) {
    // The bytes as parsed: exactly what Binaryen writes when it wrote them
    // (every candidate's module), and so far on every side module of the
    // corpus too (wasm-ld writes minimal LEBs, as Binaryen does).
    module.dylink_section_ = std::make_shared<const Bytes>(
        bytes.begin() + static_cast<std::ptrdiff_t>(dylink->offset),
        bytes.begin() + static_cast<std::ptrdiff_t>(dylink->offset + dylink->size));
    module.writes_own_dylink_section_ = true;
  }
  return module;
}

Module Module::parseTextTrusted(std::string_view text) {
  std::string input(text);
  return Module(BinaryenModuleParse(input.c_str()));
}

BinaryenFeatures Module::features() const {
  return BinaryenModuleGetFeatures(ref_);
}

void Module::setFeatures(BinaryenFeatures features) {
  BinaryenModuleSetFeatures(ref_, features);
  if (features_section_)
    features_section_ = std::make_shared<const Bytes>(featuresSectionFor(features));
}

Module Module::copy() const {
  Module out(BinaryenModuleCreate());
  ::wasm::ModuleUtils::copyModule(*reinterpret_cast<const ::wasm::Module*>(ref_),
                                  *reinterpret_cast<::wasm::Module*>(out.ref_));
  BinaryenModuleSetFeatures(out.ref_, features());
  if (writes_own_features_section_) {
    out.features_section_ = std::make_shared<const Bytes>(featuresSectionFor(features()));
  } else {
    out.features_section_ = features_section_;
  }
  out.dylink_section_ = dylink_section_;
  out.writes_own_dylink_section_ = false;
  return out;
}

Bytes Module::writeBinary(const WriteOptions& options) const {
  Bytes bytes = writeWith(ref_, options.names_section);
  if (dylink_section_ && !writes_own_dylink_section_) {
    constexpr std::ptrdiff_t kHeader = 8;  // the section must come first
    bytes.insert(bytes.begin() + kHeader, dylink_section_->begin(), dylink_section_->end());
  }
  if (features_section_)
    bytes.insert(bytes.end(), features_section_->begin(), features_section_->end());
  return bytes;
}

std::string Module::writeText() const {
  char* text = BinaryenModuleAllocateAndWriteText(ref_);
  std::string out(text);
  std::free(text);
  return out;
}

bool Module::validate() const {
  return BinaryenModuleValidate(ref_);
}

}  // namespace loom::wasm
