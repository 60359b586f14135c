// Mutation testing for the verifier: small, deliberate changes to one
// function of a fixture module (an operator swapped, a constant off by one, a
// store dropped, ...). A mutant that really changes behaviour must never be
// proved equivalent to its original; that is the soundness evidence.
//
// A mutant is named by (fixture, function, operator, site): the site is the
// index among the places in that function where the operator applies, in a
// fixed pre-order walk, so the same name always gives the same module.
#pragma once

#include <binaryen-c.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loom/wasm/module.hpp"

namespace loom::test {

enum class MutationOperator : std::uint8_t {
  BinaryOpSwap,     // add<->sub, mul->add, and<->or, shl<->shr_u, lt_s->lt_u/le_s, f add<->sub, ...
  UnaryOpSwap,      // clz<->ctz, extend8_s<->extend16_s, ceil<->floor, convert_s<->convert_u, ...
  ConstOffByOne,    // integer constant +1 / -1, float constant +1.0
  SwapOperands,     // (a op b) -> (b op a) for a non-commutative op
  InvertCondition,  // if / br_if / select condition wrapped in i32.eqz
  SwapArms,         // then/else of an if, or the two values of a select, exchanged
  DropStore,        // a store replaced by drops of its operands
  MoveStore,        // a store exchanged with the next or previous statement of its block
  ChangeOffset,     // load/store offset +1 / +4
  ChangeWidth,      // load/store access width changed, or load signedness flipped
  RemoveTrap,     // unreachable removed, div/rem made non-trapping, trunc -> trunc_sat, unused load
                  // removed
  ChangeCallArg,  // one call argument +1
  SwapCalls,      // two adjacent statements that call, or two call operands that call, exchanged
  LoopBound,      // br_if inside a loop: comparison constant +-1, or < <-> <= / > <-> >=
  ChangeLocal,    // local.get/set/tee of another local of the same type
  ChangeGlobal,   // global.get/set of another global of the same type
  ChangeCallTarget,  // call of another function with the same signature
  // WebAssembly 2.0 instructions:
  ChangeTable,        // call_indirect / table.get/set/size/grow on another table of the same type
  ChangeLane,         // SIMD lane index of an extract, replace or lane load/store; shuffle lanes
  ChangeSegment,      // memory.init / data.drop of another segment, or memory.init's offset +1
  RemoveDataDrop,     // data.drop removed
  NegateRefIsNull,    // ref.is_null wrapped in i32.eqz
  SwapTupleElements,  // tuple.extract of another index, or two tuple.make operands exchanged
  SimdOpSwap,         // saturating -> wrapping, signed <-> unsigned min/max, low <-> high, ...
};

inline constexpr MutationOperator kAllMutationOperators[] = {
    MutationOperator::BinaryOpSwap,      MutationOperator::UnaryOpSwap,
    MutationOperator::ConstOffByOne,     MutationOperator::SwapOperands,
    MutationOperator::InvertCondition,   MutationOperator::SwapArms,
    MutationOperator::DropStore,         MutationOperator::MoveStore,
    MutationOperator::ChangeOffset,      MutationOperator::ChangeWidth,
    MutationOperator::RemoveTrap,        MutationOperator::ChangeCallArg,
    MutationOperator::SwapCalls,         MutationOperator::LoopBound,
    MutationOperator::ChangeLocal,       MutationOperator::ChangeGlobal,
    MutationOperator::ChangeCallTarget,  MutationOperator::ChangeTable,
    MutationOperator::ChangeLane,        MutationOperator::ChangeSegment,
    MutationOperator::RemoveDataDrop,    MutationOperator::NegateRefIsNull,
    MutationOperator::SwapTupleElements, MutationOperator::SimdOpSwap,
};

// The operators for WebAssembly 2.0 instructions, which only the fixtures in
// tests/fixtures/wasm2 use.
inline constexpr MutationOperator kWasm2MutationOperators[] = {
    MutationOperator::ChangeTable,     MutationOperator::ChangeLane,
    MutationOperator::ChangeSegment,   MutationOperator::RemoveDataDrop,
    MutationOperator::NegateRefIsNull, MutationOperator::SwapTupleElements,
    MutationOperator::SimdOpSwap,
};

std::string_view operatorName(MutationOperator op);  // "binary-op-swap", ...

struct MutantId {
  std::string fixture;   // file stem, e.g. "crc32"
  std::string function;  // internal function name in the module
  MutationOperator op = MutationOperator::BinaryOpSwap;
  unsigned site = 0;
  std::string description;  // what the site changes, e.g. "i32.add -> i32.sub"

  std::string name() const;  // "crc32/$crc32_bitwise/binary-op-swap#3"
};

// Every place `op` applies in `function` of `module`, in walk order. Only the
// descriptions; nothing is changed.
std::vector<std::string> describeSites(const wasm::Module& module, std::string_view function,
                                       MutationOperator op);

// A copy of `original` with the site applied, or nothing when the site does
// not exist or the result does not validate (validation output is silenced).
std::optional<wasm::Module> applyMutation(const wasm::Module& original, const MutantId& id);

struct Mutant {
  MutantId id;
  wasm::Module module;
};

struct MutantOptions {
  // Sites kept per (function, operator), spread evenly over the sites; keeps
  // big functions from dominating the set. 0 keeps all.
  unsigned max_sites_per_operator = 0;
};

// All valid mutants of `module`, deterministic: functions in module order,
// operators in kAllMutationOperators order, sites in walk order. Mutants
// whose binary equals an earlier mutant's (or the original's) are dropped.
std::vector<Mutant> generateMutants(const wasm::Module& module, const std::string& fixture,
                                    const MutantOptions& options = {});

// The same `Module::validate()`, with Binaryen's error text kept off stderr.
bool validateQuietly(const wasm::Module& module);

// Replaces the `index`-th child (in wasm::childrenOf order) of `parent`, or
// the body of `function` when `parent` is null. False for expression classes
// this does not handle. Shared with the Node instrumentation in replay.cpp.
bool setChild(BinaryenFunctionRef function, BinaryenExpressionRef parent, std::size_t index,
              BinaryenExpressionRef child);

}  // namespace loom::test
