#include "loom/driver/plot.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "loom/support/files.hpp"

extern char** environ;

namespace loom::driver {

namespace fs = std::filesystem;

namespace {

const nlohmann::json& need(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key))
    throw PlotError(fmt::format("the report has no '{}' field", key));
  return j.at(key);
}

// A reported size, or 0 when the entry is missing, failed or not a number.
double bytesOf(const nlohmann::json& entry) {
  if (!entry.is_object() || entry.value("status", "ok") != "ok") return 0;
  const auto it = entry.find("total_bytes");
  return it != entry.end() && it->is_number() ? it->get<double>() : 0;
}

bool verifiedEntry(const nlohmann::json& entry) {
  return entry.is_object() && entry.value("verified", false);
}

// The two references every comparison names: what the wasm-opt tool writes
// at -Oz (unverified) and -Oz with the functions it cannot prove kept original.
std::vector<PlotReference> ozReferences(const nlohmann::json& report) {
  std::vector<PlotReference> refs;
  if (report.contains("wasm_opt")) {
    if (const double b = bytesOf(report["wasm_opt"].value("Oz", nlohmann::json()))) {
      refs.push_back({fmt::format("wasm-opt -Oz, unverified: {:.0f} B", b), b});
    }
  }
  if (report.contains("baselines")) {
    const auto oz = report["baselines"].value("Oz", nlohmann::json());
    if (const double b = bytesOf(oz); b > 0 && verifiedEntry(oz)) {
      refs.push_back({fmt::format("-Oz, verified: {:.0f} B", b), b});
    }
  }
  return refs;
}

PlotData convergence(const nlohmann::json& report) {
  PlotData d;
  d.title = "Best verified module per island";
  d.xlabel = "generation";
  d.ylabel = "total bytes (lower is better)";
  d.integer_x = true;
  for (const auto& island : need(report, "islands")) {
    PlotSeries s;
    s.label = fmt::format("island {}: {} ({})", island.at("index").get<int>(),
                          island.at("algorithm").get<std::string>(),
                          island.at("bias").get<std::string>());
    for (const auto& h : island.at("history")) {
      const auto bytes = h.at("best_total_bytes").get<std::uint64_t>();
      if (bytes == 0) continue;  // nothing verified yet
      s.points.emplace_back(h.at("generation").get<double>(), static_cast<double>(bytes));
    }
    d.series.push_back(std::move(s));
  }
  if (d.series.empty()) throw PlotError("the report has no islands to plot");
  d.references = ozReferences(report);
  return d;
}

PlotData pareto(const nlohmann::json& report) {
  const auto& front = need(report, "pareto_front");
  if (front.empty()) throw PlotError("the report's Pareto front is empty");
  PlotData d;
  d.title = "Pareto front of verified modules";
  d.xlabel = "total bytes";
  d.ylabel = "estimated cycles (static model)";
  PlotSeries evolved{"evolved, verified (Pareto front)", {}, {}, PlotSeries::Style::Lines};
  for (const auto& p : front) {
    evolved.points.emplace_back(p.at("total_bytes").get<double>(), p.at("cycles").get<double>());
  }
  std::sort(evolved.points.begin(), evolved.points.end());
  d.series.push_back(std::move(evolved));
  PlotSeries builtins{"built-in pipelines, verified", {}, {}, PlotSeries::Style::Points};
  for (const auto& [name, b] : need(report, "baselines").items()) {
    if (bytesOf(b) <= 0 || !verifiedEntry(b) || !b.contains("cycles")) continue;
    builtins.points.emplace_back(bytesOf(b), b.at("cycles").get<double>());
    builtins.point_labels.push_back(name);
  }
  if (!builtins.points.empty()) d.series.push_back(std::move(builtins));
  PlotSeries tool{"wasm-opt tool, unverified", {}, {}, PlotSeries::Style::Points};
  if (report.contains("wasm_opt")) {
    for (const auto& [level, t] : report["wasm_opt"].items()) {
      if (bytesOf(t) <= 0 || !t.contains("cycles")) continue;
      tool.points.emplace_back(bytesOf(t), t.at("cycles").get<double>());
      tool.point_labels.push_back("-" + level);
    }
  }
  if (!tool.points.empty()) d.series.push_back(std::move(tool));
  return d;
}

PlotData sizes(const nlohmann::json& report) {
  PlotData d;
  d.title = "Total bytes by configuration";
  d.xlabel = "";
  d.ylabel = "total bytes";
  PlotSeries unverified{"unverified", {}, {}, PlotSeries::Style::Bars};
  PlotSeries verified{"verified", {}, {}, PlotSeries::Style::Bars};
  double x = 0;
  auto add = [&](PlotSeries& s, const std::string& label, double bytes) {
    if (bytes <= 0) return;
    s.points.emplace_back(x++, bytes);
    s.point_labels.push_back(label);
  };
  // The input file, when it is a binary (a text module's size says nothing here).
  if (report.contains("module") &&
      report["module"].value("code_bytes", nlohmann::json()).is_number())
    add(verified, "input file", report["module"].value("bytes", 0.0));
  if (report.contains("wasm_opt")) {
    for (const auto& [level, t] : report["wasm_opt"].items())
      add(unverified, "wasm-opt -" + level, bytesOf(t));
  }
  for (const auto& [name, b] : need(report, "baselines").items()) {
    if (name == "input") continue;
    add(verifiedEntry(b) ? verified : unverified, (verifiedEntry(b) ? "verified " : "") + name,
        bytesOf(b));
  }
  if (report.contains("best") && report["best"].is_object())
    add(verified, "evolved", bytesOf(report["best"]));
  if (unverified.points.empty() && verified.points.empty())
    throw PlotError("the report has no sizes to plot");
  if (!unverified.points.empty()) d.series.push_back(std::move(unverified));
  if (!verified.points.empty()) d.series.push_back(std::move(verified));
  d.references = ozReferences(report);
  return d;
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// 1, 2, 5, 10, 20, 50, ...: the smallest such step giving at most `ticks` ticks.
double roundStep(double span, int ticks) {
  const double raw = std::max(span / ticks, 1.0);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * magnitude >= raw) return m * magnitude;
  }
  return 10 * magnitude;
}

// Okabe-Ito: distinguishable for colour-blind readers.
const char* const kPalette[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7",
                                "#56B4E9", "#D55E00", "#F0E442", "#000000"};

std::string script(const PlotData& d, const fs::path& output, bool svg) {
  std::string s;
  if (svg)
    s += "set terminal svg size 1000,600 dynamic font \"sans,13\" background rgb \"white\"\n";
  else
    s += "set terminal pngcairo size 1000,600 font \"sans,11\" background rgb \"white\"\n";
  s += fmt::format("set output {}\n", quoted(output.string()));
  s += "set termoption noenhanced\n";
  s += fmt::format("set title {}\n", quoted(d.title));
  s += fmt::format("set xlabel {}\n", quoted(d.xlabel));
  s += fmt::format("set ylabel {}\n", quoted(d.ylabel));
  s += "set grid lc rgb \"#dddddd\"\n";
  s += "set key outside right top vertical Left reverse box lc rgb \"#bbbbbb\"\n";
  s += "set format y \"%.0f\"\n";
  s += "set border 3\nset xtics nomirror\nset ytics nomirror\n";

  // Ranges: every point and reference inside, with a margin; ticks at
  // round values (gnuplot's automatic ticks are 1, 2 or 5 times a power of 10).
  double xlo = std::numeric_limits<double>::infinity(), xhi = -xlo, ylo = xlo, yhi = -xlo;
  bool bars = false;
  for (const auto& series : d.series) {
    bars = bars || series.style == PlotSeries::Style::Bars;
    for (const auto& [x, y] : series.points) {
      xlo = std::min(xlo, x), xhi = std::max(xhi, x);
      ylo = std::min(ylo, y), yhi = std::max(yhi, y);
    }
  }
  for (const auto& r : d.references) ylo = std::min(ylo, r.value), yhi = std::max(yhi, r.value);
  if (!std::isfinite(xlo)) xlo = 0, xhi = 1, ylo = 0, yhi = 1;
  const double ypad = std::max((yhi - ylo) * 0.08, std::max(1.0, std::abs(yhi) * 0.002));
  s += fmt::format("set yrange [{}:{}]\n", ylo - ypad, yhi + ypad);
  if (bars) {
    s += fmt::format("set xrange [{}:{}]\n", xlo - 0.6, xhi + 0.6);
    s += "set style fill solid 0.85 border -1\nset boxwidth 0.7\n";
    s += "set xtics rotate by -35 left\n";
  } else if (d.integer_x) {
    const double span = std::max(1.0, xhi - xlo);
    s += fmt::format("set xrange [{}:{}]\n", xlo, xlo + span);
    s += fmt::format("set xtics {}\n", roundStep(span, 10));
    s += "set format x \"%.0f\"\n";
  } else {
    const double xpad = std::max((xhi - xlo) * 0.08, std::max(1.0, std::abs(xhi) * 0.002));
    s += fmt::format("set xrange [{}:{}]\n", xlo - xpad, xhi + xpad);
    s += "set format x \"%.0f\"\n";
  }

  for (std::size_t i = 0; i < d.series.size(); ++i) {
    s += fmt::format("$s{} << EOD\n", i);
    const auto& series = d.series[i];
    for (std::size_t k = 0; k < series.points.size(); ++k) {
      const std::string label = k < series.point_labels.size() ? series.point_labels[k] : "";
      s +=
          fmt::format("{} {} {}\n", series.points[k].first, series.points[k].second, quoted(label));
    }
    s += "EOD\n";
  }

  std::vector<std::string> clauses;
  for (std::size_t i = 0; i < d.series.size(); ++i) {
    const auto& series = d.series[i];
    const char* color = kPalette[i % std::size(kPalette)];
    if (series.points.empty()) {
      // Keep the legend entry (an island that verified nothing yet).
      clauses.push_back(fmt::format("NaN with lines lw 2 lc rgb \"{}\" title {}", color,
                                    quoted(series.label + " (nothing verified)")));
      continue;
    }
    switch (series.style) {
      case PlotSeries::Style::Lines:
        clauses.push_back(
            fmt::format("$s{} using 1:2 with linespoints lw 2 pt 7 ps 0.6 lc rgb \"{}\" title {}",
                        i, color, quoted(series.label)));
        break;
      case PlotSeries::Style::Points:
        clauses.push_back(
            fmt::format("$s{} using 1:2 with points pt {} ps 1.6 lc rgb \"{}\" title {}", i,
                        5 + 2 * static_cast<int>(i), color, quoted(series.label)));
        break;
      case PlotSeries::Style::Bars:
        clauses.push_back(fmt::format("$s{} using 1:2:xtic(3) with boxes lc rgb \"{}\" title {}", i,
                                      color, quoted(series.label)));
        clauses.push_back(fmt::format(
            "$s{} using 1:2:(sprintf(\"%.0f\", $2)) with labels offset 0,0.8 notitle", i));
        break;
    }
    if (series.style != PlotSeries::Style::Bars && !series.point_labels.empty()) {
      clauses.push_back(fmt::format("$s{} using 1:2:3 with labels left offset 1,0.7 notitle", i));
    }
  }
  const char* const kDash[] = {"2", "3", "4"};
  for (std::size_t i = 0; i < d.references.size(); ++i) {
    clauses.push_back(fmt::format("{} with lines dt {} lw 2 lc rgb \"{}\" title {}",
                                  d.references[i].value, kDash[i % 3],
                                  i == 0 ? "#555555" : "#D55E00", quoted(d.references[i].label)));
  }
  s += "plot ";
  for (std::size_t i = 0; i < clauses.size(); ++i) s += (i ? ", \\\n     " : "") + clauses[i];
  s += "\n";
  return s;
}

// Runs gnuplot on `script_path`; its messages go to `log`.
void runGnuplot(const fs::path& script_path, const fs::path& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::string program = "gnuplot", path_arg = script_path.string();
  char* argv[] = {program.data(), path_arg.data(), nullptr};
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, "gnuplot", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    throw PlotError(
        "cannot run gnuplot, which draws the plots: install it (apt-get install gnuplot-nox; "
        "scripts/setup does)");
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string message;
    try {
      message = support::readTextFile(log);
    } catch (const std::exception&) {
    }
    const auto nl = message.find_last_not_of("\n ");
    message = nl == std::string::npos ? "" : message.substr(0, nl + 1);
    const auto last = message.rfind('\n');
    if (last != std::string::npos) message = message.substr(last + 1);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
      message = "gnuplot is not installed (apt-get install gnuplot-nox; scripts/setup does)";
    throw PlotError(fmt::format("gnuplot failed: {}", message.empty() ? "no message" : message));
  }
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "loom-plot-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw PlotError("cannot create a temporary directory");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

}  // namespace

PlotData plotData(const nlohmann::json& report, PlotKind kind) {
  if (!report.is_object() || report.value("schema", "") != "loom-evolve-report/1") {
    throw PlotError("not a loom-evolve report (schema loom-evolve-report/1)");
  }
  try {
    switch (kind) {
      case PlotKind::Convergence:
        return convergence(report);
      case PlotKind::Pareto:
        return pareto(report);
      case PlotKind::Sizes:
        return sizes(report);
    }
  } catch (const nlohmann::json::exception& e) {
    throw PlotError(fmt::format("the report is malformed: {}", e.what()));
  }
  throw PlotError("unknown plot kind");
}

void plotReport(const nlohmann::json& report, PlotKind kind, const fs::path& output) {
  const std::string ext = output.extension().string();
  if (ext != ".png" && ext != ".svg") {
    throw PlotError(
        fmt::format("cannot plot to {}: the file name must end in .png or .svg", output.string()));
  }
  support::checkWritable(output);
  const PlotData data = plotData(report, kind);
  // gnuplot writes into a private directory; the result is then written
  // atomically, like every output.
  TempDir dir;
  const fs::path drawn = dir.path() / ("plot" + ext);
  const fs::path script_path = dir.path() / "plot.gp";
  support::writeFileAtomic(script_path, script(data, drawn, ext == ".svg"));
  runGnuplot(script_path, dir.path() / "gnuplot.log");
  std::error_code ec;
  if (!fs::exists(drawn, ec) || fs::file_size(drawn, ec) == 0)
    throw PlotError("gnuplot wrote no image");
  support::writeFileAtomic(output, support::readFile(drawn));
}

}  // namespace loom::driver
