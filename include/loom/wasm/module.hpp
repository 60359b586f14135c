// A WebAssembly module held by Binaryen, with value semantics the C API lacks.
#pragma once

#include <binaryen-c.h>

#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace loom::wasm {

using Bytes = std::vector<std::uint8_t>;

// Every error the module layer reports is one line, fit for a terminal.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct WriteOptions {
  bool names_section = false;  // like `wasm-opt -g`
};

// Owns a BinaryenModuleRef. Binaryen's C API has no module copy, so copy()
// goes through Binaryen's own C++ ModuleUtils::copyModule, which the shared
// library exports; wasm/module.cpp explains the one field it does not copy.
class Module {
 public:
  Module() = default;
  ~Module();
  Module(Module&& other) noexcept;
  Module& operator=(Module&& other) noexcept;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Parsing trusts its input: Binaryen calls _Exit on malformed modules.
  // Untrusted input goes through loader.hpp, which probes it in a child first.
  static Module parseBinaryTrusted(std::span<const std::uint8_t> bytes);
  static Module parseTextTrusted(std::string_view text);

  BinaryenModuleRef get() const { return ref_; }
  explicit operator bool() const { return ref_ != nullptr; }

  BinaryenFeatures features() const;
  void setFeatures(BinaryenFeatures features);

  Module copy() const;
  Bytes writeBinary(const WriteOptions& options = {}) const;
  std::string writeText() const;

  // Validation output goes to Binaryen's stderr; callers that need the text
  // run it in a child process (see loader.hpp).
  bool validate() const;

 private:
  explicit Module(BinaryenModuleRef ref) : ref_(ref) {}

  BinaryenModuleRef ref_ = nullptr;
  // Bytes of the target_features section Binaryen writes itself for a module
  // read from a binary that had one; a copy has to append them (see .cpp).
  std::shared_ptr<const Bytes> features_section_;
  bool writes_own_features_section_ = false;
  // copyModule does not copy the dynamic-linking section either (`dylink.0`,
  // which side modules cannot load without): a copy writes it back first.
  std::shared_ptr<const Bytes> dylink_section_;
  bool writes_own_dylink_section_ = false;
};

}  // namespace loom::wasm
