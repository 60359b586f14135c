#include "loom/engine/eval_result.hpp"

#include <array>
#include <utility>

namespace loom::engine {

namespace {

constexpr std::array<std::pair<EvalStatus, std::string_view>, 7> kStatusNames = {{
    {EvalStatus::Ok, "ok"},
    {EvalStatus::Invalid, "invalid"},
    {EvalStatus::Failed, "failed"},
    {EvalStatus::Crashed, "crashed"},
    {EvalStatus::TimedOut, "timed-out"},
    {EvalStatus::OutOfMemory, "out-of-memory"},
    {EvalStatus::Canceled, "canceled"},
}};

}  // namespace

std::string_view statusName(EvalStatus status) {
  for (auto [s, name] : kStatusNames) {
    if (s == status) return name;
  }
  return "failed";
}

std::optional<EvalStatus> parseStatus(std::string_view name) {
  for (auto [s, n] : kStatusNames) {
    if (n == name) return s;
  }
  return std::nullopt;
}

bool EvalResult::verified(bool allow_bounded) const {
  if (status != EvalStatus::Ok || !verification) return false;
  const auto v = verification->overall;
  return v == verify::Verdict::Proved || (allow_bounded && v == verify::Verdict::Bounded);
}

nlohmann::json RevertedStep::toJson() const {
  return {{"function", function}, {"phase", phase}, {"step", step}, {"reason", reason}};
}

RevertedStep RevertedStep::fromJson(const nlohmann::json& j) {
  return {j.at("function").get<std::string>(), j.at("phase").get<std::string>(),
          j.at("step").get<std::uint32_t>(), j.at("reason").get<std::string>()};
}

StepwiseStats& StepwiseStats::operator+=(const StepwiseStats& o) {
  steps += o.steps;
  steps_unchanged += o.steps_unchanged;
  changed += o.changed;
  proved_renamed += o.proved_renamed;
  proved_cached += o.proved_cached;
  proved_by_solver += o.proved_by_solver;
  bounded += o.bounded;
  reverted += o.reverted;
  budget_units += o.budget_units;
  return *this;
}

nlohmann::json StepwiseStats::toJson() const {
  return {{"steps", steps},
          {"steps_unchanged", steps_unchanged},
          {"changed", changed},
          {"proved_renamed", proved_renamed},
          {"proved_cached", proved_cached},
          {"proved_by_solver", proved_by_solver},
          {"bounded", bounded},
          {"reverted", reverted},
          {"budget_units", budget_units}};
}

StepwiseStats StepwiseStats::fromJson(const nlohmann::json& j) {
  StepwiseStats s;
  s.steps = j.at("steps");
  s.steps_unchanged = j.at("steps_unchanged");
  s.changed = j.at("changed");
  s.proved_renamed = j.at("proved_renamed");
  s.proved_cached = j.at("proved_cached");
  s.proved_by_solver = j.at("proved_by_solver");
  s.bounded = j.at("bounded");
  s.reverted = j.at("reverted");
  s.budget_units = j.at("budget_units");
  return s;
}

nlohmann::json EvalResult::toJson(bool with_times) const {
  nlohmann::json j;
  j["status"] = statusName(status);
  if (!reason.empty()) j["reason"] = reason;
  j["metrics"] = {{"total_bytes", metrics.total_bytes},
                  {"code_bytes", metrics.code_bytes},
                  {"instructions", metrics.instructions},
                  {"cycles", metrics.cycles},
                  {"functions", metrics.functions}};
  if (verification) {
    const auto& v = *verification;
    j["verification"] = {{"overall", verify::verdictName(v.overall)},
                         {"proved", v.proved},
                         {"bounded", v.bounded},
                         {"refuted", v.refuted},
                         {"unknown", v.unknown},
                         {"unchanged", v.unchanged},
                         {"module_problems", v.module_problems},
                         {"first_problem", v.first_problem}};
  }
  if (!repaired.empty()) j["repaired"] = repaired;
  if (!reverted_steps.empty()) {
    j["reverted_steps"] = nlohmann::json::array();
    for (const auto& r : reverted_steps) j["reverted_steps"].push_back(r.toJson());
  }
  if (stepwise) j["stepwise"] = stepwise->toJson();
  if (cut_short) j["cut_short"] = true;
  if (!output_hash.empty()) j["output_hash"] = output_hash;
  if (with_times) {
    j["seconds"] = {{"passes", times.passes},
                    {"validation", times.validation},
                    {"measuring", times.measuring},
                    {"verification", times.verification},
                    {"total", times.total}};
    j["phases_reused"] = phases_reused;
  }
  return j;
}

EvalResult EvalResult::fromJson(const nlohmann::json& j) {
  EvalResult r;
  r.status = parseStatus(j.at("status").get<std::string>()).value_or(EvalStatus::Failed);
  r.reason = j.value("reason", "");
  const auto& m = j.at("metrics");
  r.metrics.total_bytes = m.at("total_bytes");
  r.metrics.code_bytes = m.at("code_bytes");
  r.metrics.instructions = m.at("instructions");
  r.metrics.cycles = m.at("cycles");
  r.metrics.functions = m.at("functions");
  if (j.contains("verification")) {
    const auto& v = j.at("verification");
    VerificationSummary s;
    s.overall =
        verify::parseVerdict(v.at("overall").get<std::string>()).value_or(verify::Verdict::Unknown);
    s.proved = v.at("proved");
    s.bounded = v.at("bounded");
    s.refuted = v.at("refuted");
    s.unknown = v.at("unknown");
    s.unchanged = v.at("unchanged");
    s.module_problems = v.at("module_problems");
    s.first_problem = v.at("first_problem");
    r.verification = s;
  }
  if (j.contains("seconds")) {
    const auto& t = j.at("seconds");
    r.times = {t.at("passes"), t.at("validation"), t.at("measuring"), t.at("verification"),
               t.at("total")};
  }
  if (j.contains("repaired")) r.repaired = j.at("repaired").get<std::vector<std::string>>();
  if (j.contains("reverted_steps")) {
    for (const auto& s : j.at("reverted_steps"))
      r.reverted_steps.push_back(RevertedStep::fromJson(s));
  }
  if (j.contains("stepwise")) r.stepwise = StepwiseStats::fromJson(j.at("stepwise"));
  r.cut_short = j.value("cut_short", false);
  r.phases_reused = j.value("phases_reused", 0u);
  r.output_hash = j.value("output_hash", "");
  return r;
}

bool sameOutcome(const EvalResult& a, const EvalResult& b) {
  return a.status == b.status && a.metrics == b.metrics && a.verification == b.verification &&
         a.repaired == b.repaired && a.reverted_steps == b.reverted_steps;
}

}  // namespace loom::engine
