// speed_fit: fits the cost model's class weights (src/cost/weights.cpp) to
// measured run times (bench/speed/speed.py's results.jsonl), with Eigen.
//
//   speed_fit RESULTS.jsonl [--stat cpu_median_ms] [--ridge 0.05]
//
// Model: the time of variant v of workload w is o_w + s_w * sum_c W_c F_wvc,
// where F_wvc is the class-c feature the probe measured (the x86-table cost
// of that class, weighted by how often the model expects it to run), o_w a
// per-workload offset (what the estimate cannot see: the JS driver, code
// the workload never runs) and s_w >= 0 a per-workload scale. The fit
// minimises the squared relative errors of every (workload, variant) point
// plus ridge * sum_c (W_c - 1)^2, which keeps a class the data says little
// about at its table value; W_c stays at least kFloor. It alternates: o_w,
// s_w by least squares per workload, then W by least squares (Eigen).
// Prints the weights (as weights.cpp takes them) and the fit's error.
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "loom/cost/cost_model.hpp"

namespace {

constexpr std::size_t kC = loom::cost::kCostClassCount;
constexpr double kFloor = 0.02;

struct Point {
  std::size_t workload;
  Eigen::VectorXd features;  // kC
  double time;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: speed_fit RESULTS.jsonl [--stat cpu_median_ms] [--ridge 0.05]\n";
    return 2;
  }
  std::string stat = "cpu_median_ms";
  double ridge = 0.05;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--stat") stat = argv[i + 1];
    if (std::string(argv[i]) == "--ridge") ridge = std::stod(argv[i + 1]);
  }
  std::ifstream in(argv[1]);
  std::map<std::string, std::size_t> workloads;
  std::vector<Point> points;
  std::map<std::pair<std::string, std::string>, bool> seen;
  for (std::string line; std::getline(in, line);) {
    const auto row = nlohmann::json::parse(line);
    if (row["tier"] != "turbofan" || !row["timing"].value("ok", false)) continue;
    const std::string w = row["workload"];
    const std::string sha = row["sha256"];
    if (seen[{w, sha}]) continue;  // identical bytes: one point
    seen[{w, sha}] = true;
    auto [it, fresh] = workloads.emplace(w, workloads.size());
    Point p{it->second, Eigen::VectorXd::Zero(kC), row["timing"][stat].get<double>()};
    for (std::size_t c = 0; c < kC; ++c)
      p.features[static_cast<Eigen::Index>(c)] = row["metrics"]["features"].value(
          std::string(loom::cost::costClassName(static_cast<loom::cost::CostClass>(c))), 0.0);
    points.push_back(p);
  }
  const std::size_t nw = workloads.size();
  std::cerr << points.size() << " points, " << nw << " workloads\n";

  Eigen::VectorXd weights = Eigen::VectorXd::Ones(kC);
  std::vector<double> scale(nw, 1.0), offset(nw, 0.0);
  auto error = [&] {
    double e = 0;
    for (const Point& p : points) {
      const double r =
          (offset[p.workload] + scale[p.workload] * p.features.dot(weights)) / p.time - 1.0;
      e += r * r;
    }
    return std::sqrt(e / static_cast<double>(points.size()));
  };
  // Per workload, time ~ offset + scale * estimate (relative errors): the
  // offset is what the estimate cannot see (the JS driver, code the
  // workload never runs), the scale converts cycles to ms. A negative
  // scale (the estimate ranks the workload backwards) is not allowed: 0.
  auto fitScales = [&] {
    for (std::size_t w = 0; w < nw; ++w) {
      Eigen::Matrix2d ata = Eigen::Matrix2d::Zero();
      Eigen::Vector2d atb = Eigen::Vector2d::Zero();
      double sx = 0, st = 0, n = 0;
      for (const Point& p : points) {
        if (p.workload != w) continue;
        const Eigen::Vector2d row(1.0 / p.time, p.features.dot(weights) / p.time);
        ata += row * row.transpose();
        atb += row;
        sx += p.features.dot(weights);
        st += p.time;
        n += 1;
      }
      Eigen::Vector2d x = ata.ldlt().solve(atb);
      if (!(x[1] >= 0)) x = Eigen::Vector2d(st / n, 0.0);
      offset[w] = x[0];
      scale[w] = x[1];
      (void)sx;
    }
  };
  fitScales();
  std::cerr << "relative rms error with the table weights: " << error() << "\n";
  std::vector<bool> fixed(kC, false);
  for (int round = 0; round < 100; ++round) {
    // rows: (s_w F / t) . W = 1 - o_w / t, plus sqrt(ridge) (W_c - 1) = 0
    const auto n = static_cast<Eigen::Index>(points.size() + kC);
    Eigen::MatrixXd a = Eigen::MatrixXd::Zero(n, static_cast<Eigen::Index>(kC));
    Eigen::VectorXd b = Eigen::VectorXd::Zero(n);
    Eigen::Index r = 0;
    for (const Point& p : points) {
      a.row(r) = (scale[p.workload] / p.time) * p.features.transpose();
      b[r++] = 1.0 - offset[p.workload] / p.time;
    }
    for (std::size_t c = 0; c < kC; ++c) {
      a(r, static_cast<Eigen::Index>(c)) = std::sqrt(ridge);
      b[r++] = std::sqrt(ridge);
    }
    // Classes held at the floor are moved to the right-hand side.
    for (std::size_t c = 0; c < kC; ++c) {
      if (!fixed[c]) continue;
      b -= a.col(static_cast<Eigen::Index>(c)) * kFloor;
      a.col(static_cast<Eigen::Index>(c)).setZero();
      a(static_cast<Eigen::Index>(points.size() + c), static_cast<Eigen::Index>(c)) = 1.0;
      b[static_cast<Eigen::Index>(points.size() + c)] = kFloor;
    }
    Eigen::VectorXd next = a.colPivHouseholderQr().solve(b);
    for (std::size_t c = 0; c < kC; ++c) {
      if (next[static_cast<Eigen::Index>(c)] < kFloor) {
        next[static_cast<Eigen::Index>(c)] = kFloor;
        fixed[c] = true;
      }
    }
    // The weights only matter up to a common factor: keep their mean at 1.
    weights = next / next.mean();
    fitScales();
  }
  std::cerr << "relative rms error with the fitted weights: " << error() << "\n";
  std::printf("// fitted by speed_fit on %zu points of %zu workloads (%s), ridge %.3g\n",
              points.size(), nw, stat.c_str(), ridge);
  for (std::size_t c = 0; c < kC; ++c)
    std::printf(
        "    %.3f,  // %s\n", weights[static_cast<Eigen::Index>(c)],
        std::string(loom::cost::costClassName(static_cast<loom::cost::CostClass>(c))).c_str());
  return 0;
}
