// Loop unrolling, loom-evolve's own phase: Binaryen 108 has no unroller.
#pragma once

#include <binaryen-c.h>

#include <cstdint>

#include "loom/pipeline/config.hpp"

namespace loom::pipeline {

struct UnrollStats {
  std::uint32_t loops_seen = 0;
  std::uint32_t loops_unrolled = 0;
  std::uint32_t loops_too_large = 0;  // body above max_body_size
};

// Unrolls the loops of every defined function in place, as the settings say.
// The result is valid Binaryen IR with unique label names, and has the same
// behaviour as the input for every input.
UnrollStats unrollLoops(BinaryenModuleRef module, const UnrollSettings& settings);

}  // namespace loom::pipeline
