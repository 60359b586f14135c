// libFuzzer target for the module loader (include/loom/wasm/loader.hpp).
//
// Any input must give either a module or one wasm::Error with a one-line
// message, never a crash, a sanitizer report or another exception:
//   1. readBinaryLayout in this process (the structural check the probe runs
//      first), with the sections it reports inside the input;
//   2. probeModule (Binaryen parses and validates in a forked child), with
//      options varied by the input's length;
//   3. for an accepted input, instantiate() in this process (Binaryen must not
//      exit on what the child accepted), the features the probe reported, and
//      the written binary read back by readBinaryLayout.
// An instrumented child that trips a sanitizer exits with its report on
// stderr, which the probe turns into an error message: that is caught here.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <regex>
#include <span>
#include <string>
#include <string_view>

#include "loom/wasm/binary_layout.hpp"
#include "loom/wasm/loader.hpp"
#include "loom/wasm/module.hpp"

namespace {

using loom::wasm::Bytes;

[[noreturn]] void fail(std::string_view what, std::string_view detail) {
  std::fprintf(stderr, "load_module_fuzzer: %.*s: %.*s\n", static_cast<int>(what.size()),
               what.data(), static_cast<int>(detail.size()), detail.data());
  std::abort();
}

void checkMessage(std::string_view where, const std::string& message) {
  if (message.empty()) fail(where, "empty error message");
  if (message.find('\n') != std::string::npos) fail(where, "error message spans lines: " + message);
  // A sanitizer report from the probe's child reaches us as the error
  // message: "<name>: cannot read WebAssembly binary: <first stderr line>".
  // Only the start of that line counts: Binaryen's own messages echo pieces
  // of the input, which libFuzzer soon fills with these very markers. A child
  // that Binaryen crashed (SEGV and the like) is what the probe is for; under
  // ASan its first line is ASan's report of that signal. Any other sanitizer
  // report is a bug in our code.
  std::string_view rest;
  for (std::string_view prefix : {"cannot read WebAssembly binary: ",
                                  "cannot read WebAssembly text: ", "module does not validate: "}) {
    if (const auto at = message.find(prefix); at != std::string::npos) {
      rest = std::string_view(message).substr(at + prefix.size());
      break;
    }
  }
  static const std::regex ubsan(R"(^[^ ]+:[0-9]+:[0-9]+: runtime error:)");
  const bool sanitizer = rest.starts_with("==") || rest.starts_with("AddressSanitizer") ||
                         rest.starts_with("UndefinedBehaviorSanitizer") ||
                         std::regex_search(rest.begin(), rest.end(), ubsan);
  const bool deadly_signal =
      rest.starts_with("AddressSanitizer:DEADLYSIGNAL") ||
      rest.find("AddressSanitizer: SEGV") != std::string_view::npos ||
      rest.find("AddressSanitizer: BUS") != std::string_view::npos ||
      rest.find("AddressSanitizer: stack-overflow") != std::string_view::npos;
  if (sanitizer && !deadly_signal) fail(where, "sanitizer report in a child: " + message);
}

void checkLayout(std::span<const std::uint8_t> bytes, const loom::wasm::BinaryLayout& layout) {
  for (const loom::wasm::Section& s : layout.sections) {
    if (s.offset + s.size > bytes.size() || s.payload_offset < s.offset ||
        s.payload_offset + s.payload_size != s.offset + s.size) {
      fail("readBinaryLayout", "a section lies outside the input");
    }
  }
  (void)layout.codeSectionBytes();
  (void)layout.hasDebugSections();
  (void)layout.customSection("name");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);

  // 1. The layout reader, in process.
  try {
    checkLayout(bytes, loom::wasm::readBinaryLayout(bytes));
  } catch (const loom::wasm::Error& e) {
    checkMessage("readBinaryLayout", e.what());
  } catch (const std::exception& e) {
    fail("readBinaryLayout threw something other than wasm::Error", e.what());
  }

  // 2. The probe, in a child.
  loom::wasm::LoadOptions options;
  options.strip_debug = (size & 1) != 0;
  loom::wasm::ModuleSource source;
  try {
    source = loom::wasm::probeModule("fuzz.wasm", Bytes(bytes.begin(), bytes.end()), options);
  } catch (const loom::wasm::Error& e) {
    checkMessage("probeModule", e.what());
    return 0;
  } catch (const std::exception& e) {
    fail("probeModule threw something other than wasm::Error", e.what());
  }

  // 3. What the child accepted, in process.
  try {
    loom::wasm::Module module = loom::wasm::instantiate(source);
    if (!module) fail("instantiate", "no module");
    if (module.features() != source.features)
      fail("instantiate", "features differ from the probe's");
    const Bytes written = module.writeBinary();
    checkLayout(written, loom::wasm::readBinaryLayout(written));
  } catch (const std::exception& e) {
    fail("an accepted module failed in process", e.what());
  }
  return 0;
}
