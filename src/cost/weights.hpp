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

#include <array>

#include "loom/cost/cost_model.hpp"
#include "loom/wasm/ir.hpp"

namespace loom::cost {

// How often code runs, relative to one call of its function
// (cost_model.cpp explains the loop model):
// - a loop whose trip count the model cannot see runs this many original
//   iterations per entry;
inline constexpr double kAssumedTrips = 10.0;
// - each arm of an `if` runs with this probability;
inline constexpr double kIfArmProbability = 0.5;
// - no code runs more often than this (about six nested loops).
inline constexpr double kMaxFrequency = 1e6;

// An expression's weight from the x86 tables above, before its class weight.
double expressionWeight(BinaryenExpressionRef expr, wasm::ExprKind kind);

CostClass costClass(BinaryenExpressionRef expr, wasm::ExprKind kind);

// One multiplier per class, fitted to measured V8 run times; see weights.cpp
// for where they come from.
extern const std::array<double, kCostClassCount> kClassWeights;

}  // namespace loom::cost
