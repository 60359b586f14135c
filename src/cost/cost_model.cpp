#include "loom/cost/cost_model.hpp"

#include <algorithm>
#include <cmath>

#include "loom/wasm/binary_layout.hpp"
#include "loom/wasm/ir.hpp"
#include "weights.hpp"

namespace loom::cost {

namespace {

struct FunctionCost {
  std::uint64_t instructions = 0;
  double cycles = 0;
};

FunctionCost functionCost(BinaryenFunctionRef function) {
  FunctionCost cost;
  wasm::walk(BinaryenFunctionGetBody(function), [&](BinaryenExpressionRef e, unsigned loop_depth) {
    const double scale = std::pow(kLoopIterations, std::min(loop_depth, kMaxLoopDepth));
    cost.cycles += expressionWeight(e, wasm::kindOf(e)) * scale;
    ++cost.instructions;
    return true;
  });
  return cost;
}

}  // namespace

double estimateCycles(BinaryenFunctionRef function) {
  return functionCost(function).cycles;
}

Metrics measure(const wasm::Module& module, std::span<const std::uint8_t> binary) {
  Metrics m;
  m.total_bytes = binary.size();
  m.code_bytes = wasm::readBinaryLayout(binary).codeSectionBytes();
  for (BinaryenFunctionRef f : wasm::definedFunctions(module.get())) {
    const FunctionCost cost = functionCost(f);
    ++m.functions;
    m.instructions += cost.instructions;
    m.cycles += cost.cycles;
  }
  return m;
}

}  // namespace loom::cost
