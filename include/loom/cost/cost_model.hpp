// What a module costs: its size and a static estimate of the cycles it runs.
#pragma once

#include <cstdint>
#include <span>

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

}  // namespace loom::cost
