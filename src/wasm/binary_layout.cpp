#include "loom/wasm/binary_layout.hpp"

#include <fmt/format.h>

#include "loom/wasm/module.hpp"

namespace loom::wasm {

namespace {

class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

  std::size_t position() const { return pos_; }
  bool atEnd() const { return pos_ >= bytes_.size(); }
  void seek(std::size_t pos) { pos_ = pos; }

  std::uint8_t byte() {
    if (pos_ >= bytes_.size()) fail("unexpected end of module");
    return bytes_[pos_++];
  }

  // An N-bit LEB128 takes at most ceil(N / 7) bytes. The last byte's bits
  // beyond N must be clear for an unsigned value (a signed one, only skipped
  // here, repeats its sign bit in them).
  std::uint64_t leb(unsigned max_bits, bool is_signed = false) {
    std::uint64_t value = 0;
    for (unsigned shift = 0;; shift += 7) {
      if (shift >= max_bits) fail("LEB128 value too long");
      const std::uint8_t b = byte();
      if (!is_signed && max_bits - shift < 7 && ((b & 0x7f) >> (max_bits - shift)) != 0) {
        fail("LEB128 value too large");
      }
      value |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    return value;
  }
  std::uint32_t u32() { return static_cast<std::uint32_t>(leb(32)); }

  std::string name() {
    const std::uint32_t length = u32();
    if (length > bytes_.size() - pos_) fail("name extends beyond end of module");
    std::string out(reinterpret_cast<const char*>(bytes_.data() + pos_), length);
    pos_ += length;
    return out;
  }

  void skip(std::size_t n) {
    if (n > bytes_.size() - pos_) fail("section extends beyond end of module");
    pos_ += n;
  }

  [[noreturn]] void fail(std::string_view what) const {
    throw Error(fmt::format("malformed module: {} (at byte {})", what, pos_));
  }

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t pos_ = 0;
};

constexpr std::uint8_t kCustom = 0, kImport = 2, kMemory = 5, kExport = 7, kStart = 8,
                       kFunction = 3;

MemoryLimits readLimits(Reader& r) {
  MemoryLimits limits;
  const std::uint8_t flags = r.byte();
  limits.shared = flags & 0x02;
  limits.memory64 = flags & 0x04;
  const unsigned bits = limits.memory64 ? 64 : 32;
  limits.initial_pages = r.leb(bits);
  if (flags & 0x01) limits.max_pages = r.leb(bits);
  return limits;
}

void skipValueTypeAndMutability(Reader& r) {
  const std::uint8_t type = r.byte();
  if (type == 0x6b || type == 0x6c) r.leb(33, true);  // (ref $t) / (ref null $t): s33
  r.byte();
}

void readImports(Reader& r, BinaryLayout& layout) {
  const std::uint32_t count = r.u32();
  for (std::uint32_t i = 0; i < count; ++i) {
    Import import;
    import.module = r.name();
    import.field = r.name();
    const std::uint8_t kind = r.byte();
    switch (kind) {
      case 0:  // function: type index
        r.u32();
        ++layout.imported_functions;
        break;
      case 1: {  // table: reftype + limits
        const std::uint8_t type = r.byte();
        if (type == 0x6b || type == 0x6c) r.leb(33, true);
        readLimits(r);
        break;
      }
      case 2: {
        MemoryLimits limits = readLimits(r);
        limits.imported = true;
        layout.memory = limits;
        break;
      }
      case 3:
        skipValueTypeAndMutability(r);
        break;
      case 4:  // tag: attribute + type index
        r.byte();
        r.u32();
        break;
      default:
        r.fail(fmt::format("unknown import kind {}", kind));
    }
    import.kind = static_cast<ExternalKind>(kind);
    layout.imports.push_back(std::move(import));
  }
}

}  // namespace

bool looksLikeBinary(std::span<const std::uint8_t> bytes) {
  return bytes.size() >= 4 && bytes[0] == 0x00 && bytes[1] == 0x61 && bytes[2] == 0x73 &&
         bytes[3] == 0x6d;
}

BinaryLayout readBinaryLayout(std::span<const std::uint8_t> bytes) {
  if (!looksLikeBinary(bytes)) throw Error("not a WebAssembly binary (bad magic number)");
  if (bytes.size() < 8) throw Error("malformed module: truncated header");
  if (bytes[4] != 1 || bytes[5] != 0 || bytes[6] != 0 || bytes[7] != 0) {
    throw Error("unsupported WebAssembly binary version");
  }
  BinaryLayout layout;
  Reader r(bytes);
  r.seek(8);
  while (!r.atEnd()) {
    Section section;
    section.offset = r.position();
    section.id = r.byte();
    const std::uint32_t payload_size = r.u32();
    section.payload_offset = r.position();
    section.payload_size = payload_size;
    r.skip(payload_size);
    section.size = r.position() - section.offset;
    const std::size_t end = r.position();

    Reader payload(bytes.subspan(0, end));
    payload.seek(section.payload_offset);
    switch (section.id) {
      case kCustom:
        section.name = payload.name();
        break;
      case kImport:
        readImports(payload, layout);
        break;
      case kFunction:
        layout.defined_functions = payload.u32();
        break;
      case kMemory:
        if (payload.u32() > 0) layout.memory = readLimits(payload);
        break;
      case kExport: {
        const std::uint32_t count = payload.u32();
        for (std::uint32_t i = 0; i < count; ++i) {
          Export e;
          e.name = payload.name();
          e.kind = static_cast<ExternalKind>(payload.byte());
          e.index = payload.u32();
          layout.exports.push_back(std::move(e));
        }
        break;
      }
      case kStart:
        layout.start_function = payload.u32();
        break;
      default:
        break;
    }
    layout.sections.push_back(std::move(section));
  }
  return layout;
}

std::size_t BinaryLayout::codeSectionBytes() const {
  for (const Section& s : sections) {
    if (s.id == 10) return s.size;
  }
  return 0;
}

const Section* BinaryLayout::customSection(std::string_view name) const {
  for (const Section& s : sections) {
    if (s.id == 0 && s.name == name) return &s;
  }
  return nullptr;
}

const Section* BinaryLayout::dylinkSection() const {
  const Section* s = customSection("dylink.0");
  return s ? s : customSection("dylink");
}

bool BinaryLayout::hasDebugSections() const {
  for (const Section& s : sections) {
    if (s.id != 0) continue;
    if (s.name == "name" || s.name == "sourceMappingURL" || s.name.starts_with(".debug_"))
      return true;
  }
  return false;
}

std::vector<std::string> writtenGlobalOrder(const Module& module) {
  std::vector<std::string> imported, defined;
  for (BinaryenIndex i = 0, n = BinaryenGetNumGlobals(module.get()); i < n; ++i) {
    BinaryenGlobalRef g = BinaryenGetGlobalByIndex(module.get(), i);
    const char* import_module = BinaryenGlobalImportGetModule(g);
    (import_module && *import_module ? imported : defined).push_back(BinaryenGlobalGetName(g));
  }
  imported.insert(imported.end(), defined.begin(), defined.end());
  return imported;
}

}  // namespace loom::wasm
