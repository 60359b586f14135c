// Verdict types of the public API and their JSON form.
#include <fmt/format.h>

#include <algorithm>

#include "loom/verify/verifier.hpp"

namespace loom::verify {

std::string_view verdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::Proved:
      return "proved";
    case Verdict::Bounded:
      return "bounded";
    case Verdict::Refuted:
      return "refuted";
    case Verdict::Unknown:
      break;
  }
  return "unknown";
}

std::optional<Verdict> parseVerdict(std::string_view name) {
  for (Verdict v : {Verdict::Proved, Verdict::Bounded, Verdict::Refuted, Verdict::Unknown}) {
    if (verdictName(v) == name) return v;
  }
  return std::nullopt;
}

nlohmann::json VerifyOptions::toJson() const {
  return {{"function_timeout_ms", function_timeout.count()},
          {"module_budget_ms", module_budget.count()},
          {"loop_bound", loop_bound},
          {"inline_depth", inline_depth},
          {"max_terms", max_terms},
          {"match_by_export", match_by_export},
          {"by_regions", by_regions}};
}

namespace {

nlohmann::json valueJson(const TypedValue& v) {
  return {{"type", v.type}, {"value", v.value}};
}
TypedValue valueFrom(const nlohmann::json& j) {
  return TypedValue{j.at("type").get<std::string>(), j.at("value").get<std::string>()};
}

}  // namespace

nlohmann::json Counterexample::toJson() const {
  nlohmann::json j;
  j["function"] = function;
  j["arguments"] = nlohmann::json::array();
  for (const auto& a : arguments) j["arguments"].push_back(valueJson(a));
  j["memory_pages"] = memory_pages;
  // Runs of consecutive bytes, in the shape of wasm-run.mjs's memory_writes.
  nlohmann::json writes = nlohmann::json::array();
  std::uint64_t run_start = 0, next = 0;
  std::string hex;
  auto flush = [&]() {
    if (!hex.empty()) writes.push_back({{"address", run_start}, {"hex", hex}});
    hex.clear();
  };
  for (const auto& [addr, byte] : memory) {
    if (hex.empty() || addr != next) {
      flush();
      run_start = addr;
    }
    hex += fmt::format("{:02x}", byte);
    next = static_cast<std::uint64_t>(addr) + 1;
  }
  flush();
  j["memory"] = writes;
  j["globals"] = nlohmann::json::object();
  for (const auto& [name, v] : globals) j["globals"][name] = valueJson(v);
  j["import_results"] = nlohmann::json::array();
  for (const auto& results : import_results) {
    nlohmann::json r = nlohmann::json::array();
    for (const auto& v : results) r.push_back(valueJson(v));
    j["import_results"].push_back(r);
  }
  j["original_outcome"] = original_outcome;
  j["optimized_outcome"] = optimized_outcome;
  return j;
}

Counterexample Counterexample::fromJson(const nlohmann::json& j) {
  Counterexample c;
  c.function = j.at("function").get<std::string>();
  for (const auto& a : j.at("arguments")) c.arguments.push_back(valueFrom(a));
  c.memory_pages = j.value("memory_pages", std::uint64_t{0});
  for (const auto& w : j.value("memory", nlohmann::json::array())) {
    auto addr = w.at("address").get<std::uint64_t>();
    const std::string hex = w.at("hex").get<std::string>();
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
      c.memory[static_cast<std::uint32_t>(addr + i / 2)] =
          static_cast<std::uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16));
    }
  }
  const nlohmann::json globals = j.value("globals", nlohmann::json::object());
  for (const auto& [name, v] : globals.items()) c.globals[name] = valueFrom(v);
  for (const auto& r : j.value("import_results", nlohmann::json::array())) {
    std::vector<TypedValue> results;
    for (const auto& v : r) results.push_back(valueFrom(v));
    c.import_results.push_back(std::move(results));
  }
  c.original_outcome = j.value("original_outcome", "");
  c.optimized_outcome = j.value("optimized_outcome", "");
  return c;
}

nlohmann::json FunctionVerdict::toJson() const {
  nlohmann::json j{{"function", function},
                   {"verdict", verdictName(verdict)},
                   {"reason", reason},
                   {"solver_seconds", solver_seconds},
                   {"solver_units", solver_units},
                   {"encoding_terms", encoding_terms},
                   {"cached", cached}};
  if (verdict == Verdict::Bounded) j["bound"] = bound;
  if (counterexample) j["counterexample"] = counterexample->toJson();
  return j;
}

FunctionVerdict FunctionVerdict::fromJson(const nlohmann::json& j) {
  FunctionVerdict v;
  v.function = j.at("function").get<std::string>();
  auto parsed = parseVerdict(j.at("verdict").get<std::string>());
  v.verdict = parsed.value_or(Verdict::Unknown);
  v.reason = j.value("reason", "");
  v.bound = j.value("bound", 0u);
  v.solver_seconds = j.value("solver_seconds", 0.0);
  v.solver_units = j.value("solver_units", std::uint64_t{0});
  v.encoding_terms = j.value("encoding_terms", std::uint64_t{0});
  v.cached = j.value("cached", false);
  if (j.contains("counterexample"))
    v.counterexample = Counterexample::fromJson(j["counterexample"]);
  return v;
}

Verdict ModuleVerdict::overall() const {
  // Module-level problems count like a function verdict: a definite
  // difference refutes, anything else leaves the module unknown.
  if (count(Verdict::Refuted) > 0 || (!module_problems.empty() && module_problems_refute)) {
    return Verdict::Refuted;
  }
  if (count(Verdict::Unknown) > 0 || !module_problems.empty()) return Verdict::Unknown;
  if (count(Verdict::Bounded) > 0) return Verdict::Bounded;
  return Verdict::Proved;
}

std::size_t ModuleVerdict::count(Verdict verdict) const {
  return static_cast<std::size_t>(
      std::count_if(functions.begin(), functions.end(),
                    [&](const FunctionVerdict& f) { return f.verdict == verdict; }));
}

nlohmann::json ModuleVerdict::toJson() const {
  nlohmann::json j;
  j["overall"] = verdictName(overall());
  j["functions"] = nlohmann::json::array();
  for (const auto& f : functions) j["functions"].push_back(f.toJson());
  j["unchanged_functions"] = unchanged_functions;
  j["locals_renamed_functions"] = locals_renamed_functions;
  j["module_problems"] = module_problems;
  j["module_problems_refute"] = module_problems_refute;
  j["counts"] = {{"proved", count(Verdict::Proved)},
                 {"bounded", count(Verdict::Bounded)},
                 {"refuted", count(Verdict::Refuted)},
                 {"unknown", count(Verdict::Unknown)}};
  return j;
}

}  // namespace loom::verify
