// Plots of a run report, drawn with cairo: convergence per island, the
// Pareto front, and total bytes per configuration.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace loom::driver {

enum class PlotKind { Convergence, Pareto, Sizes };

class PlotError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Writes PNG or SVG, chosen by the extension of `output`. Throws PlotError
// (one line) for a report that lacks what the plot needs.
void plotReport(const nlohmann::json& report, PlotKind kind, const std::filesystem::path& output);

}  // namespace loom::driver
