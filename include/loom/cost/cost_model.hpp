// What a module costs: its size and a static estimate of the cycles it runs.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "loom/wasm/module.hpp"

namespace loom::cost {

struct Metrics {
  std::uint64_t total_bytes = 0;   // the whole binary as written
  std::uint64_t code_bytes = 0;    // the code section alone
  std::uint64_t instructions = 0;  // expressions in function bodies, structure included
  double cycles = 0;               // static estimate, see cost_model.cpp
  std::uint32_t functions = 0;     // defined functions
  friend bool operator==(const Metrics&, const Metrics&) = default;
};

// `binary` must be `module` as written (sizes come from it, counts from the IR).
Metrics measure(const wasm::Module& module, std::span<const std::uint8_t> binary);

// The static cycle estimate of one function body.
double estimateCycles(BinaryenFunctionRef function);

// The classes the estimate sums over; each has one calibrated weight
// (weights.hpp), fitted to measured run times (bench/speed).
enum class CostClass : std::uint8_t {
  Local,         // local.get/set/tee
  Const,         // constants
  IntAlu,        // integer add, logic, shifts, compares, eqz, extends, wraps
  IntMul,        // integer multiplication
  IntDiv,        // integer division and remainder
  Float,         // floating-point arithmetic and conversions
  Load,          // loads (with the bounds check)
  Store,         // stores
  Branch,        // br, br_if, if, select, return
  Switch,        // br_table
  Call,          // direct calls
  CallIndirect,  // call_indirect, call_ref
  Global,        // global.get/set
  Other,         // everything else (memory.grow, bulk memory, atomics, ...)
  Count
};
inline constexpr std::size_t kCostClassCount = static_cast<std::size_t>(CostClass::Count);
std::string_view costClassName(CostClass c);

// A function's execution-weighted instruction costs by class, before the
// class weights: each expression's table weight times how often the model
// expects it to run per call. `cycles()` applies the calibrated weights.
struct CycleFeatures {
  std::array<double, kCostClassCount> by_class{};
  std::uint64_t instructions = 0;
  std::vector<std::pair<const char*, double>> calls;  // direct calls: target, frequency
  double indirect_calls = 0;                          // summed frequency of indirect calls
  double cycles() const;
};
CycleFeatures cycleFeatures(BinaryenFunctionRef function);

// How often each of `functions` (the module's defined functions, with their
// features) runs per run of the module's entry points: 1 for each exported
// function and each function in a table, plus what its callers' call sites
// pass on (every function once when nothing is exported). Metrics::cycles
// is the sum of frequency * cycles.
std::vector<double> callFrequencies(BinaryenModuleRef module,
                                    std::span<const BinaryenFunctionRef> functions,
                                    std::span<const CycleFeatures> features);

}  // namespace loom::cost
