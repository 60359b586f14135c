#include "loom/wasm/loader.hpp"

#include <fmt/format.h>
#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <span>
#include <string_view>

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

// The specification's `name` is UTF-8 (no overlong forms, no surrogates,
// nothing above U+10FFFF). Binaryen's text parser takes any bytes, and an
// engine then refuses the module it writes.
bool validUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t extra;
    std::uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      extra = 1, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += extra + 1;
  }
  return true;
}

// The first import, export or custom section name of a binary that is not
// valid UTF-8, described; "" when all are. Checked on what Binaryen writes,
// since its text parser keeps escapes (\e9) that only the writer decodes.
std::string invalidName(std::span<const std::uint8_t> binary) {
  const BinaryLayout layout = readBinaryLayout(binary);
  auto bad = [](std::string_view what) {
    return fmt::format("{} name is not valid UTF-8 (the specification requires it)", what);
  };
  for (const auto& e : layout.exports)
    if (!validUtf8(e.name)) return bad("an export");
  for (const auto& i : layout.imports) {
    if (!validUtf8(i.module)) return bad("an import's module");
    if (!validUtf8(i.field)) return bad("an import");
  }
  for (const auto& section : layout.sections)
    if (section.id == 0 && !validUtf8(section.name)) return bad("a custom section");
  return {};
}

// A text-format string's bytes: Binaryen 108 keeps the escapes of names as
// written ("caf\\e9" stays six characters, and so does the name it writes),
// while the specification reads \\e9 as the byte 0xE9.
std::string decodeTextString(std::string_view s) {
  std::string out;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out += s[i];
      continue;
    }
    const char c = s[i + 1];
    if (i + 2 < s.size() && hex(c) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(c) * 16 + hex(s[i + 2]));
      i += 2;
    } else if (c == 't' || c == 'n' || c == 'r' || c == '"' || c == '\'' || c == '\\') {
      out += c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c;
      ++i;
    } else {
      out += s[i];  // \u{...} and the rest: code points, valid by construction
    }
  }
  return out;
}

// The same check on a text module's names as the specification reads them.
std::string invalidTextName(BinaryenModuleRef module) {
  auto bad = [](const char* name) { return name && !validUtf8(decodeTextString(name)); };
  const std::string message = "name is not valid UTF-8 (the specification requires it)";
  for (BinaryenIndex i = 0; i < BinaryenGetNumExports(module); ++i)
    if (bad(BinaryenExportGetName(BinaryenGetExportByIndex(module, i))))
      return "an export " + message;
  for (BinaryenIndex i = 0; i < BinaryenGetNumFunctions(module); ++i) {
    BinaryenFunctionRef f = BinaryenGetFunctionByIndex(module, i);
    if (bad(BinaryenFunctionImportGetModule(f)) || bad(BinaryenFunctionImportGetBase(f)))
      return "an import " + message;
  }
  for (BinaryenIndex i = 0; i < BinaryenGetNumGlobals(module); ++i) {
    BinaryenGlobalRef g = BinaryenGetGlobalByIndex(module, i);
    if (bad(BinaryenGlobalImportGetModule(g)) || bad(BinaryenGlobalImportGetBase(g)))
      return "an import " + message;
  }
  return {};
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
        std::string bad_name =
            source.format == SourceFormat::Text ? invalidTextName(module.get()) : std::string();
        if (bad_name.empty()) {
          try {
            bad_name = invalidName(
                std::span(static_cast<const std::uint8_t*>(written.binary), written.binaryBytes));
          } catch (const Error&) {
            // What Binaryen wrote is checked by every later reader.
          }
        }
        if (!bad_name.empty()) {
          std::fprintf(stderr, "%s\n", bad_name.c_str());
          return 5;
        }
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
    if (outcome.kind == support::ChildOutcome::Kind::Exited && outcome.code == 5) {
      throw Error(fmt::format("{}: invalid WebAssembly: {}", source.name, message));
    }
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
