#include "loom/driver/plot.hpp"

#include <cairo-svg.h>
#include <cairo.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "loom/support/files.hpp"

namespace loom::driver {

namespace {

constexpr double kWidth = 900, kHeight = 560;
constexpr double kLeft = 90, kRight = 200, kTop = 50, kBottom = 60;

struct Color {
  double r, g, b;
};

// Okabe-Ito: distinguishable for colour-blind readers.
const Color kPalette[] = {{0.0, 0.45, 0.70},  {0.90, 0.62, 0.0},  {0.0, 0.62, 0.45},
                          {0.80, 0.47, 0.65}, {0.34, 0.71, 0.91}, {0.84, 0.37, 0.0},
                          {0.94, 0.89, 0.26}, {0.0, 0.0, 0.0}};

struct Series {
  std::string label;
  std::vector<std::pair<double, double>> points;
};

class Canvas {
 public:
  explicit Canvas(const std::filesystem::path& output) : output_(output) {
    const std::string ext = output.extension().string();
    if (ext == ".svg") {
      svg_ = true;
      surface_ = cairo_svg_surface_create_for_stream(&Canvas::collect, this, kWidth, kHeight);
    } else if (ext == ".png") {
      surface_ = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, static_cast<int>(kWidth),
                                            static_cast<int>(kHeight));
    } else {
      throw PlotError(fmt::format("cannot plot to {}: the file name must end in .png or .svg",
                                  output.string()));
    }
    cr_ = cairo_create(surface_);
    cairo_set_source_rgb(cr_, 1, 1, 1);
    cairo_paint(cr_);
    cairo_select_font_face(cr_, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  }
  ~Canvas() {
    if (cr_) cairo_destroy(cr_);
    if (surface_) cairo_surface_destroy(surface_);
  }

  cairo_t* cr() { return cr_; }

  void text(double x, double y, const std::string& s, double size, double align = 0,
            bool bold = false) {
    cairo_select_font_face(cr_, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr_, size);
    cairo_text_extents_t e;
    cairo_text_extents(cr_, s.c_str(), &e);
    cairo_move_to(cr_, x - align * e.x_advance, y);
    cairo_show_text(cr_, s.c_str());
  }

  void save() {
    cairo_surface_flush(surface_);
    if (svg_) {
      cairo_destroy(cr_);
      cr_ = nullptr;
      cairo_surface_finish(surface_);
    } else {
      if (cairo_surface_write_to_png_stream(surface_, &Canvas::collect, this) !=
          CAIRO_STATUS_SUCCESS) {
        throw PlotError(fmt::format("cannot encode {}", output_.string()));
      }
    }
    support::writeFileAtomic(output_, std::string_view(bytes_));
  }

 private:
  static cairo_status_t collect(void* self, const unsigned char* data, unsigned int length) {
    static_cast<Canvas*>(self)->bytes_.append(reinterpret_cast<const char*>(data), length);
    return CAIRO_STATUS_SUCCESS;
  }
  std::filesystem::path output_;
  bool svg_ = false;
  cairo_surface_t* surface_ = nullptr;
  cairo_t* cr_ = nullptr;
  std::string bytes_;
};

struct Range {
  double lo = std::numeric_limits<double>::infinity(),
         hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  void pad() {
    if (!std::isfinite(lo)) lo = 0, hi = 1;
    if (hi - lo < 1e-12) {
      lo -= 0.5 * std::max(1e-6, std::abs(lo));
      hi += 0.5 * std::max(1e-6, std::abs(hi));
    }
    const double margin = (hi - lo) * 0.05;
    lo -= margin;
    hi += margin;
  }
};

std::string tick(double v, double span) {
  if (span >= 100) return fmt::format("{:.0f}", v);
  if (span >= 1) return fmt::format("{:.2f}", v);
  if (span >= 0.01) return fmt::format("{:.4f}", v);
  return fmt::format("{:.6f}", v);
}

// Axes, grid and labels; returns the data-to-pixel mapping.
struct Frame {
  Range x, y;
  double px(double v) const {
    return kLeft + (v - x.lo) / (x.hi - x.lo) * (kWidth - kLeft - kRight);
  }
  double py(double v) const {
    return kHeight - kBottom - (v - y.lo) / (y.hi - y.lo) * (kHeight - kTop - kBottom);
  }
};

Frame drawAxes(Canvas& c, Range x, Range y, const std::string& title, const std::string& xlabel,
               const std::string& ylabel) {
  x.pad();
  y.pad();
  Frame f{x, y};
  cairo_t* cr = c.cr();
  cairo_set_line_width(cr, 1);
  for (int i = 0; i <= 5; ++i) {
    const double vx = x.lo + (x.hi - x.lo) * i / 5, vy = y.lo + (y.hi - y.lo) * i / 5;
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_move_to(cr, f.px(vx), kTop);
    cairo_line_to(cr, f.px(vx), kHeight - kBottom);
    cairo_move_to(cr, kLeft, f.py(vy));
    cairo_line_to(cr, kWidth - kRight, f.py(vy));
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    c.text(f.px(vx), kHeight - kBottom + 18, tick(vx, x.hi - x.lo), 11, 0.5);
    c.text(kLeft - 8, f.py(vy) + 4, tick(vy, y.hi - y.lo), 11, 1.0);
  }
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  cairo_rectangle(cr, kLeft, kTop, kWidth - kLeft - kRight, kHeight - kTop - kBottom);
  cairo_stroke(cr);
  c.text(kWidth / 2, 30, title, 15, 0.5, true);
  c.text((kLeft + kWidth - kRight) / 2, kHeight - 18, xlabel, 12, 0.5);
  cairo_save(cr);
  cairo_move_to(cr, 22, (kTop + kHeight - kBottom) / 2);
  cairo_rotate(cr, -M_PI / 2);
  c.text(0, 0, ylabel, 12, 0.5);
  cairo_restore(cr);
  return f;
}

void legend(Canvas& c, const std::vector<std::string>& labels) {
  cairo_t* cr = c.cr();
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const Color& col = kPalette[i % std::size(kPalette)];
    const double y = kTop + 14 + 20.0 * static_cast<double>(i);
    cairo_set_source_rgb(cr, col.r, col.g, col.b);
    cairo_rectangle(cr, kWidth - kRight + 15, y - 9, 12, 12);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    c.text(kWidth - kRight + 33, y + 1, labels[i], 11);
  }
}

const nlohmann::json& need(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key))
    throw PlotError(fmt::format("the report has no '{}' field", key));
  return j.at(key);
}

void convergence(const nlohmann::json& report, Canvas& c) {
  std::vector<Series> series;
  Range x, y;
  for (const auto& island : need(report, "islands")) {
    Series s;
    s.label = fmt::format("{} {}/{}", island.at("index").get<int>(),
                          island.at("algorithm").get<std::string>(),
                          island.at("bias").get<std::string>());
    for (const auto& h : island.at("history")) {
      if (h.at("best_objective").is_null()) continue;
      const double g = h.at("generation"), v = h.at("best_objective");
      s.points.emplace_back(g, v);
      x.add(g);
      y.add(v);
    }
    series.push_back(std::move(s));
  }
  if (series.empty()) throw PlotError("the report has no islands to plot");
  const std::string objective =
      report.contains("options") ? report["options"].value("objective", "objective") : "objective";
  const Frame f = drawAxes(c, x, y, "Best verified candidate per island", "generation",
                           fmt::format("best {} (ratio to input, lower is better)", objective));
  cairo_t* cr = c.cr();
  cairo_set_line_width(cr, 2);
  std::vector<std::string> labels;
  for (std::size_t i = 0; i < series.size(); ++i) {
    const Color& col = kPalette[i % std::size(kPalette)];
    cairo_set_source_rgb(cr, col.r, col.g, col.b);
    for (std::size_t k = 0; k < series[i].points.size(); ++k) {
      const auto [gx, gy] = series[i].points[k];
      if (k == 0)
        cairo_move_to(cr, f.px(gx), f.py(gy));
      else
        cairo_line_to(cr, f.px(gx), f.py(gy));
    }
    cairo_stroke(cr);
    labels.push_back(series[i].label);
  }
  legend(c, labels);
}

void pareto(const nlohmann::json& report, Canvas& c) {
  const auto& front = need(report, "pareto_front");
  if (front.empty()) throw PlotError("the report's Pareto front is empty");
  Range x, y;
  for (const auto& p : front) {
    x.add(p.at("size_ratio"));
    y.add(p.at("cycles_ratio"));
  }
  const auto& input = need(report, "input");
  const double in_bytes = input.at("total_bytes"), in_cycles = input.at("cycles");
  std::vector<std::pair<std::string, std::pair<double, double>>> baselines;
  for (const auto& [name, b] : need(report, "baselines").items()) {
    if (name == "input" || b.value("status", "") != "ok") continue;
    const double bx = b.at("total_bytes").get<double>() / in_bytes;
    const double by = in_cycles > 0 ? b.at("cycles").get<double>() / in_cycles : 1.0;
    baselines.push_back({name, {bx, by}});
    x.add(bx);
    y.add(by);
  }
  const Frame f = drawAxes(c, x, y, "Pareto front of verified candidates",
                           "total bytes (ratio to input)", "estimated cycles (ratio to input)");
  cairo_t* cr = c.cr();
  const Color& col = kPalette[0];
  cairo_set_source_rgb(cr, col.r, col.g, col.b);
  cairo_set_line_width(cr, 1.5);
  bool first = true;
  for (const auto& p : front) {
    const double px = f.px(p.at("size_ratio")), py = f.py(p.at("cycles_ratio"));
    if (first)
      cairo_move_to(cr, px, py);
    else
      cairo_line_to(cr, px, py);
    first = false;
  }
  cairo_stroke(cr);
  for (const auto& p : front) {
    cairo_arc(cr, f.px(p.at("size_ratio")), f.py(p.at("cycles_ratio")), 4, 0, 2 * M_PI);
    cairo_fill(cr);
  }
  const Color& bc = kPalette[1];
  for (const auto& [name, pt] : baselines) {
    cairo_set_source_rgb(cr, bc.r, bc.g, bc.b);
    cairo_rectangle(cr, f.px(pt.first) - 4, f.py(pt.second) - 4, 8, 8);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    c.text(f.px(pt.first) + 7, f.py(pt.second) - 5, name, 11);
  }
  legend(c, {"evolved (Pareto front)", "built-in pipelines"});
}

void sizes(const nlohmann::json& report, Canvas& c) {
  std::vector<std::pair<std::string, double>> bars;
  for (const auto& [name, b] : need(report, "baselines").items()) {
    if (b.value("status", "") == "ok") bars.emplace_back(name, b.at("total_bytes").get<double>());
  }
  std::sort(bars.begin(), bars.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  if (report.contains("best") && report["best"].is_object())
    bars.emplace_back("evolved", report["best"]["total_bytes"].get<double>());
  if (bars.empty()) throw PlotError("the report has no sizes to plot");
  Range x, y;
  x.add(0);
  x.add(static_cast<double>(bars.size()));
  for (const auto& b : bars) y.add(b.second);
  y.lo = std::min(y.lo, y.hi * 0.9);
  const Frame f = drawAxes(c, x, y, "Total bytes by configuration", "", "total bytes");
  cairo_t* cr = c.cr();
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const Color& col = bars[i].first == "evolved" ? kPalette[2] : kPalette[0];
    cairo_set_source_rgb(cr, col.r, col.g, col.b);
    const double x0 = f.px(static_cast<double>(i) + 0.15), x1 = f.px(static_cast<double>(i) + 0.85);
    cairo_rectangle(cr, x0, f.py(bars[i].second), x1 - x0, f.py(f.y.lo) - f.py(bars[i].second));
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    c.text((x0 + x1) / 2, kHeight - kBottom + 34, bars[i].first, 11, 0.5);
    c.text((x0 + x1) / 2, f.py(bars[i].second) - 4, fmt::format("{:.0f}", bars[i].second), 10, 0.5);
  }
}

}  // namespace

void plotReport(const nlohmann::json& report, PlotKind kind, const std::filesystem::path& output) {
  if (output.extension() != ".png" && output.extension() != ".svg") {
    throw PlotError(
        fmt::format("cannot plot to {}: the file name must end in .png or .svg", output.string()));
  }
  support::checkWritable(output);
  if (!report.is_object() || report.value("schema", "") != "loom-evolve-report/1") {
    throw PlotError("not a loom-evolve report (schema loom-evolve-report/1)");
  }
  Canvas canvas(output);
  try {
    switch (kind) {
      case PlotKind::Convergence:
        convergence(report, canvas);
        break;
      case PlotKind::Pareto:
        pareto(report, canvas);
        break;
      case PlotKind::Sizes:
        sizes(report, canvas);
        break;
    }
  } catch (const nlohmann::json::exception& e) {
    throw PlotError(fmt::format("the report is malformed: {}", e.what()));
  }
  canvas.save();
}

}  // namespace loom::driver
