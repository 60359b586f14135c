#include "report.hpp"

#include <fmt/format.h>

#include <cmath>

#include "loom/driver/progress.hpp"
#include "loom/wasm/features.hpp"

namespace loom::driver {

namespace {

nlohmann::json number(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

double fromNumber(const nlohmann::json& j) {
  return j.is_null() ? NAN : j.get<double>();
}

}  // namespace

nlohmann::json HistoryPoint::toJson() const {
  return {{"generation", generation},
          {"best_objective", number(best_objective)},
          {"median_objective", number(median_objective)},
          {"best_total_bytes", best_total_bytes},
          {"feasible_share", feasible_share},
          {"evaluations", evaluations},
          {"migrants_in", migrants_in}};
}

HistoryPoint HistoryPoint::fromJson(const nlohmann::json& j) {
  HistoryPoint h;
  h.generation = j.at("generation");
  h.best_objective = fromNumber(j.at("best_objective"));
  h.median_objective = fromNumber(j.at("median_objective"));
  h.best_total_bytes = j.at("best_total_bytes");
  h.feasible_share = j.at("feasible_share");
  h.evaluations = j.at("evaluations");
  h.migrants_in = j.at("migrants_in");
  return h;
}

nlohmann::json describeCandidate(const pipeline::PipelineConfig& config,
                                 const engine::EvalResult& result, BinaryenFeatures features) {
  nlohmann::json j;
  j["config"] = config.toJson();
  j["phases"] = config.phases;
  j["settings"] = {{"optimize_level", config.optimize_level},
                   {"shrink_level", config.shrink_level},
                   {"inlining", config.toJson()["inlining"]},
                   {"unroll", config.toJson()["unroll"]}};
  // A repaired module is the pipeline's output with some functions put back
  // as they were, or some steps undone: no wasm-opt command line makes that.
  const auto args = result.repaired.empty() && result.reverted_steps.empty()
                        ? config.wasmOptArgs(features)
                        : std::nullopt;
  j["wasm_opt_args"] = args ? nlohmann::json(*args) : nlohmann::json(nullptr);
  j["repaired_functions"] = result.repaired;
  j["reverted_steps"] = nlohmann::json::array();
  for (const auto& r : result.reverted_steps) j["reverted_steps"].push_back(r.toJson());
  if (result.stepwise) j["stepwise"] = result.stepwise->toJson();
  j["cut_short"] = result.cut_short;
  j["status"] = engine::statusName(result.status);
  if (!result.reason.empty()) j["reason"] = result.reason;
  j["total_bytes"] = result.metrics.total_bytes;
  j["code_bytes"] = result.metrics.code_bytes;
  j["instructions"] = result.metrics.instructions;
  j["cycles"] = result.metrics.cycles;
  j["verified"] = result.verified(false);
  j["verification"] = result.toJson(false).value("verification", nlohmann::json(nullptr));
  return j;
}

nlohmann::json describeToolOutputs(const std::vector<ToolOutput>& outputs) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& t : outputs) {
    nlohmann::json d = {{"status", engine::statusName(t.result.status)}, {"verified", false}};
    if (t.result.status == engine::EvalStatus::Ok) {
      d["total_bytes"] = t.result.metrics.total_bytes;
      d["code_bytes"] = t.result.metrics.code_bytes;
      d["instructions"] = t.result.metrics.instructions;
      d["cycles"] = t.result.metrics.cycles;
    } else {
      d["total_bytes"] = nullptr;
      d["code_bytes"] = nullptr;
      d["reason"] = t.result.reason;
    }
    j[t.level] = d;
  }
  return j;
}

std::uint64_t toolOzBytes(const std::vector<ToolOutput>& outputs) {
  for (const auto& t : outputs) {
    if (t.level == "Oz" && t.result.status == engine::EvalStatus::Ok)
      return t.result.metrics.total_bytes;
  }
  return 0;
}

nlohmann::json buildReport(const ReportInputs& in) {
  const BinaryenFeatures features = in.source.features;
  nlohmann::json r;
  r["schema"] = kReportSchema;
  r["module"] = {{"path", in.options.module.string()},
                 {"sha256", in.module_sha256},
                 {"bytes", in.source.bytes.size()},
                 {"code_bytes", in.source.format == wasm::SourceFormat::Binary && in.answer
                                    ? nlohmann::json(in.answer->input_file_code_bytes)
                                    : nlohmann::json(nullptr)},
                 {"features", wasm::describeFeatures(features)}};
  r["input"] = describeCandidate(pipeline::PipelineConfig{}, in.input, features);
  r["options"] = in.options.toJson();

  if (in.best) {
    nlohmann::json best = describeCandidate(in.best->config, in.best->result, features);
    best["verified"] = in.best->result.verified(in.options.fitness.allow_bounded);
    best["objectives"] = in.best->score.objectives;
    best["size_ratio"] = in.best->score.size_ratio;
    best["cycles_ratio"] = in.best->score.cycles_ratio;
    best["found_by"] =
        in.best->island < 0 ? nlohmann::json("baseline") : nlohmann::json(in.best->island);
    best["found_in_generation"] = in.best->generation;
    r["best"] = best;
  } else {
    r["best"] = nullptr;
  }

  r["wasm_opt"] = describeToolOutputs(in.wasm_opt);
  if (in.answer && (in.best || in.answer->input_file_wins)) {
    const Answer& a = *in.answer;
    r["written"] = {{"from", a.input_file_wins ? "input-file" : "best"},
                    {"total_bytes", a.total_bytes},
                    {"code_bytes", a.code_bytes},
                    {"input_file_candidate", a.input_file_candidate},
                    {"reason", a.reason}};
  } else {
    r["written"] = nullptr;
  }

  r["baselines"] = nlohmann::json::object();
  for (const auto& b : in.baselines) {
    nlohmann::json d = describeCandidate(b.config, b.result, features);
    d["objectives"] = b.score.objectives;
    d["screened"] = b.result.status == engine::EvalStatus::Ok && !b.result.verification;
    r["baselines"][b.name] = d;
  }
  if (in.best) {
    r["improvement"] = nlohmann::json::object();
    for (const auto& b : in.baselines) {
      if (b.result.status != engine::EvalStatus::Ok || b.result.metrics.total_bytes == 0) continue;
      const double base = static_cast<double>(b.result.metrics.total_bytes);
      r["improvement"][b.name] = {
          {"bytes_saved", static_cast<std::int64_t>(b.result.metrics.total_bytes) -
                              static_cast<std::int64_t>(in.best->result.metrics.total_bytes)},
          {"ratio", static_cast<double>(in.best->result.metrics.total_bytes) / base}};
    }
  }

  r["islands"] = nlohmann::json::array();
  for (std::size_t i = 0; i < in.island_records.size(); ++i) {
    const auto& rec = in.island_records[i];
    nlohmann::json isl = {{"index", i},
                          {"algorithm", rec.strategy.algorithm},
                          {"bias", rec.strategy.bias},
                          {"population", rec.population},
                          {"history", nlohmann::json::array()}};
    for (const auto& h : rec.history) isl["history"].push_back(h.toJson());
    r["islands"].push_back(isl);
  }
  r["migrations"] = nlohmann::json::array();
  for (const auto& m : in.migrations) r["migrations"].push_back(m.toJson());
  if (in.options.fitness.objective == problems::Objective::Pareto) {
    r["pareto_front"] = nlohmann::json::array();
    for (const auto& c : in.archive.paretoFront()) {
      r["pareto_front"].push_back({{"size_ratio", c.score.size_ratio},
                                   {"cycles_ratio", c.score.cycles_ratio},
                                   {"total_bytes", c.result.metrics.total_bytes},
                                   {"cycles", c.result.metrics.cycles},
                                   {"config", c.config.toJson()}});
    }
  }
  r["generations"] = in.generations_done;
  r["interrupted"] = in.interrupted;
  r["evaluations"] = in.evaluations;
  r["seconds"] = in.seconds;
  r["evaluations_per_second"] =
      in.seconds > 0 ? static_cast<double>(in.evaluations) / in.seconds : 0.0;
  r["engine"] = in.engine_counters.toJson();
  r["degraded"] = degradation(in.engine_counters.by_status, in.options);
  return r;
}

nlohmann::json degradation(const std::map<std::string, std::uint64_t>& by_status,
                           const RunOptions& options) {
  auto count = [&](const char* status) {
    const auto it = by_status.find(status);
    return it == by_status.end() ? std::uint64_t{0} : it->second;
  };
  nlohmann::json d = nlohmann::json::object();
  if (const auto n = count("out-of-memory"))
    d["out-of-memory"] = {{"candidates", n},
                          {"hint", fmt::format("--memory-limit {} (MB) is too small for them; "
                                               "raise it",
                                               options.memory_limit_bytes >> 20)}};
  if (const auto n = count("timed-out"))
    d["timed-out"] = {
        {"candidates", n},
        {"hint", options.candidate_timeout_seconds > 0
                     ? fmt::format("--candidate-timeout {} s is too short for them; raise it",
                                   options.candidate_timeout_seconds)
                     : std::string("they exceeded the automatic time limit; set a longer "
                                   "--candidate-timeout")}};
  if (const auto n = count("crashed"))
    d["crashed"] = {{"candidates", n},
                    {"hint",
                     "a worker died on them (a signal or a resource limit); see the "
                     "evaluation log's reason column"}};
  return d;
}

std::string degradationLine(const nlohmann::json& degraded) {
  std::string line;
  if (!degraded.is_object()) return line;
  for (const auto& [status, d] : degraded.items()) {
    line += fmt::format("{}{} candidates {}: {}", line.empty() ? "degraded run: " : "; ",
                        d["candidates"].get<std::uint64_t>(),
                        status == "out-of-memory" ? "ran out of memory"
                        : status == "timed-out"   ? "timed out"
                                                  : "crashed",
                        d["hint"].get<std::string>());
  }
  return line;
}

}  // namespace loom::driver
