// Module-level facts read straight from the binary format: section sizes and
// what Binaryen 108's C API cannot tell (memory limits, imports, start).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace loom::wasm {

enum class ExternalKind : std::uint8_t { Function = 0, Table = 1, Memory = 2, Global = 3, Tag = 4 };

struct Section {
  std::uint8_t id = 0;
  std::string name;        // custom sections only
  std::size_t offset = 0;  // of the section id byte
  std::size_t size = 0;    // whole section: id, size field and payload
  std::size_t payload_offset = 0;
  std::size_t payload_size = 0;
};

struct Import {
  std::string module;
  std::string field;
  ExternalKind kind = ExternalKind::Function;
};

struct Export {
  std::string name;
  ExternalKind kind = ExternalKind::Function;
  std::uint32_t index = 0;
};

struct MemoryLimits {
  std::uint64_t initial_pages = 0;
  std::optional<std::uint64_t> max_pages;
  bool shared = false;
  bool memory64 = false;
  bool imported = false;
};

struct BinaryLayout {
  std::vector<Section> sections;
  std::vector<Import> imports;
  std::vector<Export> exports;
  std::optional<MemoryLimits> memory;
  std::optional<std::uint32_t> start_function;  // function index space
  std::uint32_t imported_functions = 0;
  std::uint32_t defined_functions = 0;

  std::size_t codeSectionBytes() const;  // whole code section, 0 if absent
  const Section* customSection(std::string_view name) const;
  // The dynamic-linking section of a side module (`dylink.0`, or the older
  // `dylink`), without which it cannot be loaded.
  const Section* dylinkSection() const;
  bool hasDebugSections() const;  // DWARF (.debug_*), names, sourceMappingURL
};

// Throws wasm::Error on anything that is not a well-formed section list.
BinaryLayout readBinaryLayout(std::span<const std::uint8_t> bytes);

bool looksLikeBinary(std::span<const std::uint8_t> bytes);

class Module;
// Global names in the order Binaryen writes the globals (imports first):
// the position each has in the binary, and so its name once written without
// names and read again.
std::vector<std::string> writtenGlobalOrder(const Module& module);

}  // namespace loom::wasm
