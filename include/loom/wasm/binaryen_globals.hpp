// Binaryen 108 keeps pass options (levels, inlining sizes, debug info) in
// process-global state that every RunPasses/Write call reads. Whoever sets
// them holds this lock until the call that reads them has returned.
#pragma once

#include <mutex>

namespace loom::wasm {

std::mutex& binaryenGlobalsMutex();

}  // namespace loom::wasm
