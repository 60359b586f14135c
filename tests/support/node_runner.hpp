// Running WebAssembly in Node.js (an engine independent of Binaryen) through
// scripts/wasm-run.mjs, to compare what two modules actually do.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace loom::test {

// Sends `request` (see scripts/wasm-run.mjs for the format) and returns the
// parsed reply; throws std::runtime_error if node fails or replies an error.
nlohmann::json runInNode(const nlohmann::json& request);

// Exports with their signatures: [{"name","params":["i32",..],"results":[..]}].
nlohmann::json listExports(const std::filesystem::path& module);

// Calls every export of `module` with each argument vector that fits its
// arity (arguments are cycled from `values`), one fresh instance per call.
nlohmann::json callAllExports(const std::filesystem::path& module,
                              const std::vector<std::string>& values, int vectors_per_export);

}  // namespace loom::test
