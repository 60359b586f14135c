// Symbolic execution of one function body over Binaryen IR. Structured
// control flow is encoded by merging: every branch to a label adds a
// (path condition, state, value) to that label, and the label's join point
// merges them with if-then-else, so the encoding grows with the size of the
// code rather than with the number of paths. Traps, returns and the points
// where a bounded loop was cut off are collected the same way.
#pragma once

#include <binaryen-c.h>

#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "src/verify/semantics/environment.hpp"
#include "src/verify/semantics/module_info.hpp"
#include "src/verify/semantics/state.hpp"
#include "src/verify/smt/expr.hpp"

namespace loom::verify::sem {

// The verifier does not model this construct; the verdict becomes Unknown.
class Unsupported : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class LoopMode {
  Bounded,    // unroll each loop up to the bound per entry; cut paths are "exceeded"
  Inductive,  // one iteration from a havocked head state (see check/loop_induction)
};

struct ExecOptions {
  LoopMode loop_mode = LoopMode::Bounded;
  unsigned loop_bound = 8;
  unsigned inline_depth = 3;
  // Inductive mode: the value a havocked head component takes instead of a
  // fresh variable (the other side's head variable it is assumed equal to),
  // given the loop's ordinal and the component's index.
  std::function<std::optional<smt::Expr>(int loop, unsigned component)> head_value;
  // Calls of the verified function to itself are events from the start
  // (the recursion rule: assume the recursive calls equivalent).
  bool abstract_recursion = false;
};

// How a call is executed; decided by check/, which knows how the functions
// of the two modules correspond.
struct CallPlan {
  enum class Kind { Inline, Event, Unsupported };
  Kind kind = Kind::Unsupported;
  const FunctionInfo* callee = nullptr;  // Inline: the body to execute
  int key = 0;                           // Event: equal keys mean equivalent callees
  bool internal = false;                 // Event: a module function, abstracted
  std::string reason;                    // Unsupported
};

class CallResolver {
 public:
  virtual ~CallResolver() = default;
  virtual CallPlan direct(Side side, const std::string& callee, unsigned depth) = 0;
  // A call_indirect through a table whose contents are not known statically
  // (or too many candidates): an event keyed by the signature, or nullopt.
  virtual std::optional<int> indirectKey(Side side, const std::vector<ValType>& params,
                                         const std::vector<ValType>& results) = 0;
  // The identity of a reference to a function (ref.func): equal on both
  // sides for equivalent functions, never 0 (null).
  virtual std::uint32_t functionRef(Side side, const std::string& name) = 0;
  // The key of a signature, as refSignature gives it for a reference.
  virtual std::uint32_t signatureOf(const std::vector<ValType>& params,
                                    const std::vector<ValType>& results) = 0;
};

// A loop head reached in inductive mode: where the iteration starts from a
// havocked state, and the states that reach it first and again.
struct LoopInstance {
  int ordinal = 0;
  int parent = -1;
  unsigned depth = 0;  // call depth of the frame holding the loop
  smt::Expr entry_pc;
  State entry;
  State head;
  std::vector<bool> havocked;  // per component of `head`
  std::vector<ValType> local_types;
  smt::Expr back_pc;
  std::optional<State> back;
  BinaryenExpressionRef expr = nullptr;  // the loop in its function's body
};

struct EventSite {
  smt::Expr pc;
  smt::Expr index;
  int key = 0;
  bool internal = false;
  std::string callee;  // import "module.base" or function name, for messages
  std::vector<smt::Expr> args;
  std::vector<ValType> arg_types;
  std::vector<ValType> result_types;
};

struct LoadSite {
  smt::Expr address;  // 64-bit effective address
  unsigned bytes = 0;
};

// A read of a table slot; a replay pins the entry contents at these slots.
struct TableRead {
  unsigned table = 0;
  smt::Expr index;
};

struct GrowSite {
  smt::Expr pc;
  smt::Expr succeeded;
  smt::Expr new_pages;
};

struct SideOutcome {
  smt::Expr returned;  // normal completion
  smt::Expr trapped;
  smt::Expr exceeded;    // a bounded loop was cut off (Bounded mode)
  smt::Expr abstracted;  // an internal call was modelled as an event
  std::vector<smt::Expr> results;
  State final_state;  // at the return, or at the trap
  std::vector<LoopInstance> loops;
  std::vector<EventSite> events;
  std::vector<LoadSite> loads;
  std::vector<GrowSite> grows;
  std::vector<TableRead> table_reads;
  bool unbounded_reads = false;  // memory.copy: reads not captured by `loads`
  unsigned loops_cut = 0;        // bounded loops whose bound was reached
};

class Executor {
 public:
  Executor(Environment& env, const ModuleInfo& module, Side side, CallResolver& resolver,
           ExecOptions options);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  SideOutcome run(const FunctionInfo& function, const std::vector<smt::Expr>& args);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace loom::verify::sem
