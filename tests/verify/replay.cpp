#include "verify/replay.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "loom/support/child_process.hpp"
#include "loom/support/sanitizers.hpp"
#include "loom/wasm/binary_layout.hpp"
#include "loom/wasm/ir.hpp"
#include "loom/wasm/loader.hpp"
#include "support/node_runner.hpp"
#include "support/test_support.hpp"
#include "verify/mutants.hpp"

namespace loom::test {

namespace {

using wasm::ExprKind;
using wasm::kindOf;
using json = nlohmann::json;

std::vector<BinaryenType> expandType(BinaryenType t) {
  std::vector<BinaryenType> out(BinaryenTypeArity(t));
  if (!out.empty()) BinaryenTypeExpand(t, out.data());
  return out;
}

BinaryenFunctionRef findDefinedFunction(BinaryenModuleRef m, std::string_view name) {
  for (BinaryenFunctionRef f : wasm::definedFunctions(m)) {
    if (BinaryenFunctionGetName(f) == name) return f;
  }
  return nullptr;
}

struct LoopSite {
  BinaryenExpressionRef loop;
  BinaryenExpressionRef parent;  // null: the loop is the function body
  std::size_t slot;
};

// Loops of a body, innermost last in pre-order; instrumenting in reverse
// order keeps every recorded (parent, slot) valid, because wrapping a loop
// only changes its own parent's slot, which belongs to a loop not yet seen.
std::vector<LoopSite> findLoops(BinaryenExpressionRef body) {
  std::vector<LoopSite> loops;
  if (!body) return loops;
  struct Item {
    BinaryenExpressionRef expr, parent;
    std::size_t slot;
  };
  std::vector<Item> stack{{body, nullptr, 0}};
  while (!stack.empty()) {
    const Item item = stack.back();
    stack.pop_back();
    if (kindOf(item.expr) == ExprKind::Loop) loops.push_back({item.expr, item.parent, item.slot});
    const auto kids = wasm::childrenOf(item.expr);
    for (std::size_t k = kids.size(); k-- > 0;) stack.push_back({kids[k], item.expr, k});
  }
  return loops;
}

// Instruments every loop of `f` (see makeRunnable) and re-creates the
// function with one extra i32 local per loop: the C API of Binaryen 108 has
// no way to add a local to an existing function.
void instrumentLoops(BinaryenModuleRef m, BinaryenFunctionRef f) {
  const std::vector<LoopSite> loops = findLoops(BinaryenFunctionGetBody(f));
  if (loops.empty()) return;
  const std::string name = BinaryenFunctionGetName(f);
  const BinaryenType params = BinaryenFunctionGetParams(f);
  const BinaryenType results = BinaryenFunctionGetResults(f);
  std::vector<BinaryenType> vars;
  for (BinaryenIndex v = 0, n = BinaryenFunctionGetNumVars(f); v < n; ++v) {
    vars.push_back(BinaryenFunctionGetVar(f, v));
  }
  const BinaryenIndex first_counter =
      BinaryenTypeArity(params) + static_cast<BinaryenIndex>(vars.size());
  const std::string fuel(kFuelGlobal);
  const std::string loop_max(kLoopMaxGlobal);
  const BinaryenType i32 = BinaryenTypeInt32();
  auto c32 = [&](std::int32_t v) { return BinaryenConst(m, BinaryenLiteralInt32(v)); };

  for (std::size_t k = loops.size(); k-- > 0;) {
    const LoopSite& site = loops[k];
    const BinaryenIndex counter = first_counter + static_cast<BinaryenIndex>(k);
    vars.push_back(i32);  // the counters are all i32, so their order in `vars` is irrelevant
    BinaryenExpressionRef prologue[] = {
        BinaryenLocalSet(
            m, counter,
            BinaryenBinary(m, BinaryenAddInt32(), BinaryenLocalGet(m, counter, i32), c32(1))),
        BinaryenIf(m,
                   BinaryenBinary(m, BinaryenGtUInt32(), BinaryenLocalGet(m, counter, i32),
                                  BinaryenGlobalGet(m, loop_max.c_str(), i32)),
                   BinaryenGlobalSet(m, loop_max.c_str(), BinaryenLocalGet(m, counter, i32)),
                   nullptr),
        BinaryenGlobalSet(
            m, fuel.c_str(),
            BinaryenBinary(m, BinaryenSubInt32(), BinaryenGlobalGet(m, fuel.c_str(), i32), c32(1))),
        BinaryenIf(m, BinaryenUnary(m, BinaryenEqZInt32(), BinaryenGlobalGet(m, fuel.c_str(), i32)),
                   BinaryenUnreachable(m), nullptr),
        BinaryenLoopGetBody(site.loop),
    };
    BinaryenLoopSetBody(site.loop, BinaryenBlock(m, nullptr, prologue, 5, BinaryenTypeAuto()));
    BinaryenExpressionRef entry[] = {BinaryenLocalSet(m, counter, c32(0)), site.loop};
    const BinaryenExpressionRef wrapped = BinaryenBlock(m, nullptr, entry, 2, BinaryenTypeAuto());
    if (!setChild(f, site.parent, site.slot, wrapped)) {
      throw std::logic_error("cannot instrument a loop below a " +
                             std::string(wasm::kindName(kindOf(site.parent))));
    }
  }
  const BinaryenExpressionRef body = BinaryenFunctionGetBody(f);
  // Expressions live in the module's arena, so the body survives the removal.
  BinaryenRemoveFunction(m, name.c_str());
  BinaryenAddFunction(m, name.c_str(), params, results, vars.data(),
                      static_cast<BinaryenIndex>(vars.size()), body);
}

// The verdict JSON of verifier.hpp read without the verifier's own fromJson,
// so that a bug there cannot hide a verdict from the soundness test.
verify::TypedValue typedValueFromJson(const json& j) {
  return {j.at("type").get<std::string>(), j.at("value").get<std::string>()};
}

verify::Counterexample counterexampleFromJson(const json& j) {
  verify::Counterexample c;
  c.function = j.at("function").get<std::string>();
  for (const json& a : j.at("arguments")) c.arguments.push_back(typedValueFromJson(a));
  c.memory_pages = j.value("memory_pages", std::uint64_t{0});
  if (j.contains("memory")) {
    for (const json& w : j.at("memory")) {
      const auto address = w.at("address").get<std::uint64_t>();
      const std::string hex = w.at("hex").get<std::string>();
      for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        c.memory[static_cast<std::uint32_t>(address + i / 2)] =
            static_cast<std::uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16));
      }
    }
  }
  if (j.contains("globals")) {
    for (const auto& [name, v] : j.at("globals").items()) c.globals[name] = typedValueFromJson(v);
  }
  if (j.contains("import_results")) {
    for (const json& r : j.at("import_results")) {
      std::vector<verify::TypedValue> results;
      for (const json& v : r) results.push_back(typedValueFromJson(v));
      c.import_results.push_back(std::move(results));
    }
  }
  c.original_outcome = j.value("original_outcome", "");
  c.optimized_outcome = j.value("optimized_outcome", "");
  return c;
}

verify::FunctionVerdict functionVerdictFromJson(const json& j) {
  verify::FunctionVerdict v;
  v.function = j.at("function").get<std::string>();
  v.verdict =
      verify::parseVerdict(j.at("verdict").get<std::string>()).value_or(verify::Verdict::Unknown);
  v.reason = j.value("reason", "");
  v.bound = j.value("bound", 0u);
  v.solver_seconds = j.value("solver_seconds", 0.0);
  v.cached = j.value("cached", false);
  if (j.contains("counterexample"))
    v.counterexample = counterexampleFromJson(j.at("counterexample"));
  return v;
}

bool hasExport(BinaryenModuleRef m, std::string_view name) {
  for (BinaryenIndex i = 0, n = BinaryenGetNumExports(m); i < n; ++i) {
    if (BinaryenExportGetName(BinaryenGetExportByIndex(m, i)) == name) return true;
  }
  return false;
}

std::optional<wasm::MemoryLimits> memoryOf(const wasm::Module& module) {
  const wasm::Bytes bytes = module.writeBinary();
  return wasm::readBinaryLayout(bytes).memory;
}

bool isNaNBits(std::string_view v) {
  if (v.rfind("bits:0x", 0) != 0) return false;
  const std::string hex(v.substr(7));
  const std::uint64_t bits = std::stoull(hex, nullptr, 16);
  if (hex.size() <= 8) return (bits & 0x7f800000u) == 0x7f800000u && (bits & 0x7fffffu) != 0;
  return (bits & 0x7ff0000000000000ull) == 0x7ff0000000000000ull &&
         (bits & 0xfffffffffffffull) != 0;
}

bool sameValue(const std::string& a, const std::string& b) {
  return a == b || (isNaNBits(a) && isNaNBits(b));
}

bool sameValues(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!sameValue(a[i], b[i])) return false;
  }
  return true;
}

bool sameImports(const json& a, const json& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].at("module") != b[i].at("module") || a[i].at("name") != b[i].at("name")) return false;
    const auto args_a = a[i].at("args").get<std::vector<std::string>>();
    const auto args_b = b[i].at("args").get<std::vector<std::string>>();
    if (!sameValues(args_a, args_b)) return false;
  }
  return true;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

std::string importsText(const json& log) {
  std::vector<std::string> calls;
  for (const json& c : log) {
    calls.push_back(fmt::format("{}.{}({})", c.at("module").get<std::string>(),
                                c.at("name").get<std::string>(),
                                join(c.at("args").get<std::vector<std::string>>(), ", ")));
  }
  return "[" + join(calls, ", ") + "]";
}

CallOutcome parseOutcome(const json& r) {
  CallOutcome out;
  if (r.contains("error")) {
    out.outcome = "error";
    out.error = r.at("error").get<std::string>();
    return out;
  }
  out.outcome = r.at("outcome").get<std::string>();
  out.values = r.at("values").get<std::vector<std::string>>();
  if (r.at("trap").is_string()) out.trap = r.at("trap").get<std::string>();
  if (r.at("memory_sha256").is_string())
    out.memory_sha256 = r.at("memory_sha256").get<std::string>();
  if (r.at("memory_pages").is_number()) out.memory_pages = r.at("memory_pages").get<std::int64_t>();
  const std::string prefix = globalExport("");
  for (const auto& [name, value] : r.at("globals").items()) {
    if (!value.is_string()) continue;
    if (name == kLoopMaxGlobal) {
      out.loop_iterations = static_cast<std::uint32_t>(std::stoll(value.get<std::string>()));
    } else if (name == kFuelGlobal) {
      out.fuel_left = std::stoll(value.get<std::string>());
      if (out.outcome == "trap" && value.get<std::string>() == "0") out.outcome = "fuel";
    } else if (name.rfind(prefix, 0) == 0) {
      out.globals[name.substr(prefix.size())] = value.get<std::string>();
    }
  }
  out.imports = r.at("imports");
  out.import_calls = r.value("import_calls", static_cast<std::int64_t>(out.imports.size()));
  return out;
}

// Value pools for differential inputs, in the runner's syntax.
const std::vector<std::string>& i32Pool() {
  static const std::vector<std::string> pool = {
      "0",     "1",     "-1",          "2",          "3",         "4",         "5",   "6",
      "7",     "8",     "9",           "10",         "15",        "16",        "17",  "31",
      "32",    "33",    "63",          "64",         "100",       "127",       "128", "255",
      "256",   "1000",  "1023",        "1024",       "4096",      "-2",        "-7",  "-100",
      "65532", "65535", "-2147483648", "2147483647", "123456789", "-559038737"};
  return pool;
}
const std::vector<std::string>& i32Small() {
  static const std::vector<std::string> pool = {
      "0", "1", "-1", "2", "3", "7", "16", "100", "-2147483648", "2147483647", "256", "-5"};
  return pool;
}
const std::vector<std::string>& i64Pool() {
  static const std::vector<std::string> pool = {"0",
                                                "1",
                                                "-1",
                                                "2",
                                                "3",
                                                "5",
                                                "10",
                                                "20",
                                                "63",
                                                "64",
                                                "-7",
                                                "4294967296",
                                                "-4294967296",
                                                "10000000000",
                                                "9223372036854775807",
                                                "-9223372036854775808",
                                                "123456789012345",
                                                "100"};
  return pool;
}
const std::vector<std::string>& floatPool() {
  static const std::vector<std::string> pool = {
      "0",           "-0",         "1",    "-1",    "0.5", "1.5",   "2",    "-2.5",
      "3.75",        "100",        "1e10", "-1e10", "nan", "inf",   "-inf", "2147483648",
      "-2147483649", "4294967040", "1e19", "-1e18", "2.9", "1e-40", "0.1",  "-0.5"};
  return pool;
}

const std::vector<std::string>& poolFor(BinaryenType t) {
  if (t == BinaryenTypeInt64()) return i64Pool();
  if (t == BinaryenTypeFloat32() || t == BinaryenTypeFloat64()) return floatPool();
  return i32Pool();
}

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::vector<std::string> splitWords(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

}  // namespace

std::string functionExport(std::string_view function) {
  return "__fn_" + std::string(function);
}
std::string globalExport(std::string_view global) {
  return "__gl_" + std::string(global);
}

wasm::Module makeRunnable(const wasm::Module& module, const RunnableOptions& options) {
  // Through the text format rather than Module::copy(): Binaryen's
  // copyModule asserts on functions that carry Stack IR, which every -O
  // pipeline leaves, and a binary round trip loses the global names.
  wasm::Module copy = wasm::Module::parseTextTrusted(module.writeText());
  BinaryenModuleRef m = copy.get();
  copy.setFeatures(module.features() | BinaryenFeatureMutableGlobals());
  const std::string fuel(kFuelGlobal);
  const std::string loop_max(kLoopMaxGlobal);
  BinaryenAddGlobal(
      m, fuel.c_str(), BinaryenTypeInt32(), true,
      BinaryenConst(m, BinaryenLiteralInt32(static_cast<std::int32_t>(options.fuel))));
  BinaryenAddGlobal(m, loop_max.c_str(), BinaryenTypeInt32(), true,
                    BinaryenConst(m, BinaryenLiteralInt32(0)));

  std::vector<std::string> functions;
  for (BinaryenFunctionRef f : wasm::definedFunctions(m))
    functions.push_back(BinaryenFunctionGetName(f));
  for (const std::string& name : functions) {
    instrumentLoops(m, BinaryenGetFunction(m, name.c_str()));
    // Calls burn fuel too: recursion (an exponential fib, a mutant that
    // lost its base case) is bounded by it as loops are.
    BinaryenFunctionRef f = BinaryenGetFunction(m, name.c_str());
    BinaryenExpressionRef entry[] = {
        BinaryenGlobalSet(m, fuel.c_str(),
                          BinaryenBinary(m, BinaryenSubInt32(),
                                         BinaryenGlobalGet(m, fuel.c_str(), BinaryenTypeInt32()),
                                         BinaryenConst(m, BinaryenLiteralInt32(1)))),
        BinaryenIf(m,
                   BinaryenUnary(m, BinaryenEqZInt32(),
                                 BinaryenGlobalGet(m, fuel.c_str(), BinaryenTypeInt32())),
                   BinaryenUnreachable(m), nullptr),
        BinaryenFunctionGetBody(f),
    };
    BinaryenFunctionSetBody(f, BinaryenBlock(m, nullptr, entry, 3, BinaryenTypeAuto()));
    BinaryenAddFunctionExport(m, name.c_str(), functionExport(name).c_str());
  }
  for (BinaryenIndex i = 0, n = BinaryenGetNumGlobals(m); i < n; ++i) {
    const std::string name = BinaryenGlobalGetName(BinaryenGetGlobalByIndex(m, i));
    const std::string external = (name == fuel || name == loop_max) ? name : globalExport(name);
    BinaryenAddGlobalExport(m, name.c_str(), external.c_str());
  }
  // Binaryen 108 has a single memory, which export entries name "0".
  if (memoryOf(module) && !hasExport(m, "memory")) BinaryenAddMemoryExport(m, "0", "memory");
  if (!validateQuietly(copy)) {
    throw std::logic_error("the runnable copy does not validate: instrumentation bug");
  }
  return copy;
}

std::string CallSpec::describe() const {
  std::string out = fmt::format("{}({})", function, join(args, ", "));
  if (!import_results.empty()) out += " import_results=" + import_results.dump();
  if (!globals.empty()) {
    std::vector<std::string> parts;
    for (const auto& [name, value] : globals) parts.push_back(name + "=" + value);
    out += " globals={" + join(parts, ", ") + "}";
  }
  if (memory_pages) out += fmt::format(" pages={}", *memory_pages);
  if (!memory_writes.empty()) {
    std::vector<std::string> parts;
    for (const auto& [address, hex] : memory_writes)
      parts.push_back(fmt::format("{}:{}", address, hex));
    out += " memory={" + join(parts, ", ") + "}";
  }
  return out;
}

std::string CallOutcome::describe() const {
  if (outcome == "error") return "runner error: " + error;
  if (outcome == "fuel") return "does not terminate (out of fuel)";
  std::string out = outcome == "trap" ? "traps (" + trap + ")" : "returns " + join(values, ", ");
  if (!imports.empty()) out += ", imports " + importsText(imports);
  return out;
}

std::vector<std::vector<CallOutcome>> runBatch(const std::vector<ModuleRun>& runs) {
  json batch = json::array();
  for (const ModuleRun& run : runs) {
    json calls = json::array();
    for (const CallSpec& c : run.calls) {
      json call = {{"export", functionExport(c.function)}, {"args", c.args}};
      if (!c.import_results.empty()) call["import_results"] = c.import_results;
      if (!c.globals.empty()) {
        json globals = json::object();
        for (const auto& [name, value] : c.globals) globals[globalExport(name)] = value;
        call["globals"] = globals;
      }
      if (c.memory_pages) call["memory_size_pages"] = *c.memory_pages;
      if (!c.memory_writes.empty()) {
        json writes = json::array();
        for (const auto& [address, hex] : c.memory_writes)
          writes.push_back({{"address", address}, {"hex", hex}});
        call["memory_writes"] = writes;
      }
      calls.push_back(std::move(call));
    }
    batch.push_back({{"module", run.runnable.string()},
                     {"calls", std::move(calls)},
                     {"import_log_limit", kImportLogLimit}});
  }
  const json reply = runInNode({{"batch", batch}});
  std::vector<std::vector<CallOutcome>> out;
  const json& responses = reply.at("batch");
  for (std::size_t i = 0; i < runs.size(); ++i) {
    std::vector<CallOutcome> outcomes;
    const json& r = responses.at(i);
    if (r.contains("error")) {
      for (std::size_t k = 0; k < runs[i].calls.size(); ++k) outcomes.push_back(parseOutcome(r));
    } else {
      for (const json& result : r.at("results")) outcomes.push_back(parseOutcome(result));
    }
    out.push_back(std::move(outcomes));
  }
  return out;
}

std::set<std::string> observableGlobals(const wasm::Module& module) {
  std::set<std::string> out;
  BinaryenModuleRef m = module.get();
  for (BinaryenIndex i = 0, n = BinaryenGetNumExports(m); i < n; ++i) {
    BinaryenExportRef e = BinaryenGetExportByIndex(m, i);
    if (BinaryenExportGetKind(e) == BinaryenExternalGlobal()) out.insert(BinaryenExportGetValue(e));
  }
  for (BinaryenFunctionRef f : wasm::definedFunctions(m)) {
    wasm::walk(BinaryenFunctionGetBody(f), [&](BinaryenExpressionRef e, unsigned) {
      if (kindOf(e) == ExprKind::GlobalGet) out.insert(BinaryenGlobalGetGetName(e));
      return true;
    });
  }
  return out;
}

std::string difference(const CallOutcome& a, const CallOutcome& b,
                       const std::set<std::string>* globals) {
  if (a.outcome == "error" || b.outcome == "error") {
    return a.outcome == b.outcome && a.error == b.error ? "" : "runner error: " + a.error + b.error;
  }
  if (a.outcome == "fuel" || b.outcome == "fuel") {
    // Two calls that both run out of fuel tell nothing.
    if (a.outcome == b.outcome) return "";
    return fmt::format("{} vs {}", a.describe(), b.describe());
  }
  std::vector<std::string> diffs;
  if (a.outcome != b.outcome || !sameValues(a.values, b.values)) {
    diffs.push_back(fmt::format(
        "{} vs {}",
        a.outcome == "trap" ? "traps (" + a.trap + ")" : "returns " + join(a.values, ", "),
        b.outcome == "trap" ? "traps (" + b.trap + ")" : "returns " + join(b.values, ", ")));
  }
  if (a.memory_pages != b.memory_pages) {
    diffs.push_back(fmt::format("memory pages {} vs {}", a.memory_pages, b.memory_pages));
  } else if (a.memory_sha256 != b.memory_sha256) {
    diffs.push_back("final memory differs");
  }
  for (const auto& [name, value] : a.globals) {
    if (globals && !globals->count(name)) continue;
    auto it = b.globals.find(name);
    if (it == b.globals.end() || sameValue(value, it->second)) continue;
    diffs.push_back(fmt::format("global {} = {} vs {}", name, value, it->second));
  }
  if (!sameImports(a.imports, b.imports)) {
    diffs.push_back(
        fmt::format("imports {} vs {}", importsText(a.imports), importsText(b.imports)));
  } else if (a.import_calls != b.import_calls) {
    diffs.push_back(fmt::format("{} vs {} import calls", a.import_calls, b.import_calls));
  }
  return join(diffs, "; ");
}

namespace {

// The calls that set up `cex` on each side, or a reason in `description`
// when it cannot be (then `other_call` is empty).
struct PreparedReplay {
  ReplayResult result;
  std::optional<CallSpec> other_call;
};

PreparedReplay prepareReplay(const wasm::Module& original, const wasm::Module& other,
                             const verify::Counterexample& cex) {
  PreparedReplay prepared;
  ReplayResult& result = prepared.result;
  CallSpec& call = result.call;
  call.function = cex.function;
  for (const verify::TypedValue& v : cex.arguments) call.args.push_back(v.value);
  for (const auto& results : cex.import_results) {
    // The runner consumes one entry per import call, with or without a result.
    if (results.empty()) {
      call.import_results.push_back(nullptr);
    } else if (results.size() == 1) {
      call.import_results.push_back(results[0].value);
    } else {
      json values = json::array();
      for (const verify::TypedValue& v : results) values.push_back(v.value);
      call.import_results.push_back(values);
    }
  }
  // Memory bytes as runs of consecutive addresses.
  for (auto it = cex.memory.begin(); it != cex.memory.end();) {
    const std::uint32_t start = it->first;
    std::string hex;
    std::uint32_t next = start;
    while (it != cex.memory.end() && it->first == next) {
      hex += fmt::format("{:02x}", it->second);
      ++next;
      ++it;
    }
    call.memory_writes.emplace_back(start, hex);
  }

  const auto memory = memoryOf(original);
  if (cex.memory_pages > 0) {
    if (!memory) {
      result.notes.push_back(fmt::format(
          "counterexample has {} memory pages but the module has no memory", cex.memory_pages));
    } else {
      call.memory_pages = cex.memory_pages;
      if (cex.memory_pages < memory->initial_pages) {
        result.notes.push_back(
            fmt::format("memory of {} pages cannot shrink to the counterexample's {}",
                        memory->initial_pages, cex.memory_pages));
      }
    }
  }
  if (!memory) call.memory_writes.clear();

  // Globals by internal name; a counterexample may also use export names.
  BinaryenModuleRef om = original.get();
  std::map<std::string, std::string> export_to_internal;
  for (BinaryenIndex i = 0, n = BinaryenGetNumExports(om); i < n; ++i) {
    BinaryenExportRef e = BinaryenGetExportByIndex(om, i);
    if (BinaryenExportGetKind(e) == BinaryenExternalGlobal()) {
      export_to_internal[BinaryenExportGetName(e)] = BinaryenExportGetValue(e);
    }
  }
  for (const auto& [name, value] : cex.globals) {
    std::string internal = name;
    if (!BinaryenGetGlobal(om, internal.c_str())) {
      auto it = export_to_internal.find(name);
      if (it == export_to_internal.end()) {
        result.notes.push_back("counterexample sets unknown global " + name);
        continue;
      }
      internal = it->second;
    }
    if (!BinaryenGlobalIsMutable(BinaryenGetGlobal(om, internal.c_str()))) {
      result.notes.push_back(
          fmt::format("counterexample gives immutable global {} the value {}", name, value.value));
      continue;
    }
    call.globals[internal] = value.value;
  }

  if (!findDefinedFunction(om, cex.function)) {
    result.description = "function " + cex.function + " is not defined in the original module";
    return prepared;
  }
  if (!findDefinedFunction(other.get(), cex.function)) {
    result.description = "function " + cex.function + " is not defined in the other module";
    return prepared;
  }
  CallSpec other_call = call;
  for (auto it = other_call.globals.begin(); it != other_call.globals.end();) {
    BinaryenGlobalRef g = BinaryenGetGlobal(other.get(), it->first.c_str());
    if (g && BinaryenGlobalIsMutable(g)) {
      ++it;
    } else {
      result.notes.push_back("global " + it->first +
                             " is not a mutable global of the other module");
      it = other_call.globals.erase(it);
    }
  }
  if (!memoryOf(other)) {
    other_call.memory_pages.reset();
    other_call.memory_writes.clear();
  }
  prepared.other_call = std::move(other_call);
  return prepared;
}

}  // namespace

std::vector<ReplayResult> replayCounterexamples(const std::vector<ReplayJob>& jobs) {
  std::vector<ReplayResult> results;
  std::vector<ModuleRun> runs;
  std::vector<std::pair<std::size_t, std::size_t>> run_of;  // job -> (original run, other run)
  std::map<const wasm::Module*, std::size_t> written;       // module -> its run
  TempDir dir;
  auto runFor = [&](const wasm::Module* m) {
    auto [it, fresh] = written.emplace(m, runs.size());
    if (fresh) {
      const auto path = dir / fmt::format("m{}.wasm", runs.size());
      writeBytes(path, makeRunnable(*m).writeBinary());
      runs.push_back({path, {}});
    }
    return it->second;
  };
  for (const ReplayJob& job : jobs) {
    PreparedReplay prepared = prepareReplay(*job.original, *job.other, job.counterexample);
    results.push_back(std::move(prepared.result));
    if (!prepared.other_call) {
      run_of.emplace_back(SIZE_MAX, SIZE_MAX);
      continue;
    }
    const std::size_t a = runFor(job.original);
    const std::size_t b = runFor(job.other);
    runs[a].calls.push_back(results.back().call);
    runs[b].calls.push_back(*prepared.other_call);
    run_of.emplace_back(a, b);
  }
  if (runs.empty()) return results;

  const auto outcomes = runBatch(runs);
  std::vector<std::size_t> next(runs.size(), 0);  // calls consumed per run, in job order
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const auto [a, b] = run_of[j];
    if (a == SIZE_MAX) continue;
    ReplayResult& result = results[j];
    result.original = outcomes.at(a).at(next[a]++);
    result.other = outcomes.at(b).at(next[b]++);
    if (result.original.outcome == "error" || result.other.outcome == "error") {
      result.description =
          "not replayable: " +
          (result.original.outcome == "error" ? result.original.error : result.other.error);
      continue;
    }
    result.replayed = true;
    const std::set<std::string> globals = observableGlobals(*jobs[j].original);
    result.description = difference(result.original, result.other, &globals);
    result.differs = !result.description.empty();
    if (!result.differs) result.description = "both " + result.original.describe();
  }
  return results;
}

ReplayResult replayCounterexample(const wasm::Module& original, const wasm::Module& other,
                                  const verify::Counterexample& cex) {
  return replayCounterexamples({{&original, &other, cex}}).at(0);
}

std::vector<FixtureTest> parseFixtureTests(const std::filesystem::path& wat) {
  std::vector<FixtureTest> tests;
  std::ifstream in(wat);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(";; @test ", 0) != 0) continue;
    const std::vector<std::string> words = splitWords(line.substr(9));
    if (words.empty()) continue;
    FixtureTest t;
    t.export_name = words[0];
    bool in_imports = false;
    for (std::size_t i = 1; i < words.size(); ++i) {
      if (words[i] == "=>") break;
      if (words[i] == "|") continue;
      if (words[i] == "imports") {
        in_imports = true;
        continue;
      }
      if (in_imports) {
        t.import_results.push_back(words[i]);
      } else {
        t.args.push_back(words[i]);
      }
    }
    tests.push_back(std::move(t));
  }
  return tests;
}

std::vector<CallSpec> differentialCalls(const wasm::Module& module, std::string_view function,
                                        const std::vector<FixtureTest>& tests, unsigned max_calls) {
  std::vector<CallSpec> calls;
  BinaryenModuleRef m = module.get();
  BinaryenFunctionRef f = findDefinedFunction(m, function);
  if (!f) return calls;
  const std::vector<BinaryenType> params = expandType(BinaryenFunctionGetParams(f));
  // The runner passes and returns numbers only: a call with a v128 or a
  // reference at the boundary would fail the whole module's batch.
  auto numeric = [](const std::vector<BinaryenType>& types) {
    return std::all_of(types.begin(), types.end(), [](BinaryenType t) {
      return t == BinaryenTypeInt32() || t == BinaryenTypeInt64() || t == BinaryenTypeFloat32() ||
             t == BinaryenTypeFloat64();
    });
  };
  if (!numeric(params) || !numeric(expandType(BinaryenFunctionGetResults(f)))) return calls;

  // The fixture's own vectors first: they reach the interesting paths.
  std::set<std::string> exports;
  for (BinaryenIndex i = 0, n = BinaryenGetNumExports(m); i < n; ++i) {
    BinaryenExportRef e = BinaryenGetExportByIndex(m, i);
    if (BinaryenExportGetKind(e) == BinaryenExternalFunction() &&
        BinaryenExportGetValue(e) == function) {
      exports.insert(BinaryenExportGetName(e));
    }
  }
  std::vector<std::vector<std::string>> vectors;
  std::vector<json> vector_imports;
  for (const FixtureTest& t : tests) {
    if (!exports.count(t.export_name) || t.args.size() != params.size()) continue;
    vectors.push_back(t.args);
    vector_imports.push_back(t.import_results);
  }

  // Pools per parameter: the generic one plus the function's constants +-1.
  std::vector<std::string> i32_extra, i64_extra;
  wasm::walk(BinaryenFunctionGetBody(f), [&](BinaryenExpressionRef e, unsigned) {
    if (kindOf(e) != ExprKind::Const) return true;
    const BinaryenType t = BinaryenExpressionGetType(e);
    if (t == BinaryenTypeInt32()) {
      const auto v = static_cast<std::uint32_t>(BinaryenConstGetValueI32(e));
      for (std::uint32_t d : {0u, 1u, ~0u})
        i32_extra.push_back(std::to_string(static_cast<std::int32_t>(v + d)));
    } else if (t == BinaryenTypeInt64()) {
      const auto v = static_cast<std::uint64_t>(BinaryenConstGetValueI64(e));
      for (std::uint64_t d : {0ull, 1ull, ~0ull})
        i64_extra.push_back(std::to_string(static_cast<std::int64_t>(v + d)));
    }
    return true;
  });
  auto pool = [&](BinaryenType t) {
    std::vector<std::string> p = poolFor(t);
    const auto& extra = t == BinaryenTypeInt64() ? i64_extra : i32_extra;
    if (t == BinaryenTypeInt32() || t == BinaryenTypeInt64()) {
      for (const std::string& v : extra) {
        if (std::find(p.begin(), p.end(), v) == p.end()) p.push_back(v);
      }
    }
    return p;
  };

  std::mt19937_64 rng(fnv1a(function));
  auto pick = [&](const std::vector<std::string>& p) { return p[rng() % p.size()]; };
  if (params.empty()) {
    vectors.push_back({});
  } else if (params.size() == 1) {
    for (const std::string& v : pool(params[0])) vectors.push_back({v});
  } else if (params.size() == 2) {
    const auto small0 = params[0] == BinaryenTypeInt32() ? i32Small() : poolFor(params[0]);
    const auto small1 = params[1] == BinaryenTypeInt32() ? i32Small() : poolFor(params[1]);
    for (std::size_t a = 0; a < small0.size(); a += 1) {
      for (std::size_t b = 0; b < small1.size(); b += 2)
        vectors.push_back({small0[a], small1[(b + a) % small1.size()]});
    }
    const auto p0 = pool(params[0]);
    const auto p1 = pool(params[1]);
    for (int k = 0; k < 40; ++k) vectors.push_back({pick(p0), pick(p1)});
  } else {
    std::vector<std::vector<std::string>> pools;
    for (BinaryenType t : params) pools.push_back(pool(t));
    for (int k = 0; k < 80; ++k) {
      std::vector<std::string> v;
      for (const auto& p : pools) v.push_back(pick(p));
      vectors.push_back(std::move(v));
    }
  }

  // Import results: zeros, and two patterns of small values, in turn.
  bool has_imports = false;
  for (BinaryenIndex i = 0, n = BinaryenGetNumFunctions(m); i < n; ++i) {
    if (!BinaryenFunctionGetBody(BinaryenGetFunctionByIndex(m, i))) has_imports = true;
  }
  const json patterns[] = {
      json::array(),
      json::array(
          {"5", "0", "7", "0", "11", "2", "3", "1", "9", "4", "6", "8", "13", "0", "2", "1"}),
      json::array(
          {"-1", "100", "1", "42", "7", "-5", "3", "0", "2", "64", "1", "1", "30", "-9", "4", "8"}),
  };
  if (has_imports && params.empty()) vectors.resize(3, vectors.front());

  // Some calls start from other global values (a counter not at 0, a stack
  // pointer elsewhere): functions are verified for every initial state.
  std::vector<std::string> mutable_globals;
  for (BinaryenIndex i = 0, n = BinaryenGetNumGlobals(m); i < n; ++i) {
    BinaryenGlobalRef g = BinaryenGetGlobalByIndex(m, i);
    if (BinaryenGlobalIsMutable(g)) mutable_globals.push_back(BinaryenGlobalGetName(g));
  }

  for (std::size_t k = 0; k < vectors.size() && calls.size() < max_calls; ++k) {
    CallSpec c;
    c.function = std::string(function);
    c.args = vectors[k];
    if (k < vector_imports.size() && !vector_imports[k].empty()) {
      c.import_results = vector_imports[k];
    } else if (has_imports) {
      c.import_results = patterns[k % 3];
    }
    calls.push_back(c);
    if (!mutable_globals.empty() && k % 4 == 1 && calls.size() < max_calls) {
      for (const std::string& g : mutable_globals) {
        const BinaryenType t = BinaryenGlobalGetType(BinaryenGetGlobal(m, g.c_str()));
        const std::string values32[] = {"7", "1024", "3", "65520"};
        if (t == BinaryenTypeInt32())
          c.globals[g] = values32[(k / 4 + fnv1a(g)) % 4];
        else if (t == BinaryenTypeInt64())
          c.globals[g] = "5";
        else if (t == BinaryenTypeFloat32() || t == BinaryenTypeFloat64())
          c.globals[g] = "2.5";
      }
      calls.push_back(std::move(c));
    }
  }
  return calls;
}

Differential compareRuns(const std::vector<CallSpec>& calls, const std::vector<CallOutcome>& a,
                         const std::vector<CallOutcome>& b, const std::set<std::string>* globals) {
  Differential d;
  bool any_terminating = false;
  for (std::size_t k = 0; k < calls.size() && k < a.size() && k < b.size(); ++k) {
    if (a[k].outcome == "error" || b[k].outcome == "error") continue;
    ++d.calls;
    if (a[k].outcome != "fuel" && b[k].outcome != "fuel") {
      const std::uint32_t iterations = std::max(a[k].loop_iterations, b[k].loop_iterations);
      if (!d.min_loop_iterations || iterations < *d.min_loop_iterations)
        d.min_loop_iterations = iterations;
    }
    const std::string diff = difference(a[k], b[k], globals);
    if (diff.empty()) continue;
    ++d.differing;
    if (d.first_difference.empty()) d.first_difference = calls[k].describe() + ": " + diff;
    if (a[k].outcome == "fuel" || b[k].outcome == "fuel") continue;
    any_terminating = true;
    const std::uint32_t iterations = std::max(a[k].loop_iterations, b[k].loop_iterations);
    if (!d.min_loop_iterations_to_differ || iterations < *d.min_loop_iterations_to_differ) {
      d.min_loop_iterations_to_differ = iterations;
      d.witness = calls[k];
    }
  }
  d.only_nontermination = d.differing > 0 && !any_terminating;
  return d;
}

unsigned forkingJobs() {
  if (support::kAddressSanitizer) return 1;
  if (const char* j = std::getenv("LOOM_TEST_JOBS")) return std::max(1, std::atoi(j));
  return std::clamp(std::thread::hardware_concurrency(), 1u, 2u);
}

IsolatedVerdict verifyInChild(const wasm::Module& original, const wasm::Module& optimized,
                              const verify::VerifyOptions& options,
                              std::chrono::milliseconds deadline) {
  using Clock = std::chrono::steady_clock;
  IsolatedVerdict out;
  const auto start = Clock::now();
  const support::ChildOutcome child = support::runInChild(
      [&](int result_fd) {
        verify::Verifier verifier(original, options);
        const std::string text = verifier.verify(optimized).toJson().dump();
        return support::writeAll(result_fd, text.data(), text.size()) ? 0 : 1;
      },
      {.timeout = deadline, .address_space_bytes = std::nullopt});
  out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (child.kind == support::ChildOutcome::Kind::TimedOut) {
    out.failure = fmt::format(
        "the verifier was killed at the {:.0f}s deadline (its budget is {}ms per function)",
        std::chrono::duration<double>(deadline).count(), options.function_timeout.count());
    return out;
  }
  if (!child.ok()) {
    out.failure =
        "the verifier process died: " + child.describe() + ": " + child.error_text.substr(0, 500);
    return out;
  }
  try {
    const json j = json::parse(child.result);
    verify::ModuleVerdict v;
    for (const json& f : j.at("functions")) {
      v.functions.push_back(functionVerdictFromJson(f));
      std::string problem;
      try {
        const json back = verify::FunctionVerdict::fromJson(f).toJson();
        if (back != f) problem = "differs after the round trip: " + back.dump() + " vs " + f.dump();
      } catch (const std::exception& e) {
        problem = std::string("throws: ") + e.what() + " on " + f.dump();
      }
      if (!problem.empty() && out.round_trip_error.empty()) {
        out.round_trip_error = "FunctionVerdict::fromJson(toJson()) " + problem;
      }
    }
    v.unchanged_functions = j.at("unchanged_functions").get<std::size_t>();
    v.module_problems = j.at("module_problems").get<std::vector<std::string>>();
    v.module_problems_refute = j.at("module_problems_refute").get<bool>();
    out.verdict = std::move(v);
  } catch (const json::exception& e) {
    out.failure = std::string("unreadable verdict from the verifier process: ") + e.what();
  }
  return out;
}

namespace {

MutationCampaign runCampaign(unsigned stride, const std::vector<std::string>& fixtures,
                             unsigned sites_per_operator) {
  MutationCampaign c;
  {
    using Clock = std::chrono::steady_clock;
    TempDir dir;
    std::size_t global_index = 0;  // over all fixtures, so that a stride spreads evenly
    for (const std::string& fixture : fixtures) {
      const auto t0 = Clock::now();
      FixtureMutants fm;
      fm.fixture = fixture;
      fm.original = wasm::loadModuleFile(fixturePath(fixture)).module;
      fm.observable_globals = observableGlobals(fm.original);
      std::vector<Mutant> mutants;
      for (Mutant& m :
           generateMutants(fm.original, fixture, {.max_sites_per_operator = sites_per_operator})) {
        if (global_index++ % stride == 0) mutants.push_back(std::move(m));
      }
      const std::vector<FixtureTest> tests = parseFixtureTests(fixturePath(fixture));

      // One Node process per fixture: the original with every function's
      // calls, then each mutant with the calls of the function it changed.
      std::map<std::string, std::vector<CallSpec>> calls_of;
      std::vector<CallSpec> original_calls;
      std::map<std::string, std::size_t> first_call;
      for (BinaryenFunctionRef f : wasm::definedFunctions(fm.original.get())) {
        const std::string name = BinaryenFunctionGetName(f);
        calls_of[name] = differentialCalls(fm.original, name, tests);
        first_call[name] = original_calls.size();
        original_calls.insert(original_calls.end(), calls_of[name].begin(), calls_of[name].end());
      }
      std::vector<ModuleRun> runs;
      const std::string stem = std::filesystem::path(fixture).filename().string();
      const auto original_path = dir / (stem + ".wasm");
      writeBytes(original_path, makeRunnable(fm.original).writeBinary());
      runs.push_back({original_path, original_calls});
      for (std::size_t k = 0; k < mutants.size(); ++k) {
        const auto path = dir / fmt::format("{}-{}.wasm", stem, k);
        writeBytes(path, makeRunnable(mutants[k].module).writeBinary());
        runs.push_back({path, calls_of[mutants[k].id.function]});
      }
      const auto t1 = Clock::now();
      const auto outcomes = runBatch(runs);
      const auto t2 = Clock::now();
      c.generation_seconds += std::chrono::duration<double>(t1 - t0).count();
      c.node_seconds += std::chrono::duration<double>(t2 - t1).count();
      fm.node_seconds = std::chrono::duration<double>(t2 - t1).count();

      for (std::size_t k = 0; k < mutants.size(); ++k) {
        const std::string& function = mutants[k].id.function;
        const std::vector<CallSpec>& calls = calls_of[function];
        const auto begin = outcomes[0].begin() + static_cast<std::ptrdiff_t>(first_call[function]);
        const std::vector<CallOutcome> original(begin,
                                                begin + static_cast<std::ptrdiff_t>(calls.size()));
        MutantRun run{std::move(mutants[k]), calls, {}};
        run.differential = compareRuns(calls, original, outcomes[k + 1], &fm.observable_globals);
        ++c.mutants;
        if (run.differential.differing > 0) ++c.behaviour_changing;
        fm.mutants.push_back(std::move(run));
      }
      fm.original_calls = std::move(original_calls);
      fm.original_outcomes = outcomes[0];
      c.fixtures.push_back(std::move(fm));
    }
  }
  return c;
}

}  // namespace

const MutationCampaign& mutationCampaign(unsigned stride) {
  static std::mutex mutex;
  static std::map<unsigned, MutationCampaign> campaigns;
  std::lock_guard lock(mutex);
  auto it = campaigns.find(stride);
  if (it == campaigns.end()) {
    it = campaigns
             .emplace(stride,
                      runCampaign(std::max(1u, stride), fixtureNames(), kCampaignSitesPerOperator))
             .first;
  }
  return it->second;
}

std::vector<std::string> wasm2FixtureNames() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(fixtureDir() / "wasm2")) {
    if (entry.path().extension() == ".wat")
      names.push_back("wasm2/" + entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

const MutationCampaign& wasm2MutationCampaign() {
  static std::mutex mutex;
  static std::optional<MutationCampaign> campaign;
  std::lock_guard lock(mutex);
  if (!campaign) campaign = runCampaign(1, wasm2FixtureNames(), kWasm2CampaignSitesPerOperator);
  return *campaign;
}

}  // namespace loom::test
