#include "loom/pipeline/config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "loom/pipeline/phase.hpp"
#include "loom/wasm/features.hpp"

namespace loom::pipeline {

using nlohmann::json;

std::string_view unrollStrategyName(UnrollStrategy strategy) {
  switch (strategy) {
    case UnrollStrategy::None:
      return "none";
    case UnrollStrategy::Innermost:
      return "innermost";
    case UnrollStrategy::All:
      return "all";
  }
  return "none";
}

std::optional<UnrollStrategy> parseUnrollStrategy(std::string_view name) {
  if (name == "none") return UnrollStrategy::None;
  if (name == "innermost") return UnrollStrategy::Innermost;
  if (name == "all") return UnrollStrategy::All;
  return std::nullopt;
}

json PipelineConfig::toJson() const {
  // nlohmann::json objects keep keys sorted, which makes the text canonical.
  json j;
  j["phases"] = phases;
  j["optimize_level"] = optimize_level;
  j["shrink_level"] = shrink_level;
  j["inlining"] = {
      {"always_inline_max_size", inlining.always_inline_max_size},
      {"flexible_inline_max_size", inlining.flexible_inline_max_size},
      {"one_caller_inline_max_size", inlining.one_caller_inline_max_size},
      {"allow_functions_with_loops", inlining.allow_functions_with_loops},
  };
  j["unroll"] = {
      {"strategy", unrollStrategyName(unroll.strategy)},
      {"factor", unroll.factor},
      {"max_body_size", unroll.max_body_size},
  };
  return j;
}

std::string PipelineConfig::canonicalText() const {
  return toJson().dump();
}

wasm::Hash128 PipelineConfig::key() const {
  return wasm::hashString(canonicalText());
}

namespace {

template <class T>
T field(const json& object, const char* name, T fallback, const char* where) {
  if (!object.contains(name)) return fallback;
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    // nlohmann converts -7 to 4294967289 and 1e300 to anything: check first.
    const json& v = object.at(name);
    const auto lo = static_cast<long double>(std::numeric_limits<T>::min());
    const auto hi = static_cast<long double>(std::numeric_limits<T>::max());
    long double n = 0;
    bool whole = false;
    if (v.is_number_unsigned()) {
      n = static_cast<long double>(v.get<std::uint64_t>());
      whole = true;
    } else if (v.is_number_integer()) {
      n = static_cast<long double>(v.get<std::int64_t>());
      whole = true;
    } else if (v.is_number_float()) {
      const double d = v.get<double>();
      whole = std::isfinite(d) && d == std::floor(d);
      n = static_cast<long double>(d);
    } else {
      throw ConfigError(fmt::format("configuration: '{}{}' has the wrong type", where, name));
    }
    if (!whole || n < lo || n > hi)
      throw ConfigError(fmt::format(
          "configuration: '{}{}' is {}: must be a whole number from {} to {}", where, name,
          v.dump(), std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
    return static_cast<T>(n);
  }
  try {
    return object.at(name).get<T>();
  } catch (const json::exception&) {
    throw ConfigError(fmt::format("configuration: '{}{}' has the wrong type", where, name));
  }
}

}  // namespace

PipelineConfig PipelineConfig::fromJson(const json& j) {
  if (!j.is_object()) throw ConfigError("configuration: expected a JSON object");
  static const std::vector<std::string> kKnown = {
      "phases", "optimize_level", "shrink_level", "inlining", "unroll", "name", "description"};
  for (const auto& [key, value] : j.items()) {
    if (std::find(kKnown.begin(), kKnown.end(), key) == kKnown.end()) {
      throw ConfigError(fmt::format("configuration: unknown field '{}'", key));
    }
  }
  if (!j.contains("phases")) throw ConfigError("configuration: missing field 'phases'");
  PipelineConfig config;
  const PipelineConfig defaults;
  config.phases = field<std::vector<std::string>>(j, "phases", {}, "");
  config.optimize_level = field<int>(j, "optimize_level", defaults.optimize_level, "");
  config.shrink_level = field<int>(j, "shrink_level", defaults.shrink_level, "");
  if (j.contains("inlining")) {
    const json& in = j.at("inlining");
    if (!in.is_object()) throw ConfigError("configuration: 'inlining' must be an object");
    auto& s = config.inlining;
    s.always_inline_max_size =
        field<std::uint32_t>(in, "always_inline_max_size", s.always_inline_max_size, "inlining.");
    s.flexible_inline_max_size = field<std::uint32_t>(in, "flexible_inline_max_size",
                                                      s.flexible_inline_max_size, "inlining.");
    s.one_caller_inline_max_size = field<std::uint32_t>(in, "one_caller_inline_max_size",
                                                        s.one_caller_inline_max_size, "inlining.");
    s.allow_functions_with_loops =
        field<bool>(in, "allow_functions_with_loops", s.allow_functions_with_loops, "inlining.");
  }
  if (j.contains("unroll")) {
    const json& un = j.at("unroll");
    if (!un.is_object()) throw ConfigError("configuration: 'unroll' must be an object");
    const auto strategy = field<std::string>(un, "strategy", "none", "unroll.");
    auto parsed = parseUnrollStrategy(strategy);
    if (!parsed) {
      throw ConfigError(fmt::format(
          "configuration: unknown unroll strategy '{}' (none, innermost, all)", strategy));
    }
    config.unroll.strategy = *parsed;
    config.unroll.factor = field<std::uint32_t>(un, "factor", config.unroll.factor, "unroll.");
    config.unroll.max_body_size =
        field<std::uint32_t>(un, "max_body_size", config.unroll.max_body_size, "unroll.");
  }
  validate(config);
  return config;
}

void validate(const PipelineConfig& config) {
  for (const auto& name : config.phases) {
    if (!findPhase(name)) throw ConfigError(fmt::format("configuration: unknown phase '{}'", name));
  }
  if (config.optimize_level < 0 || config.optimize_level > 4) {
    throw ConfigError(fmt::format("configuration: optimize_level {} is out of range 0..4",
                                  config.optimize_level));
  }
  if (config.shrink_level < 0 || config.shrink_level > 2) {
    throw ConfigError(
        fmt::format("configuration: shrink_level {} is out of range 0..2", config.shrink_level));
  }
  const auto f = config.unroll.factor;
  if (f != 1 && f != 2 && f != 4 && f != 8) {
    throw ConfigError(fmt::format("configuration: unroll factor {} is not one of 1, 2, 4, 8", f));
  }
  if (config.unroll.max_body_size == 0 || config.unroll.max_body_size > 100000) {
    throw ConfigError(
        fmt::format("configuration: unroll max_body_size {} is out of range 1..100000",
                    config.unroll.max_body_size));
  }
}

bool PipelineConfig::unrolls() const {
  if (unroll.strategy == UnrollStrategy::None || unroll.factor <= 1) return false;
  return std::find(phases.begin(), phases.end(), "unroll") != phases.end();
}

std::vector<std::string> PipelineConfig::passNames() const {
  std::vector<std::string> out;
  for (const auto& name : phases) {
    const Phase* phase = findPhase(name);
    if (!phase || phase->passes.empty()) {
      out.push_back(name);
      continue;
    }
    for (auto pass : phase->passes) out.emplace_back(pass);
  }
  return out;
}

std::optional<std::vector<std::string>> PipelineConfig::wasmOptArgs(
    BinaryenFeatures features) const {
  std::vector<std::string> args = wasm::wasmOptFeatureFlags(features);
  args.insert(
      args.end(),
      {"--optimize-level", std::to_string(optimize_level), "--shrink-level",
       std::to_string(shrink_level), "--always-inline-max-function-size",
       std::to_string(inlining.always_inline_max_size), "--flexible-inline-max-function-size",
       std::to_string(inlining.flexible_inline_max_size), "--one-caller-inline-max-function-size",
       inlining.one_caller_inline_max_size == UINT32_MAX
           ? std::string("-1")
           : std::to_string(inlining.one_caller_inline_max_size)});
  if (inlining.allow_functions_with_loops) args.emplace_back("--inline-functions-with-loops");
  for (const auto& name : phases) {
    const Phase* phase = findPhase(name);
    if (!phase) return std::nullopt;
    if (phase->passes.empty()) {
      // An unroll phase that does nothing is still expressible.
      if (phase->origin == PhaseOrigin::Project && !unrolls()) continue;
      return std::nullopt;
    }
    for (auto pass : phase->passes) args.push_back(fmt::format("--{}", pass));
  }
  return args;
}

}  // namespace loom::pipeline
