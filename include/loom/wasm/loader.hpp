// Loading untrusted modules. Binaryen exits the process on malformed input,
// so every input is first parsed and validated in a forked child; only what
// the child accepted is parsed in this process.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "loom/wasm/module.hpp"

namespace loom::wasm {

enum class SourceFormat { Binary, Text };

struct LoadOptions {
  bool strip_debug = false;  // like `wasm-opt --strip-debug`
};

// Everything needed to rebuild the same in-memory module elsewhere (a worker
// process): the input exactly as given, and what loading decided about it.
struct ModuleSource {
  std::string name;  // file name, for messages
  Bytes bytes;
  SourceFormat format = SourceFormat::Binary;
  BinaryenFeatures features = 0;
  bool strip_debug = false;
};

// Probes `bytes` in a child process: parse, detect features, validate.
// Throws wasm::Error with a one-line reason if Binaryen cannot take it.
ModuleSource probeModule(std::string name, Bytes bytes, const LoadOptions& options = {});
ModuleSource probeModuleFile(const std::filesystem::path& path, const LoadOptions& options = {});

// Builds the in-memory module a probed source describes (features set, debug
// info stripped when asked). Only call it with what probeModule returned.
Module instantiate(const ModuleSource& source);

struct LoadedModule {
  ModuleSource source;
  Module module;
};

LoadedModule loadModuleFile(const std::filesystem::path& path, const LoadOptions& options = {});

}  // namespace loom::wasm
