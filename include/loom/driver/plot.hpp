// Plots of a run report, drawn by gnuplot (a subprocess): convergence per
// island in bytes, the Pareto front in bytes and estimated cycles, and
// total bytes per configuration. What a plot shows is computed here
// (plotData, which tests check); gnuplot only draws it (axes, round ticks,
// titles and legend placed inside the image).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace loom::driver {

enum class PlotKind { Convergence, Pareto, Sizes };

class PlotError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct PlotSeries {
  std::string label;                              // legend entry
  std::vector<std::pair<double, double>> points;  // (x, y)
  std::vector<std::string> point_labels = {};     // one per point, or none
  enum class Style { Lines, Points, Bars } style = Style::Lines;
};

// A horizontal line across the plot (convergence: the two -Oz references).
struct PlotReference {
  std::string label;
  double value = 0;
};

struct PlotData {
  std::string title, xlabel, ylabel;
  std::vector<PlotSeries> series;
  std::vector<PlotReference> references;
  bool integer_x = false;  // generations: whole-number ticks
};

// What `kind` shows for `report`. Throws PlotError (one line) for a report
// that lacks what the plot needs.
PlotData plotData(const nlohmann::json& report, PlotKind kind);

// Writes PNG or SVG, chosen by the extension of `output`. Throws PlotError
// (one line) for a report that lacks what the plot needs, or when gnuplot is
// missing or fails.
void plotReport(const nlohmann::json& report, PlotKind kind, const std::filesystem::path& output);

}  // namespace loom::driver
