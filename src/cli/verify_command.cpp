#include <fmt/format.h>
#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "loom/verify/verifier.hpp"
#include "loom/wasm/binary_layout.hpp"
#include "loom/wasm/loader.hpp"

namespace loom::cli {

namespace {

struct VerifyCommandOptions {
  std::string original;
  std::string module;
  bool json = false;
  bool allow_bounded = false;
  long timeout_ms = 5000;
  double budget_seconds = 0;  // 0: every changed function is checked
  unsigned loop_bound = 8;
  unsigned inline_depth = 3;
};

// Function names of two separately read binaries correspond only if both
// carry a names section (or were written as text with names); otherwise
// Binaryen numbers them and only exports can be matched.
bool namesCorrespond(const wasm::ModuleSource& a, const wasm::ModuleSource& b) {
  auto named = [](const wasm::ModuleSource& s) {
    if (s.format == wasm::SourceFormat::Text) return true;
    return wasm::readBinaryLayout(s.bytes).customSection("name") != nullptr;
  };
  return named(a) && named(b);
}

int exitCode(const verify::ModuleVerdict& verdict, bool allow_bounded) {
  switch (verdict.overall()) {
    case verify::Verdict::Proved:
      return 0;
    case verify::Verdict::Bounded:
      return allow_bounded ? 0 : 2;
    case verify::Verdict::Refuted:
      return 1;
    case verify::Verdict::Unknown:
      break;
  }
  return 2;
}

void printTable(const VerifyCommandOptions& o, const verify::ModuleVerdict& v, bool by_export) {
  fmt::print("{} -> {}: {} changed function{}, {} unchanged{}\n\n", o.original, o.module,
             v.functions.size(), v.functions.size() == 1 ? "" : "s", v.unchanged_functions,
             by_export ? " (matched by export name: no names section)" : "");
  if (!v.functions.empty()) {
    fmt::print("{:<28} {:<9} {:>8}  {}\n", "function", "verdict", "solver", "details");
    for (const auto& f : v.functions) {
      std::string verdict(verify::verdictName(f.verdict));
      if (f.verdict == verify::Verdict::Bounded) verdict += fmt::format("({})", f.bound);
      fmt::print("{:<28} {:<9} {:>7.3f}s  {}{}\n", f.function, verdict, f.solver_seconds, f.reason,
                 f.cached ? " [cached]" : "");
      if (f.counterexample) {
        const auto& c = *f.counterexample;
        std::vector<std::string> args;
        for (const auto& a : c.arguments) args.push_back(a.type + " " + a.value);
        fmt::print("    counterexample: {}({})", f.function, fmt::join(args, ", "));
        if (!c.memory.empty()) fmt::print(", {} memory byte(s) set", c.memory.size());
        if (!c.globals.empty()) {
          std::vector<std::string> gs;
          for (const auto& [name, value] : c.globals) gs.push_back(name + "=" + value.value);
          fmt::print(", globals {}", fmt::join(gs, " "));
        }
        fmt::print("\n      original:  {}\n      optimized: {}\n", c.original_outcome,
                   c.optimized_outcome);
      }
    }
  }
  if (!v.module_problems.empty()) {
    fmt::print("\nmodule problems{}:\n", v.module_problems_refute ? " (definite differences)" : "");
    for (const auto& p : v.module_problems) fmt::print("  - {}\n", p);
  }
  fmt::print("\nproved {}, bounded {}, refuted {}, unknown {}: {}\n",
             v.count(verify::Verdict::Proved), v.count(verify::Verdict::Bounded),
             v.count(verify::Verdict::Refuted), v.count(verify::Verdict::Unknown),
             verify::verdictName(v.overall()));
}

int runVerify(const VerifyCommandOptions& o) {
  wasm::LoadedModule original = wasm::loadModuleFile(o.original);
  wasm::LoadedModule optimized = wasm::loadModuleFile(o.module);
  verify::VerifyOptions options;
  options.function_timeout = std::chrono::milliseconds(o.timeout_ms);
  options.module_budget =
      std::chrono::milliseconds(static_cast<long long>(o.budget_seconds * 1000));
  options.loop_bound = o.loop_bound;
  options.inline_depth = o.inline_depth;
  options.match_by_export = !namesCorrespond(original.source, optimized.source);

  verify::Verifier verifier(original.module, options);
  const verify::ModuleVerdict verdict = verifier.verify(optimized.module);
  const int code = exitCode(verdict, o.allow_bounded);
  if (o.json || !::isatty(STDOUT_FILENO)) {
    nlohmann::json out = verdict.toJson();
    out["original"] = o.original;
    out["module"] = o.module;
    out["options"] = options.toJson();
    out["exit_code"] = code;
    std::cout << out.dump(2) << "\n";
  } else {
    printTable(o, verdict, options.match_by_export);
  }
  return code;
}

}  // namespace

Command addVerifyCommand(CLI::App& app) {
  auto options = std::make_shared<VerifyCommandOptions>();
  CLI::App* cmd = app.add_subcommand("verify",
                                     "Translation-validate MODULE against ORIGINAL with Z3; exit 0 "
                                     "proved, 1 refuted, 2 otherwise");
  cmd->add_option("original", options->original, "The original module (.wasm or .wat)")->required();
  cmd->add_option("module", options->module, "The optimized module (.wasm or .wat)")->required();
  cmd->add_flag("--json", options->json, "Print JSON (the default when stdout is not a terminal)");
  cmd->add_flag("--allow-bounded", options->allow_bounded,
                "Exit 0 also when some loops are only verified up to the loop bound");
  cmd->add_option("--timeout", options->timeout_ms, "Solver budget per function, in milliseconds")
      ->check(CLI::Range(1L, 3'600'000L));
  cmd->add_option("--budget", options->budget_seconds,
                  "Solver budget for all changed functions together, in nominal seconds (0: "
                  "none); functions beyond it are reported unknown, smallest checked first")
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_option(
         "--loop-bound", options->loop_bound,
         "Iterations per loop entry when a loop is unrolled instead of proved by induction")
      ->check(CLI::Range(1u, 4096u));
  cmd->add_option("--inline-depth", options->inline_depth,
                  "How deep calls between module functions are executed symbolically")
      ->check(CLI::Range(0u, 64u));
  return [cmd, options]() -> int {
    if (!*cmd) return -1;
    return runVerify(*options);
  };
}

}  // namespace loom::cli
