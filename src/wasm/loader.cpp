#include "loom/wasm/loader.hpp"

#include <fmt/format.h>
#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <mutex>

#include "loom/support/child_process.hpp"
#include "loom/support/files.hpp"
#include "loom/wasm/binary_layout.hpp"
#include "loom/wasm/binaryen_globals.hpp"
#include "loom/wasm/features.hpp"

namespace loom::wasm {

namespace {

// The probe forks. A child of a process whose Binaryen thread pool is running
// would wait forever on threads it does not have, so any program that loads
// modules runs Binaryen single-threaded (parallelism comes from processes).
// The pool starts lazily, at the first parallel pass, after this has run.
const bool kBinaryenSingleThreaded = [] {
  ::setenv("BINARYEN_CORES", "1", 1);
  return true;
}();

SourceFormat detectFormat(const std::string& name, const Bytes& bytes) {
  if (bytes.empty()) throw Error(fmt::format("{}: file is empty", name));
  if (looksLikeBinary(bytes)) return SourceFormat::Binary;
  for (std::uint8_t c : bytes) {
    if (std::isspace(c)) continue;
    if (c == '(' || c == ';') return SourceFormat::Text;
    break;
  }
  throw Error(fmt::format("{}: not a WebAssembly module (neither binary nor text format)", name));
}

Module parseTrusted(const ModuleSource& source) {
  if (source.format == SourceFormat::Binary) return Module::parseBinaryTrusted(source.bytes);
  return Module::parseTextTrusted(
      std::string_view(reinterpret_cast<const char*>(source.bytes.data()), source.bytes.size()));
}

// Binaryen's messages look like "[parse exception: surprising value (at 0:4)]
// Fatal: error in parsing wasm binary" or "[wasm-validator error in function
// 3] unexpected false: ..., on\n(expr ...)". Keep the informative first line.
std::string firstMessage(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  if (auto fatal = line.find("]Fatal: "); fatal != std::string::npos) line.erase(fatal + 1);
  if (line.starts_with('[') && line.ends_with(']')) line = line.substr(1, line.size() - 2);
  while (!line.empty() && (line.back() == ',' || line.back() == ' ')) line.pop_back();
  if (line.ends_with(", on")) line.erase(line.size() - 4);
  if (line.ends_with(" on")) line.erase(line.size() - 3);
  if (line.size() > 300) line = line.substr(0, 300) + "...";
  return line;
}

void stripDebugInfo(Module& module) {
  std::lock_guard lock(binaryenGlobalsMutex());
  const char* passes[] = {"strip-debug"};
  BinaryenModuleRunPasses(module.get(), passes, 1);
}

}  // namespace

ModuleSource probeModule(std::string name, Bytes bytes, const LoadOptions& options) {
  ModuleSource source;
  source.format = detectFormat(name, bytes);
  source.name = std::move(name);
  source.bytes = std::move(bytes);
  source.strip_debug = options.strip_debug;
  if (source.format == SourceFormat::Binary) {
    try {
      readBinaryLayout(source.bytes);  // cheap structural check with a precise message
    } catch (const Error& e) {
      throw Error(fmt::format("{}: {}", source.name, e.what()));
    }
  }

  support::ChildLimits limits;
  limits.timeout = std::chrono::milliseconds(30000 + source.bytes.size() / 10);
  const auto outcome = support::runInChild(
      [&](int result_fd) {
        Module module = parseTrusted(source);
        if (!module) return 3;
        const BinaryenFeatures features = module.features() | detectUsedFeatures(module.get());
        module.setFeatures(features);
        if (!module.validate()) return 4;
        // Binaryen can also die writing what it read (its DWARF code on a
        // malformed .debug_* section), and every user of a module writes it:
        // write it here too, after the same stripping. No mutex in a forked
        // child (another thread may have held it at the fork).
        if (source.strip_debug) {
          const char* strip[] = {"strip-debug"};
          BinaryenModuleRunPasses(module.get(), strip, 1);
        }
        BinaryenModuleAllocateAndWriteResult written =
            BinaryenModuleAllocateAndWrite(module.get(), nullptr);
        std::free(written.binary);
        std::free(written.sourceMap);
        const std::string reply = fmt::format("{}", features);
        support::writeAll(result_fd, reply.data(), reply.size());
        return 0;
      },
      limits);

  const std::string what = source.format == SourceFormat::Binary ? "binary" : "text";
  if (outcome.kind == support::ChildOutcome::Kind::TimedOut) {
    throw Error(fmt::format("{}: Binaryen did not finish reading the module in time", source.name));
  }
  if (!outcome.ok()) {
    std::string message = firstMessage(outcome.error_text);
    if (outcome.kind == support::ChildOutcome::Kind::Exited && outcome.code == 4) {
      throw Error(fmt::format("{}: module does not validate: {}", source.name,
                              message.empty() ? "unknown validation error" : message));
    }
    // Under a sanitizer build, Binaryen's own crash is reported by the
    // sanitizer's signal handler: that is the crash, not a message for users.
    if (message.find("Sanitizer") != std::string::npos) message.clear();
    if (message.empty()) {
      message = fmt::format("Binaryen stopped ({})", outcome.describe());
      if (!source.strip_debug && source.format == SourceFormat::Binary &&
          readBinaryLayout(source.bytes).hasDebugSections()) {
        message += "; its debug sections may be the cause (try --strip-debug)";
      }
    }
    throw Error(fmt::format("{}: cannot read WebAssembly {}: {}", source.name, what, message));
  }
  BinaryenFeatures features = 0;
  const auto& r = outcome.result;
  if (std::from_chars(r.data(), r.data() + r.size(), features).ec != std::errc()) {
    throw Error(fmt::format("{}: internal error: bad probe reply '{}'", source.name, r));
  }
  source.features = features;
  return source;
}

ModuleSource probeModuleFile(const std::filesystem::path& path, const LoadOptions& options) {
  try {
    return probeModule(path.string(), support::readFile(path), options);
  } catch (const support::FileError& e) {
    throw Error(e.what());
  }
}

Module instantiate(const ModuleSource& source) {
  Module module = parseTrusted(source);
  module.setFeatures(source.features);
  if (source.strip_debug) stripDebugInfo(module);
  return module;
}

LoadedModule loadModuleFile(const std::filesystem::path& path, const LoadOptions& options) {
  ModuleSource source = probeModuleFile(path, options);
  Module module = instantiate(source);
  return LoadedModule{std::move(source), std::move(module)};
}

}  // namespace loom::wasm
