#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "loom/driver/plot.hpp"
#include "loom/support/files.hpp"

namespace loom::cli {

namespace {

struct PlotOptions {
  std::string report;
  std::string output;
  std::string kind = "convergence";
};

int runPlot(const PlotOptions& options) {
  driver::PlotKind kind;
  if (options.kind == "convergence")
    kind = driver::PlotKind::Convergence;
  else if (options.kind == "pareto")
    kind = driver::PlotKind::Pareto;
  else if (options.kind == "sizes")
    kind = driver::PlotKind::Sizes;
  else
    throw CLI::ValidationError("--kind", "must be convergence, pareto or sizes");
  const std::string output =
      options.output.empty() ? options.report + "." + options.kind + ".svg" : options.output;
  support::checkDistinct({{"the report", options.report, false}, {"-o", output}});
  nlohmann::json report;
  try {
    report = nlohmann::json::parse(support::readTextFile(options.report));
  } catch (const nlohmann::json::exception&) {  // parse_error, or out_of_range: 1e999
    throw driver::PlotError(fmt::format("{}: not valid JSON", options.report));
  }
  driver::plotReport(report, kind, output);
  fmt::print(stderr, "wrote {}\n", output);
  return 0;
}

}  // namespace

Command addPlotCommand(CLI::App& app) {
  auto options = std::make_shared<PlotOptions>();
  CLI::App* cmd =
      app.add_subcommand("plot", "Plot a run report: convergence per island, Pareto front, sizes");
  cmd->add_option("report", options->report, "Report JSON written by --report")->required();
  cmd->add_option("-o,--output", options->output, "PNG or SVG file (default: REPORT.KIND.svg)");
  cmd->add_option("--kind", options->kind, "convergence, pareto or sizes")->capture_default_str();
  return [cmd, options]() -> int {
    if (!*cmd) return -1;
    return runPlot(*options);
  };
}

}  // namespace loom::cli
