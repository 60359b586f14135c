// Which WebAssembly features a module uses. Binaryen reads a binary with only
// the features its target_features section names (MVP when it has none); we
// add what the code itself needs, and never "all": with every feature on,
// -Oz's merge-similar-functions emits call_ref, which Node 20 cannot run.
#pragma once

#include <binaryen-c.h>

#include <string>
#include <vector>

namespace loom::wasm {

BinaryenFeatures detectUsedFeatures(BinaryenModuleRef module);

// `--enable-sign-ext`-style flags for wasm-opt, one per feature beyond MVP.
std::vector<std::string> wasmOptFeatureFlags(BinaryenFeatures features);

// "mvp" or "sign-ext,bulk-memory".
std::string describeFeatures(BinaryenFeatures features);

}  // namespace loom::wasm
