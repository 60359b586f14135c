#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.hpp"
#include "loom/learn/model.hpp"

namespace loom::cli {

namespace {

struct LearnOptions {
  std::string log;
  bool json = false;
  std::size_t top = 20;
  std::string objective = "size";
  double lambda = learn::FitOptions{}.lambda;
  double min_share = learn::FitOptions{}.min_share;
  unsigned folds = 5;
  bool allow_bounded = false;
};

void printTable(const LearnOptions& o, const learn::Dataset& data, const learn::Model& model,
                const learn::Validation* validation, const learn::Validation* across) {
  fmt::print("{}: {} verified evaluations ({} distinct) of {} module{}; target log({} / -Oz {})\n",
             o.log, data.verified, model.rows(), model.modules(), model.modules() == 1 ? "" : "s",
             o.objective, o.objective);
  fmt::print("{} features, lambda {}, within-module R^2 {:.3f} (in sample)", model.features(),
             model.lambda(), model.withinR2());
  if (validation) {
    fmt::print(
        "\n{}-fold held-out Spearman {:.3f} within module (baseline, the number of distinct phases "
        "alone: {:.3f})",
        validation->folds, validation->spearman, validation->baseline_spearman);
  }
  if (validation && !validation->per_module.empty()) {
    std::vector<std::string> parts;
    for (const auto& [name, rho] : validation->per_module)
      parts.push_back(fmt::format("{} {:.3f}", name, rho));
    fmt::print("\nper module: {}", fmt::join(parts, ", "));
  }
  if (across && across->folds) {
    std::vector<std::string> parts;
    for (const auto& [name, rho] : across->per_module)
      parts.push_back(fmt::format("{} {:.3f}", name, rho));
    fmt::print("\nleave one module out: Spearman {:.3f} (baseline {:.3f}); {}", across->spearman,
               across->baseline_spearman, fmt::join(parts, ", "));
  }
  if (model.features() > model.rows()) {
    fmt::print("\nmore features than rows: single effects below are weakly determined");
  }
  const auto& effects = model.effects();
  std::size_t width = 7;
  for (std::size_t i = 0; i < effects.size() && i < o.top; ++i)
    width = std::max(width, effects[i].label.size());
  fmt::print("\n\n{:>8}  {:<{}} {:>6}  {}\n", "effect", "feature", width, "rows",
             "within-module sign");
  for (std::size_t i = 0; i < effects.size() && i < o.top; ++i) {
    const auto& e = effects[i];
    const char* verb = e.coefficient < 0 ? "helps" : "hurts";
    fmt::print("{:>+7.2f}%  {:<{}} {:>6}  {} on {} of {}{}\n", e.percent, e.label, width, e.rows,
               verb, e.modules_agree, e.modules_varying,
               e.modules_varying < model.modules()
                   ? fmt::format(" (varies on {} of {})", e.modules_varying, model.modules())
                   : "");
    if (!e.aliases.empty()) fmt::print("{:>8}  (same rows as: {})\n", "", e.aliases);
  }
}

int runLearn(const LearnOptions& o) {
  learn::LoadOptions load;
  if (o.objective == "size")
    load.target = learn::Target::Size;
  else if (o.objective == "cycles")
    load.target = learn::Target::Cycles;
  else
    throw CLI::ValidationError("--objective", "must be size or cycles");
  load.allow_bounded = o.allow_bounded;
  const learn::Dataset data = learn::loadLog(o.log, load);
  learn::FitOptions fit;
  fit.lambda = o.lambda;
  fit.min_share = o.min_share;
  const learn::Model model = learn::Model::fit(data, fit);
  learn::Validation validation;
  if (o.folds >= 2) validation = learn::crossValidate(data, fit, o.folds);
  const learn::Validation* v = o.folds >= 2 ? &validation : nullptr;
  learn::Validation across;
  const bool leave_out = o.folds >= 2 && data.modules.size() >= 3;
  if (leave_out) across = learn::leaveOneModuleOut(data, fit);
  const learn::Validation* a = leave_out ? &across : nullptr;
  if (o.json) {
    nlohmann::json j = learn::toJson(data, model, v, o.top, a);
    j["log"] = o.log;
    fmt::print("{}\n", j.dump(2));
  } else {
    printTable(o, data, model, v, a);
  }
  return 0;
}

}  // namespace

Command addLearnCommand(CLI::App& app) {
  auto options = std::make_shared<LearnOptions>();
  CLI::App* cmd = app.add_subcommand("learn",
                                     "Fit which phase orders, repeats and settings generally give "
                                     "smaller (or faster) verified output");
  cmd->add_option("log", options->log, "SQLite evaluation log written by --log")->required();
  cmd->add_flag("--json", options->json, "Print JSON instead of a table");
  cmd->add_option("--top", options->top, "Effects to show")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--objective", options->objective, "size or cycles")->capture_default_str();
  cmd->add_option("--lambda", options->lambda, "Ridge penalty per row on standardised features")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--min-share", options->min_share, "Share of rows a feature must occur in")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--folds", options->folds,
                  "Cross-validation folds for the held-out Spearman (0: none; also skips leaving "
                  "modules out)")
      ->capture_default_str();
  cmd->add_flag("--allow-bounded", options->allow_bounded, "Count bounded verdicts as verified");
  return [cmd, options]() -> int {
    if (!*cmd) return -1;
    return runLearn(*options);
  };
}

}  // namespace loom::cli
