// Placeholder until the unroller lands (being written in parallel).
#include "loom/pipeline/unroll.hpp"

#include <stdexcept>

namespace loom::pipeline {

UnrollStats unrollLoops(BinaryenModuleRef, const UnrollSettings&) {
  throw std::logic_error("loop unrolling is not implemented yet");
}

}  // namespace loom::pipeline
