// The cycle weights of the static cost model, in one place.
//
// Figures are rough x86-64 costs of what a WebAssembly JIT (V8 TurboFan,
// SpiderMonkey Ion) emits for each instruction, from Agner Fog's instruction
// tables (Skylake: integer add/logic 1 cycle, imul 3, 32-bit div ~26, 64-bit
// div ~35-88, FP add/mul 4, FP div 11-14, sqrt 12-18, L1 load 4-5) plus the
// engine's own overheads: a call costs a frame and argument moves, an
// indirect call adds a table bounds check and a signature check, memory.grow
// calls into the runtime. Locals are mostly registers, so they cost a fraction
// of a cycle. Only ratios between candidates matter: every candidate of one
// module is measured with the same table.
#pragma once

#include <binaryen-c.h>

#include "loom/wasm/ir.hpp"

namespace loom::cost {

// Each loop nesting level multiplies the cost of the code inside it by this
// many assumed iterations; nesting deeper than kMaxLoopDepth counts as that.
inline constexpr double kLoopIterations = 10.0;
inline constexpr unsigned kMaxLoopDepth = 6;

double expressionWeight(BinaryenExpressionRef expr, wasm::ExprKind kind);

}  // namespace loom::cost
